// Command leak-slow is a busy image-resizing service (~100 MB/s of
// short-lived buffers) with a slow leak: a per-client stats record of 320
// bytes is added to a registry for every 10 ms tick and never removed,
// ~31 KiB/s, about 0.03% of what it allocates.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

type clientStats struct {
	client  int64
	started time.Time
	hist    [36]int64
}

var (
	registry []*clientStats
	sink     []byte
)

// trackClient registers a connection's stats record.
func trackClient(id int64) {
	registry = append(registry, &clientStats{client: id, started: time.Now()})
}

// resize decodes an image and produces a thumbnail, all garbage once the
// thumbnail is written.
func resize(r *rand.Rand) int {
	src := make([]byte, 48<<10+r.IntN(32<<10))
	src[0] = byte(r.Uint32())
	dst := make([]byte, len(src)/2)
	copy(dst, src)
	sink = dst
	return len(dst)
}

func main() {
	r := rand.New(rand.NewPCG(15, 16))
	fmt.Println("ready", os.Getpid())
	var id int64
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for range 11 { // 11 x ~96 KiB per tick: ~100 MB/s
			resize(r)
		}
		id++
		trackClient(id)
		if n%1000 == 0 {
			fmt.Println("clients", len(registry))
		}
	}
}
