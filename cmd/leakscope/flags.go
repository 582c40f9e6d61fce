package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/containermeta"
	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/monitor"
	"github.com/leakscope/leakscope/retention"
	"github.com/leakscope/leakscope/tracer"
)

// maxPID is the kernel's largest possible PID (PID_MAX_LIMIT on 64-bit).
const maxPID = 1 << 22

// Flags is everything the command line sets.
type Flags struct {
	PIDs         []int
	Containers   []string
	Cgroups      []string
	All          bool
	Exclude      []string
	WithinCgroup string
	// Where container names and pods are read (containermeta).
	DockerRoots    []string
	BundleDirs     []string
	Interval       time.Duration
	Duration       time.Duration
	Out            string
	KeepProfiles   int
	MemProfileRate string
	MaxOverhead    string
	MaxSuspects    int
	LogLevel       string
	StateDir       string
	Mode           string
	Maps           tracer.Options

	// Parsed once from the strings above, by parseFlags.
	Rate       monitor.RatePolicy
	Budget     float64 // --max-overhead as a fraction of one core
	Level      slog.Level
	PprofByPID map[uint32]string // --pprof-url

	// HTTP (see serve.go).
	Listen         string
	ListenExplicit bool // --listen was given, so failing to listen is an error
	AuthTokenFile  string
	TLSCert        string
	TLSKey         string
	SourcePath     string
	BPFStats       bool
	DebugPprof     string // leakscope's own profiles (debugpprof.go)

	// Cross-check against the targets' own heap profiles (crosscheck).
	PprofURLs       []string
	NoPprofDiscover bool
	PprofGC         bool
	PprofInterval   time.Duration

	// Goroutine leaks (goroutines).
	NoGoroutines       bool
	MaxGoroutines      int
	GoroutineMinAge    time.Duration
	GoroutineMinWindow time.Duration
	// Retention paths (retention).
	NoRetention     bool
	RetentionBudget time.Duration
}

// DefaultListen serves on loopback only: exposing leakscope to the network
// takes an explicit --listen.
const DefaultListen = "127.0.0.1:9464"

