package crosscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// WatchConfig is what a Watcher fetches, and how often.
type WatchConfig struct {
	PID int
	// URL is the endpoint given by the user; "" discovers one among the
	// target's listening sockets (when Discover is set).
	URL      string
	Discover bool
	// Interval between fetches (default 15s). A failing endpoint is
	// retried at most that often; discovery, which probes every
	// listening port, backs off to four times that.
	Interval time.Duration
	// GC lets a fetch ask the target to collect first (?gc=1). Off by
	// default: it stops the target's world.
	GC     bool
	Limits Limits
	// Goroutines also fetches the goroutine profile beside the heap
	// profile, right after each heap fetch that succeeded.
	Goroutines bool
	// GoroutineLeak also fetches /debug/pprof/goroutineleak (Go 1.27, or
	// 1.26 built with GOEXPERIMENT=goroutineleakprofile) with the
	// goroutine profile. Off by default: serving it runs a GC cycle with
	// leak detection in the target.
	GoroutineLeak bool
}

// DefaultInterval is the default time between fetches.
const DefaultInterval = 15 * time.Second

// Status is the Watcher's latest state; Heap is nil until a fetch
// succeeded, and then always the latest success.
type Status struct {
	URL        string // the endpoint fetched (discovered or given)
	Discovered bool
	Heap       *Heap
	LastError  string
	ErrorAt    time.Time
	Fetches    uint64 // requests made, probes included
	Failures   uint64 // fetch rounds that failed (a discovery round counts once)
	// The goroutine profile (WatchConfig.Goroutines): the latest success
	// and the latest fetch's error ("" when it succeeded).
	GoroutineURL      string
	Goroutines        *Goroutines
	GoroutineError    string
	GoroutineFailures uint64
	// The goroutine leak profile (WatchConfig.GoroutineLeak), likewise.
	GoroutineLeak      *Goroutines
	GoroutineLeakError string
}

// Watcher fetches one target's heap profile on its own schedule.
type Watcher struct {
	cfg    WatchConfig
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}

	mu     sync.Mutex
	status Status
}

// Watch starts fetching; Stop ends it. It never blocks the caller.
func Watch(ctx context.Context, cfg WatchConfig) *Watcher {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{cfg: cfg, cancel: cancel, done: make(chan struct{}), kick: make(chan struct{}, 1)}
	if cfg.URL != "" {
		if u, err := HeapURL(cfg.URL, cfg.GC); err == nil {
			w.status.URL = u
		}
	}
	go w.run(ctx)
	return w
}

// Status returns the latest state without waiting for a fetch.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Kick says a snapshot was just taken: a fetch that is due starts now,
// so the profile lands right after a snapshot, where leakscope's view of
// the same moment is best known (between snapshots, leakscope's figure is
// interpolated, which is off by up to a GC cycle's growth). It never
// blocks; without kicks fetches still come every Interval or so.
func (w *Watcher) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Stop ends the Watcher and waits for its goroutine (a fetch in flight is
// cancelled).
func (w *Watcher) Stop() {
	w.cancel()
	<-w.done
}

// rediscoverAfter is how many failures in a row make a discovered
// endpoint be looked for again (the target may have moved it).
const rediscoverAfter = 3

func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	fetcher, fetchErr := w.fetcher()
	url, discovered := w.cfg.URL, false
	failures := 0
	for {
		wait := w.cfg.Interval
		switch {
		case fetchErr != nil:
			w.fail(fetchErr)
			wait = 4 * w.cfg.Interval
		case url == "" && !w.cfg.Discover:
			w.fail(errors.New("no pprof endpoint: none given and discovery is off"))
			return
		case url == "":
			var heap *Heap
			var err error
			url, heap, err = w.discover(ctx, fetcher)
			if err != nil {
				w.fail(err)
				wait = 4 * w.cfg.Interval
				break
			}
			discovered = true
			w.succeed(url, true, heap)
			w.fetchGoroutines(ctx, fetcher, url)
		default:
			w.count()
			heap, err := fetcher.Fetch(ctx, url)
			if err != nil {
				w.fail(err)
				failures++
				if discovered && failures >= rediscoverAfter {
					url, failures = "", 0
				}
				break
			}
			failures = 0
			w.succeed(url, discovered, heap)
			w.fetchGoroutines(ctx, fetcher, url)
		}
		if !w.sleep(ctx, wait) {
			return
		}
	}
}

