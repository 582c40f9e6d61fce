package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
)

// expectation is a case's expect.json.
type expectation struct {
	LeakSites []string `json:"leak_sites"`
	// Holders names, per leak site, the root expected first in its
	// retained_by paths: a global ("main.sessions") or the function of a
	// goroutine frame ("main.awaitReply"), an AfterFunc timer ("time.AfterFunc
	// closure main.proxy.func1"). A heap-leak case whose expected root is
	// not the first path of its leak suspect fails.
	Holders map[string]string `json:"holders,omitempty"`
	// GoroutineLeakSites are the creation sites (functions holding the
	// `go` statement) whose goroutines must be judged leak; see
	// goroutines_test.go.
	GoroutineLeakSites []string `json:"goroutine_leak_sites"`
	MaxWatch           string   `json:"max_watch"`
	Notes              string   `json:"notes"`
	// Slow cases (mostly asleep: rare-GC ones watched for minutes, the
	// goroutine-leak ones) run in make eval-slow (LEAKSCOPE_EVAL_SLOW=1), all at once, not in make eval.
	Slow bool `json:"slow,omitempty"`
	// Goals beyond "leak among the top 3 at the end": the leak verdict
	// within LeakWithin of attach; the expected site the top suspect
	// (watch or leak) within WatchWithin; ranked first at the end.
	LeakWithin  string `json:"leak_within,omitempty"`
	WatchWithin string `json:"watch_within,omitempty"`
	First       bool   `json:"first,omitempty"`
}

// suspectsDoc is the part of the suspects.json contract read here.
type suspectsDoc struct {
	Targets []struct {
		PID           int    `json:"pid"`
		GCCycles      uint64 `json:"gc_cycles"`
		SampledAllocs uint64 `json:"sampled_allocs"`
		GC            *struct {
			Summary  string `json:"summary"`
			Settings string `json:"settings"`
		} `json:"gc_regime"`
		Cost *struct {
			EffectiveRate     int64    `json:"effective_rate"`
			ConfiguredRate    int64    `json:"configured_rate"`
			EstimatedOverhead *float64 `json:"estimated_overhead"`
			BudgetActive      bool     `json:"budget_active"`
		} `json:"cost"`
		Suspects []struct {
			Function    string  `json:"function"`
			Line        int     `json:"line"`
			Growth      float64 `json:"growth_bytes_per_second"`
			Score       float64 `json:"score"`
			Verdict     string  `json:"verdict"`
			FirstLeakAt string  `json:"first_leak_at"`
			RetainedBy  *struct {
				Status string `json:"status"`
				Reason string `json:"reason"`
				Paths  []struct {
					Root string `json:"root"`
				} `json:"paths"`
			} `json:"retained_by"`
		} `json:"suspects"`
		Goroutines *goroutineSection `json:"goroutines"`
	} `json:"targets"`
}

// corpusCase is one program of the corpus.
type corpusCase struct {
	name                    string
	expect                  expectation
	watch                   time.Duration
	leakWithin, watchWithin time.Duration // 0: no such goal
}

func (c corpusCase) leak() bool { return len(c.expect.LeakSites) > 0 }

// result is what one case's run produced.
type result struct {
	c          corpusCase
	pass       bool
	why        string
	top        []string // "fn (verdict, score)" of the top 3
	leakFuncs  []string // every suspect with verdict leak
	detect     time.Duration
	detectOK   bool // every expected site got a leak verdict; detect is the latest of their first ones
	gcCycles   uint64
	growth     []string // growth estimate of each expected site found
	samples    uint64
	polledLeak map[string]time.Duration // first leak verdict seen while polling suspects.json, since launch
	polledTop  time.Duration            // first time the expected site was the top suspect, since launch (-1: never)
	top1       time.Duration            // polledTop since attach
	gcRegime   string                   // the target's GC regime summary at the end
	gor        goroutineResult
	// holders: per expected holder, what the leak suspect's first path
	// starts at ("" when none), and whether it is the expected root.
	holders []holderResult
}

// holderResult is one expected holder against what retained_by says.
type holderResult struct {
	site, want, got string
	ok              bool
}

