// Command ctl-bursty is a reporting service: light steady traffic (~5 MB/s
// of garbage), and every 4 s a CSV export that builds ~32 MB of rows in
// 16 KiB chunks, holds it for the ~300 ms it takes to stream, and lets it
// go. Nothing leaks.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

var sink []byte

// buildExport renders a large report into chunks.
func buildExport(r *rand.Rand, chunks int) [][]byte {
	out := make([][]byte, 0, chunks)
	for i := range chunks {
		c := make([]byte, 16<<10)
		c[0] = byte(i)
		c[1] = byte(r.Uint32())
		out = append(out, c)
	}
	return out
}

// stream writes the export out, slowly.
func stream(export [][]byte) int {
	n := 0
	for i, c := range export {
		n += len(c)
		if i%256 == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
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
	r := rand.New(rand.NewPCG(27, 28))
	fmt.Println("ready", os.Getpid())
	exports := time.NewTicker(4 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	for {
		select {
		case <-exports.C:
			fmt.Println("exported", stream(buildExport(r, 2048)))
		case <-tick.C:
			handleRequest(r)
		}
	}
}
