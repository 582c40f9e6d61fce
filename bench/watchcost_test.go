package bench

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/internal/testutil"
)

// Parameters of BenchmarkWatchCost (bench/cmd/render describes them).
const (
	// watchFor is how long leakscope watches: long enough for several
	// intervals (snapshots, analysis, reports), short enough for 2 cores.
	watchFor = 2 * time.Minute
	// lightRate is each light target's allocation rate: 50 of them must
	// leave CPU for leakscope on 2 cores.
	lightRate = 2_000_000
)

// BenchmarkWatchCost runs the real leakscope command watching 1, 10 and 50
// light targets (testdata/bench/allocs, one goroutine allocating 2 MB/s
// each) for watchFor with --interval 10s and --out, and reports its own
// CPU (utime + stime from /proc/PID/stat, in cores over the watch) and
// peak RSS (VmHWM), read just before it is stopped.
func BenchmarkWatchCost(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) { watchCost(b, n) })
	}
}

func watchCost(b *testing.B, n int) {
	testutil.RequireBPF(b)
	bin := build(b, "allocs", "./testdata/bench/allocs")
	cli := build(b, "leakscope", "./cmd/leakscope")
	args := []string{"--interval", cliInterval, "--out", b.TempDir()}
	for range n {
		fx := startFixture(b, bin, "-workers", "1")
		fx.ask(b, fmt.Sprintf("rate %d", lightRate), "rate", 10*time.Second)
		args = append(args, "--pid", strconv.Itoa(fx.pid))
	}
	profDir := os.Getenv("LEAKSCOPE_WATCHCOST_PROFILES")
	var debugAddr string
	if profDir != "" {
		debugAddr = freeLoopbackAddr(b)
		args = append(args, "--debug-pprof", debugAddr)
	}
	cmd := exec.Command(cli, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	start := time.Now()
	select {
	case <-done:
		b.Fatalf("leakscope exited early: %v\n%s", cmd.ProcessState, stderr.String())
	case <-time.After(watchFor):
	}
	cpu := procCPU(b, cmd.Process.Pid)
	elapsed := time.Since(start)
	hwm := procHWM(b, cmd.Process.Pid)
	if profDir != "" {
		saveProfiles(b, filepath.Join(profDir, fmt.Sprintf("targets=%d", n)), debugAddr, cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("leakscope did not exit within a minute of SIGINT")
	}
	if !cmd.ProcessState.Success() {
		b.Fatalf("leakscope: %v\n%s", cmd.ProcessState, stderr.String())
	}
	if got := strings.Count(stderr.String(), "msg=attached"); got != n {
		b.Fatalf("leakscope attached %d targets, want %d:\n%s", got, n, stderr.String())
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "leakscope-cores")
	b.ReportMetric(float64(hwm)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(elapsed.Seconds(), "watch-s")
}

// freeLoopbackAddr is a loopback TCP address free a moment ago.
func freeLoopbackAddr(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// saveProfiles keeps what attributes leakscope's memory, for
// LEAKSCOPE_WATCHCOST_PROFILES=DIR: its heap profile (--debug-pprof at
// addr), goroutines, /proc/PID/smaps and status.
func saveProfiles(b *testing.B, dir, addr string, pid int) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for name, path := range map[string]string{"heap.pb.gz": "heap", "goroutine.txt": "goroutine?debug=1", "heap.txt": "heap?debug=1"} {
		resp, err := http.Get("http://" + addr + "/debug/pprof/" + path)
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %v %s", path, err, resp.Status)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, name := range []string{"smaps", "status"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// procCPU is the user + system time pid used, from /proc/PID/stat.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (in parentheses, which may hold spaces).
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		b.Fatalf("unexpected /proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("unexpected /proc/%d/stat: %q", pid, s)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ 100
}

// procHWM is pid's peak resident set size (VmHWM), in bytes.
func procHWM(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
