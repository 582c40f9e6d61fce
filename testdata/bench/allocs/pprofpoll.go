package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // the in-process alternative: /debug/pprof/heap
	"runtime"
	"sync"
	"time"
)

// pollInterval is how often the program fetches its own heap profile.
const pollInterval = 10 * time.Second

var (
	pollMu   sync.Mutex
	pollStop chan struct{}
	pollAddr string
)

// pprofPolling turns the in-process heap profiling on (sampling at the
// runtime's default rate, and a GET of /debug/pprof/heap every 10 s, the
// first one 1 s after) or off.
func pprofPolling(on bool) error {
	pollMu.Lock()
	defer pollMu.Unlock()
	if !on {
		if pollStop != nil {
			close(pollStop)
			pollStop = nil
		}
		runtime.MemProfileRate = 0
		return nil
	}
	if pollStop != nil {
		return fmt.Errorf("pprof polling is already on")
	}
	if pollAddr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go http.Serve(ln, nil)
		pollAddr = ln.Addr().String()
	}
	runtime.MemProfileRate = 512 * 1024
	stop := make(chan struct{})
	pollStop = stop
	go func() {
		t := time.NewTimer(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if resp, err := http.Get("http://" + pollAddr + "/debug/pprof/heap"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			t.Reset(pollInterval)
		}
	}()
	return nil
}
