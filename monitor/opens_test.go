package monitor

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/tracer"
)

// TestEachExecutableReadOnce watches two processes of one executable in
// all-allocs mode, where hook decoding, the every-allocation hook and
// symbolization each need the binary: the shared cache must have parsed
// it exactly once.
func TestEachExecutableReadOnce(t *testing.T) {
	testutil.RequireBPF(t)
	bin := testutil.Build(t, t.TempDir(), "leaky", "./testdata/leaky")
	a := testutil.Start(t, bin)
	b := testutil.Start(t, bin)
	a.WaitLine(t, "ready", 10*time.Second)
	b.WaitLine(t, "ready", 10*time.Second)

	cfg := Config{
		PIDs:      []uint32{uint32(a.PID()), uint32(b.PID())},
		Interval:  time.Second,
		Rate:      RatePolicy{Mode: RateKeep}, // never writes to the fixtures
		AllAllocs: true,
	}
	sel, err := checkConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := tracer.New(tracer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	w := newWatch(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), tr, sel)
	defer func() {
		for _, tg := range w.targets {
			tg.att.Close()
		}
	}()
	if err := w.attachNamed(); err != nil {
		t.Fatal(err)
	}
	if len(w.live) != 2 {
		t.Fatalf("%d targets attached, want 2 (skipped: %v)", len(w.live), w.skipped)
	}
	if err := w.snapshotAndReport(false); err != nil {
		t.Fatal(err)
	}
	if n := w.exes.bins.Parsed(); n != 1 {
		t.Errorf("the executable of 2 targets was parsed %d times, want once", n)
	}
	if n := tr.ProbeSets(); n != 1 {
		t.Errorf("%d probe sets, want 1", n)
	}
	for _, tg := range w.targets {
		if got := tg.proc.Executable(); got != w.targets[0].proc.Executable() {
			t.Error("the targets symbolize through different readers of one executable")
		}
	}
}
