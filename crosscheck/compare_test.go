package crosscheck

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/symbolize"
)

const rate = 512 * 1024

var (
	leakFrames  = []string{"main.leakRecord", "main.main", "runtime.main"}
	churnFrames = []string{"main.churn", "main.main", "runtime.main"}
)

func stack(frames []string, old int64) analysis.Stack {
	var fs []symbolize.Frame
	for _, f := range frames {
		fs = append(fs, symbolize.Frame{Function: f, File: "main.go", Line: 7})
	}
	return analysis.Stack{Frames: fs, OldBytes: old}
}

func suspect(frames []string) analysis.Suspect {
	var st []string
	for _, f := range frames {
		st = append(st, f+" (main.go:7)")
	}
	return analysis.Suspect{Function: frames[0], Stack: st, Verdict: analysis.VerdictLeak}
}

func heapAt(t0 time.Time, sec float64, period int64, sites ...testSite) *Heap {
	h := &Heap{FetchedAt: t0.Add(time.Duration(sec * float64(time.Second))), Period: period, Sites: map[string]Site{}}
	for _, s := range sites {
		h.Sites[siteKey(s.frames)] = Site{Frames: s.frames, InuseBytes: s.inuseBytes, InuseObjects: s.inuseObjects}
	}
	return h
}

// scenario runs a Comparator over 60 s: leakscope's old bytes of the leak
// site grow by leakscope bytes/s (snapshots every 5 s, 2 GC cycles a
// second); the runtime's profile, fetched at 7 s and 57 s, holds pre
// bytes from before attach plus runtime bytes/s since. (A first fetch at
// 2 s, before two GC cycles had completed since attach, cannot be the
// baseline; see Comparator.add.)
func scenario(t *testing.T, leakscope, runtimeRate float64, runtimeFrames []string) (analysis.PprofCheck, TargetCheck) {
	t.Helper()
	t0 := time.Unix(1_800_000_000, 0)
	c := NewComparator(t0, time.Minute)
	const pre = 50 << 20
	fetch := func(sec float64) *Heap {
		return heapAt(t0, sec, rate,
			testSite{runtimeFrames, 1000, int64(pre + runtimeRate*sec)},
			testSite{churnFrames, 10, 40960})
	}
	st := &Status{URL: "http://127.0.0.1:1/debug/pprof/heap", Discovered: true}
	for sec := 5.0; sec <= 60; sec += 5 {
		c.Observe(t0.Add(time.Duration(sec)*time.Second), uint64(2*sec), []analysis.Stack{
			stack(leakFrames, int64(leakscope*sec)),
			stack(churnFrames, 4096),
		})
		switch sec {
		case 5:
			st.Heap = fetch(2)
		case 10:
			st.Heap = fetch(7)
		case 60:
			st.Heap = fetch(57)
		}
		c.Offer(st.Heap)
	}
	sus := []analysis.Suspect{suspect(leakFrames)}
	tc := c.Check(t0.Add(60*time.Second), sus, st)
	return *sus[0].Pprof, tc
}

func TestCompareLeakAgrees(t *testing.T) {
	p, tc := scenario(t, 1<<20, 1<<20, leakFrames)
	if p.Status != analysis.PprofAgrees {
		t.Fatalf("status %s (%s), want agrees", p.Status, p.Reason)
	}
	// 50 s apart: both grew 50 MiB; the runtime's absolute figure holds
	// the 50 MiB from before attach too.
	if p.RuntimeGrowthBytes != 50<<20 || p.LeakscopeGrowthBytes != 50<<20 || p.WindowSeconds != 50 {
		t.Errorf("growth runtime %d, leakscope %d over %.1fs; want 50 MiB each over 50s", p.RuntimeGrowthBytes, p.LeakscopeGrowthBytes, p.WindowSeconds)
	}
	if p.InuseBytes != 50<<20+57<<20 || p.InuseObjects != 1000 {
		t.Errorf("inuse %d B in %d objects", p.InuseBytes, p.InuseObjects)
	}
	if tc.AgreementScore == nil || *tc.AgreementScore != 1 || tc.Agreed != 1 || tc.Status != StatusOK || !tc.Discovered {
		t.Errorf("target %+v", tc)
	}
	if tc.ScalingAffectedByLeakscope || tc.Note != "" {
		t.Errorf("scaling note without a rate change: %+v", tc)
	}
}

