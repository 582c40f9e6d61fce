package symbolize

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, data, 0o755))
}

func TestCache(t *testing.T) {
	a := buildFixture(t, buildVariant{name: "default"})
	b := buildFixture(t, buildVariant{name: "stripped", flags: []string{"-ldflags=-s -w"}})
	a2 := filepath.Join(t.TempDir(), "copy-of-a")
	copyFile(t, a, a2)

	var c Cache
	ba, err := c.Binary(a)
	must(t, err)
	if !strings.HasPrefix(ba.BuildID(), "gnu:") {
		t.Errorf("BuildID() = %q, want the GNU build ID", ba.BuildID())
	}
	// Same contents under another path (as /proc/PID/exe of another
	// process would be): shared.
	ba2, err := c.Binary(a2)
	must(t, err)
	if ba2 != ba {
		t.Error("a copy of the same binary was parsed again")
	}
	bb, err := c.Binary(b)
	must(t, err)
	if bb == ba {
		t.Error("different binaries share a cache entry")
	}

	// Failures are cached too.
	junk := filepath.Join(t.TempDir(), "junk")
	must(t, os.WriteFile(junk, []byte("not an executable"), 0o644))
	_, err1 := c.Binary(junk)
	_, err2 := c.Binary(junk)
	if err1 == nil || err2 != err1 {
		t.Errorf("errors %v, %v: want one cached error", err1, err2)
	}
	if _, err := c.Binary(filepath.Join(t.TempDir(), "missing")); err == nil {
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
			got[i], _ = fresh.Binary(a)
		}()
	}
	wg.Wait()
	for _, g := range got {
		if g == nil || g != got[0] {
			t.Fatalf("concurrent callers got %v", got)
		}
	}

	// Least recently used entries go first.
	small := Cache{Max: 1}
	x, err := small.Binary(a)
	must(t, err)
	_, err = small.Binary(b)
	must(t, err)
	y, err := small.Binary(a)
	must(t, err)
	if x == y {
		t.Error("Max: 1 kept two binaries")
	}
}

func TestOpenBinaryNotGo(t *testing.T) {
	// A C program: ELF, but no pclntab.
	for _, path := range []string{"/bin/true", "/usr/bin/true"} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		_, err := OpenBinary(path)
		if err == nil || !strings.Contains(err.Error(), "not a go binary") {
			t.Errorf("OpenBinary(%s) error = %v, want not a go binary", path, err)
		}
		return
	}
	t.Skip("no /bin/true")
}
