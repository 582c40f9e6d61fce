// Command leakyservice is the target of `leakscope run`'s tests: a small
// HTTP service on loopback whose handler allocates like a real one and,
// with -leak N, also keeps N bytes per request in a slice that is never
// trimmed (the leak site is main.remember). Each request also encodes its
// response through a -scratch byte buffer, garbage at once, as a service
// reading and writing bodies makes: the heap then collects every few
// seconds however large the leak has grown. It prints "listening on ADDR"
// once it accepts connections, and exits on SIGTERM or SIGINT.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
)

var (
	mu   sync.Mutex
	kept [][]byte // grows without bound with -leak
)

// remember keeps a copy of the response: the leak.
//
//go:noinline
func remember(body []byte, n int) {
	b := make([]byte, n)
	copy(b, body)
	mu.Lock()
	kept = append(kept, b)
	mu.Unlock()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	leak := flag.Int("leak", 0, "bytes kept forever per request (0: no leak)")
	scratch := flag.Int("scratch", 64<<10, "bytes of scratch buffer per request (garbage)")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("/item", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.URL.Query().Get("id"))
		tags := make([]string, 0, 16)
		for i := range 16 {
			tags = append(tags, fmt.Sprintf("tag-%d-%d", id, i))
		}
		buf := bytes.NewBuffer(make([]byte, 0, *scratch))
		if err := json.NewEncoder(buf).Encode(map[string]any{"id": id, "path": r.URL.Path, "tags": tags}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body := buf.Bytes()
		if *leak > 0 {
			remember(body, *leak)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: mux}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		_ = srv.Close()
	}()
	fmt.Println("listening on", ln.Addr())
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
