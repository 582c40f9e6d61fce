// Command demo is the target of `make demo`: a small request-processing
// loop with one real leak (a session table nothing ever evicts) and one
// harmless churn (per-request buffers that die young). Like many services
// it serves net/http/pprof (on a loopback port), which leakscope finds and
// cross-checks its verdict against.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type session struct {
	id      string
	created time.Time
	history []byte // grows with every request of the session
}

// sessions is the leak: sessions are added per request and never removed.
var sessions = map[string]*session{}

// lastRequest keeps the latest request body for debugging; it escapes each
// body to the heap, where it becomes garbage with the next request.
var lastRequest []byte

//go:noinline
func rememberSession(n int) {
	sum := sha256.Sum256([]byte(fmt.Sprint("user-", n)))
	id := hex.EncodeToString(sum[:8])
	sessions[id] = &session{id: id, created: time.Now(), history: make([]byte, 2048)}
}

//go:noinline
func handleRequest(n int) int {
	body := make([]byte, 8<<10) // request buffer: garbage once handled
	for i := range body {
		body[i] = byte(n + i)
	}
	lastRequest = body
	return int(body[n%len(body)])
}

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		fmt.Println("serving net/http/pprof on", ln.Addr())
		go http.Serve(ln, nil)
	}
	fmt.Println("demo target running, pid", os.Getpid())
	n, sum := 0, 0
	for {
		select {
		case <-stop:
			fmt.Println("served", n, "requests; checksum", sum)
			return
		case <-tick.C:
		}
		// ~100 requests per tick: ~80 MB/s of churn, ~1 MB/s leaked.
		for range 100 {
			sum += handleRequest(n)
			if n%20 == 0 {
				rememberSession(n)
			}
			n++
		}
	}
}
