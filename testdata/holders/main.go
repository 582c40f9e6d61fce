// Command holders keeps objects alive in the ways a retention path must
// name: a global map, a global slice, a field of a global struct, a
// blocked goroutine's frame, the far end of a global linked list, an
// armed time.AfterFunc timer's closure and a global channel's buffer. It
// prints each object's address ("map 0x..."),
// then "ready" (with -ballast-mb, after building that much extra
// pointer-bearing heap); on the stdin line "delete" it drops the map entry, runs two
// GCs and prints "deleted"; on "stop" it stops the AfterFunc timer, drops
// it, runs two GCs and prints "stopped". It never exits by itself.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

type session struct {
	id      int
	payload []byte
}

type item struct {
	name string
	data [64]byte
}

var (
	sessions = map[int]*session{}
	cache    [][]byte
	registry struct {
		mu    sync.Mutex
		items []*item
	}
)

// job is what the jobs channel buffers: 100 of 4096 slots, never drained.
type job struct {
	id   int
	body []byte
}

var jobs = make(chan *job, 4096)

// guard is the AfterFunc timer, kept to be stopped on "stop".
var guard *time.Timer

// arm keeps pending alive in an hour-long AfterFunc closure: the runtime's
// timer heap holds the timer (and guard, until "stop").
//
//go:noinline
func arm(pending *session) {
	guard = time.AfterFunc(time.Hour, func() { fmt.Println("expired", pending.id) })
}

//go:noinline
func hold(ready chan<- struct{}, stop <-chan struct{}) {
	buf := new([4096]*int)
	fmt.Printf("frame %p\n", buf)
	ready <- struct{}{}
	<-stop
	runtime.KeepAlive(buf)
}

// deadSlot keeps its only pointer to an object in a stack slot that is
// dead by the time it parks: the garbage collector would free the object
// (the fixture collects no more once ready), a conservative scan of the
// frame would name the frame as its holder.
//
//go:noinline
func deadSlot(ready chan<- struct{}, stop <-chan struct{}) {
	p := new([512]*int)
	touch(p) // p is live across the calls: spilled to the frame
	fmt.Printf("dead %p\n", p)
	ready <- struct{}{}
	<-stop
}

//go:noinline
func touch(p *[512]*int) { p[0] = nil }

// node is the ballast: a pointer-bearing heap of -ballast-mb MiB for
// measuring a search (64-byte nodes in linked chains of 1024).
type node struct {
	next *node
	pad  [7]*int
}

var (
	ballast []*node
	// events is a linked list of 5000 nodes, newest first: its oldest node
	// is 5000 pointers away from the global.
	events *node
)

func main() {
	ballastMB := flag.Int("ballast-mb", 0, "MiB of pointer-bearing heap to keep (for benchmarks)")
	flag.Parse()
	for i := 0; i < *ballastMB<<20/64/1024; i++ {
		var head *node
		for j := 0; j < 1024; j++ {
			head = &node{next: head}
		}
		ballast = append(ballast, head)
	}
	for i := 0; i < 5000; i++ {
		events = &node{next: events}
	}
	oldest := events
	for oldest.next != nil {
		oldest = oldest.next
	}
	fmt.Printf("list %p\n", oldest)
	oldest = nil
	for i := 0; i < 64; i++ {
		sessions[i] = &session{id: i, payload: make([]byte, 256)}
	}
	for i := 0; i < 16; i++ {
		cache = append(cache, make([]byte, 512))
	}
	for i := 0; i < 8; i++ {
		registry.items = append(registry.items, &item{name: fmt.Sprint("item", i)})
	}
	for i := 0; i < 100; i++ {
		j := &job{id: i, body: make([]byte, 128)}
		jobs <- j
		if i == 42 {
			fmt.Printf("chan %p\n", j)
		}
	}
	pending := &session{id: -1, payload: make([]byte, 256)}
	arm(pending)
	fmt.Printf("timer %p\n", pending)
	pending = nil
	ready, stop := make(chan struct{}), make(chan struct{})
	go hold(ready, stop)
	<-ready
	// Garbage meanwhile, so that spans are swept and reused.
	var junk [][]byte
	for i := 0; i < 1000; i++ {
		junk = append(junk, make([]byte, 1024))
	}
	junk = nil
	runtime.GC()
	go deadSlot(ready, stop)
	<-ready
	fmt.Printf("map %p\n", sessions[7])
	fmt.Printf("slice %p\n", &cache[3][0])
	fmt.Printf("field %p\n", registry.items[5])
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "delete" {
			delete(sessions, 7)
			runtime.GC()
			runtime.GC()
			fmt.Println("deleted")
		}
		if in.Text() == "stop" {
			guard.Stop()
			guard = nil
			runtime.GC()
			runtime.GC()
			fmt.Println("stopped")
		}
	}
	for {
		time.Sleep(time.Hour) // not select{}: no deadlock report once stdin ends
	}
}