// parallelCases is how many cases run at once: 2, all of them for the
// slow ones (they mostly sleep), or LEAKSCOPE_EVAL_PARALLEL (more than
// GOMAXPROCS needs go test's -parallel too).
var parallelCases = 2

// TestCorpus runs leakscope against every corpus case, two at a time, and
// checks leak cases get every expected site among the top 3 suspects with
// verdict leak and controls get no leak verdict at all.
func TestCorpus(t *testing.T) {
	testutil.RequireBPF(t)
	if testing.Short() {
		t.Skip("watches 20 programs for 75-200 s each (~19 minutes)")
	}
	root := testutil.ModuleRoot(t)
	cases := loadCases(t, filepath.Join(root, "testdata", "corpus"))
	slow := os.Getenv("LEAKSCOPE_EVAL_SLOW") == "1"
	if only := os.Getenv("LEAKSCOPE_EVAL_CASES"); only != "" {
		keep := strings.Split(only, ",")
		cases = slices.DeleteFunc(cases, func(c corpusCase) bool { return !slices.Contains(keep, c.name) })
	} else {
		cases = slices.DeleteFunc(cases, func(c corpusCase) bool { return c.expect.Slow != slow })
	}
	if slow {
		parallelCases = len(cases)
	}
	if n, err := strconv.Atoi(os.Getenv("LEAKSCOPE_EVAL_PARALLEL")); err == nil && n > 0 {
		parallelCases = n
	}
	if len(cases) == 0 {
		t.Fatal("no corpus cases selected")
	}
	// Longest first, so the slow case overlaps with the others.
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].watch > cases[j].watch })

	dir := t.TempDir()
	leakscope := testutil.Build(t, dir, "leakscope", "./cmd/leakscope")
	bins := map[string]string{}
	for _, c := range cases {
		bins[c.name] = testutil.Build(t, dir, c.name, "./testdata/corpus/"+c.name)
	}

	start := time.Now()
	var mu sync.Mutex
	var results []result
	sem := make(chan struct{}, parallelCases)
	t.Run("case", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				r := runCase(t, leakscope, bins[c.name], c)
				t.Logf("%s: pass=%v top=%v leak verdicts=%v first leak after attach=%v (polled since launch %v) top suspect since attach=%v growth=%v gc=%d samples=%d regime=%q holders=%+v",
					c.name, r.pass, r.top, r.leakFuncs, r.detect, r.polledLeak, r.top1, r.growth, r.gcCycles, r.samples, r.gcRegime, r.holders)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if !r.pass {
					t.Errorf("%s: %s", c.name, r.why)
				}
			})
		}
	})
	elapsed := time.Since(start)

	sort.Slice(results, func(i, j int) bool {
		if results[i].c.leak() != results[j].c.leak() {
			return results[i].c.leak()
		}
		return results[i].c.name < results[j].c.name
	})
	md := render(results, elapsed)
	t.Logf("\n%s", md)
	out := os.Getenv("LEAKSCOPE_EVAL_OUT")
	if out == "" {
		out = filepath.Join(root, "eval", "results.md")
		if slow {
			out = filepath.Join(root, "eval", "results-slow.md")
		}
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		t.Errorf("writing results: %v", err)
	} else {
		t.Logf("results written to %s", out)
	}
}

func loadCases(t *testing.T, dir string) []corpusCase {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "expect.json"))
		if err != nil {
			t.Fatal(err)
		}
		var x expectation
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&x); err != nil {
			t.Fatalf("%s/expect.json: %v", e.Name(), err)
		}
		w, err := time.ParseDuration(x.MaxWatch)
		if err != nil || w <= 0 {
			t.Fatalf("%s/expect.json: max_watch %q: %v", e.Name(), x.MaxWatch, err)
		}
		if x.Notes == "" {
			t.Fatalf("%s/expect.json: no notes", e.Name())
		}
		c := corpusCase{name: e.Name(), expect: x, watch: w}
		for _, g := range []struct {
			s string
			d *time.Duration
		}{{x.LeakWithin, &c.leakWithin}, {x.WatchWithin, &c.watchWithin}} {
			if g.s == "" {
				continue
			}
			if *g.d, err = time.ParseDuration(g.s); err != nil || *g.d <= 0 || *g.d > w {
				t.Fatalf("%s/expect.json: goal %q: not a duration within max_watch (%v)", e.Name(), g.s, err)
			}
		}
		if (x.First || c.watchWithin > 0) && len(x.LeakSites) != 1 {
			t.Fatalf("%s/expect.json: first and watch_within need exactly one leak site", e.Name())
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatalf("no cases in %s", dir)
	}
	return cases
}

