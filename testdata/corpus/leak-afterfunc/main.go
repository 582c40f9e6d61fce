// Command leak-afterfunc is an RPC proxy that arms a 10-minute
// time.AfterFunc per request to cancel it if it hangs, and never stops the
// timer when the request completes. Since Go 1.23 the garbage collector
// frees unstopped timers that are no longer referenced, but only channel
// timers (NewTimer, NewTicker, After, Tick): an AfterFunc timer sits in
// the runtime's timer heap until it fires, and its closure keeps the
// request and its 2 KiB payload alive for 10 minutes. At 100 requests a
// second that is ~200 KiB/s growing for 10 minutes (a leak for any watch
// shorter than that, and a 120 MB plateau after), under ~16 MB/s churn.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

type request struct {
	id       int64
	payload  []byte
	canceled bool
}

var sink []byte

// newRequest decodes the request envelope and its payload.
func newRequest(id int64, r *rand.Rand) *request {
	req := &request{id: id, payload: make([]byte, 2048)}
	req.payload[0] = byte(r.Uint32())
	return req
}

// proxy forwards one request, guarded by a cancellation timer.
func proxy(id int64, r *rand.Rand) {
	req := newRequest(id, r)
	time.AfterFunc(10*time.Minute, func() { req.canceled = true })
	forward(req, r)
	// done: the guard should be stopped here, and is not
}

// forward does the request's ordinary work, all garbage once it returns.
func forward(req *request, r *rand.Rand) int {
	buf := make([]byte, 4<<10+r.IntN(28<<10))
	buf[0] = req.payload[0]
	resp := append(make([]byte, 0, 2*len(buf)), buf...)
	resp = strconv.AppendInt(resp, req.id, 10)
	sink = resp
	return len(resp)
}

func main() {
	r := rand.New(rand.NewPCG(13, 14))
	fmt.Println("ready", os.Getpid())
	var id int64
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		id++
		proxy(id, r)
		for range 2 {
			forward(&request{id: id, payload: []byte{0}}, r)
		}
		if n%1000 == 0 {
			fmt.Println("requests", id)
		}
	}
}
