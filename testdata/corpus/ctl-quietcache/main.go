// Command ctl-quietcache is a mostly idle catalogue service that fills its
// product cache for its first 3 minutes (one 1 KiB entry per 16 ms, ~64
// KiB/s, 11,250 entries), then only reads it. It allocates nothing else,
// so it collects only when the heap goal is reached (twice while filling)
// and then by the forced GC every two minutes. Nothing leaks.
package main

import (
	"fmt"
	"os"
	"time"
)

type product struct {
	id   int
	desc [1000]byte
}

var cache map[int]*product

// loadProduct caches one product, kept for the life of the process.
func loadProduct(id int) {
	p := &product{id: id}
	p.desc[0] = byte(id)
	cache[id] = p
}

func main() {
	const entries = 11_250
	cache = make(map[int]*product, entries) // sized up front: the entries are the only allocation
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(16 * time.Millisecond)
	var hits int
	for n := 0; ; n++ {
		<-tick.C
		if n < entries {
			loadProduct(n)
			if n == entries-1 {
				fmt.Println("cache full", len(cache))
			}
			continue
		}
		if cache[n%entries] != nil {
			hits++
		}
	}
}
