package crosscheck

import (
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/analysis"
)

// testLimits are small, so the fault tests run fast.
var testLimits = Limits{Timeout: 500 * time.Millisecond, MaxBody: 1 << 20, MaxDecompressed: 1 << 20}

// gzipBomb is a valid gzip stream inflating to n zero bytes.
func gzipBomb(t testing.TB, n int) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for w := 0; w < n; w += len(chunk) {
		zw.Write(chunk)
	}
	zw.Close()
	return b.Bytes()
}

func octet(w http.ResponseWriter) { w.Header().Set("Content-Type", "application/octet-stream") }

// badEndpoints is every kind of bad endpoint, with what the reason says.
func badEndpoints(t *testing.T) []struct {
	name, want string
	url        string
} {
	serve := func(h http.HandlerFunc) string {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s.URL
	}
	// Refused: a port that was just listening and is closed now.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	bomb := gzipBomb(t, 64<<20)
	other := serve(func(w http.ResponseWriter, r *http.Request) { octet(w); w.Write(heapProfile(t, 524288)) })
	return []struct{ name, want, url string }{
		{"refused", "connection refused", refused},
		{"404", "HTTP 404", serve(http.NotFound)},
		{"500", "HTTP 500", serve(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		})},
		{"slow headers", "timed out", serve(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})},
		{"slow body", "timed out", serve(func(w http.ResponseWriter, r *http.Request) {
			octet(w)
			w.Write([]byte{0x1f})
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})},
		{"endless body", "body larger than", serve(func(w http.ResponseWriter, r *http.Request) {
			octet(w)
			chunk := make([]byte, 64<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					return // the client hung up
				}
			}
		})},
		{"garbage", "not a profile", serve(func(w http.ResponseWriter, r *http.Request) {
			octet(w)
			w.Write(bytes.Repeat([]byte("\xde\xad\xbe\xef garbage"), 1000))
		})},
		{"gzip bomb", "gzip bomb", serve(func(w http.ResponseWriter, r *http.Request) { octet(w); w.Write(bomb) })},
		{"html", "content type \"text/html", serve(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<html>login</html>"))
		})},
		{"not a heap profile", "not a heap profile", serve(func(w http.ResponseWriter, r *http.Request) {
			octet(w)
			w.Write(cpuProfile(t))
		})},
		{"redirect off the target", "redirect off the target", serve(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other+"/debug/pprof/heap", http.StatusFound)
		})},
	}
}

