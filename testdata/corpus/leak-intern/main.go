// Command leak-intern is a log-ingest service that interns field values to
// save memory. It also interns request IDs, which never repeat, so the
// intern table grows forever: ~800 new 256-byte strings a second (plus
// map growth, ~230 KiB/s) under ~16 MB/s of request churn.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

var (
	interned = map[string]string{}
	sink     []byte
)

// intern returns the canonical copy of the string held in b.
func intern(b []byte) string {
	if s, ok := interned[string(b)]; ok {
		return s
	}
	s := string(b)
	interned[s] = s
	return s
}

// parseLine splits one log line into interned fields.
func parseLine(r *rand.Rand, reqID int64, scratch []byte) (level, service, id string) {
	levels := [...]string{"debug", "info", "warn", "error"}
	level = intern(append(scratch[:0], levels[r.IntN(4)]...))
	service = intern(strconv.AppendInt(append(scratch[:0], "svc-"...), int64(r.IntN(40)), 10))
	// the request ID: trace context, 256 bytes, unique per request
	b := strconv.AppendInt(append(scratch[:0], "req-"...), reqID, 16)
	for len(b) < 256 {
		b = append(b, '.')
	}
	id = intern(b)
	return
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
	r := rand.New(rand.NewPCG(11, 12))
	fmt.Println("ready", os.Getpid())
	scratch := make([]byte, 0, 512)
	var reqID int64
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for range 3 {
			handleRequest(r)
		}
		for range 8 {
			reqID++
			parseLine(r, reqID, scratch)
		}
		if n%1000 == 0 {
			fmt.Println("interned", len(interned))
		}
	}
}
