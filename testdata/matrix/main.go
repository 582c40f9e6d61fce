// Command matrix is the target of leakscope's compatibility matrix. It is
// built by every supported Go release (so it keeps to Go 1.19's language)
// in every build kind: it leaks at a steady rate at main.leakSite, churns
// short-lived garbage at main.churnSite with the collector running often,
// and answers "ping" lines on stdin with its counters, so a test can tell
// it is healthy after leakscope detached.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

type node struct {
	next *node
	buf  []byte
}

var (
	mu     sync.Mutex
	leaked *node // grows forever
	nLeak  int
	sink   []byte // keeps the churn from being optimised away
	nCgo   int
)

//go:noinline
func leakSite(size int) {
	leaked = &node{next: leaked, buf: make([]byte, size)}
	nLeak++
}

//go:noinline
func churnSite(size int) {
	sink = make([]byte, size)
}

func main() {
	leakRate := flag.Int("leak-rate", 128<<10, "bytes leaked per second")
	churnRate := flag.Int("churn-rate", 1<<20, "bytes of short-lived garbage per second")
	gcPercent := flag.Int("gc-percent", 10, "debug.SetGCPercent: low, so GC cycles come often")
	idle := flag.Bool("idle", false, "allocate nothing and never collect: only answer pings")
	flag.Parse()

	if *idle {
		debug.SetGCPercent(-1)
	} else {
		debug.SetGCPercent(*gcPercent)
		go allocate(*leakRate, *churnRate)
		go leakGoroutines()
	}
	fmt.Println("ready", os.Getpid(), cgoLinked)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "ping" {
			continue
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		fmt.Println("pong", nLeak, ms.NumGC, nCgo, runtime.MemProfileRate)
		mu.Unlock()
	}
}

func allocate(leakRate, churnRate int) {
	const tick = 10 * time.Millisecond
	const leakSize, churnSize = 1024, 4096
	perSecond := int(time.Second / tick)
	leaks, churns := leakRate/leakSize/perSecond, churnRate/churnSize/perSecond
	if leaks < 1 {
		leaks = 1
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for range t.C {
		mu.Lock()
		for i := 0; i < churns; i++ {
			churnSite(churnSize)
		}
		for i := 0; i < leaks; i++ {
			leakSite(leakSize)
		}
		nCgo = cgoCall(nCgo) // a round trip through C in cgo builds
		mu.Unlock()
	}
}

// leakGoroutines leaks 5 goroutines a second, each blocked for good on a
// channel nobody sends on: the goroutine leak every cell must find.
func leakGoroutines() {
	for range time.Tick(200 * time.Millisecond) {
		go awaitForever(make(chan int))
	}
}

func awaitForever(c chan int) { <-c }
