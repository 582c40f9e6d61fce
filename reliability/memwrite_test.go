package reliability

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
	"github.com/leakscope/leakscope/symbolize"
)

// memoryImage is a copy of a stopped process's mappings, by start address.
type memoryImage map[uint64][]byte

// dumpMemory copies every mapping of pid whose permissions pass keep,
// through /proc/PID/mem. Mappings the kernel refuses to read ([vvar]) are
// left out, the same way every time.
func dumpMemory(t *testing.T, pid int, keep func(symbolize.Mapping) bool) memoryImage {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	maps, err := symbolize.ParseMaps(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	img := memoryImage{}
	for _, m := range maps {
		if !keep(m) || m.Perms[0] != 'r' || m.Path == "[vvar]" || m.Path == "[vsyscall]" {
			continue
		}
		buf := make([]byte, m.End-m.Start)
		if _, err := mem.ReadAt(buf, int64(m.Start)); err != nil {
			continue
		}
		img[m.Start] = buf
	}
	return img
}

// diff returns the addresses of the bytes that differ between a and b
// (every byte of a mapping only one of them has counts).
func (a memoryImage) diff(b memoryImage) []uint64 {
	var out []uint64
	for start, x := range a {
		y, ok := b[start]
		if !ok || len(x) != len(y) {
			out = append(out, start)
			continue
		}
		if bytes.Equal(x, y) {
			continue
		}
		for i := range x {
			if x[i] != y[i] {
				out = append(out, start+uint64(i))
			}
		}
	}
	for start := range b {
		if _, ok := a[start]; !ok {
			out = append(out, start)
		}
	}
	return out
}

func (a memoryImage) size() (n int) {
	for _, b := range a {
		n += len(b)
	}
	return n
}

// stopProcess stops pid and waits until the kernel shows it stopped.
func stopProcess(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("pid %d did not stop", pid)
}

func writable(m symbolize.Mapping) bool { return m.Perms[1] == 'w' }
func anyMapping(symbolize.Mapping) bool { return true }

// TestMemoryWrites proves what leakscope writes into a target: setting
// MemProfileRate changes exactly the variable's 8 bytes and nothing else
// in any writable mapping; and a whole watch with sampling turned on and
// restored leaves every readable byte of the target (code included, where
// the uprobes were) as it found it.
func TestMemoryWrites(t *testing.T) {
	testutil.RequireBPF(t)
	p, _, rate := startTarget(t, "-leak=none")
	pid := p.PID()
	stopProcess(t, pid) // nothing but leakscope may change its memory now

	before := dumpMemory(t, pid, writable)
	old, err := rate.Set(512 * 1024)
	if err != nil {
		t.Fatal(err)
	}
	after := dumpMemory(t, pid, writable)
	changed := before.diff(after)
	t.Logf("Set: %d writable bytes compared, changed %d: %#x (MemProfileRate at %#x, was %d)", before.size(), len(changed), changed, rate.Addr, old)
	if len(changed) == 0 || len(changed) > 8 {
		t.Errorf("setting MemProfileRate changed %d bytes, want 1 to 8", len(changed))
	}
	for _, a := range changed {
		if a < rate.Addr || a >= rate.Addr+8 {
			t.Errorf("byte at %#x changed: outside MemProfileRate [%#x, %#x)", a, rate.Addr, rate.Addr+8)
		}
	}
	if _, err := rate.Set(old); err != nil {
		t.Fatal(err)
	}
	if d := before.diff(dumpMemory(t, pid, writable)); len(d) != 0 {
		t.Errorf("after restoring, %d bytes differ: %#x", len(d), d)
	}

	// The CLI, end to end, on the stopped target: attach, sample, restore.
	bin := buildCLI(t)
	whole := dumpMemory(t, pid, anyMapping)
	code, log := runCLI(t, bin, "--pid", strconv.Itoa(pid), "--duration=2s", "--interval=1s", "--state-dir=")
	if code != 0 {
		t.Fatalf("leakscope on the stopped target: exit %d:\n%s", code, log)
	}
	if !strings.Contains(log, "restored runtime.MemProfileRate") {
		t.Errorf("leakscope did not turn sampling on and restore it:\n%s", log)
	}
	d := whole.diff(dumpMemory(t, pid, anyMapping))
	t.Logf("watch: %d readable bytes compared, %d differ after leakscope exited", whole.size(), len(d))
	if len(d) != 0 {
		t.Errorf("after a watch, %d bytes of the target differ: %#x", len(d), d[:min(len(d), 16)])
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if p.Exited() {
		t.Fatalf("target died after it was continued: %q", p.Lines())
	}
}
