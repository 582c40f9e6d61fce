package matrix_test

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/retention"
)

var update = flag.Bool("update", false, "write docs/COMPAT.md and README.md's compatibility table from this run")

// buildKind is one way production binaries are built.
type buildKind struct {
	name  string
	build testutil.GoBuild     // Toolchain and GOARCH are set per cell
	is    func(*elf.File) bool // proves the binary is of this kind
	what  string               // what is says, for a failure message
}

var kinds = []buildKind{
	{"default", testutil.GoBuild{}, func(*elf.File) bool { return true }, ""},
	{"pie", testutil.GoBuild{PIE: true}, func(f *elf.File) bool { return f.Type == elf.ET_DYN }, "position independent (ET_DYN)"},
	{"stripped", testutil.GoBuild{LDFlags: "-s -w"}, func(f *elf.File) bool { return f.Section(".symtab") == nil }, "without .symtab"},
	{"static", testutil.GoBuild{CGO: "0"}, func(f *elf.File) bool { return !hasInterp(f) }, "without an ELF interpreter"},
	{"cgo", testutil.GoBuild{CGO: "1", Tags: "matrixcgo"}, linksLibc, "dynamically linked against libc"},
}

// Bounds every run cell must meet.
const (
	watchFor       = 75 * time.Second
	sampleRate     = 32 << 10 // --memprofilerate: ~4 leak and ~32 churn samples per second
	minGCCycles    = 8        // what a leak verdict needs anyway
	minChurnFreed  = 0.90     // churn samples seen freed / sampled (the rest: born since the last GC)
	maxLostPercent = 1.0      // all loss counters together, % of sampled allocations
	maxLostFloor   = 5        // ... or this many, whichever is larger
)

// cell is one (version, architecture, build kind).
type cell struct {
	version, arch, kind string
	bin                 string
	skipped             string // why it could not be built: the proxy did not serve the toolchain, no cross compiler
	skipMark            string // the same in a few words, for the table
	fail                []string
	proc                *testutil.Process
	base                pong
	detail              string // figures for docs/COMPAT.md
	// unknownGo: a release no table of leakscope's knows (the patched
	// go1.99 copy): the heap part must work, the goroutine part must be
	// off with its reason (no g layout is guessed).
	unknownGo bool
}

func (c *cell) name() string { return c.version + "/" + c.arch + "/" + c.kind }

func (c *cell) failf(format string, args ...any) {
	c.fail = append(c.fail, fmt.Sprintf(format, args...))
}

// TestMatrix builds every cell, decodes each binary's hooks, runs all
// amd64 builds together under one leakscope watch and checks each.
func TestMatrix(t *testing.T) {
	testutil.RequireBPF(t)
	if testing.Short() {
		t.Skip("builds 81 binaries with 9 toolchains and watches them for 75s")
	}
	started := time.Now()
	work := t.TempDir()
	leakscope := testutil.Build(t, work, "leakscope", "./cmd/leakscope")
	src := fixtureSources(t)

	var cells []*cell
	for _, v := range testutil.Releases {
		for _, arch := range []string{"amd64", "arm64"} {
			for _, k := range kinds {
				cells = append(cells, &cell{version: v, arch: arch, kind: k.name})
			}
		}
	}
	buildAll(t, work, src, cells)
	built := time.Since(started)
	for _, c := range cells {
		if c.skipped == "" && len(c.fail) == 0 {
			verifyDecoding(c, c.version)
		}
	}

	unknown, refused := unknownVersionCells(t, work, cells)
	run := []*cell{unknown}
	for _, c := range cells {
		if c.arch == "amd64" && c.skipped == "" && len(c.fail) == 0 {
			run = append(run, c)
		}
	}
	for _, c := range run {
		if c.bin != "" && len(c.fail) == 0 {
			c.proc = testutil.StartInteractive(t, c.bin)
			c.proc.WaitLine(t, "ready", 30*time.Second)
		}
	}
	checkRefused(t, leakscope, refused)
	for _, c := range run {
		if c.proc != nil {
			c.base = ping(t, c.proc)
		}
	}
	watchStart := time.Now()
	doc := watch(t, leakscope, work, run)
	watched := time.Since(watchStart)
	for _, c := range run {
		if c.proc != nil {
			checkCell(t, c, doc)
		}
	}
	checkHealthy(t, run)

	for _, c := range append(cells, unknown, refused) {
		switch {
		case c.skipped != "":
			t.Logf("SKIPPED %s: %s", c.name(), c.skipped)
		case len(c.fail) > 0:
			t.Errorf("%s: %s", c.name(), strings.Join(c.fail, "; "))
		}
	}
	total := time.Since(started)
	timing := fmt.Sprintf("builds and decoding %s, watch %s, total %s on %d CPUs",
		built.Round(time.Second), watched.Round(time.Second), total.Round(time.Second), runtime.NumCPU())
	t.Log(timing)
	table := compatTable(cells, unknown, refused)
	details := detailTable(append(run, refused))
	t.Logf("\n%s\n%s", table, details)
	if *update {
		writeDocs(t, table, details, timing)
	}
}

