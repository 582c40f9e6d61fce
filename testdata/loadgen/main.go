// Command loadgen is a small HTTP load generator for `leakscope run`'s
// tests and docs (like hey or wrk, with nothing to install): it sends GET
// requests to a loopback URL at a fixed rate for a fixed time, bounded in
// both, and exits 1 if any request failed.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("url", "", "URL to request (loopback only); ?id=N is appended")
	duration := flag.Duration("duration", 30*time.Second, "how long to send requests (at most 10m)")
	rate := flag.Int("rate", 200, "requests per second (at most 5000)")
	workers := flag.Int("workers", 8, "concurrent connections")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		fmt.Fprintf(os.Stderr, "loadgen: -url %q: want an http URL\n", *target)
		os.Exit(2)
	}
	if h := u.Hostname(); h != "localhost" && h != "::1" && (len(h) < 4 || h[:4] != "127.") {
		fmt.Fprintf(os.Stderr, "loadgen: -url %q: only loopback addresses\n", *target)
		os.Exit(2)
	}
	if *duration <= 0 || *duration > 10*time.Minute || *rate < 1 || *rate > 5000 || *workers < 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -duration, -rate or -workers out of range")
		os.Exit(2)
	}
	jobs := make(chan int, *workers)
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				resp, err := client.Get(*target + "?id=" + strconv.Itoa(id))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	defer tick.Stop()
	end := time.After(*duration)
send:
	for id := 0; ; id++ {
		select {
		case <-end:
			break send
		case <-tick.C:
		}
		if ok.Load() == 0 && failed.Load() >= 10 {
			break send // the target is not there: give up early
		}
		select {
		case jobs <- id:
		default: // every worker busy: drop rather than queue up
		}
	}
	close(jobs)
	wg.Wait()
	fmt.Printf("loadgen: %d requests ok, %d failed\n", ok.Load(), failed.Load())
	if failed.Load() > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: first error: %v\n", firstErr.Load())
		os.Exit(1)
	}
}
