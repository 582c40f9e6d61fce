package reliability

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// ownedObjects is what this process holds open: file descriptors by kind
// and the kernel ids of the BPF objects behind them.
type ownedObjects struct {
	fds   map[string]int // "bpf-prog", "bpf-map", "bpf_link", "[perf_event]", "other"
	progs []ebpf.ProgramID
	maps  []ebpf.MapID
	links []link.ID
}

func (o ownedObjects) total() int {
	n := 0
	for _, c := range o.fds {
		n += c
	}
	return n
}

func (o ownedObjects) String() string {
	return fmt.Sprintf("fds %d (bpf-prog %d, bpf-map %d, bpf_link %d, perf_event %d, other %d)",
		o.total(), o.fds["bpf-prog"], o.fds["bpf-map"], o.fds["bpf_link"], o.fds["[perf_event]"], o.fds["other"])
}

// readOwned lists /proc/self/fd: every BPF program, map and link and every
// perf event (a uprobe) leakscope holds shows there.
func readOwned(t testing.TB) ownedObjects { return readOwnedBy(t, "self") }

// readOwnedBy is readOwned for another process (pid as a /proc name).
func readOwnedBy(t testing.TB, pid string) ownedObjects {
	t.Helper()
	fdDir := filepath.Join("/proc", pid, "fd")
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	o := ownedObjects{fds: map[string]int{}}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue // the directory's own fd, closed meanwhile
		}
		kind, ok := strings.CutPrefix(target, "anon_inode:")
		switch {
		case !ok:
			o.fds["other"]++
			continue
		case kind == "bpf-prog" || kind == "bpf-map" || kind == "bpf_link" || kind == "[perf_event]":
			o.fds[kind]++
		default:
			o.fds["other"]++
		}
		info, _ := os.ReadFile(filepath.Join("/proc", pid, "fdinfo", e.Name()))
		if id, ok := fdinfoField(info, "prog_id:"); ok && kind == "bpf-prog" {
			o.progs = append(o.progs, ebpf.ProgramID(id))
		}
		if id, ok := fdinfoField(info, "map_id:"); ok && kind == "bpf-map" {
			o.maps = append(o.maps, ebpf.MapID(id))
		}
		if id, ok := fdinfoField(info, "link_id:"); ok && kind == "bpf_link" {
			o.links = append(o.links, link.ID(id))
		}
	}
	return o
}

func fdinfoField(info []byte, key string) (uint32, bool) {
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			return uint32(n), err == nil
		}
	}
	return 0, false
}

// stillInKernel returns the ids among o's that the kernel still knows,
// after giving it up to wait to free them (it does so asynchronously).
func stillInKernel(o ownedObjects, wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		var left []string
		for _, id := range o.progs {
			if p, err := ebpf.NewProgramFromID(id); err == nil {
				p.Close()
				left = append(left, fmt.Sprintf("program %d", id))
			} else if !errors.Is(err, os.ErrNotExist) {
				left = append(left, fmt.Sprintf("program %d: %v", id, err))
			}
		}
		for _, id := range o.maps {
			if m, err := ebpf.NewMapFromID(id); err == nil {
				m.Close()
				left = append(left, fmt.Sprintf("map %d", id))
			} else if !errors.Is(err, os.ErrNotExist) {
				left = append(left, fmt.Sprintf("map %d: %v", id, err))
			}
		}
		for _, id := range o.links {
			if l, err := link.NewFromID(id); err == nil {
				l.Close()
				left = append(left, fmt.Sprintf("link %d", id))
			} else if !errors.Is(err, os.ErrNotExist) {
				left = append(left, fmt.Sprintf("link %d: %v", id, err))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leakscopeObjectsInKernel counts, host-wide, the BPF programs and maps
// named like leakscope's (other leakscope processes included: for the
// record, not for assertions).
func leakscopeObjectsInKernel() (progs, maps int) {
	names := map[string]bool{"setprofilebucke": true, "mallocgc": true, "free_special": true, "gc_mark_termina": true}
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			break
		}
		id = next
		if p, err := ebpf.NewProgramFromID(id); err == nil {
			if info, err := p.Info(); err == nil && names[info.Name] {
				progs++
			}
			p.Close()
		}
	}
	mapNames := map[string]bool{"live": true, "stacks": true, "stats": true, "targets": true, "counters": true}
	for id := ebpf.MapID(0); ; {
		next, err := ebpf.MapGetNextID(id)
		if err != nil {
			break
		}
		id = next
		if m, err := ebpf.NewMapFromID(id); err == nil {
			if info, err := m.Info(); err == nil && mapNames[info.Name] {
				maps++
			}
			m.Close()
		}
	}
	return progs, maps
}

// uprobeEvents counts the lines of tracefs uprobe_events that name path
// (uprobes made through tracefs rather than the perf PMU show there).
func uprobeEvents(path string) int {
	for _, f := range []string{"/sys/kernel/tracing/uprobe_events", "/sys/kernel/debug/tracing/uprobe_events"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		return strings.Count(string(b), path)
	}
	return 0
}

// rssBytes is this process's resident set size.
func rssBytes(t testing.TB) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
