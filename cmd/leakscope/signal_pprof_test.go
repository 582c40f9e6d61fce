package main_test

import (
	"net"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
)

// TestSignalDuringPprofFetch: SIGTERM while a fetch of the target's own
// heap profile hangs (an endpoint that accepts and never answers) still
// flushes the final files and exits 0 within 5 s: the fetch is cancelled,
// not waited for until its 10 s timeout.
func TestSignalDuringPprofFetch(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	p := testutil.Start(t, fixture, "-leak=map")
	p.WaitLine(t, "ready", 10*time.Second)

	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	var open atomic.Int32 // connections accepted and still held
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			open.Add(1)
			go func() { // read until the client gives up; never answer
				defer func() { c.Close(); open.Add(-1) }()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()

	out := filepath.Join(dir, "out")
	ls := testutil.Start(t, bin, "--pid", strconv.Itoa(p.PID()), "--interval=1s", "--out", out, "--listen=",
		"--pprof-url", "http://"+hang.Addr().String()+"/debug/pprof/heap", "--pprof-interval=1s")
	deadline := time.Now().Add(15 * time.Second)
	for open.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if open.Load() == 0 {
		t.Fatal("leakscope never fetched from the endpoint")
	}
	time.Sleep(1500 * time.Millisecond) // a snapshot or two with the fetch in flight
	if open.Load() == 0 {
		t.Fatal("the fetch ended before the signal: nothing in flight to test")
	}
	if err := ls.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := ls.Wait(t, 5*time.Second); err != nil {
		t.Fatalf("leakscope after SIGTERM during a fetch: %v", err)
	}
	t.Logf("exited %v after SIGTERM, a fetch in flight", time.Since(start).Round(time.Millisecond))
	doc := readSuspects(t, filepath.Join(out, "suspects.json"))
	if len(doc.Targets) != 1 || doc.Targets[0].SampledAllocs == 0 {
		t.Errorf("final suspects.json lacks the samples: %+v", doc.Targets)
	}
	if p.Exited() {
		t.Errorf("target died: %q", p.Lines())
	}
}