// cpuProfile is a valid proto profile that is not a heap profile.
func cpuProfile(t testing.TB) []byte {
	fn := &profile.Function{ID: 1, Name: "main.f"}
	loc := &profile.Location{ID: 1, Address: 0x1000, Line: []profile.Line{{Function: fn, Line: 1}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample:     []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{1, 10000000}}},
		Location:   []*profile.Location{loc},
		Function:   []*profile.Function{fn},
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFetchBadEndpoints: every bad endpoint ends in an error naming the
// reason, within the timeout, with memory bounded by the limits.
func TestFetchBadEndpoints(t *testing.T) {
	for _, c := range badEndpoints(t) {
		t.Run(c.name, func(t *testing.T) {
			f := NewFetcher(nil, testLimits, false)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			h, err := f.Fetch(context.Background(), c.url)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("Fetch = %+v, want an error", h)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if took > 3*testLimits.Timeout+time.Second { // margin for a loaded machine
				t.Errorf("took %v, timeout %v", took, testLimits.Timeout)
			}
			// Allocated by the whole process meanwhile (the test server
			// included): a few times the caps, never the endless body or
			// the 64 MiB the bomb inflates to.
			if a := after.TotalAlloc - before.TotalAlloc; a > 16<<20 {
				t.Errorf("allocated %d MiB during the fetch; caps are 1 MiB", a>>20)
			}
		})
	}
}

// TestBadEndpointsUnavailable: through the Watcher and the comparison, a
// bad endpoint makes every suspect unavailable with the reason, and the
// target's last error says it.
func TestBadEndpointsUnavailable(t *testing.T) {
	for _, c := range badEndpoints(t) {
		t.Run(c.name, func(t *testing.T) {
			w := Watch(context.Background(), WatchConfig{URL: c.url, Interval: time.Hour, Limits: testLimits})
			defer w.Stop()
			st := waitStatus(t, w, func(s Status) bool { return s.Failures > 0 })
			cmp := NewComparator(time.Now(), time.Minute)
			sus := []analysis.Suspect{{Function: "main.leak", Stack: []string{"main.leak (x.go:1)"}}}
			tc := cmp.Check(time.Now(), sus, &st)
			p := sus[0].Pprof
			if p == nil || p.Status != analysis.PprofUnavailable || !strings.Contains(p.Reason, c.want) {
				t.Errorf("suspect pprof = %+v, want unavailable saying %q", p, c.want)
			}
			if tc.Status != StatusUnavailable || !strings.Contains(tc.LastError, c.want) || tc.AgreementScore != nil || tc.Unavailable != 1 {
				t.Errorf("target check = %+v", tc)
			}
		})
	}
}

func waitStatus(t *testing.T, w *Watcher, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s := w.Status(); ok(s) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("watcher status never got there: %+v", w.Status())
	return Status{}
}

// TestFetchGCParam: ?gc is never sent unless asked for, not even when the
// user's URL or a redirect carries it; a same-host redirect is followed.
func TestFetchGCParam(t *testing.T) {
	var sawGC atomic.Int32
	body := heapProfile(t, 524288, testSite{[]string{"main.leak"}, 1, 1024})
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("gc") {
			sawGC.Add(1)
		}
		octet(w)
		w.Write(body)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/debug/pprof/heap", http.StatusFound)
	})
	mux.HandleFunc("/moved-gc", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/debug/pprof/heap?gc=1", http.StatusFound)
	})
	s := httptest.NewServer(mux)
	defer s.Close()

	f := NewFetcher(nil, testLimits, false)
	for _, u := range []string{s.URL, s.URL + "/debug/pprof/heap?gc=1", s.URL + "/moved"} {
		h, err := f.Fetch(context.Background(), u)
		if err != nil || len(h.Sites) != 1 {
			t.Errorf("Fetch(%s) = %v, %v", u, h, err)
		}
	}
	if _, err := f.Fetch(context.Background(), s.URL+"/moved-gc"); err == nil || !strings.Contains(err.Error(), "forced GC") {
		t.Errorf("redirect to ?gc=1: %v, want it refused", err)
	}
	if n := sawGC.Load(); n != 0 {
		t.Errorf("?gc sent %d times without --pprof-gc", n)
	}
	if _, err := NewFetcher(nil, testLimits, true).Fetch(context.Background(), s.URL); err != nil || sawGC.Load() != 1 {
		t.Errorf("with gc: err %v, ?gc seen %d times, want 1", err, sawGC.Load())
	}
}

func TestHeapURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:6060":                          "http://127.0.0.1:6060/debug/pprof/heap",
		"http://127.0.0.1:6060/":                  "http://127.0.0.1:6060/debug/pprof/heap",
		"http://h:1/custom/heap?debug=1&gc=1&x=y": "http://h:1/custom/heap?x=y",
		"https://[::1]:8443/debug/pprof/heap":     "https://[::1]:8443/debug/pprof/heap",
	} {
		if got, err := HeapURL(in, false); err != nil || got != want {
			t.Errorf("HeapURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, _ := HeapURL("h:1", true); got != "http://h:1/debug/pprof/heap?gc=1" {
		t.Errorf("with gc: %q", got)
	}
	for _, bad := range []string{"ftp://h/x", "http://", "http://h:1/%zz"} {
		if _, err := HeapURL(bad, false); err == nil {
			t.Errorf("HeapURL(%q): want an error", bad)
		}
	}
}
