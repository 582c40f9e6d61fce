package retention_test

import (
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/retention"
)

// TestSearchTimerAndChannel: an object kept only by an armed
// time.AfterFunc closure is held by the timer (named by the closure, with
// when it fires), and one in a global channel's buffer by the channel
// ("channel buffer, 100 of 4096 slots"), before and after the 1.23 timer
// rewrite, stripped and PIE, by the forward mark and the reverse search.
func TestSearchTimerAndChannel(t *testing.T) {
	for _, c := range []struct {
		b   testutil.GoBuild
		cfg retention.Config
	}{
		{testutil.GoBuild{GOARCH: "amd64"}, retention.Config{}},
		{testutil.GoBuild{GOARCH: "amd64"}, retention.Config{MaxCache: -1}},
		{testutil.GoBuild{GOARCH: "amd64", LDFlags: "-s -w"}, retention.Config{}},
		{testutil.GoBuild{GOARCH: "amd64", PIE: true}, retention.Config{}},
		{testutil.GoBuild{GOARCH: "amd64", Toolchain: "go1.23.12"}, retention.Config{}},
		{testutil.GoBuild{GOARCH: "amd64", Toolchain: "go1.21.13"}, retention.Config{MaxCache: -1}},
		{testutil.GoBuild{GOARCH: "amd64", Toolchain: "go1.19.13"}, retention.Config{}},
	} {
		mode := "forward"
		if c.cfg.MaxCache < 0 {
			mode = "reverse"
		}
		t.Run(c.b.Name()+"/"+mode, func(t *testing.T) {
			h := startHoldersConfig(t, c.b, c.cfg)
			paths := h.search(t, "timer", "chan")
			checkTimerPath(t, paths["timer"])
			checkChanPath(t, paths["chan"], c.b.LDFlags != "")
		})
	}
}

func checkTimerPath(t *testing.T, p retention.Path) {
	t.Helper()
	if len(p.Hops) < 2 {
		t.Errorf("timer: no path (%s)", p.Why)
		return
	}
	root := p.Hops[0]
	if root.Kind != retention.KindTimer || root.Name != "time.AfterFunc closure main.arm.func1" || root.CreatedBy != "" ||
		!strings.HasSuffix(root.File, "main.go") || root.Line == 0 {
		t.Errorf("timer: root %+v, want the AfterFunc closure main.arm.func1 in main.go", root)
	}
	// Armed for an hour a few seconds ago.
	if root.FiresIn < 50*time.Minute || root.FiresIn > time.Hour {
		t.Errorf("timer: fires in %v, want just under an hour", root.FiresIn)
	}
	checkEnd(t, "timer", p)
	r := retention.Summarize([]retention.Path{p}, &retention.Result{}, time.Now())
	if want := "time.AfterFunc closure main.arm.func1 (timer, fires in "; len(r.Paths) != 1 || !strings.HasPrefix(r.Paths[0].Summary, want) {
		t.Errorf("timer summary %+v, want it to start %q", r.Paths, want)
	}
}

func checkChanPath(t *testing.T, p retention.Path, stripped bool) {
	t.Helper()
	if len(p.Hops) < 3 {
		t.Errorf("chan: no path (%s): %s", p.Why, describe(p))
		return
	}
	root, ch := p.Hops[0], p.Hops[1]
	switch {
	case root.Kind != retention.KindGlobal:
		t.Errorf("chan: root %s %s, want a global", root.Kind, root.Name)
	case !stripped && root.Name != "main.jobs":
		t.Errorf("chan: root %q, want main.jobs", root.Name)
	case stripped && !strings.HasPrefix(root.Name, ".bss+") && !strings.HasPrefix(root.Name, ".data+") && !strings.HasPrefix(root.Name, ".noptrbss+"):
		t.Errorf("chan: stripped root %q, want a segment offset", root.Name)
	}
	if ch.Kind != retention.KindChannel || ch.Name != "channel buffer, 100 of 4096 slots" || ch.Field%8 != 0 || ch.Field >= 100*8 {
		t.Errorf("chan: second hop %+v, want the channel buffer, 100 of 4096 slots, the pointer in one of them", ch)
	}
	checkEnd(t, "chan", p)
	r := retention.Summarize([]retention.Path{p}, &retention.Result{}, time.Now())
	if want := root.Name + " (channel buffer, 100 of 4096 slots)"; len(r.Paths) != 1 || !strings.HasPrefix(r.Paths[0].Summary, want) {
		t.Errorf("chan summary %+v, want it to start %q", r.Paths, want)
	}
}

func checkEnd(t *testing.T, name string, p retention.Path) {
	t.Helper()
	if last := p.Hops[len(p.Hops)-1]; last.Kind != retention.KindLeaked || p.Target < last.Addr || p.Target >= last.Addr+last.Size {
		t.Errorf("%s: path ends at %+v, not at %#x", name, last, p.Target)
	}
}

// TestSearchAfterTimerStop: once the AfterFunc timer is stopped (and its
// *time.Timer dropped, two GCs run), its closure's object is no longer
// reported as held, before and after the 1.23 timer rewrite (a stopped
// timer can stay in the timer heap, marked, until the runtime removes it).
func TestSearchAfterTimerStop(t *testing.T) {
	for _, b := range []testutil.GoBuild{{GOARCH: "amd64"}, {GOARCH: "amd64", Toolchain: "go1.21.13"}} {
		t.Run(b.Name(), func(t *testing.T) {
			h := startHolders(t, b)
			if p := h.search(t, "timer")["timer"]; len(p.Hops) == 0 || p.Hops[0].Kind != retention.KindTimer {
				t.Fatalf("before stop: %s (%s), want the timer", describe(p), p.Why)
			}
			if err := h.proc.Send("stop"); err != nil {
				t.Fatal(err)
			}
			h.proc.WaitLine(t, "stopped", 30*time.Second)
			p := h.search(t, "timer")["timer"]
			if len(p.Hops) > 0 {
				t.Errorf("after stop and two GCs: still held by %s", describe(p))
			}
			if p.Why == "" {
				t.Errorf("no path and no reason")
			}
		})
	}
}
