// Command leak-onlyrecords is an archiver that keeps every 64 KiB record
// it receives in memory (~2 MiB/s) and allocates nothing else: the heap
// doubles between collections, so the garbage collector runs ever more
// rarely (a few times a minute, then less).
package main

import (
	"fmt"
	"os"
	"time"
)

type record struct {
	seq  int
	body [64 << 10]byte
}

var archive []*record

// storeRecord keeps one received record, forever.
func storeRecord(seq int) {
	r := &record{seq: seq}
	r.body[0] = byte(seq)
	archive = append(archive, r)
}

func main() {
	archive = make([]*record, 0, 1<<16) // no growth: the records are the only allocation
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(20 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		storeRecord(n) // 50 a second: ~3.2 MiB/s
		if n%5000 == 0 {
			fmt.Println("records", len(archive))
		}
	}
}
