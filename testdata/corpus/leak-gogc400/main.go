// Command leak-gogc400 is a thumbnail service run with GOGC=400 (the heap
// may grow to five times the live heap between collections): ~4 MB/s of
// image buffers, garbage once served, and a 1.5 KiB cache entry per
// request under a key that never repeats, never evicted (~150 KiB/s).
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"time"
)

type thumb struct {
	key  int
	data [1500]byte
}

var (
	cache = map[int]*thumb{}
	sink  []byte
)

// cacheThumb caches a thumbnail under a key that never repeats.
func cacheThumb(key int) {
	t := &thumb{key: key}
	t.data[0] = byte(key)
	cache[key] = t
}

// render builds an image buffer: garbage once served.
func render(r *rand.Rand) int {
	b := make([]byte, 24<<10+r.IntN(32<<10))
	b[0] = 2
	sink = b
	return len(b)
}

func main() {
	if os.Getenv("GOGC") != "400" {
		self, err := os.Executable()
		if err == nil {
			err = syscall.Exec(self, os.Args, append(os.Environ(), "GOGC=400"))
		}
		fmt.Println("re-exec:", err)
		os.Exit(1)
	}
	r := rand.New(rand.NewPCG(5, 6))
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		render(r)
		cacheThumb(n)
		if n%6000 == 0 {
			fmt.Println("cached", len(cache))
		}
	}
}