func TestCompareDisagrees(t *testing.T) {
	for _, c := range []struct {
		name               string
		leakscope, runtime float64
		frames             []string
		want               string
	}{
		{"missed frees", 1 << 20, 0, leakFrames, "missed frees"},
		{"wrong scaling", 1 << 20, 2 << 20, leakFrames, "scaled them wrongly"},
		{"wrong symbols", 1 << 20, 1 << 20, []string{"main.other", "main.main", "runtime.main"}, "wrong symbols"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, tc := scenario(t, c.leakscope, c.runtime, c.frames)
			if p.Status != analysis.PprofDisagrees || !strings.Contains(p.Reason, c.want) {
				t.Errorf("got %s (%s), want disagrees saying %q", p.Status, p.Reason, c.want)
			}
			if tc.AgreementScore == nil || *tc.AgreementScore != 0 || tc.Disagreed != 1 {
				t.Errorf("target %+v", tc)
			}
		})
	}
	// Within tolerance: 10% apart still agrees.
	if p, _ := scenario(t, 1<<20, 1.1*(1<<20), leakFrames); p.Status != analysis.PprofAgrees {
		t.Errorf("10%% apart: %s (%s)", p.Status, p.Reason)
	}
}

func TestCompareUnavailable(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	sus := []analysis.Suspect{suspect(leakFrames)}
	check := func(c *Comparator, now time.Time, st *Status, want string) {
		t.Helper()
		c.Check(now, sus, st)
		if p := sus[0].Pprof; p.Status != analysis.PprofUnavailable || !strings.Contains(p.Reason, want) {
			t.Errorf("got %s (%s), want unavailable saying %q", p.Status, p.Reason, want)
		}
	}
	c := NewComparator(t0, time.Minute)
	check(c, t0, nil, "discovery is off")
	if tc := c.Check(t0, sus, nil); tc.Status != StatusOff || tc.LastError != "" {
		t.Errorf("no endpoint: %+v, want status off and no error", tc)
	}
	check(c, t0, &Status{}, "no profile fetched yet")
	c.Observe(t0.Add(5*time.Second), 10, []analysis.Stack{stack(leakFrames, 1<<20)})
	st := &Status{Heap: heapAt(t0, 6, rate, testSite{leakFrames, 1, 1 << 20})}
	c.Offer(st.Heap)
	check(c, t0.Add(5*time.Second), st, "not yet placed")
	c.Observe(t0.Add(10*time.Second), 20, []analysis.Stack{stack(leakFrames, 2<<20)})
	check(c, t0.Add(10*time.Second), st, "waiting for a second profile")
	if sus[0].Pprof.InuseBytes != 1<<20 {
		t.Errorf("the baseline's in-use bytes are reported meanwhile: %d", sus[0].Pprof.InuseBytes)
	}
	st = &Status{Heap: heapAt(t0, 9, rate, testSite{leakFrames, 1, 2 << 20}), LastError: "HTTP 500", ErrorAt: t0.Add(200 * time.Second)}
	c.Offer(st.Heap)
	check(c, t0.Add(200*time.Second), st, "old: HTTP 500")
	if tc := c.Check(t0.Add(200*time.Second), sus, st); tc.Status != StatusStale {
		t.Errorf("target status %s, want stale", tc.Status)
	}
	// The rate changed: samples before and after scale differently; the
	// new profile is a new baseline.
	st = &Status{Heap: heapAt(t0, 9.5, 4096, testSite{leakFrames, 1, 3 << 20})}
	c.Offer(st.Heap)
	check(c, t0.Add(10*time.Second), st, "waiting for a second profile")
}

