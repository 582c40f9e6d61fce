// Command ctl-bigload is a lookup service that loads a 500 MB table at
// start-up (before ready), then serves light traffic (~100 KB/s of
// garbage): with a 1 GB heap goal, only the forced GC (every two minutes)
// collects after the load. Nothing leaks.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

type row struct {
	key  uint64
	data [4080]byte
}

var (
	table []*row
	sink  []byte
)

// loadTable loads the table: 128,000 rows of 4 KiB, ~500 MB.
func loadTable(n int) {
	table = make([]*row, n)
	for i := range table {
		table[i] = &row{key: uint64(i)}
	}
}

// lookup serves one request: garbage once written.
func lookup(r *rand.Rand) int {
	rw := table[r.IntN(len(table))]
	resp := strconv.AppendUint(make([]byte, 0, 1000), rw.key, 10)
	sink = resp
	return len(resp)
}

func main() {
	r := rand.New(rand.NewPCG(11, 12))
	loadTable(128_000)
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		lookup(r)
		if n%12000 == 0 {
			fmt.Println("rows", len(table))
		}
	}
}
