package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
)

// TestAllAllocsMode runs `leakscope --mode=all-allocs` on a target that
// allocates exactly n 48-byte objects in main.allocSite, and checks the
// exact count in suspects.json, the warning about the cost, and that the
// target survives and gets its MemProfileRate back.
func TestAllAllocsMode(t *testing.T) {
	testutil.RequireBPF(t)
	const n = 50000
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "allocsite", "./testdata/allocsite")
	p := testutil.Start(t, fixture, "-n="+strconv.Itoa(n))
	p.WaitLine(t, "ready", 10*time.Second)
	out := filepath.Join(dir, "out")
	var stderr bytes.Buffer
	ls := exec.Command(bin, "--pid", strconv.Itoa(p.PID()), "--mode=all-allocs", "--interval=1h", "--out", out)
	ls.Stderr = &stderr
	if err := ls.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = ls.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = ls.Process.Kill()
			<-done
		}
	})
	// The probes are attached before sampling is switched on.
	deadline := time.Now().Add(30 * time.Second)
	for readProfileRate(t, p.PID()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("leakscope did not attach within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	p.WaitLine(t, "allocated", 30*time.Second)
	if err := ls.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("leakscope after SIGTERM: %v\n%s", waitErr, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("leakscope still running 10s after SIGTERM")
	}
	if !strings.Contains(stderr.String(), "--mode=all-allocs probes EVERY heap allocation") {
		t.Errorf("no warning about the cost of --mode=all-allocs in the log:\n%s", stderr.String())
	}

	data, err := os.ReadFile(filepath.Join(out, "suspects.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Targets []struct {
			PID         int               `json:"pid"`
			Events      map[string]uint64 `json:"events"`
			ExactAllocs []struct {
				Function string `json:"function"`
				Allocs   uint64 `json:"allocs"`
				Bytes    uint64 `json:"bytes"`
			} `json:"exact_allocs"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Targets) != 1 {
		t.Fatalf("suspects.json has %d targets, want 1", len(doc.Targets))
	}
	tg := doc.Targets[0]
	found := false
	for _, a := range tg.ExactAllocs {
		if a.Function != "main.allocSite" {
			continue
		}
		found = true
		// Exactly n objects of 48 bytes, plus whatever the runtime itself
		// allocated under them (a GC starting its workers): a handful.
		if a.Allocs < n || a.Allocs > n+64 || a.Bytes < 48*n {
			t.Errorf("main.allocSite: %d allocations, %d bytes; want %d (+ a few runtime ones) and >= %d", a.Allocs, a.Bytes, n, 48*n)
		}
	}
	if !found {
		t.Errorf("main.allocSite missing from exact_allocs: %s", data)
	}
	if tg.Events["mallocs"] < n {
		t.Errorf("mallocs event %d < %d", tg.Events["mallocs"], n)
	}
	if p.Exited() {
		t.Errorf("target died: %q", p.Lines())
	}
	if rate := readProfileRate(t, p.PID()); rate != 0 {
		t.Errorf("runtime.MemProfileRate is %d after a clean exit, want 0 restored", rate)
	}
}
