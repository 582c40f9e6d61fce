// Command ctl-startuptable is a geo-IP lookup service: at start-up it
// builds a 48 MB routing table, which it then only reads, while serving
// requests (~16 MB/s of short-lived garbage). Nothing leaks.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

type route struct {
	prefix  uint32
	country [2]byte
	meta    []byte
}

var (
	table []*route
	sink  []byte
)

// loadTable builds the routing table once, at start-up.
func loadTable(n int) {
	table = make([]*route, n)
	for i := range table {
		table[i] = &route{prefix: uint32(i) << 8, country: [2]byte{'a' + byte(i%26), 'a' + byte(i/26%26)}, meta: make([]byte, 448)}
	}
}

// handleRequest looks up the client and builds a response, all garbage
// once the response is written.
func handleRequest(r *rand.Rand) int {
	rt := table[r.IntN(len(table))]
	req := make([]byte, 4<<10+r.IntN(28<<10))
	req[0] = rt.country[0]
	resp := append(make([]byte, 0, 2*len(req)), req...)
	resp = strconv.AppendInt(resp, int64(rt.prefix), 10)
	sink = resp
	return len(resp)
}

func main() {
	r := rand.New(rand.NewPCG(19, 20))
	loadTable(100_000)
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for range 3 {
			handleRequest(r)
		}
		if n%1000 == 0 {
			fmt.Println("routes", len(table))
		}
	}
}
