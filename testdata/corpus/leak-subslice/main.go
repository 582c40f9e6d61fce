// Command leak-subslice is a message indexer: it reads 64 KiB frames and
// keeps only each frame's 32-byte header in an index. The header is a
// sub-slice of the frame, so the index keeps every whole 64 KiB frame
// alive: 4 frames a second, ~256 KiB/s retained for 128 B/s of data,
// under ~16 MB/s of request churn.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

var (
	index [][]byte
	sink  []byte
)

// readFrame reads one frame from the wire into a fresh buffer.
func readFrame(r *rand.Rand) []byte {
	frame := make([]byte, 64<<10)
	for i := 0; i < 32; i++ {
		frame[i] = byte(r.Uint32())
	}
	return frame
}

// indexFrame remembers the frame's header (and, by mistake, its frame).
func indexFrame(frame []byte) {
	index = append(index, frame[:32])
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
	r := rand.New(rand.NewPCG(7, 8))
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for range 3 {
			handleRequest(r)
		}
		if n%25 == 0 {
			indexFrame(readFrame(r))
		}
		if n%1000 == 0 {
			fmt.Println("indexed", len(index))
		}
	}
}
