package tracer

import (
	"io"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/leakscope/leakscope/snapshot"
)

// EnableStats turns on the kernel's BPF run-time statistics until the
// returned Closer is closed. They cost two clock reads per program run,
// so they are off unless asked for.
func EnableStats() (io.Closer, error) {
	c, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
	if err != nil {
		return nil, withPermissionHint(err)
	}
	return c, nil
}

// StatsEnabledBySysctl reports whether kernel.bpf_stats_enabled is on.
func StatsEnabledBySysctl() bool {
	b, err := os.ReadFile("/proc/sys/kernel/bpf_stats_enabled")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// ProgramStats returns each program's accumulated runs and run time, by
// program name. Programs whose statistics cannot be read are left out.
func (t *Tracer) ProgramStats() map[string]snapshot.ProgramStat {
	out := map[string]snapshot.ProgramStat{}
	for name, p := range t.programs() {
		s, err := p.Stats()
		if err != nil {
			continue
		}
		out[name] = snapshot.ProgramStat{Runs: s.RunCount, RunTime: s.Runtime}
	}
	return out
}

// programs names every loaded program after the runtime function it hooks.
func (t *Tracer) programs() map[string]*ebpf.Program {
	return map[string]*ebpf.Program{
		"setprofilebucket":  t.objs.Setprofilebucket,
		"freeSpecial":       t.objs.FreeSpecial,
		"gcMarkTermination": t.objs.GcMarkTermination,
		"mallocgc":          t.objs.Mallocgc, // --mode=all-allocs only
	}
}
