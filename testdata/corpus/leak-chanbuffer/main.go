// Command leak-chanbuffer is an audit pipeline whose consumer is never
// started: requests queue an audit job (~100 a second, 2 KiB each) on a
// global channel of 65536 slots for a worker that runs only with -audit,
// and the send does not block until the buffer is full (~11 minutes). So
// nothing seems wrong while the channel's buffer keeps every job:
// ~200 KiB/s, under ~4 MB/s of request garbage. The holder is the
// channel: main.jobs (channel buffer).
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

type job struct {
	id   int64
	body []byte
}

var (
	jobs    = make(chan *job, 1<<16)
	dropped int
)

// enqueue builds an audit job from a request and queues it for the worker.
func enqueue(id int64, r *rand.Rand) {
	j := &job{id: id, body: make([]byte, 2048)}
	j.body[0] = byte(r.Uint32())
	select {
	case jobs <- j:
	default:
		dropped++
	}
}

// audit would drain the queue: started only with -audit.
func audit() {
	for j := range jobs {
		_ = j.body[0]
	}
}

// handleRequest is the request's ordinary work, all garbage once it returns.
func handleRequest(id int64, r *rand.Rand) int {
	req := make([]byte, 4<<10+r.IntN(12<<10))
	req[0] = byte(id)
	resp := append(make([]byte, 0, 2*len(req)), req...)
	return len(resp)
}

func main() {
	auditOn := flag.Bool("audit", false, "start the audit worker")
	flag.Parse()
	if *auditOn {
		go audit()
	}
	r := rand.New(rand.NewPCG(21, 22))
	fmt.Println("ready", os.Getpid())
	var id int64
	tick := time.NewTicker(10 * time.Millisecond)
	for range tick.C {
		id++
		enqueue(id, r)
		handleRequest(id, r)
		if id%1000 == 0 {
			fmt.Println("queued", len(jobs), "dropped", dropped)
		}
	}
}
