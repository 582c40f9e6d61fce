// Command ctl-lru is a product-page service with a bounded LRU cache of
// 300 rendered fragments (4 KiB each). Keys come from a large catalogue,
// so most lookups miss and evict: ~150 inserts a second, and an entry
// lives ~2 s in the cache before it is evicted. Plus ~16 MB/s of request
// churn. Nothing leaks.
package main

import (
	"container/list"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

type entry struct {
	key      int
	fragment []byte
}

type lru struct {
	cap   int
	order *list.List
	items map[int]*list.Element
}

func newLRU(n int) *lru { return &lru{cap: n, order: list.New(), items: map[int]*list.Element{}} }

// get returns the cached fragment for key, rendering and caching it on a
// miss and evicting the least recently used entry when full.
func (c *lru) get(key int, r *rand.Rand) []byte {
	if el, ok := c.items[key]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*entry).fragment
	}
	e := &entry{key: key, fragment: renderFragment(key, r)}
	c.items[key] = c.order.PushFront(e)
	if c.order.Len() > c.cap {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*entry).key)
	}
	return e.fragment
}

// renderFragment renders one product fragment.
func renderFragment(key int, r *rand.Rand) []byte {
	b := make([]byte, 4096)
	b[0] = byte(key)
	b[1] = byte(r.Uint32())
	return b
}

var sink []byte

// handleRequest decodes a request and builds a response, all garbage once
// the response is written.
func handleRequest(r *rand.Rand, frag []byte) int {
	req := make([]byte, 4<<10+r.IntN(28<<10))
	req[0] = frag[0]
	resp := append(make([]byte, 0, 2*len(req)), req...)
	resp = strconv.AppendInt(resp, int64(len(req)), 10)
	sink = resp
	return len(resp)
}

func main() {
	r := rand.New(rand.NewPCG(17, 18))
	cache := newLRU(300)
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for range 3 {
			handleRequest(r, cache.get(r.IntN(1_000_000), r))
		}
		if n%1000 == 0 {
			fmt.Println("cached", cache.order.Len())
		}
	}
}
