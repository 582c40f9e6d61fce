package cirun

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/cgroup"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/report"
)

func TestWithGODEBUG(t *testing.T) {
	for _, c := range []struct {
		env     []string
		replace bool
		want    string
	}{
		{[]string{"PATH=/bin"}, false, "GODEBUG=memprofilerate=4096"},
		{[]string{"GODEBUG=gctrace=1,madvdontneed=1"}, false, "GODEBUG=gctrace=1,madvdontneed=1,memprofilerate=4096"},
		{[]string{"GODEBUG=memprofilerate=1,gctrace=1"}, false, "GODEBUG=memprofilerate=1,gctrace=1"},
		{[]string{"GODEBUG=memprofilerate=1,gctrace=1"}, true, "GODEBUG=gctrace=1,memprofilerate=4096"},
		{[]string{"GODEBUG="}, false, "GODEBUG=memprofilerate=4096"},
	} {
		got := WithGODEBUG(c.env, "memprofilerate", "4096", c.replace)
		var gd []string
		for _, kv := range got {
			if strings.HasPrefix(kv, "GODEBUG=") {
				gd = append(gd, kv)
			}
		}
		if len(gd) != 1 || gd[0] != c.want {
			t.Errorf("WithGODEBUG(%q, replace=%v) GODEBUG = %q, want [%s]", c.env, c.replace, gd, c.want)
		}
		if c.env[0] == "PATH=/bin" && got[0] != "PATH=/bin" {
			t.Errorf("other variables lost: %q", got)
		}
	}
}

func TestParseReady(t *testing.T) {
	r, err := ParseReady("log:listening on .*:[0-9]+")
	if err != nil || r.Log == nil || !r.Log.MatchString("listening on 127.0.0.1:80") {
		t.Errorf("log: %+v %v", r, err)
	}
	if r, err := ParseReady("tcp:8080"); err != nil || r.Addr != "127.0.0.1:8080" {
		t.Errorf("tcp:8080: %+v %v", r, err)
	}
	if r, err := ParseReady("tcp:[::1]:9000"); err != nil || r.Addr != "[::1]:9000" {
		t.Errorf("tcp:[::1]:9000: %+v %v", r, err)
	}
	if r, err := ParseReady("delay:3s"); err != nil || r.Delay != 3*time.Second {
		t.Errorf("delay:3s: %+v %v", r, err)
	}
	for _, bad := range []string{"port:80", "tcp:0", "tcp:99999", "tcp:host", "delay:-1s", "delay:soon", "log:(", "log:", "8080"} {
		if _, err := ParseReady(bad); err == nil {
			t.Errorf("ParseReady(%q): no error", bad)
		}
	}
}

func TestLineMatcher(t *testing.T) {
	r, _ := ParseReady("log:^ready on port [0-9]+$")
	m := newLineMatcher(r.Log)
	m.feed(0, []byte("starting\nready on po"))
	m.feed(1, []byte("ready on port 1\n")) // another stream: no match across streams' partial lines
	select {
	case <-m.matched:
	default:
		t.Fatal("a whole line on stderr did not match")
	}
	m2 := newLineMatcher(r.Log)
	m2.feed(0, []byte("starting\nready on po"))
	m2.feed(1, []byte("rt 9\n"))
	m2.feed(0, []byte("x\n"))
	select {
	case <-m2.matched:
		t.Fatal("matched a line made of two streams' pieces")
	default:
	}
	m2.feed(0, []byte("ready on "))
	m2.feed(0, []byte("port 42\nmore"))
	select {
	case <-m2.matched:
	default:
		t.Fatal("a line written in pieces did not match")
	}
}