// budgetChanged starts the log line leakscope writes whenever its
// overhead budget changes a target's MemProfileRate (monitor.enforceBudget).
const budgetChanged = "overhead budget: changed the target's runtime.MemProfileRate"

// runCase starts the case, lets it run ~3 s, watches it with the CLI for
// max_watch, and judges the final suspects.json.
func runCase(t *testing.T, leakscope, bin string, c corpusCase) result {
	r := result{c: c, polledLeak: map[string]time.Duration{}, polledTop: -1}
	p := testutil.Start(t, bin)
	p.WaitLine(t, "ready", 15*time.Second)
	time.Sleep(3 * time.Second)
	if p.Exited() {
		r.why = "case exited before attach"
		return r
	}

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(leakscope, "--pid", strconv.Itoa(p.PID()), "--interval", "5s",
		"--duration", c.expect.MaxWatch, "--out", out)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	launched := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting leakscope: %v", err)
	}
	// The per-interval history: suspects.json is replaced every interval;
	// poll it to see when each verdict first appeared.
	done := make(chan struct{})
	var polled sync.WaitGroup
	polled.Add(1)
	go func() {
		defer polled.Done()
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
			}
			doc, err := readDoc(filepath.Join(out, "suspects.json"))
			if err != nil || len(doc.Targets) == 0 {
				continue
			}
			for i, s := range doc.Targets[0].Suspects {
				if _, seen := r.polledLeak[s.Function]; s.Verdict == "leak" && !seen {
					r.polledLeak[s.Function] = time.Since(launched)
				}
				if i == 0 && r.polledTop < 0 && c.leak() && s.Function == c.expect.LeakSites[0] && s.Growth > 0 {
					r.polledTop = time.Since(launched)
				}
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	polled.Wait()
	if err != nil {
		t.Fatalf("leakscope: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if p.Exited() {
		t.Errorf("case exited while watched: %q", p.Lines())
	}
	attached := attachTime(stderr.String(), launched)
	r.top1 = -1
	if r.polledTop >= 0 {
		r.top1 = r.polledTop - attached.Sub(launched)
	}

	doc, err := readDoc(filepath.Join(out, "suspects.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Targets) != 1 || doc.Targets[0].PID != p.PID() {
		t.Fatalf("suspects.json: want exactly pid %d, got %+v", p.PID(), doc.Targets)
	}
	tgt := doc.Targets[0]
	r.gcCycles, r.samples = tgt.GCCycles, tgt.SampledAllocs
	if tgt.GC != nil {
		r.gcRegime = tgt.GC.Summary + "; " + tgt.GC.Settings
	}
	// The corpus allocates at service rates, far under the default
	// overhead budget: the accuracy figures hold only if it never acts,
	// at the end or at any time before (leakscope logs every change).
	if c := tgt.Cost; c == nil || c.BudgetActive || c.EffectiveRate != c.ConfiguredRate {
		t.Errorf("the overhead budget engaged on this case (or no cost was reported): %+v", c)
	} else if strings.Contains(stderr.String(), budgetChanged) {
		t.Errorf("the overhead budget changed this case's rate while it was watched:\n%s", stderr.String())
	} else if c.EstimatedOverhead != nil {
		t.Logf("estimated overhead %.3f%% of a core at rate %d (budget not engaged)", 100**c.EstimatedOverhead, c.EffectiveRate)
	}
	firstLeak := map[string]time.Time{}
	for i, s := range tgt.Suspects {
		if i < 3 {
			r.top = append(r.top, fmt.Sprintf("%s (%s %.2f)", s.Function, s.Verdict, s.Score))
		}
		if s.Verdict == "leak" {
			r.leakFuncs = append(r.leakFuncs, s.Function)
		}
		if s.FirstLeakAt != "" {
			ts, err := time.Parse(time.RFC3339Nano, s.FirstLeakAt)
			if err != nil {
				t.Errorf("first_leak_at %q: %v", s.FirstLeakAt, err)
				continue
			}
			if old, ok := firstLeak[s.Function]; !ok || ts.Before(old) {
				firstLeak[s.Function] = ts
			}
		}
	}

	for site, want := range c.expect.Holders {
		h := holderResult{site: site, want: want, got: "(no leak suspect)"}
		for _, s := range tgt.Suspects {
			if s.Function != site || s.Verdict != "leak" {
				continue
			}
			switch rb := s.RetainedBy; {
			case rb == nil:
				h.got = "(not searched)"
			case len(rb.Paths) == 0:
				h.got = "(" + rb.Status + ": " + rb.Reason + ")"
			default:
				h.got, h.ok = rb.Paths[0].Root, rb.Paths[0].Root == want
			}
			break
		}
		r.holders = append(r.holders, h)
	}

	judgeGoroutines(&r, tgt.Goroutines, attached)
	if !c.leak() && c.goroutineLeak() {
		r.pass = r.gor.pass // its g structs and buffers may rightly be heap leaks
		r.why = r.gor.why
		return r
	}
	if !c.leak() {
		r.pass = len(r.leakFuncs) == 0 && r.gor.pass
		if !r.pass {
			r.why = fmt.Sprintf("control got leak verdicts on %v; top suspects %v; %s", r.leakFuncs, r.top, r.gor.why)
		}
		return r
	}
	var missing []string
	r.detectOK = true
	for _, site := range c.expect.LeakSites {
		found := false
		for i, s := range tgt.Suspects {
			if i < 3 && s.Function == site && s.Verdict == "leak" {
				found = true
			}
		}
		if !found {
			missing = append(missing, site)
		}
		for _, s := range tgt.Suspects {
			if s.Function == site && s.Verdict == "leak" {
				r.growth = append(r.growth, fmt.Sprintf("%.0f KiB/s", s.Growth/1024))
				break
			}
		}
		if ts, ok := firstLeak[site]; ok {
			r.detect = max(r.detect, ts.Sub(attached))
		} else {
			r.detectOK = false
		}
	}
	r.pass = len(missing) == 0 && r.gor.pass
	if len(missing) > 0 {
		r.why = fmt.Sprintf("expected leak sites %v not among the top 3 with verdict leak; top suspects %v", missing, r.top)
		return r
	}
	var goals []string
	if c.expect.First && (len(tgt.Suspects) == 0 || tgt.Suspects[0].Function != c.expect.LeakSites[0]) {
		goals = append(goals, fmt.Sprintf("not ranked first: top suspects %v", r.top))
	}
	if c.leakWithin > 0 && (!r.detectOK || r.detect > c.leakWithin) {
		goals = append(goals, fmt.Sprintf("leak after %v, goal %v", r.detect.Round(time.Second), c.leakWithin))
	}
	if c.watchWithin > 0 && (r.top1 < 0 || r.top1 > c.watchWithin) {
		goals = append(goals, fmt.Sprintf("top suspect after %v (-1: never), goal %v", r.top1.Round(time.Second), c.watchWithin))
	}
	for _, h := range r.holders {
		if !h.ok {
			goals = append(goals, fmt.Sprintf("%s held by %s first, expected %s", h.site, h.got, h.want))
		}
	}
	if len(goals) > 0 {
		r.pass = false
		r.why = strings.Join(goals, "; ")
	}
	if !r.gor.pass {
		r.why += r.gor.why
	}
	return r
}

// attachTime is the time of leakscope's "attached" log line (slog text
// format, time=RFC3339), or when it was launched if there is none.
func attachTime(stderr string, launched time.Time) time.Time {
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "msg=attached") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "time="); ok {
				if ts, err := time.Parse(time.RFC3339Nano, v); err == nil {
					return ts
				}
			}
		}
	}
	return launched
}