// sleep waits for the first kick once most of wait (3/4) has passed, or
// for twice wait without a kick (leakscope may snapshot rarely). False
// when ctx ended.
func (w *Watcher) sleep(ctx context.Context, wait time.Duration) bool {
	start := time.Now()
	limit := time.NewTimer(2 * wait)
	defer limit.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-limit.C:
			return true
		case <-w.kick:
			if time.Since(start) >= wait*3/4 {
				return true
			}
		}
	}
}

func (w *Watcher) fetcher() (*Fetcher, error) {
	if w.cfg.URL != "" {
		return NewFetcher(nil, w.cfg.Limits, w.cfg.GC), nil
	}
	dial, err := TargetDialer(w.cfg.PID)
	if err != nil {
		return nil, fmt.Errorf("pprof discovery: %w", err)
	}
	return NewFetcher(dial, w.cfg.Limits, w.cfg.GC), nil
}

// discover probes /debug/pprof/heap on each listening address of the
// target and returns the first that serves a heap profile.
func (w *Watcher) discover(ctx context.Context, f *Fetcher) (string, *Heap, error) {
	addrs, err := ListeningAddrs(w.cfg.PID)
	if err != nil {
		return "", nil, fmt.Errorf("pprof discovery: %w", err)
	}
	if len(addrs) == 0 {
		return "", nil, errors.New("pprof discovery: the target listens on no TCP port")
	}
	var errs []error
	for _, a := range addrs {
		if ctx.Err() != nil {
			return "", nil, ctx.Err()
		}
		u := "http://" + net.JoinHostPort(a.Addr().String(), fmt.Sprint(a.Port())) + "/debug/pprof/heap"
		w.count()
		h, err := f.Fetch(ctx, u)
		if err == nil {
			return u, h, nil
		}
		errs = append(errs, err)
	}
	return "", nil, fmt.Errorf("pprof discovery: no heap profile on %d listening address(es): %w", len(addrs), errors.Join(errs...))
}

func (w *Watcher) count() {
	w.mu.Lock()
	w.status.Fetches++
	w.mu.Unlock()
}

func (w *Watcher) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.Failures++
	w.status.LastError = err.Error()
	w.status.ErrorAt = time.Now()
}

func (w *Watcher) succeed(url string, discovered bool, h *Heap) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.URL, w.status.Discovered, w.status.Heap = url, discovered, h
}

// fetchGoroutines fetches the goroutine profile beside the heap profile
// at heapURL, if asked to. Its failure fails no heap round.
func (w *Watcher) fetchGoroutines(ctx context.Context, f *Fetcher, heapURL string) {
	if !w.cfg.Goroutines {
		return
	}
	u, err := GoroutineURL(heapURL)
	var g *Goroutines
	if err == nil {
		w.count()
		g, err = f.FetchGoroutines(ctx, u)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.GoroutineURL = u
	if err != nil {
		w.status.GoroutineError = err.Error()
		w.status.GoroutineFailures++
		return
	}
	w.status.Goroutines, w.status.GoroutineError = g, ""
	if !w.cfg.GoroutineLeak {
		return
	}
	w.mu.Unlock()
	leak, err := f.FetchGoroutines(ctx, strings.TrimSuffix(u, "/goroutine")+"/goroutineleak")
	w.mu.Lock()
	w.status.Fetches++
	if err != nil {
		if strings.Contains(err.Error(), "HTTP 404") {
			err = fmt.Errorf("%w (served by Go 1.27, or 1.26 built with GOEXPERIMENT=goroutineleakprofile)", err)
		}
		w.status.GoroutineLeakError = err.Error()
		return
	}
	w.status.GoroutineLeak, w.status.GoroutineLeakError = leak, ""
}
