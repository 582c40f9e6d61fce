// Command httpservice is the soak test's target: a small JSON HTTP service
// on loopback whose handlers allocate like a real one (request parsing, a
// per-request map and slice, JSON encoding) and keep a bounded cache, so
// nothing leaks. It prints "ready PID ADDR" once it listens.
package main

import (
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

// cache is bounded: the soak target must not leak.
type cache struct {
	mu    sync.Mutex
	items map[int][]byte
	order []int
	limit int
}

func (c *cache) put(k int, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; !ok {
		c.order = append(c.order, k)
	}
	c.items[k] = v
	for len(c.order) > c.limit {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	flag.Parse()
	c := &cache{items: map[int][]byte{}, limit: 4096}
	mux := http.NewServeMux()
	mux.HandleFunc("/item", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.URL.Query().Get("id"))
		fields := make(map[string]any, 8)
		fields["id"] = id
		fields["path"] = r.URL.Path
		tags := make([]string, 0, 16)
		for i := range 16 {
			tags = append(tags, fmt.Sprintf("tag-%d-%d", id, i))
		}
		fields["tags"] = tags
		body, err := json.Marshal(fields)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c.put(id%8192, body)
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
	fmt.Println("ready", os.Getpid(), ln.Addr())
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