func TestScalingNote(t *testing.T) {
	c := NewComparator(time.Now(), time.Minute)
	c.SetRates(Rates{Before: 0, Now: rate, SetByUs: true})
	tc := c.Check(time.Now(), nil, nil)
	if !tc.ScalingAffectedByLeakscope || !strings.Contains(tc.Note, "turned the target's heap sampling on") {
		t.Errorf("rate 0 -> 512K: %+v", tc)
	}
	c.SetRates(Rates{Before: 4096, Now: rate, SetByUs: true})
	if tc := c.Check(time.Now(), nil, nil); !strings.Contains(tc.Note, "scales every sample") {
		t.Errorf("rate 4096 -> 512K: %+v", tc)
	}
}

func TestSameSite(t *testing.T) {
	deep := make([]string, 40)
	for i := range deep {
		deep[i] = "main.recurse"
	}
	for _, c := range []struct {
		site, stack []string
		want        bool
	}{
		{leakFrames, leakFrames, true},
		{leakFrames, append([]string{"reflect.unsafe_New"}, leakFrames...), true}, // a frame leakscope trims
		{leakFrames, append(append([]string{}, leakFrames...), "runtime.goexit"), true},
		{leakFrames, leakFrames[:2], true}, // one frame less at the bottom
		{leakFrames, churnFrames, false},
		{leakFrames, []string{"main.leakRecord", "main.other", "runtime.main"}, false},
		{leakFrames, leakFrames[:1], false},
		{deep[:32], deep, true}, // truncated
		{nil, leakFrames, false},
	} {
		if got := sameSite(c.site, c.stack); got != c.want {
			t.Errorf("sameSite(%v, %v) = %v", c.site, c.stack, got)
		}
	}
}

// TestCompareBaselineMoves: a cache filled before attach is replaced by
// one filled after (objects live two minutes). The runtime's profile sees
// the old cache freed, leakscope never saw it: that disagrees at first,
// and agrees once the baseline has moved past the turnover. The baseline
// stays within the window and few profiles are kept.
func TestCompareBaselineMoves(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	c := NewComparator(t0, time.Minute)
	const size = 10 << 20
	post := func(sec float64) float64 { return math.Min(sec, 120) / 120 * size } // leakscope's old bytes
	pre := func(sec float64) float64 {
		if sec < 120 {
			return size
		}
		return 0
	}
	sus := []analysis.Suspect{suspect(leakFrames)}
	st := &Status{}
	statusAt := map[float64]string{}
	for sec := 5.0; sec <= 900; sec += 5 {
		now := t0.Add(time.Duration(sec) * time.Second)
		c.Observe(now, uint64(sec), []analysis.Stack{stack(leakFrames, int64(post(sec)))})
		f := sec - 3
		st.Heap = heapAt(t0, f, rate, testSite{leakFrames, 100, int64(pre(f) + post(f))})
		c.Offer(st.Heap)
		c.Check(now, sus, st)
		statusAt[sec] = sus[0].Pprof.Status
		if len(c.anchors) > anchorsPerWindow+3 {
			t.Fatalf("%d profiles kept at %vs", len(c.anchors), sec)
		}
		if c.latest != nil && c.latest.heap.FetchedAt.Sub(c.base.heap.FetchedAt) > compareWindow+compareWindow/anchorsPerWindow {
			t.Fatalf("baseline %v before the latest at %vs", c.latest.heap.FetchedAt.Sub(c.base.heap.FetchedAt), sec)
		}
	}
	if statusAt[200] != analysis.PprofDisagrees {
		t.Errorf("at 200s (old cache freed, unseen by leakscope): %s, want disagrees", statusAt[200])
	}
	if statusAt[900] != analysis.PprofAgrees {
		t.Errorf("at 900s (baseline past the turnover): %s (%s), want agrees", statusAt[900], sus[0].Pprof.Reason)
	}
}
