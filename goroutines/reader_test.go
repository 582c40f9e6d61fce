package goroutines_test

import (
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
)

// readBuilds are the builds the reader is checked on: the machine's go as
// built by default, PIE and stripped (allgs found by decoding), and older
// and newer releases (their own g layouts).
var readBuilds = []testutil.GoBuild{
	{}, {PIE: true}, {LDFlags: "-s -w"},
	{Toolchain: "go1.19.13"}, {Toolchain: "go1.22.12"}, {Toolchain: "go1.27.4", LDFlags: "-s -w"},
}

// TestReadChanSendLeak reads a process that leaks goroutines blocked on a
// channel send and checks what a user would: they are found, waiting in
// "chan send", created in main.leakChanSend, with main.sendResult among
// the frames where they block; in every build of readBuilds.
func TestReadChanSendLeak(t *testing.T) {
	for _, b := range readBuilds {
		b.GOARCH = "amd64"
		t.Run(b.Name(), func(t *testing.T) { readChanSendLeak(t, b) })
	}
}

func readChanSendLeak(t *testing.T, b testutil.GoBuild) {
	f := startFixture(t, b, "-cases", "chansend", "-every", "20ms")
	time.Sleep(time.Second)
	s, err := f.reader.Read()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("roots: %+v; allglen %d dead %d live %d dropped %v truncated %v", f.reader.Roots(), s.AllGLen, s.Dead, len(s.Goroutines), s.Dropped, s.Truncated)
	n := 0
	for _, g := range s.Goroutines {
		created := f.sym.Symbolize([]uint64{0, g.GoPC})
		if created[len(created)-1].Function != "main.leakChanSend" {
			continue
		}
		n++
		if got := f.reader.Layout().StatusName(g.Status); got != "waiting" {
			t.Errorf("goroutine %d: status %s, want waiting", g.ID, got)
		}
		if got := f.reader.Layout().WaitReasonName(g.WaitReason); got != "chan send" {
			t.Errorf("goroutine %d: wait reason %q, want chan send", g.ID, got)
		}
		frames := f.sym.Symbolize(append([]uint64{0}, g.Stack...))
		found := false
		for _, fr := range frames {
			found = found || fr.Function == "main.sendResult"
		}
		if !found || n == 1 {
			for _, fr := range frames {
				t.Logf("  %s %s:%d", fr.Function, fr.File, fr.Line)
			}
		}
		if !found {
			t.Errorf("goroutine %d: main.sendResult not in its blocked stack", g.ID)
		}
	}
	if n < 20 {
		t.Errorf("found %d goroutines created in main.leakChanSend after 1 s of one per 20 ms, want >= 20", n)
	}
}
