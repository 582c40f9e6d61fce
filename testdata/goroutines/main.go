// Command goroutines is the fixture of the goroutine-leak tests: each
// named case below runs in its own goroutines, created by its own `go`
// statement, so that one process holds six leaks and four controls side by
// side. -cases picks some (default all); -rate scales the leaks.
//
// Leaks (a group of goroutines that keeps growing and never ends):
//   - chansend: a send on a channel nobody receives from.
//   - httpbody: HTTP responses from a local server whose bodies are never
//     closed (each keeps a connection and its read and write loops).
//   - ctxwait: a wait on a context that is never cancelled.
//   - ticker: a ticker loop with no way to stop.
//   - mutex: a lock on a mutex held forever.
//   - netread: a read from a loopback connection the peer never writes to
//     or closes (network I/O: Go's own leak profile cannot see it).
//
// Controls (no leak):
//   - pool: a fixed pool of workers waiting for jobs.
//   - requests: per-request goroutines that finish within 400 ms.
//   - boot: long-lived background goroutines started at boot.
//   - burst: every 10 s, a fan-out of 300 goroutines that drain over 8 s.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	cases := flag.String("cases", "chansend,httpbody,ctxwait,ticker,mutex,netread,pool,requests,boot,burst", "comma-separated cases")
	every := flag.Duration("every", 200*time.Millisecond, "how often each leak leaks one goroutine")
	park := flag.Int("park", 0, "also start this many goroutines blocked for good (read-cost benchmarks)")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address")
	flag.Parse()
	if *pprofAddr != "" {
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			panic(err)
		}
		fmt.Println("pprof", ln.Addr())
		go http.Serve(ln, nil)
	}
	parked := make(chan int)
	for i := 0; i < *park; i++ {
		go parkForever(parked)
	}
	for _, c := range strings.Split(*cases, ",") {
		start, ok := starters[c]
		if !ok {
			fmt.Fprintln(os.Stderr, "unknown case", c)
			os.Exit(2)
		}
		start(*every)
	}
	fmt.Println("ready", os.Getpid())
	select {}
}

var starters = map[string]func(every time.Duration){
	"chansend": func(e time.Duration) { go repeat(e, leakChanSend) },
	"httpbody": startHTTPBody,
	"ctxwait":  func(e time.Duration) { go repeat(e, leakCtxWait) },
	"ticker":   func(e time.Duration) { go repeat(e, leakTicker) },
	"mutex":    startMutex,
	"netread":  startNetRead,
	"pool":     startPool,
	"requests": func(time.Duration) { go repeat(20*time.Millisecond, request) },
	"boot":     startBoot,
	"burst":    func(time.Duration) { go repeat(10*time.Second, burst) },
}

func parkForever(c <-chan int) { <-c }

func repeat(every time.Duration, fn func()) {
	for range time.Tick(every) {
		fn()
	}
}

// --- leaks ---

func leakChanSend() {
	ch := make(chan int)
	go sendResult(ch)
}

func sendResult(ch chan<- int) { ch <- 42 }

// cancels keeps every cancel function, none of which is ever called.
var cancels []context.CancelFunc

func leakCtxWait() {
	ctx, cancel := context.WithCancel(context.Background())
	cancels = append(cancels, cancel)
	go awaitCancel(ctx)
}

func awaitCancel(ctx context.Context) { <-ctx.Done() }

func leakTicker() { go pollForever() }

func pollForever() {
	t := time.NewTicker(time.Hour)
	for range t.C {
	}
}

var held sync.Mutex

func startMutex(every time.Duration) {
	held.Lock() // never unlocked
	go repeat(every, func() { go lockHeld() })
}

func lockHeld() {
	held.Lock()
	held.Unlock()
}

func startNetRead(every time.Duration) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	var accepted []net.Conn // the server side: held open, never written
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
	}()
	go repeat(every, func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		go readReply(c)
	})
}

func readReply(c net.Conn) {
	buf := make([]byte, 512)
	_, _ = c.Read(buf)
}

func startHTTPBody(every time.Duration) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, strings.Repeat("x", 64<<10))
	}))
	url := "http://" + ln.Addr().String() + "/"
	go repeat(every, func() { fetchUnclosed(url) })
}

// fetchUnclosed forgets to close the body: the connection cannot be
// reused, and its transport goroutines stay.
func fetchUnclosed(url string) {
	resp, err := http.Get(url)
	if err != nil {
		return
	}
	_ = resp.StatusCode
}

// --- controls ---

func startPool(time.Duration) {
	jobs := make(chan int)
	for i := 0; i < 32; i++ {
		go worker(jobs)
	}
	go repeat(10*time.Millisecond, func() { jobs <- 1 })
}

func worker(jobs <-chan int) {
	for j := range jobs {
		_ = j
	}
}

func request() { go handle() }

func handle() { time.Sleep(time.Duration(time.Now().UnixNano()%400) * time.Millisecond) }

func startBoot(time.Duration) {
	for i := 0; i < 100; i++ {
		go background(i)
	}
}

func background(i int) {
	t := time.NewTicker(time.Duration(1+i%5) * time.Second)
	for range t.C {
	}
}

func burst() {
	var wg sync.WaitGroup
	for i := 0; i < 300; i++ {
		wg.Add(1)
		go fanOut(&wg, i)
	}
	wg.Wait()
}

func fanOut(wg *sync.WaitGroup, i int) {
	defer wg.Done()
	time.Sleep(time.Duration(500+i*25) * time.Millisecond)
}