func parseFlags(args []string) (*Flags, error) {
	f := &Flags{Maps: tracer.DefaultOptions()}
	fs := pflag.NewFlagSet("leakscope", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.IntSliceVar(&f.PIDs, "pid", nil, "process to watch (repeatable)")
	fs.StringArrayVar(&f.Containers, "container", nil, "watch every process of container `ID`, now and later: full ID, name (Docker's, or pod/container or namespace/pod/container) or unique ID prefix (Docker, containerd/CRI, CRI-O, Podman; repeatable)")
	fs.StringArrayVar(&f.Cgroups, "cgroup", nil, "watch every process in cgroup `PATH` and below, now and later: cgroup path or directory under a cgroup mount (repeatable)")
	fs.BoolVar(&f.All, "all", false, "watch every Go process on the host, now and later")
	fs.StringArrayVar(&f.Exclude, "exclude", nil, "never watch executable `NAME` through --container, --cgroup or --all (repeatable)")
	// Limits every selection to one cgroup: tests run --all on their own
	// processes only. Hidden: not a user feature.
	fs.StringVar(&f.WithinCgroup, "within-cgroup", "", "limit every selection to processes in this cgroup")
	_ = fs.MarkHidden("within-cgroup")
	meta := containermeta.DefaultSources()
	fs.StringArrayVar(&f.DockerRoots, "docker-root", meta.DockerRoots, "Docker data root `DIR` to read container names and Kubernetes labels from (repeatable)")
	fs.StringArrayVar(&f.BundleDirs, "bundle-dir", meta.BundleDirs, "`DIR` of OCI bundles (containerd, CRI-O) to read container names and Kubernetes annotations from (repeatable)")
	fs.DurationVar(&f.Interval, "interval", 10*time.Second, "time between snapshots")
	fs.DurationVar(&f.Duration, "duration", 0, "stop after this long (0: until SIGINT/SIGTERM)")
	fs.StringVar(&f.Out, "out", "", "directory for suspects.json and pprof files")
	fs.IntVar(&f.KeepProfiles, "keep-profiles", 60, "leak profiles kept per target in --out (older ones are removed)")
	fs.StringVar(&f.MemProfileRate, "memprofilerate", "auto", "sampling: auto (turn on at 512 KiB if off), keep (never write), or a byte count")
	fs.StringVar(&f.MaxOverhead, "max-overhead", "1%", "the most watching may cost each target, in percent of one core (sampling and probes together): a target over it gets a higher MemProfileRate until it calms down (0: no limit)")
	fs.IntVar(&f.MaxSuspects, "max-suspects", 20, "suspects reported per target")
	fs.StringArrayVar(&f.PprofURLs, "pprof-url", nil, "the target's own heap profile to cross-check against, dialed from leakscope's network namespace: URL (one --pid) or PID=URL (repeatable)")
	fs.BoolVar(&f.NoPprofDiscover, "no-pprof-discover", false, "do not look for /debug/pprof/heap on the targets' listening ports (probed from inside the target's network namespace)")
	fs.BoolVar(&f.PprofGC, "pprof-gc", false, "let cross-check fetches force a GC in the target (?gc=1, and the goroutine leak profile)")
	fs.DurationVar(&f.PprofInterval, "pprof-interval", crosscheck.DefaultInterval, "time between fetches of a target's own heap profile")
	fs.StringVar(&f.Mode, "mode", "sampled", "sampled (the runtime's heap samples: cheap, for continuous watching) or all-allocs (also probe every allocation for exact counts per site: slows the target down several times)")
	fs.StringVar(&f.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.Listen, "listen", DefaultListen, `HTTP address for /metrics, the web view and profiles ("" to turn off)`)
	fs.StringVar(&f.AuthTokenFile, "auth-token-file", "", "file holding a token every HTTP request must carry (bearer, or basic-auth password)")
	fs.StringVar(&f.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
	fs.StringVar(&f.TLSKey, "tls-key", "", "private key of --tls-cert (PEM)")
	fs.StringVar(&f.SourcePath, "source-path", "", "directory of the targets' source code for the pprof UI's source view (none: lines without code)")
	fs.StringVar(&f.DebugPprof, "debug-pprof", "", "loopback `ADDR` serving leakscope's own profiles at /debug/pprof/ (heap, goroutines, CPU; off by default)")
	fs.BoolVar(&f.BPFStats, "bpf-stats", false, "turn on the kernel's BPF run-time statistics for the metrics (costs ~20-40 ns per probe hit)")
	fs.StringVar(&f.StateDir, "state-dir", monitor.DefaultStateDir, "where MemProfileRate changes are recorded until restored, so one left by a killed leakscope is reported (\"\" records nothing)")
	fs.BoolVar(&f.NoGoroutines, "no-goroutines", false, "do not read the targets' goroutines (goroutine-leak detection off)")
	fs.IntVar(&f.MaxGoroutines, "max-goroutines", goroutines.DefaultMaxGoroutines, "goroutines read per target per interval (the rest are counted as skipped)")
	fs.DurationVar(&f.GoroutineMinAge, "goroutine-min-age", goroutines.DefaultMinOldAge, "least age for a goroutine to be overdue (more if its group's goroutines usually live longer)")
	fs.DurationVar(&f.GoroutineMinWindow, "goroutine-min-window", goroutines.DefaultMinWindow, "least evidence window for a goroutine leak verdict")
	fs.BoolVar(&f.NoRetention, "no-retention", false, "do not search what holds the leaks' objects (no reads of the targets' heaps)")
	fs.DurationVar(&f.RetentionBudget, "retention-budget", retention.DefaultBudget, "time one search for the holders of a target's leaks may take per interval")
	fs.Uint32Var(&f.Maps.LiveObjects, "max-live-objects", f.Maps.LiveObjects, "capacity: sampled objects alive at once")
	fs.Uint32Var(&f.Maps.StackSlots, "max-stacks", f.Maps.StackSlots, "capacity: distinct allocation stacks of --mode=all-allocs (stack-trace map)")
	fs.Uint32Var(&f.Maps.StackStats, "max-stack-stats", f.Maps.StackStats, "capacity: (process, stack) aggregates (the runtime's profile buckets; all-allocs sites)")
	fs.Uint32Var(&f.Maps.Targets, "max-targets", f.Maps.Targets, "capacity: processes watched at once")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "leakscope watches running Go processes for memory leaks.\n\nUsage: leakscope (--pid PID | --container ID | --cgroup PATH | --all)... [flags]\n\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	f.ListenExplicit = fs.Changed("listen")
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (targets are given with --pid, --container, --cgroup or --all)", fs.Arg(0))
	}
	if len(f.PIDs) == 0 && len(f.Containers) == 0 && len(f.Cgroups) == 0 && !f.All {
		return nil, errors.New("no target: give --pid PID, --container ID, --cgroup PATH or --all")
	}
	for _, p := range f.PIDs {
		if p <= 0 || p > maxPID {
			return nil, fmt.Errorf("--pid %d: not a process id", p)
		}
	}
	if f.Interval < 100*time.Millisecond {
		return nil, fmt.Errorf("--interval %v: must be at least 100ms", f.Interval)
	}
	if f.Duration < 0 {
		return nil, fmt.Errorf("--duration %v: must not be negative", f.Duration)
	}
	if f.KeepProfiles < 1 {
		return nil, fmt.Errorf("--keep-profiles %d: must be at least 1", f.KeepProfiles)
	}
	if f.MaxSuspects < 1 {
		return nil, fmt.Errorf("--max-suspects %d: must be at least 1", f.MaxSuspects)
	}
	if f.Mode != "sampled" && f.Mode != "all-allocs" {
		return nil, fmt.Errorf("--mode %q: want sampled or all-allocs", f.Mode)
	}
	var err error
	if f.Rate, err = parseRate(f.MemProfileRate); err != nil {
		return nil, err
	}
	if f.Budget, err = parseOverhead(f.MaxOverhead); err != nil {
		return nil, err
	}
	if err := f.Level.UnmarshalText([]byte(f.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if f.Listen == "" && (f.TLSCert != "" || f.AuthTokenFile != "") {
		return nil, errors.New("--tls-cert and --auth-token-file need the HTTP server: --listen is empty")
	}
	if f.MaxGoroutines < 1 {
		return nil, fmt.Errorf("--max-goroutines %d: must be at least 1", f.MaxGoroutines)
	}
	if f.GoroutineMinAge < time.Second || f.GoroutineMinWindow < time.Second {
		return nil, fmt.Errorf("--goroutine-min-age %v, --goroutine-min-window %v: must be at least 1s", f.GoroutineMinAge, f.GoroutineMinWindow)
	}
	if f.RetentionBudget < 10*time.Millisecond {
		return nil, fmt.Errorf("--retention-budget %v: must be at least 10ms", f.RetentionBudget)
	}
	if f.PprofInterval < time.Second {
		return nil, fmt.Errorf("--pprof-interval %v: must be at least 1s", f.PprofInterval)
	}
	if f.PprofByPID, err = parsePprofURLs(f.PprofURLs, f.PIDs, f.PprofGC); err != nil {
		return nil, err
	}
	for name, n := range map[string]uint32{
		"--max-live-objects": f.Maps.LiveObjects, "--max-stacks": f.Maps.StackSlots, "--max-stack-stats": f.Maps.StackStats,
		"--max-targets": f.Maps.Targets,
	} {
		if n == 0 {
			return nil, fmt.Errorf("%s 0: must be at least 1", name)
		}
	}
	return f, nil
}

// parseOverhead reads --max-overhead: a percentage of one core ("1%",
// "0.5", "0").
func parseOverhead(v string) (float64, error) {
	n, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "%")), 64)
	if err != nil || n < 0 || n > 100 || n != n {
		return 0, fmt.Errorf("--max-overhead %q: want a percentage of one core from 0 (no limit) to 100, e.g. 1%%", v)
	}
	return n / 100, nil
}

