// Command ctl-syncpool is a compression service: 4 workers take 64 KiB
// scratch buffers from a sync.Pool per request and put them back. The
// pool's buffers are long-lived but few; the rest is ~16 MB/s of
// short-lived garbage. Nothing leaks.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	scratch = sync.Pool{New: func() any { return newScratch() }}
	served  atomic.Int64
)

// newScratch allocates a pooled scratch buffer.
func newScratch() *[]byte {
	b := make([]byte, 64<<10)
	return &b
}

// compress handles one request with a pooled scratch buffer.
func compress(r *rand.Rand) []byte {
	bp := scratch.Get().(*[]byte)
	defer scratch.Put(bp)
	buf := *bp
	in := make([]byte, 4<<10+r.IntN(28<<10))
	in[0] = byte(r.Uint32())
	n := copy(buf, in)
	out := append(make([]byte, 0, n+16), buf[:n/2]...)
	return strconv.AppendInt(out, int64(n), 10)
}

func worker(seed uint64, reqs <-chan struct{}) {
	r := rand.New(rand.NewPCG(seed, 23))
	var sink []byte
	for range reqs {
		sink = compress(r)
		served.Add(int64(len(sink)))
	}
}

func main() {
	reqs := make(chan struct{}, 64)
	for i := range 4 {
		go worker(uint64(i), reqs)
	}
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for range 5 {
			reqs <- struct{}{}
		}
		if n%1000 == 0 {
			fmt.Println("served", served.Load())
		}
	}
}
