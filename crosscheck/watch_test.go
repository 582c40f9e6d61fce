package crosscheck

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
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

// TestWatchSchedule: fetches are rate-limited to about one per Interval
// however often leakscope kicks, follow kicks (right after a snapshot)
// once three quarters of the interval passed, and go on every two
// intervals without kicks.
func TestWatchSchedule(t *testing.T) {
	body := heapProfile(t, rate, testSite{leakFrames, 1, 1024})
	var hits atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		octet(w)
		w.Write(body)
	}))
	defer s.Close()
	const interval = 200 * time.Millisecond
	count := func(kick bool) int32 {
		hits.Store(0)
		w := Watch(context.Background(), WatchConfig{URL: s.URL, Interval: interval, Limits: testLimits})
		end := time.Now().Add(2 * time.Second)
		for time.Now().Before(end) {
			if kick {
				w.Kick()
			}
			time.Sleep(10 * time.Millisecond)
		}
		w.Stop()
		return hits.Load()
	}
	// 2 s: without kicks one fetch every 400 ms (about 6); with a kick
	// every 10 ms one every 150-160 ms (about 13), never more than one
	// per 150 ms (14).
	if n := count(false); n < 4 || n > 7 {
		t.Errorf("without kicks: %d fetches in 2s, want about 6", n)
	}
	if n := count(true); n < 9 || n > 14 {
		t.Errorf("kicked every 10ms: %d fetches in 2s, want about 13, at most 14", n)
	}
}