// fixtureSources lists testdata/matrix's Go files.
func fixtureSources(t *testing.T) []string {
	t.Helper()
	src, err := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "testdata", "matrix", "*.go"))
	if err != nil || len(src) == 0 {
		t.Fatalf("testdata/matrix: %v", err)
	}
	return src
}

// buildAll builds the cells, as many at once as there are CPUs; each
// toolchain is fetched (or found in the module cache) once.
func buildAll(t *testing.T, work string, src []string, cells []*cell) {
	t.Helper()
	sem := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for _, c := range cells {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			k := kindNamed(c.kind)
			g := k.build
			g.Toolchain, g.GOARCH = c.version, c.arch
			if g.CGO == "1" && c.arch != runtime.GOARCH {
				cc, ok := crossCC(c)
				if !ok {
					return
				}
				g.CC, g.LDFlags = cc, "-linkmode=external"
			}
			out := filepath.Join(work, g.Name())
			err := g.Build(work, out, src...)
			switch {
			case errors.Is(err, testutil.ErrToolchain):
				c.skipped = "the module proxy could not serve " + c.version + ": " + err.Error()
				c.skipMark = "toolchain not served"
			case err != nil:
				c.failf("build: %v", err)
			default:
				c.bin = out
				if ok, err := isKind(out, c.arch, k); err != nil || !ok {
					c.failf("built binary is not an %s ELF %s (%v)", c.arch, k.what, err)
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, c := range cells {
		if c.skipped != "" && !seen[c.skipMark] {
			seen[c.skipMark] = true
			// On stderr too: visible without -v, in any CI log.
			msg := fmt.Sprintf("!!! SKIPPING %s (and any other cell lacking the same): %s", c.name(), c.skipped)
			t.Log(msg)
			fmt.Fprintln(os.Stderr, msg)
		}
	}
}

// crossCCs are the C cross compilers that cgo builds for another
// architecture need, and their Debian packages (`make test-deps` installs
// them).
var crossCCs = map[string]struct{ cc, pkg string }{
	"arm64": {"aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"},
	"amd64": {"x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu"},
}

// crossCC finds the cell's C cross compiler. Without one the cell is
// skipped, loudly, or failed when LEAKSCOPE_REQUIRE_BPF=1 (CI), so that
// a missing package never turns the column into silent passes.
func crossCC(c *cell) (string, bool) {
	x := crossCCs[c.arch]
	if path, err := exec.LookPath(x.cc); err == nil {
		return path, true
	}
	why := fmt.Sprintf("no %s C cross compiler %s (Debian: apt-get install %s, or make test-deps as root)", c.arch, x.cc, x.pkg)
	if os.Getenv("LEAKSCOPE_REQUIRE_BPF") == "1" {
		c.failf("LEAKSCOPE_REQUIRE_BPF=1 but %s", why)
	} else {
		c.skipped, c.skipMark = why, "no C cross compiler"
	}
	return "", false
}

func kindNamed(name string) buildKind {
	for _, k := range kinds {
		if k.name == name {
			return k
		}
	}
	panic("no build kind " + name)
}

// elfMachines are the ELF machines of the matrix's architectures.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

func isKind(path, arch string, k buildKind) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if f.Machine != elfMachines[arch] {
		return false, fmt.Errorf("machine %v", f.Machine)
	}
	return k.is(f), nil
}

func hasInterp(f *elf.File) bool {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}

func linksLibc(f *elf.File) bool {
	libs, err := f.ImportedLibraries()
	if err != nil {
		return false
	}
	for _, l := range libs {
		if strings.HasPrefix(l, "libc.so") {
			return hasInterp(f)
		}
	}
	return false
}

// verifyDecoding resolves the cell's hooks the way leakscope does at attach
// and checks that each was verified: the version read from the binary, the
// special kind decoded and equal to the table's, MemProfileRate's decoded
// address equal to the symbol's when there is one.
func verifyDecoding(c *cell, wantVersion string) {
	b, err := gobin.Open(c.bin)
	if err != nil {
		c.failf("open: %v", err)
		return
	}
	defer b.Close()
	h, err := b.ResolveHooks()
	switch {
	case err != nil:
		c.failf("hooks: %v", err)
	case h.GoVersion != wantVersion:
		c.failf("version read as %q", h.GoVersion)
	case b.Arch() != c.arch:
		c.failf("architecture read as %s", b.Arch())
	case gobin.KnownVersion(wantVersion) && !strings.Contains(h.SpecialKindWhy, "matches the table"):
		c.failf("special kind not checked against the table: %s", h.SpecialKindWhy)
	case !b.Stripped() && !strings.Contains(h.MemProfileRateWhy, "agrees"):
		c.failf("MemProfileRate not cross-checked: %s", h.MemProfileRateWhy)
	default:
		checkFileOffsets(c, h)
		checkArenas(c, b, wantVersion)
	}
}

// checkArenas: the heap's arena index is found by decoding
// runtime.findObject, and agrees with the symbol table where there is one
// (the retention paths start there), on every architecture.
func checkArenas(c *cell, b *gobin.Binary, version string) {
	l, err := retention.LayoutFor(version, c.arch)
	if err != nil {
		if gobin.KnownVersion(version) {
			c.failf("heap layout: %v", err)
		}
		return
	}
	a, err := retention.LocateArenas(retention.FromGobin(b), l)
	switch {
	case err != nil:
		c.failf("heap arenas: %v", err)
	case !b.Stripped() && !strings.Contains(a.How, "confirmed by decoding"):
		c.failf("heap arenas not confirmed by decoding: %s", a.How)
	}
}

// checkFileOffsets recomputes each hook's file offset (the uprobe's
// address) from the ELF program headers, independently of gobin: an
// external linker lays text out differently from Go's own (arm64 cgo
// builds load at 0x400000 with C start-up code before .text).
func checkFileOffsets(c *cell, h *gobin.Hooks) {
	f, err := elf.Open(c.bin)
	if err != nil {
		c.failf("open: %v", err)
		return
	}
	defer f.Close()
	for _, hk := range []gobin.Hook{h.ProfileAlloc, h.SetProfileBucket, h.FreeSpecial, h.GCMarkTermination} {
		found := false
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && hk.AttachAddr >= p.Vaddr && hk.AttachAddr < p.Vaddr+p.Filesz {
				found = true
				if want := hk.AttachAddr - p.Vaddr + p.Off; hk.FileOffset != want {
					c.failf("%s: file offset %#x, the program headers say %#x", hk.Name, hk.FileOffset, want)
				}
			}
		}
		if !found {
			c.failf("%s: attach address %#x in no executable segment", hk.Name, hk.AttachAddr)
		}
	}
}

// unknownVersionCells makes two copies of the newest default amd64 build
// whose build-info version says go1.99: one intact, which leakscope must
// watch on the strength of decoding alone, and one whose
// runtime.gcMarkTermination prologue is corrupted, which it must refuse,
// naming that hook. The corrupted copy runs with GC off, so the broken
// function never executes.
func unknownVersionCells(t *testing.T, work string, cells []*cell) (unknown, refused *cell) {
	t.Helper()
	from := testutil.Releases[len(testutil.Releases)-1]
	patched := "go1.99" + strings.TrimPrefix(from, "go1.27")
	unknown = &cell{version: patched + " (a " + from + " build, version patched)", arch: "amd64", kind: "default", unknownGo: true}
	refused = &cell{version: patched + " with runtime.gcMarkTermination's prologue corrupted", arch: "amd64", kind: "default"}
	var src *cell
	for _, c := range cells {
		if c.version == from && c.arch == "amd64" && c.kind == "default" && c.bin != "" {
			src = c
		}
	}
	if src == nil || len(from) != len(patched) {
		reason := "no " + from + " amd64 default build to patch"
		unknown.skipped, refused.skipped = reason, reason
		return unknown, refused
	}
	data, err := os.ReadFile(src.bin)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte(from), []byte(patched))
	unknown.bin = filepath.Join(work, "unknown-version")
	if err := os.WriteFile(unknown.bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	verifyDecoding(unknown, patched)
	if gobin.KnownVersion(patched) {
		t.Fatalf("%s is in leakscope's tables: pick another version for the unknown-version cells", patched)
	}

	b, err := gobin.Open(unknown.bin)
	if err != nil {
		t.Fatal(err)
	}
	h, err := b.ResolveHooks()
	b.Close()
	if err != nil {
		refused.skipped = "the unknown-version copy does not resolve: " + err.Error()
		return unknown, refused
	}
	off := h.GCMarkTermination.FileOffset
	if data[off] != 0x55 {
		t.Fatalf("runtime.gcMarkTermination attach point at %#x holds %#x, not PUSHQ BP", off, data[off])
	}
	data[off] = 0x90 // NOP: the frame setup the decoder looks for is gone
	refused.bin = filepath.Join(work, "unknown-version-corrupted")
	if err := os.WriteFile(refused.bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return unknown, refused
}

// checkRefused runs leakscope on the corrupted copy: it must exit non-zero
// naming the hook that failed, and leave the target running untouched.
func checkRefused(t *testing.T, leakscope string, c *cell) {
	t.Helper()
	if c.skipped != "" {
		return
	}
	p := testutil.StartInteractive(t, c.bin, "-idle")
	p.WaitLine(t, "ready", 30*time.Second)
	before := ping(t, p)
	out, err := exec.Command(leakscope, "--pid", strconv.Itoa(p.PID()), "--duration=5s", "--out", t.TempDir(), "--listen=").CombinedOutput()
	const want = "runtime.gcMarkTermination: cannot count GC cycles: prologue: unexpected"
	switch {
	case err == nil:
		c.failf("leakscope attached to it:\n%s", out)
	case !strings.Contains(string(out), want):
		c.failf("leakscope refused it without naming the hook: want %q in:\n%s", want, out)
	}
	c.detail = "refused: " + lastLine(string(out))
	after := ping(t, p)
	if p.Exited() || after.rate != before.rate || after.leaked != 0 {
		c.failf("target changed by a refused attach: before %+v, after %+v", before, after)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// pong is the fixture's answer to "ping".
type pong struct {
	leaked, gc, cgoCalls int
	rate                 int // runtime.MemProfileRate
}

// ping asks the fixture for its counters.
func ping(t *testing.T, p *testutil.Process) pong {
	t.Helper()
	seen := countPrefix(p.Lines(), "pong ")
	if err := p.Send("ping"); err != nil {
		t.Fatalf("pid %d: ping: %v", p.PID(), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !p.Exited() {
		var pongs []string
		for _, l := range p.Lines() {
			if strings.HasPrefix(l, "pong ") {
				pongs = append(pongs, l)
			}
		}
		if len(pongs) > seen {
			var r pong
			if _, err := fmt.Sscanf(pongs[seen], "pong %d %d %d %d", &r.leaked, &r.gc, &r.cgoCalls, &r.rate); err != nil {
				t.Fatalf("pid %d: answer %q: %v", p.PID(), pongs[seen], err)
			}
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("pid %d did not answer a ping (exited: %v); output %q", p.PID(), p.Exited(), p.Lines())
	return pong{}
}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// suspectsDoc is the part of suspects.json the matrix checks.
type suspectsDoc struct {
	Targets []struct {
		PID           int               `json:"pid"`
		GoVersion     string            `json:"go_version"`
		GCCycles      uint64            `json:"gc_cycles"`
		SampledAllocs uint64            `json:"sampled_allocs"`
		SampledFrees  uint64            `json:"sampled_frees"`
		Lost          map[string]uint64 `json:"lost"`
		Profile       string            `json:"profile"`
		Suspects      []struct {
			Function   string `json:"function"`
			Verdict    string `json:"verdict"`
			RetainedBy *struct {
				Status string `json:"status"`
				Reason string `json:"reason"`
				Paths  []struct {
					Root string `json:"root"`
				} `json:"paths"`
			} `json:"retained_by"`
		} `json:"suspects"`
		Goroutines struct {
			Status   string `json:"status"`
			Reason   string `json:"reason"`
			Roots    string `json:"roots"`
			Suspects []struct {
				CreatedBy struct {
					Function string `json:"function"`
				} `json:"created_by"`
				Verdict string `json:"verdict"`
			} `json:"suspects"`
		} `json:"goroutines"`
	} `json:"targets"`
}

// watch runs one leakscope over every running cell.
func watch(t *testing.T, leakscope, work string, run []*cell) suspectsDoc {
	t.Helper()
	out := filepath.Join(work, "out")
	args := []string{"--interval=5s", "--duration=" + watchFor.String(), "--memprofilerate=" + strconv.Itoa(sampleRate), "--out", out, "--listen=",
		// The goroutine leak must be named within watchFor.
		"--goroutine-min-age=10s", "--goroutine-min-window=30s"}
	for _, c := range run {
		if c.proc != nil {
			args = append(args, "--pid", strconv.Itoa(c.proc.PID()))
		}
	}
	cmd := exec.Command(leakscope, args...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("leakscope %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	t.Logf("leakscope log (the table omitted):\n%s", logLines(string(b)))
	data, err := os.ReadFile(filepath.Join(out, "suspects.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc suspectsDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("suspects.json: %v", err)
	}
	return doc
}

// logLines keeps leakscope's structured log lines.
func logLines(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "time=") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// checkHolder: the leak is held by the global linked list main.leaked
// (a segment offset when stripped); a release without a heap layout says
// why instead.
func checkHolder(c *cell, r *struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
	Paths  []struct {
		Root string `json:"root"`
	} `json:"paths"`
}) {
	switch {
	case r == nil:
		c.failf("main.leakSite: no retained_by")
	case c.unknownGo:
		if r.Status != "unavailable" || !strings.Contains(r.Reason, "no heap layout") {
			c.failf("main.leakSite on an unknown release: retained_by %s (%s), want unavailable for want of a heap layout", r.Status, r.Reason)
		}
	case len(r.Paths) == 0:
		c.failf("main.leakSite: holder not found: %s (%s)", r.Status, r.Reason)
	case c.kind == "stripped":
		if root := r.Paths[0].Root; !strings.HasPrefix(root, ".bss+") && !strings.HasPrefix(root, ".data+") {
			c.failf("main.leakSite held by %q, want a segment offset", root)
		}
	case r.Paths[0].Root != "main.leaked":
		c.failf("main.leakSite held by %q, want main.leaked", r.Paths[0].Root)
	}
}

// checkCell checks one target's entry in suspects.json.
func checkCell(t *testing.T, c *cell, doc suspectsDoc) {
	t.Helper()
	pid := c.proc.PID()
	for _, tg := range doc.Targets {
		if tg.PID != pid {
			continue
		}
		leak, churnLeak := false, false
		for _, s := range tg.Suspects {
			leak = leak || s.Function == "main.leakSite" && s.Verdict == "leak"
			churnLeak = churnLeak || s.Function == "main.churnSite" && s.Verdict == "leak"
			if s.Function == "main.leakSite" && s.Verdict == "leak" {
				checkHolder(c, s.RetainedBy)
			}
		}
		if !leak {
			c.failf("main.leakSite not called a leak: suspects %+v", tg.Suspects)
		}
		if churnLeak {
			c.failf("the churn main.churnSite called a leak")
		}
		checkGoroutines(c, tg.Goroutines.Status, tg.Goroutines.Reason, func(yield func(string, string) bool) {
			for _, s := range tg.Goroutines.Suspects {
				if !yield(s.CreatedBy.Function, s.Verdict) {
					return
				}
			}
		})
		if tg.GCCycles < minGCCycles {
			c.failf("%d GC cycles seen, want >= %d", tg.GCCycles, minGCCycles)
		}
		if want := strings.Fields(c.version)[0]; tg.GoVersion != want {
			c.failf("go_version %q, want %q", tg.GoVersion, want)
		}
		var lost uint64
		var lostNames []string
		for name, n := range tg.Lost {
			lost += n
			if n > 0 {
				lostNames = append(lostNames, fmt.Sprintf("%s=%d", name, n))
			}
		}
		bound := max(uint64(maxLostFloor), uint64(float64(tg.SampledAllocs)*maxLostPercent/100))
		if lost > bound {
			c.failf("lost %d (%s), bound %d", lost, strings.Join(lostNames, " "), bound)
		}
		freed := -1.0
		if tg.Profile == "" {
			c.failf("no leak profile written")
		} else if allocs, inuse, err := testutil.SiteCounts(tg.Profile, "main.churnSite"); err != nil || allocs == 0 {
			c.failf("churn site counts: %d allocs, %v", allocs, err)
		} else if freed = 1 - float64(inuse)/float64(allocs); freed < minChurnFreed {
			c.failf("churn: %.1f%% of %d samples seen freed, want >= %.0f%%", 100*freed, allocs, 100*minChurnFreed)
		}
		c.detail = fmt.Sprintf("%d GC, %d samples, %d frees, churn freed %.1f%%, lost %d %s",
			tg.GCCycles, tg.SampledAllocs, tg.SampledFrees, 100*freed, lost, strings.Join(lostNames, " "))
		return
	}
	c.failf("pid %d missing from suspects.json", pid)
}

// checkHealthy: after detach every target still allocates, collects and
// calls C, and its MemProfileRate is back to what it was before attach.
func checkHealthy(t *testing.T, run []*cell) {
	t.Helper()
	first := map[*cell]pong{}
	for _, c := range run {
		if c.proc == nil {
			continue
		}
		if c.proc.Exited() {
			c.failf("target exited during the watch: %q", c.proc.Lines())
			continue
		}
		first[c] = ping(t, c.proc)
	}
	time.Sleep(2 * time.Second)
	for c, p1 := range first {
		p2 := ping(t, c.proc)
		switch {
		case p2.leaked <= p1.leaked || p1.leaked <= c.base.leaked:
			c.failf("not allocating after detach: leaked %d, %d, %d", c.base.leaked, p1.leaked, p2.leaked)
		case p2.gc <= c.base.gc:
			c.failf("not collecting after detach: GC %d, then %d", c.base.gc, p2.gc)
		case p2.cgoCalls <= p1.cgoCalls:
			c.failf("stalled after detach: %d, then %d calls", p1.cgoCalls, p2.cgoCalls)
		case p2.rate != c.base.rate:
			c.failf("MemProfileRate %d after detach, %d before attach", p2.rate, c.base.rate)
		}
	}
}

// compatTable is the README's table: one row per Go release, one column
// per architecture and build kind.
func compatTable(cells []*cell, extra ...*cell) string {
	var b strings.Builder
	header := "| Go |"
	sep := "| --- |"
	var cols [][2]string
	for _, arch := range []string{"amd64", "arm64"} {
		for _, k := range kinds {
			cols = append(cols, [2]string{arch, k.name})
			header += " " + arch + " " + k.name + " |"
			sep += " --- |"
		}
	}
	fmt.Fprintln(&b, header)
	fmt.Fprintln(&b, sep)
	byName := map[string]*cell{}
	for _, c := range cells {
		byName[c.name()] = c
	}
	rows := append([]string(nil), testutil.Releases...)
	for _, v := range rows {
		fmt.Fprintf(&b, "| %s |", v)
		for _, col := range cols {
			fmt.Fprintf(&b, " %s |", mark(byName[v+"/"+col[0]+"/"+col[1]]))
		}
		fmt.Fprintln(&b)
	}
	for _, c := range extra {
		fmt.Fprintf(&b, "| %s |", c.version)
		for _, col := range cols {
			m := "—"
			if col[0] == c.arch && col[1] == c.kind {
				m = mark(c)
			}
			fmt.Fprintf(&b, " %s |", m)
		}
		fmt.Fprintln(&b)
	}
	return b.String()
}

// mark is a cell's entry: what was proven, or why not.
func mark(c *cell) string {
	switch {
	case c == nil:
		return "n/a"
	case c.skipped != "":
		return "skipped: " + c.skipMark
	case len(c.fail) > 0:
		return "**FAIL**"
	case strings.HasPrefix(c.detail, "refused"):
		return "refused ✓"
	case c.arch == "amd64":
		return "run ✓"
	}
	return "decoded ✓"
}

// detailTable lists each run cell's figures.
func detailTable(cells []*cell) string {
	var b strings.Builder
	fmt.Fprintln(&b, "| cell | result | figures |")
	fmt.Fprintln(&b, "| --- | --- | --- |")
	for _, c := range cells {
		res := mark(c)
		if len(c.fail) > 0 {
			res += ": " + strings.Join(c.fail, "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.name(), strings.ReplaceAll(res, "\n", " "), strings.ReplaceAll(c.detail, "|", "\\|"))
	}
	return b.String()
}

const (
	command     = "make matrix` (as root; it runs `go test -count=1 -v -timeout 30m ./matrix/ -args -update"
	readmeBegin = "<!-- compat:begin -->"
	readmeEnd   = "<!-- compat:end -->"
)

// writeDocs writes docs/COMPAT.md and replaces the README's table between
// its markers.
func writeDocs(t *testing.T, table, details, timing string) {
	t.Helper()
	root := testutil.ModuleRoot(t)
	legend := fmt.Sprintf(`- run ✓: attached; main.leakSite called a `+"`leak`"+`; main.churnSite's sampled frees matched (>= %.0f%% seen freed); losses within max(%d, %.0f%% of samples); at least %d GC cycles; after detach the target still allocates, collects and calls C, with its MemProfileRate restored.
- decoded ✓: cross-compiled; every hook's prologue and the special-kind and MemProfileRate constants decoded and verified (not run: no arm64 machine).
- refused ✓: leakscope refused to attach and named the hook that failed.
- decoded ✓ for arm64 cgo: cross-compiled with aarch64-linux-gnu-gcc (Debian gcc-aarch64-linux-gnu), externally linked, checked to be a dynamic aarch64 ELF needing libc.
- skipped: the toolchain was not served by the module proxy, or the C cross compiler is missing (a failure instead under LEAKSCOPE_REQUIRE_BPF=1).
`, 100*minChurnFreed, maxLostFloor, maxLostPercent, minGCCycles)
	gen := fmt.Sprintf("Generated by `%s`) on %s (%s).", command, time.Now().UTC().Format("2006-01-02"), timing)
	compat := "# Compatibility matrix\n\n" + gen + "\n\n" + table + "\n" + legend + "\n## Figures per run cell\n\n" +
		fmt.Sprintf("One leakscope watched every amd64 cell at once for %s at --memprofilerate %d.\n\n", watchFor, sampleRate) + details
	if err := os.WriteFile(filepath.Join(root, "docs", "COMPAT.md"), []byte(compat), 0o644); err != nil {
		t.Fatal(err)
	}
	readmePath := filepath.Join(root, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i, j := strings.Index(s, readmeBegin), strings.Index(s, readmeEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %s ... %s markers", readmeBegin, readmeEnd)
	}
	section := readmeBegin + "\n" + gen + " Figures per cell: [docs/COMPAT.md](docs/COMPAT.md).\n\n" + table + "\n" + legend
	s = s[:i] + section + s[j:]
	if err := os.WriteFile(readmePath, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
