// Command ctl-sawtooth is an event forwarder that buffers events in
// memory and flushes the whole batch every 10 s: its heap is a sawtooth
// rising by ~8 MB and dropping back each period. Plus ~16 MB/s of
// request churn. Nothing leaks.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

type event struct {
	at   int64
	body []byte
}

var (
	pending []*event
	sink    []byte
)

// bufferEvent queues one event for the next flush.
func bufferEvent(r *rand.Rand) {
	e := &event{at: time.Now().UnixNano(), body: make([]byte, 4000)}
	e.body[0] = byte(r.Uint32())
	pending = append(pending, e)
}

// flush ships the batch and lets it go.
func flush() int {
	n := len(pending)
	pending = nil
	return n
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
	r := rand.New(rand.NewPCG(21, 22))
	fmt.Println("ready", os.Getpid())
	flushTick := time.NewTicker(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		select {
		case <-flushTick.C:
			fmt.Println("flushed", flush())
			continue
		case <-tick.C:
		}
		for range 3 {
			handleRequest(r)
		}
		bufferEvent(r)
		bufferEvent(r)
	}
}
