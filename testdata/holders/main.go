// Command holders keeps objects alive in the ways a retention path must
// name: a global map, a global slice, a field of a global struct and a
// blocked goroutine's frame. It prints each object's address ("map 0x..."),
// then "ready"; on the stdin line "delete" it drops the map entry, runs two
// GCs and prints "deleted". It never exits by itself.
package main

import (
	"bufio"
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

//go:noinline
func hold(ready chan<- struct{}, stop <-chan struct{}) {
	buf := new([4096]*int)
	fmt.Printf("frame %p\n", buf)
	ready <- struct{}{}
	<-stop
	runtime.KeepAlive(buf)
}

func main() {
	for i := 0; i < 64; i++ {
		sessions[i] = &session{id: i, payload: make([]byte, 256)}
	}
	for i := 0; i < 16; i++ {
		cache = append(cache, make([]byte, 512))
	}
	for i := 0; i < 8; i++ {
		registry.items = append(registry.items, &item{name: fmt.Sprint("item", i)})
	}
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
	}
	for {
		time.Sleep(time.Hour) // not select{}: no deadlock report once stdin ends
	}
}