// configFlags names the flag behind each monitor.Config field that
// monitor.ConfigError can report.
var configFlags = map[string]string{
	"Containers": "--container",
	"Cgroups":    "--cgroup",
	"Within":     "--within-cgroup",
	"OutDir":     "--out",
}

// withFlagName puts the flag that set a bad configuration value in front
// of the library's error, which names only the value.
func withFlagName(err error) error {
	var ce *monitor.ConfigError
	if errors.As(err, &ce) {
		if name, ok := configFlags[ce.Field]; ok {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return err
}

// parsePprofURLs reads --pprof-url: PID=URL, or a bare URL when one
// process is watched.
func parsePprofURLs(vals []string, pids []int, gc bool) (map[uint32]string, error) {
	out := map[uint32]string{}
	for _, v := range vals {
		pid, url := 0, v
		if l, r, ok := strings.Cut(v, "="); ok {
			if n, err := strconv.Atoi(l); err == nil {
				pid, url = n, r
			}
		}
		if pid == 0 {
			if len(pids) != 1 {
				return nil, fmt.Errorf("--pprof-url %q: with several --pid, give PID=URL", v)
			}
			pid = pids[0]
		}
		if !slices.Contains(pids, pid) {
			return nil, fmt.Errorf("--pprof-url %q: pid %d is not watched (no --pid %d)", v, pid, pid)
		}
		if _, dup := out[uint32(pid)]; dup {
			return nil, fmt.Errorf("--pprof-url: two URLs for pid %d", pid)
		}
		u, err := crosscheck.HeapURL(url, gc)
		if err != nil {
			return nil, fmt.Errorf("--pprof-url: %w", err)
		}
		out[uint32(pid)] = u
	}
	return out, nil
}

// parseRate reads --memprofilerate.
func parseRate(s string) (monitor.RatePolicy, error) {
	switch strings.ToLower(s) {
	case "auto":
		return monitor.RatePolicy{Mode: monitor.RateAuto}, nil
	case "keep":
		return monitor.RatePolicy{Mode: monitor.RateKeep}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > 1<<30 {
		return monitor.RatePolicy{}, fmt.Errorf("--memprofilerate %q: want auto, keep, or a byte count from 1 to %d", s, 1<<30)
	}
	return monitor.RatePolicy{Mode: monitor.RateSet, Rate: n}, nil
}
