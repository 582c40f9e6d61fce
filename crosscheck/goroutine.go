package crosscheck

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// Goroutines is the summary of one goroutine profile
// (/debug/pprof/goroutine, proto format): how many goroutines, and how
// many blocked in each function. Only this is kept, never the profile.
//
// The proto profile has the goroutines' current stacks and no creation
// site (that is only in the debug=2 text, unbounded in size: a stack per
// goroutine), so what compares reliably with leakscope's reading is the
// count per innermost function outside the runtime: where a group's
// goroutines are blocked (BlockedFunction), the same rule on both sides.
type Goroutines struct {
	FetchedAt time.Time
	Total     int64
	BlockedIn map[string]int64
	// Dropped counts goroutines whose function was beyond the cap
	// (Limits.MaxSites); they are in Total.
	Dropped int64
	// Serving counts the goroutines outside the runtime that exist only
	// because the profile was fetched (servingFetch); they are in Total
	// and BlockedIn, and out of the totals compared with leakscope's read.
	Serving int64
}

// servingFrames mark a goroutine that serves the fetch itself: the
// handler writing this very profile, its connection's background reader
// (net/http runs one while a handler runs), and the previous fetch's
// connection, which net/http keeps for 500 ms after replying
// (closeWriteAndWait) so that the client reads the reply before a reset.
// Measured on the pprofleak fixture: 2 to 4 of its 5 to 7 goroutines
// outside the runtime, none of them there when leakscope reads.
var servingFrames = []string{
	"runtime/pprof.writeGoroutine",
	"net/http.(*connReader).backgroundRead",
	"net/http.(*conn).closeWriteAndWait",
}

// servingFetch reports whether a goroutine with these frames serves the
// fetch of a profile (servingFrames).
func servingFetch(frames []string) bool {
	for _, f := range frames {
		if slices.Contains(servingFrames, f) {
			return true
		}
	}
	return false
}

// GoroutineURL is the goroutine profile beside the heap profile at
// heapURL (normalized by HeapURL): same endpoint, proto format, no ?gc.
func GoroutineURL(heapURL string) (string, error) {
	h, err := HeapURL(heapURL, false)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(h)
	if err != nil {
		return "", fmt.Errorf("pprof url %q: %w", heapURL, err)
	}
	dir, ok := strings.CutSuffix(u.Path, "/heap")
	if !ok {
		return "", fmt.Errorf("pprof url %q: not a /heap endpoint, no goroutine profile beside it", heapURL)
	}
	u.Path = dir + "/goroutine"
	u.RawQuery = ""
	return u.String(), nil
}

// FetchGoroutines gets and summarizes the goroutine profile at rawURL (a
// /debug/pprof/goroutine URL), within the same Limits as Fetch.
func (f *Fetcher) FetchGoroutines(ctx context.Context, rawURL string) (*Goroutines, error) {
	body, at, err := f.get(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	p, err := parseProfile(body, f.limits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rawURL, err)
	}
	g, err := summarizeGoroutines(p, f.limits.MaxSites)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rawURL, err)
	}
	g.FetchedAt = at
	return g, nil
}

// summarizeGoroutines counts p's goroutines by BlockedFunction, at most
// maxFuncs functions.
func summarizeGoroutines(p *profile.Profile, maxFuncs int) (*Goroutines, error) {
	if len(p.SampleType) != 1 || (p.SampleType[0].Type != "goroutine" && p.SampleType[0].Type != "goroutineleak") {
		var types []string
		for _, st := range p.SampleType {
			types = append(types, st.Type)
		}
		return nil, fmt.Errorf("not a goroutine profile (sample types %v)", types)
	}
	g := &Goroutines{BlockedIn: map[string]int64{}}
	for _, s := range p.Sample {
		if len(s.Value) < 1 {
			return nil, errors.New("malformed goroutine profile: short sample")
		}
		n := s.Value[0]
		if n < 0 {
			return nil, errors.New("malformed goroutine profile: negative count")
		}
		g.Total += n
		frames := sampleFrames(s)
		fn := BlockedFunction(frames)
		if !runtimeFunction(fn) && servingFetch(frames) {
			g.Serving += n
		}
		if _, ok := g.BlockedIn[fn]; !ok && len(g.BlockedIn) >= maxFuncs {
			g.Dropped += n
			continue
		}
		g.BlockedIn[fn] += n
	}
	return g, nil
}

// BlockedFunction is where a goroutine with this stack (function names,
// innermost first) is blocked: the innermost function outside the
// runtime, as package goroutines names a group's blocked frames; the
// innermost one when every frame is the runtime's.
func BlockedFunction(frames []string) string {
	for _, f := range frames {
		if !runtimeFunction(f) {
			return f
		}
	}
	if len(frames) > 0 {
		return frames[0]
	}
	return ""
}