func TestRules(t *testing.T) {
	must := func(s string) Pattern {
		p, err := ParsePattern(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	site := Site{Kind: KindHeap, Function: "example.com/svc/cache.(*LRU).Put", File: "/src/svc/cache/lru.go", Line: 42}
	r := Rules{FailOn: analysis.VerdictLeak}
	if d, _ := r.Judge(analysis.VerdictLeak, site); d != Fail {
		t.Errorf("leak under fail-on leak: %s", d)
	}
	if d, _ := r.Judge(analysis.VerdictWatch, site); d != Pass {
		t.Errorf("watch under fail-on leak: %s", d)
	}
	r.FailOn = analysis.VerdictWatch
	if d, _ := r.Judge(analysis.VerdictWatch, site); d != Fail {
		t.Errorf("watch under fail-on watch: %s", d)
	}
	if d, _ := r.Judge(analysis.VerdictLeak, site); d != Fail {
		t.Errorf("leak under fail-on watch: %s", d)
	}
	for _, pat := range []string{"example.com/svc/cache.(*LRU).Put", "*.(*LRU).Put", "example.com/svc/*", "lru.go", "lru.go:42", "/src/svc/cache/lru.go:42", "*/cache/*"} {
		r := Rules{FailOn: analysis.VerdictLeak, Ignore: []Pattern{must(pat)}}
		if d, why := r.Judge(analysis.VerdictLeak, site); d != Ignored || !strings.Contains(why, pat) {
			t.Errorf("--ignore %q: %s (%s), want ignored", pat, d, why)
		}
	}
	for _, pat := range []string{"Put", "cache.(*LRU)", "lru.go:43", "example.com/other/*"} {
		r := Rules{FailOn: analysis.VerdictLeak, Ignore: []Pattern{must(pat)}}
		if d, _ := r.Judge(analysis.VerdictLeak, site); d != Fail {
			t.Errorf("--ignore %q: %s, want fail (no whole match)", pat, d)
		}
	}
	if _, err := ParsePattern(" "); err == nil {
		t.Error("empty pattern accepted")
	}
	// A baseline names the site by function: a moved line is still known.
	r = Rules{FailOn: analysis.VerdictLeak, Baseline: map[string]bool{site.key(): true}}
	moved := site
	moved.Line = 99
	if d, _ := r.Judge(analysis.VerdictLeak, moved); d != Known {
		t.Errorf("baseline site: %s, want known", d)
	}
	other := site
	other.Function = "example.com/svc.handler"
	if d, _ := r.Judge(analysis.VerdictLeak, other); d != Fail {
		t.Errorf("site not in baseline: %s, want fail", d)
	}
	if _, err := ParseVerdict("leaks"); err == nil {
		t.Error("ParseVerdict(leaks): no error")
	}
}

func TestLoadBaseline(t *testing.T) {
	dir := t.TempDir()
	doc := sampleDoc()
	if err := report.WriteJSON(dir, doc); err != nil {
		t.Fatal(err)
	}
	got, err := LoadBaseline(filepath.Join(dir, report.SuspectsFile))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"heap main.remember": true, "heap main.warm": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("baseline = %v, want %v", got, want)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"hello": 1}`), 0o644)
	if _, err := LoadBaseline(bad); err == nil || !strings.Contains(err.Error(), "not a suspects.json") {
		t.Errorf("LoadBaseline(not a report): %v", err)
	}
}

func sampleDoc() *report.Document {
	return &report.Document{
		GeneratedAt: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC),
		Targets: []report.Target{{
			PID: 100, Exe: "svc", GoVersion: "go1.26.8", Status: report.StatusExited, GCCycles: 40, MemProfileRate: 524288,
			Profile: "/out/100/leak-1.pb.gz",
			Suspects: []analysis.Suspect{
				{Function: "main.remember", File: "/ws/repo/main.go", Line: 30, Stack: []string{"main.remember (main.go:30)", "main.main.func1 (main.go:50)"},
					Verdict: analysis.VerdictLeak, Score: 0.97, GrowthBytesPerSecond: 200 << 10, LiveBytes: 20 << 20},
				{Function: "main.warm", File: "/ws/repo/cache.go", Line: 12, Verdict: analysis.VerdictWatch, Score: 0.3, GrowthBytesPerSecond: 1024},
			},
		}},
		Skipped: []report.Skipped{
			{PID: 99, Exe: "sh", Reason: "pid 99 (sh): /proc/99/exe: not a Go binary (no .gopclntab)"},
			{PID: 101, Exe: "old", Reason: "pid 101 (old): go1.12: cannot watch: unsupported"},
		},
	}
}

func sampleResult() *Result {
	start := time.Date(2026, 12, 5, 11, 58, 0, 0, time.UTC)
	return &Result{
		Command: []string{"./svc", "-leak", "2048"},
		Doc:     sampleDoc(),
		Exit:    Exit{Code: -1, Signal: "SIGTERM", Stopped: true, After: 2 * time.Minute},
		Load:    &Exit{Code: 0, After: 90 * time.Second},
		Ready:   true,
		Start:   start, End: start.Add(2 * time.Minute),
	}
}

func TestDecide(t *testing.T) {
	rules := Rules{FailOn: analysis.VerdictLeak}
	res := sampleResult()
	out := Decide(res, Judge(res.Doc, rules), false)
	if out.Status != StatusLeak || len(out.Reasons) != 1 || !strings.Contains(out.Reasons[0], "main.remember (main.go:30)") {
		t.Errorf("leak: %+v", out)
	}
	// Known in the baseline, and the load failed: status 0 unless propagated.
	rules.Baseline = map[string]bool{"heap main.remember": true}
	res.Load = &Exit{Code: 3, After: time.Second}
	if out := Decide(res, Judge(res.Doc, rules), false); out.Status != StatusOK || !strings.Contains(strings.Join(out.Reasons, ";"), "the load failed: exit status 3") {
		t.Errorf("known leak, failed load: %+v", out)
	}
	if out := Decide(res, Judge(res.Doc, rules), true); out.Status != 3 {
		t.Errorf("known leak, failed load, propagated: %+v", out)
	}
	// The command's failure comes first, a signal as 128+n.
	res.Exit = Exit{Code: -1, Signal: "SIGSEGV", After: time.Second}
	if out := Decide(res, Judge(res.Doc, rules), true); out.Status != 128+11 {
		t.Errorf("command killed by SIGSEGV, propagated: %+v", out)
	}
	// The run stopping the command is no failure of it.
	res.Exit = Exit{Code: -1, Signal: "SIGTERM", Stopped: true}
	res.Load = nil
	if out := Decide(res, Judge(res.Doc, rules), true); out.Status != StatusOK {
		t.Errorf("stopped by the run, propagated: %+v", out)
	}
	// leakscope's own failures win over a leak.
	rules.Baseline = nil
	res.Interrupted = true
	if out := Decide(res, Judge(res.Doc, rules), true); out.Status != StatusFailed || !strings.Contains(out.Reasons[0], "interrupted") {
		t.Errorf("interrupted: %+v", out)
	}
	res = sampleResult()
	res.Doc.Targets = nil
	if out := Decide(res, nil, false); out.Status != StatusFailed || !strings.Contains(out.Reasons[0], "no Go process was watched") || !strings.Contains(out.Reasons[0], "sh (pid 99)") {
		t.Errorf("no Go process: %+v", out)
	}
	if n, u := NonGo(res.Doc), Unwatched(res.Doc); len(n) != 1 || n[0].PID != 99 || len(u) != 1 || u[0].PID != 101 {
		t.Errorf("NonGo %v, Unwatched %v", n, u)
	}
}

// TestJUnitSchema validates the JUnit report against the JUnit schema
// (testdata/junit.xsd) with xmllint, and reads back what a CI system shows.
func TestJUnitSchema(t *testing.T) {
	xmllint := testutil.RequireCommand(t, "xmllint", "libxml2-utils")
	res := sampleResult()
	rules := Rules{FailOn: analysis.VerdictLeak, Ignore: nil}
	findings := Judge(res.Doc, rules)
	out := Decide(res, findings, false)
	var buf bytes.Buffer
	if err := EncodeJUnit(&buf, res, findings, out); err != nil {
		t.Fatal(err)
	}
	ValidateJUnit(t, xmllint, buf.Bytes())

	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suites[0]
	// run, one process, two skipped processes, two sites.
	if s.Tests != 6 || s.Failures != 1 || s.Errors != 0 || s.Skipped != 2 || doc.Tests != 6 {
		t.Errorf("counts: suite %d tests %d failures %d errors %d skipped; root %d tests", s.Tests, s.Failures, s.Errors, s.Skipped, doc.Tests)
	}
	var fail *junitCase
	for i, c := range s.Cases {
		if c.Failure != nil {
			fail = &s.Cases[i]
		}
	}
	if fail == nil || fail.Name != "main.remember (main.go:30)" || fail.Classname != "leakscope.heap.svc" ||
		!strings.Contains(fail.Failure.Message, "200.0 KiB/s") || !strings.Contains(fail.Failure.Message, "score 0.97") ||
		!strings.Contains(fail.Failure.Text, "profile: /out/100/leak-1.pb.gz") || !strings.Contains(fail.Failure.Text, "main.main.func1 (main.go:50)") {
		t.Errorf("failing case: %+v", fail)
	}

	// A run leakscope could not carry out is an error case.
	res.Interrupted = true
	buf.Reset()
	out = Decide(res, findings, false)
	if err := EncodeJUnit(&buf, res, findings, out); err != nil {
		t.Fatal(err)
	}
	ValidateJUnit(t, xmllint, buf.Bytes())
	if !strings.Contains(buf.String(), `<error message="interrupted by a signal before the run ended" type="leakscope">`) {
		t.Errorf("no error case for an interrupted run:\n%s", buf.String())
	}

	// The schema check itself can fail: a case with two outcomes, and one
	// without a name, are rejected.
	for _, bad := range []string{
		strings.Replace(buf.String(), `<skipped message="not a Go program"></skipped>`, `<skipped message="x"></skipped><failure message="y"></failure>`, 1),
		strings.Replace(buf.String(), `name="run" `, ``, 1),
	} {
		if bad == buf.String() {
			t.Fatal("the corruption did not apply")
		}
		if err := xmllintValidate(xmllint, []byte(bad)); err == nil {
			t.Errorf("the schema accepts an invalid report:\n%s", bad)
		}
	}
}

// ValidateJUnit fails t unless data is valid against testdata/junit.xsd.
func ValidateJUnit(t *testing.T, xmllint string, data []byte) {
	t.Helper()
	if err := xmllintValidate(xmllint, data); err != nil {
		t.Fatalf("JUnit report is not valid JUnit XML: %v\n%s", err, data)
	}
}

func xmllintValidate(xmllint string, data []byte) error {
	schema, _ := filepath.Abs("testdata/junit.xsd")
	cmd := exec.Command(xmllint, "--noout", "--schema", schema, "-")
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return &xmllintError{err: err, out: string(out)}
	}
	return nil
}

type xmllintError struct {
	err error
	out string
}

func (e *xmllintError) Error() string { return e.err.Error() + ": " + e.out }

func TestAnnotations(t *testing.T) {
	res := sampleResult()
	res.Doc.Targets[0].Suspects[0].Function = "main.remember, again: 100%"
	findings := Judge(res.Doc, Rules{FailOn: analysis.VerdictLeak})
	var b strings.Builder
	if err := WriteAnnotations(&b, res, findings, "/ws/repo"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want an error and a warning, got:\n%s", b.String())
	}
	if want := "::error file=main.go,line=30,title=leakscope%3A heap leak::leak at main.remember, again: 100%25 (main.go:30) in pid 100 (svc): growing 200.0 KiB/s, 20.0 MiB live, score 0.97%0Aprofile: /out/100/leak-1.pb.gz"; lines[0] != want {
		t.Errorf("error annotation:\n got %s\nwant %s", lines[0], want)
	}
	if !strings.HasPrefix(lines[1], "::warning file=cache.go,line=12,title=leakscope%3A heap watch::watch at main.warm") {
		t.Errorf("warning annotation: %s", lines[1])
	}
	// Outside the workspace the path stays absolute; a failed run is an error.
	res.Interrupted = true
	b.Reset()
	WriteAnnotations(&b, res, findings, "/elsewhere")
	if !strings.HasPrefix(b.String(), "::error title=leakscope run failed::interrupted") || !strings.Contains(b.String(), "file=/ws/repo/main.go,") {
		t.Errorf("annotations:\n%s", b.String())
	}
}

func TestSummary(t *testing.T) {
	res := sampleResult()
	findings := Judge(res.Doc, Rules{FailOn: analysis.VerdictLeak})
	out := Decide(res, findings, false)
	path := filepath.Join(t.TempDir(), "summary.md")
	os.WriteFile(path, []byte("# earlier step\n"), 0o644)
	if err := AppendSummary(path, res, findings, out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	s := string(b)
	for _, want := range []string{
		"# earlier step\n## leakscope run: leak found (exit status 1)",
		"Command `./svc -leak 2048`: killed by SIGTERM after 2m0s (stopped by leakscope); load: exit status 0 after 1m30s; watched for 2m0s.",
		"- leak in pid 100 (svc): main.remember (main.go:30)",
		"| fail | leak | `main.remember (main.go:30)` | 200.0 KiB/s | 20.0 MiB | 0.97 | svc (pid 100) | /out/100/leak-1.pb.gz |",
		"| pass | watch | `main.warm (cache.go:12)` |",
		"| svc (pid 100) | go1.26.8 | exited | 40 | 524288 | 2 |",
		"Not Go programs, not watched (1): sh (pid 99).",
		"- old (pid 101): pid 101 (old): go1.12: cannot watch: unsupported",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestShortWatch(t *testing.T) {
	res := sampleResult()
	if w := ShortWatch(res); w != "" {
		t.Errorf("2 minutes, 40 GC cycles: %q", w)
	}
	res.Doc.Targets[0].GCCycles = 6
	if w := ShortWatch(res); !strings.Contains(w, "at most 6 GC cycles") {
		t.Errorf("6 GC cycles: %q", w)
	}
	res = sampleResult()
	res.End = res.Start.Add(30 * time.Second)
	if w := ShortWatch(res); !strings.Contains(w, "too short to name a leak (30s") {
		t.Errorf("30 s: %q", w)
	}
}

// TestGroup creates a run's cgroup, starts a process into it, stops it
// and removes the group; an empty group left by a killed run is removed
// by the next one.
func TestGroup(t *testing.T) {
	testutil.RequireBPF(t) // root: creating cgroups
	m, err := cgroupMountForTest()
	if err != nil {
		t.Skip(err)
	}
	self, err := v2Path(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	parent := filepath.Join(m, filepath.Dir("/"+strings.TrimPrefix(self, "/")))
	// A dead pid's group (pid_max is at most 4194304).
	stale := filepath.Join(parent, groupPrefix+"4194999")
	if err := os.MkdirAll(filepath.Join(stale, roleCommand), 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := NewGroup(roleCommand, roleLoad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale group %s not removed: %v", stale, err)
	}
	dir, err := g.Open(roleCommand)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "trap '' TERM; sleep 30 & sleep 30")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dir.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(g.Procs(roleCommand)) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(g.Procs(roleCommand)); n != 3 || g.Empty(roleCommand) {
		t.Fatalf("want sh and two sleeps in the group, got %v", g.Procs(roleCommand))
	}
	// sh ignores SIGTERM: the sleeps end, sh is killed after the grace.
	how, err := g.Stop(roleCommand, 300*time.Millisecond)
	if err != nil || how != "killed" || !g.Empty(roleCommand) {
		t.Errorf("Stop: %q %v; left %v", how, err, g.Procs(roleCommand))
	}
	<-done
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.dir); !os.IsNotExist(err) {
		t.Errorf("group %s still there: %v", g.dir, err)
	}
}

func cgroupMountForTest() (string, error) {
	m, err := cgroup.V2Mount()
	return m.Point, err
}

// TestUndecided: a leak the detector held back because frees may be
// missing neither fails as a leak nor passes: status 2, an error case in
// the JUnit report, an error annotation.
func TestUndecided(t *testing.T) {
	res := sampleResult()
	tg := &res.Doc.Targets[0]
	tg.Incomplete = []string{"address_reused"}
	tg.Suspects[0].Verdict = analysis.VerdictWatch
	tg.Suspects[0].Evidence.FreesMayBeMissing = true
	rules := Rules{FailOn: analysis.VerdictLeak}
	findings := Judge(res.Doc, rules)
	if findings[0].Decision != Undecided || !findings[0].HeldBack || findings[1].Decision != Pass {
		t.Fatalf("findings: %+v", findings)
	}
	out := Decide(res, findings, false)
	if out.Status != StatusFailed || !strings.Contains(out.Reasons[0], "undecided in pid 100 (svc): main.remember (main.go:30) met the bars of a leak, held back to watch: frees may be missing (address_reused)") {
		t.Errorf("outcome: %+v", out)
	}
	var b strings.Builder
	WriteAnnotations(&b, res, findings, "")
	if !strings.HasPrefix(b.String(), "::error file=/ws/repo/main.go,line=30,") || !strings.Contains(b.String(), "frees may be missing") {
		t.Errorf("annotations:\n%s", b.String())
	}
	if s := Summary(res, findings, out); !strings.Contains(s, "## leakscope run: a leak could not be confirmed: data was lost (exit status 2)") {
		t.Errorf("summary:\n%s", s)
	}
	var x bytes.Buffer
	EncodeJUnit(&x, res, findings, out)
	if !strings.Contains(x.String(), `type="undecided"`) {
		t.Errorf("JUnit:\n%s", x.String())
	}
	if xmllint, err := exec.LookPath("xmllint"); err == nil {
		ValidateJUnit(t, xmllint, x.Bytes())
	}
	// Ignored or known, it is not undecided; under --fail-on watch it fails.
	rules.Baseline = map[string]bool{"heap main.remember": true}
	if f := Judge(res.Doc, rules); f[0].Decision != Known {
		t.Errorf("known: %s", f[0].Decision)
	}
	if f := Judge(res.Doc, Rules{FailOn: analysis.VerdictWatch}); f[0].Decision != Fail {
		t.Errorf("fail-on watch: %s", f[0].Decision)
	}
}

// TestGoroutineLeaks: goroutine groups with a verdict are judged like heap
// suspects (fail, ignore, baseline), in goroutines' units; groups with
// no verdict are not findings.
func TestGoroutineLeaks(t *testing.T) {
	res := sampleResult()
	tg := &res.Doc.Targets[0]
	tg.Suspects = nil
	tg.Goroutines = &report.Goroutines{Status: report.GoroutinesWatching, Profile: "/out/100/goroutines.pb.gz",
		Suspects: []goroutines.Suspect{
			{CreatedBy: goroutines.Site{Function: "main.handle", File: "/ws/repo/handler.go", Line: 42}, Count: 30, GrowthPerSecond: 2.5,
				StackBytes: 30 << 11, Score: 150, Verdict: goroutines.VerdictLeak,
				Blocked: []goroutines.Site{{Function: "main.reply", File: "/ws/repo/handler.go", Line: 50}}},
			{CreatedBy: goroutines.Site{Function: "main.startPool", File: "/ws/repo/pool.go", Line: 7}, Count: 64},
		}}
	findings := Judge(res.Doc, Rules{FailOn: analysis.VerdictLeak})
	if len(findings) != 1 {
		t.Fatalf("want the one group with a verdict, got %+v", findings)
	}
	f := findings[0]
	if f.Decision != Fail || f.Site.Kind != KindGoroutine || f.Site.Function != "main.handle" || f.Profile != "/out/100/goroutines.pb.gz" ||
		len(f.Stack) != 1 || !strings.Contains(f.Stack[0], "main.reply") {
		t.Fatalf("finding: %+v", f)
	}
	if line := findingLine(f); line != "goroutine leak at main.handle (handler.go:42) in pid 100 (svc): growing 2.50 goroutines/s, 30 goroutines, 60.0 KiB of stack, score 150.00" {
		t.Errorf("line: %q", line)
	}
	out := Decide(res, findings, false)
	if out.Status != StatusLeak || !strings.Contains(out.Reasons[0], "goroutine leak in pid 100 (svc): main.handle (handler.go:42)") {
		t.Errorf("outcome: %+v", out)
	}
	var b strings.Builder
	WriteAnnotations(&b, res, findings, "")
	if !strings.HasPrefix(b.String(), "::error file=/ws/repo/handler.go,line=42,") {
		t.Errorf("annotations:\n%s", b.String())
	}
	if s := Summary(res, findings, out); !strings.Contains(s, "| fail | goroutine leak | `main.handle (handler.go:42)` | 2.50 goroutines/s | 30 goroutines, 60.0 KiB of stack |") {
		t.Errorf("summary:\n%s", s)
	}
	// The same patterns and baseline as heap sites, keyed by kind.
	ign, _ := ParsePattern("main.handle")
	if f := Judge(res.Doc, Rules{FailOn: analysis.VerdictLeak, Ignore: []Pattern{ign}}); f[0].Decision != Ignored {
		t.Errorf("ignored: %s", f[0].Decision)
	}
	if f := Judge(res.Doc, Rules{FailOn: analysis.VerdictLeak, Baseline: map[string]bool{"heap main.handle": true}}); f[0].Decision != Fail {
		t.Errorf("a heap baseline entry must not hide a goroutine leak: %s", f[0].Decision)
	}
	dir := t.TempDir()
	if err := report.WriteJSON(dir, res.Doc); err != nil {
		t.Fatal(err)
	}
	base, err := LoadBaseline(filepath.Join(dir, report.SuspectsFile))
	if err != nil || !base["goroutine main.handle"] || base["goroutine main.startPool"] {
		t.Fatalf("baseline %v, %v", base, err)
	}
	if f := Judge(res.Doc, Rules{FailOn: analysis.VerdictLeak, Baseline: base}); f[0].Decision != Known {
		t.Errorf("known: %s", f[0].Decision)
	}
	var x bytes.Buffer
	EncodeJUnit(&x, res, findings, out)
	if xmllint, err := exec.LookPath("xmllint"); err == nil {
		ValidateJUnit(t, xmllint, x.Bytes())
	}
	if !strings.Contains(x.String(), "goroutine leak at main.handle") {
		t.Errorf("JUnit:\n%s", x.String())
	}
}
