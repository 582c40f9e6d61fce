// Command ctl-warmup is a catalogue service that preloads its 3000
// products into a cache in the background during its first 12 s (250 a
// second, 4 KiB each, 12 MB in all), then serves from the cache without
// ever adding to it: memory rises, then plateaus. Plus ~16 MB/s of
// request churn. Nothing leaks.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"
)

type product struct {
	id   int
	page []byte
}

var (
	mu      sync.RWMutex
	catalog = map[int]*product{}
	sink    []byte
)

const products = 3000

// loadProduct fetches one product from the database into the cache.
func loadProduct(id int) {
	p := &product{id: id, page: make([]byte, 4096)}
	p.page[0] = byte(id)
	mu.Lock()
	catalog[id] = p
	mu.Unlock()
}

// warmUp preloads the catalogue at 250 products a second.
func warmUp() {
	t := time.NewTicker(4 * time.Millisecond)
	defer t.Stop()
	for id := range products {
		<-t.C
		loadProduct(id)
	}
	fmt.Println("warm", products)
}

// handleRequest serves a product page (if it is loaded yet), all garbage
// once the response is written.
func handleRequest(r *rand.Rand) int {
	mu.RLock()
	p := catalog[r.IntN(products)]
	mu.RUnlock()
	req := make([]byte, 4<<10+r.IntN(28<<10))
	if p != nil {
		req[0] = p.page[0]
	}
	resp := append(make([]byte, 0, 2*len(req)), req...)
	resp = strconv.AppendInt(resp, int64(len(req)), 10)
	sink = resp
	return len(resp)
}

func main() {
	r := rand.New(rand.NewPCG(25, 26))
	go warmUp()
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for range 3 {
			handleRequest(r)
		}
	}
}
