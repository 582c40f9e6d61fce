package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// progStat is one BPF program's run count and total run time, from the
// kernel's statistics (on only while ebpf.EnableStats is held).
type progStat struct {
	runs uint64
	ns   time.Duration
}

// cliProgStats reads the statistics of every BPF program process pid
// holds, by program name: leakscope's own programs, found through its file
// descriptors so that programs of other leakscope processes on the host do
// not count.
func cliProgStats(b *testing.B, pid int) map[string]progStat {
	b.Helper()
	infos, err := filepath.Glob(fmt.Sprintf("/proc/%d/fdinfo/*", pid))
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]progStat{}
	for _, fi := range infos {
		data, err := os.ReadFile(fi)
		if err != nil {
			continue // a descriptor closed meanwhile
		}
		for _, l := range strings.Split(string(data), "\n") {
			v, ok := strings.CutPrefix(l, "prog_id:")
			if !ok {
				continue
			}
			id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				b.Fatalf("%s: %q", fi, l)
			}
			p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
			if err != nil {
				b.Fatalf("opening BPF program %d of pid %d: %v", id, pid, err)
			}
			info, err1 := p.Info()
			st, err2 := p.Stats()
			p.Close()
			if err1 != nil || err2 != nil {
				b.Fatalf("BPF program %d: %v %v", id, err1, err2)
			}
			out[info.Name] = progStat{runs: st.RunCount, ns: st.Runtime}
		}
	}
	return out
}

// reportProgStats reports, per leakscope program, its mean run time and
// its runs per sampled allocation between two reads, and the BPF time per
// sample over all programs.
func reportProgStats(b *testing.B, before, after map[string]progStat) {
	samples := float64(after["setprofilebucket"].runs - before["setprofilebucket"].runs)
	var total time.Duration
	for name, a := range after {
		d := progStat{runs: a.runs - before[name].runs, ns: a.ns - before[name].ns}
		total += d.ns
		if d.runs == 0 {
			continue
		}
		b.ReportMetric(float64(d.ns)/float64(d.runs), name+"-ns/run")
		if samples > 0 {
			b.ReportMetric(float64(d.runs)/samples, name+"-runs/sample")
		}
	}
	if samples > 0 {
		b.ReportMetric(float64(total)/samples, "bpf-ns/sample")
	}
}