func readDoc(path string) (suspectsDoc, error) {
	var doc suspectsDoc
	b, err := os.ReadFile(path)
	if err != nil {
		return doc, err
	}
	return doc, json.Unmarshal(b, &doc)
}

// render writes the results table and the summary as Markdown.
func render(results []result, elapsed time.Duration) string {
	var b strings.Builder
	b.WriteString("| case | expected leak sites | top suspects (verdict, score) | result | first leak verdict after attach | estimated growth | GC cycles |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	var leakCases, found, expSites, foundSites, controls, falseLeaks, falseControls int
	for _, r := range results {
		exp := "none (control)"
		if !r.c.leak() && r.c.goroutineLeak() {
			exp = "none judged (goroutine leak)"
		}
		if r.c.leak() {
			exp = strings.Join(r.c.expect.LeakSites, ", ")
		}
		res := "pass"
		if !r.pass {
			res = "FAIL"
		}
		ttd := "-"
		switch {
		case r.c.leak() && r.detectOK:
			ttd = fmt.Sprintf("%.0f s", r.detect.Seconds())
			if r.c.watchWithin > 0 && r.top1 >= 0 {
				ttd += fmt.Sprintf(" (top suspect at ~%.0f s)", r.top1.Seconds())
			}
		case r.c.leak():
			ttd = "not within " + r.c.expect.MaxWatch
		case len(r.leakFuncs) > 0:
			var fs []string
			for _, f := range r.leakFuncs {
				if d, ok := r.polledLeak[f]; ok {
					fs = append(fs, fmt.Sprintf("%s at ~%.0f s", f, d.Seconds()))
				} else {
					fs = append(fs, f)
				}
			}
			ttd = "false: " + strings.Join(fs, ", ")
		}
		growth := "-"
		if len(r.growth) > 0 {
			growth = strings.Join(r.growth, ", ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d |\n", r.c.name, exp, strings.Join(r.top, "<br>"), res, ttd, growth, r.gcCycles)
		if r.c.leak() {
			leakCases++
			if r.pass {
				found++
			}
			for _, site := range r.c.expect.LeakSites {
				expSites++
				for i, tp := range r.top {
					if i < 3 && strings.HasPrefix(tp, site+" (leak ") {
						foundSites++
						break
					}
				}
			}
		} else if !r.c.goroutineLeak() { // a goroutine-leak case's heap is not judged
			controls++
			falseLeaks += len(r.leakFuncs)
			if len(r.leakFuncs) > 0 {
				falseControls++
			}
		}
	}
	fmt.Fprintf(&b, "\nRecall on leak cases: %d/%d cases (%d/%d expected sites among the top 3 with verdict leak).\n", found, leakCases, foundSites, expSites)
	fmt.Fprintf(&b, "False leak verdicts on controls: %d (on %d of %d controls).\n", falseLeaks, falseControls, controls)
	renderHolders(&b, results)
	fmt.Fprintf(&b, "Corpus run time: %s (%d cases, %d at a time).\n", elapsed.Round(time.Second), len(results), parallelCases)
	renderGoroutines(&b, results)
	return b.String()
}

// renderHolders reports holder accuracy: the cases whose expected root is
// the first retention path of their leak suspect, and the others.
func renderHolders(b *strings.Builder, results []result) {
	var n, ok int
	var wrong []string
	for _, r := range results {
		for _, h := range r.holders {
			n++
			if h.ok {
				ok++
			} else {
				wrong = append(wrong, fmt.Sprintf("%s (%s: %s, expected %s)", r.c.name, h.site, h.got, h.want))
			}
		}
	}
	if n == 0 {
		return
	}
	fmt.Fprintf(b, "Holder accuracy: %d/%d expected roots are the first retention path.\n", ok, n)
	if len(wrong) > 0 {
		fmt.Fprintf(b, "Holders not found first: %s.\n", strings.Join(wrong, "; "))
	}
}
