// Command leak-goroutines is a fan-out service: each request starts a
// goroutine that waits for a reply from a backend on a channel; when the
// request times out the caller stops listening, but nobody ever sends on
// or closes the reply channel, so the goroutine blocks forever holding its
// 8 KiB reply buffer. ~30 stuck goroutines a second (~240 KiB/s of
// buffers, plus their stacks, which the heap profile does not see) under
// ~16 MB/s of request churn.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"time"
)

var (
	sink    []byte
	replies [][]byte
)

// awaitReply waits for the backend's answer and decodes it into its own
// buffer. The timed-out callers never send: it blocks forever.
func awaitReply(ch <-chan int, size int) {
	buf := make([]byte, size)
	n := <-ch
	buf[0] = byte(n)
	replies = append(replies[:0], buf)
}

// handleRequest decodes a request and builds a response, all garbage once
// the response is written.
func handleRequest(r *rand.Rand) int {
	req := make([]byte, 4<<10+r.IntN(28<<10))
	req[0] = byte(r.Uint32())
	resp := append(make([]byte, 0, 2*len(req)), req...)
	resp = strconv.AppendInt(resp, int64(len(req)), 10)
	sink = resp
	return len(resp)
}

func main() {
	r := rand.New(rand.NewPCG(5, 6))
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for range 3 {
			handleRequest(r)
		}
		if n%10 < 3 { // 30 backend calls a second; every one times out
			ch := make(chan int)
			go awaitReply(ch, 8192)
		}
		if n%1000 == 0 {
			fmt.Println("goroutines", runtime.NumGoroutine())
		}
	}
}
