// Command leak-background is a service that ships metrics from a
// background goroutine. The collector it ships to is unreachable; every
// failed batch is queued for a retry that never drains (the retry loop
// only appends). The leak is entirely in the background goroutine: ~50
// encoded batches of 4 KiB a second (~200 KiB/s), while the request loop
// churns ~16 MB/s of short-lived garbage.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

type metric struct {
	name  uint32
	value float64
	at    int64
}

var (
	retryQueue [][]byte
	sink       []byte
	errDown    = errors.New("collector unreachable")
)

// encodeBatch serializes a batch of metrics for the wire.
func encodeBatch(batch []metric) []byte {
	out := make([]byte, 0, len(batch)*20)
	for _, m := range batch {
		out = binary.LittleEndian.AppendUint32(out, m.name)
		out = binary.LittleEndian.AppendUint64(out, uint64(m.value))
		out = binary.LittleEndian.AppendUint64(out, uint64(m.at))
	}
	return out
}

func send([]byte) error { return errDown }

// shipMetrics runs in the background for the life of the process.
func shipMetrics(in <-chan []metric) {
	for batch := range in {
		data := encodeBatch(batch)
		if err := send(data); err != nil {
			retryQueue = append(retryQueue, data) // retried "later": never
		}
	}
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
	r := rand.New(rand.NewPCG(9, 10))
	batches := make(chan []metric, 16)
	go shipMetrics(batches)
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	var batch []metric
	for n := 0; ; n++ {
		<-tick.C
		for range 3 {
			sz := handleRequest(r)
			batch = append(batch, metric{name: uint32(n % 64), value: float64(sz), at: time.Now().UnixNano()})
			batch = append(batch, metric{name: 64 + uint32(n%64), value: 1, at: time.Now().UnixNano()})
		}
		if n%2 == 1 { // 50 batches/s, padded to 204 metrics: ~4 KiB encoded
			for len(batch) < 204 {
				batch = append(batch, metric{name: 999, value: 0})
			}
			batches <- batch
			batch = nil
		}
		if n%1000 == 0 {
			fmt.Println("queued batches", len(retryQueue))
		}
	}
}
