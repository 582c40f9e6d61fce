package crosscheck

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWatchDiscoversSelf: with no URL, the Watcher finds the heap profile
// among this process's listening sockets, past a socket that is not HTTP
// and an HTTP server without pprof.
func TestWatchDiscoversSelf(t *testing.T) {
	decoy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer decoy.Close()
	go func() {
		for {
			c, err := decoy.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 not http\r\n"))
			c.Close()
		}
	}()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	body := heapProfile(t, rate, testSite{leakFrames, 3, 3072})
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) { octet(w); w.Write(body) })
	pp := httptest.NewServer(mux)
	defer pp.Close()

	w := Watch(context.Background(), WatchConfig{PID: os.Getpid(), Discover: true, Interval: time.Hour, Limits: testLimits})
	defer w.Stop()
	st := waitStatus(t, w, func(s Status) bool { return s.Heap != nil || s.Failures > 0 })
	if st.Heap == nil {
		t.Fatalf("discovery failed: %s", st.LastError)
	}
	if want := pp.URL + "/debug/pprof/heap"; st.URL != want || !st.Discovered {
		t.Errorf("discovered %q (discovered=%v), want %q", st.URL, st.Discovered, want)
	}
	if st.Heap.Sites[siteKey(leakFrames)].InuseBytes != 3072 {
		t.Errorf("profile not parsed: %+v", st.Heap.Sites)
	}
	if st.Fetches < 1 {
		t.Errorf("fetches %d", st.Fetches)
	}
}

// TestWatchNoEndpoint: discovery off and no URL, or a process that
// listens on nothing: a clear error, no fetch.
func TestWatchNoEndpoint(t *testing.T) {
	w := Watch(context.Background(), WatchConfig{PID: os.Getpid(), Interval: time.Hour})
	st := waitStatus(t, w, func(s Status) bool { return s.Failures > 0 })
	w.Stop()
	if !strings.Contains(st.LastError, "discovery is off") || st.Fetches != 0 {
		t.Errorf("status %+v", st)
	}
	if os.Getpid() == 1 {
		t.Skip("pid 1 is us")
	}
	// Stop returns promptly even while the Watcher waits between rounds.
	w = Watch(context.Background(), WatchConfig{PID: 1 << 30, Discover: true, Interval: time.Hour})
	st = waitStatus(t, w, func(s Status) bool { return s.Failures > 0 })
	start := time.Now()
	w.Stop()
	if time.Since(start) > time.Second || !strings.Contains(st.LastError, "pprof discovery") {
		t.Errorf("no such pid: %+v; Stop took %v", st, time.Since(start))
	}
}

// TestWatchSchedule: fetches are rate-limited to one per 3/4 Interval
// however often leakscope kicks, follow kicks (right after a snapshot)
// once that much passed, and go on every two intervals without kicks.
// Load only lengthens gaps, so the lower bounds are hard; the upper one
// has a wide margin.
func TestWatchSchedule(t *testing.T) {
	body := heapProfile(t, rate, testSite{leakFrames, 1, 1024})
	var mu sync.Mutex
	var hits []time.Time
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, time.Now())
		mu.Unlock()
		octet(w)
		w.Write(body)
	}))
	defer s.Close()
	const interval = 300 * time.Millisecond
	gaps := func(kick bool) []time.Duration {
		mu.Lock()
		hits = nil
		mu.Unlock()
		w := Watch(context.Background(), WatchConfig{URL: s.URL, Interval: interval, Limits: testLimits})
		end := time.Now().Add(2 * time.Second)
		for time.Now().Before(end) {
			if kick {
				w.Kick()
			}
			time.Sleep(10 * time.Millisecond)
		}
		w.Stop()
		mu.Lock()
		defer mu.Unlock()
		var g []time.Duration
		for i := 1; i < len(hits); i++ {
			g = append(g, hits[i].Sub(hits[i-1]))
		}
		slices.Sort(g)
		return g
	}
	const slop = 20 * time.Millisecond // timer and clock granularity
	if g := gaps(false); len(g) == 0 || g[0] < 2*interval-slop {
		t.Errorf("without kicks: gaps %v, want none under %v", g, 2*interval)
	}
	g := gaps(true)
	if len(g) < 2 || g[0] < interval*3/4-slop {
		t.Errorf("kicked every 10ms: gaps %v, want none under %v", g, interval*3/4)
	}
	if len(g) > 0 && g[len(g)/2] > interval*3/2 {
		t.Errorf("kicked every 10ms: median gap %v, want about %v", g[len(g)/2], interval*3/4)
	}
}
