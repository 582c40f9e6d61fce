package gobin

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCache(t *testing.T) {
	a := buildFixture(t, fixture{GOARCH: "amd64"})
	b := buildFixture(t, fixture{GOARCH: "amd64", LDFlags: ldStripped})
	dir := t.TempDir()
	link := filepath.Join(dir, "link-to-a")
	must(t, os.Link(a, link))
	// A copy with its version string patched, as the compatibility matrix
	// makes one: the same build ID, other bytes.
	data, err := os.ReadFile(a)
	must(t, err)
	ba, err := Open(a)
	must(t, err)
	v := ba.GoVersion()
	ba.Close()
	patched := filepath.Join(dir, "patched-a")
	other := "go1.99" + strings.TrimPrefix(v, v[:len("go1.99")])
	must(t, os.WriteFile(patched, bytes.ReplaceAll(data, []byte(v), []byte(other)), 0o755))

	var c Cache
	ba, err = c.Open(a)
	must(t, err)
	if !strings.HasPrefix(ba.BuildID(), "gnu:") {
		t.Errorf("BuildID() = %q, want the GNU build ID", ba.BuildID())
	}
	// The same file under another path (as /proc/PID/exe of another
	// process is): shared.
	ba2, err := c.Open(link)
	must(t, err)
	if ba2 != ba {
		t.Error("the same file under another path was parsed again")
	}
	bp, err := c.Open(patched)
	must(t, err)
	if bp == ba || bp.BuildID() != ba.BuildID() || bp.GoVersion() != other {
		t.Errorf("patched copy: shared %v, build ID %q (original %q), version %q (want %q)",
			bp == ba, bp.BuildID(), ba.BuildID(), bp.GoVersion(), other)
	}
	bb, err := c.Open(b)
	must(t, err)
	if bb == ba {
		t.Error("different binaries share a cache entry")
	}
	if n := c.Parsed(); n != 3 {
		t.Errorf("Parsed() = %d after three files, one of them under two paths", n)
	}

	// Failures are cached too.
	junk := filepath.Join(t.TempDir(), "junk")
	must(t, os.WriteFile(junk, []byte("not an executable"), 0o644))
	_, err1 := c.Open(junk)
	_, err2 := c.Open(junk)
	if err1 == nil || err2 != err1 || !errors.Is(err1, ErrNotELF) {
		t.Errorf("errors %v, %v: want one cached ErrNotELF", err1, err2)
	}
	if _, err := c.Open(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("no error for a missing file")
	}

	// Concurrent callers get one parse.
	var fresh Cache
	var wg sync.WaitGroup
	got := make([]*Binary, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = fresh.Open(a)
		}()
	}
	wg.Wait()
	for _, g := range got {
		if g == nil || g != got[0] {
			t.Fatalf("concurrent callers got %v", got)
		}
	}
	if n := fresh.Parsed(); n != 1 {
		t.Errorf("8 concurrent callers: Parsed() = %d, want 1", n)
	}

	// Least recently used entries go first.
	small := Cache{Max: 1}
	x, err := small.Open(a)
	must(t, err)
	_, err = small.Open(b)
	must(t, err)
	y, err := small.Open(a)
	must(t, err)
	if x == y {
		t.Error("Max: 1 kept two binaries")
	}
}

func TestOpenNotGo(t *testing.T) {
	// A C program: ELF, but no pclntab.
	for _, path := range []string{"/bin/true", "/usr/bin/true"} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		_, err := Open(path)
		if !errors.Is(err, ErrNotGo) {
			t.Errorf("Open(%s) error = %v, want ErrNotGo", path, err)
		}
		return
	}
	t.Skip("no /bin/true")
}

// TestCacheClose: Close releases the files; what is in memory still
// symbolizes.
func TestCacheClose(t *testing.T) {
	var c Cache
	b, err := c.Open(buildFixture(t, fixture{GOARCH: "amd64"}))
	must(t, err)
	must(t, b.LoadFuncTable())
	fn, err := b.Function("main.main")
	must(t, err)
	must(t, c.Close())
	if chain := b.Expand(fn.Entry); len(chain) == 0 || chain[len(chain)-1].Function != "main.main" {
		t.Errorf("Expand(main.main) after Close = %+v", chain)
	}
	if _, err := b.Code(fn); err == nil {
		t.Error("Code read from a closed file")
	}
	if n := c.Parsed(); n != 1 {
		t.Errorf("Parsed() = %d", n)
	}
}
