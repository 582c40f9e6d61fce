package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/cirun"
	"github.com/leakscope/leakscope/monitor"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/tracer"
)

// RunFlags is what `leakscope run` takes.
type RunFlags struct {
	Command        []string
	Load           string
	Ready          cirun.Ready
	ReadyTimeout   time.Duration
	Duration       time.Duration
	Grace          time.Duration
	Rules          cirun.Rules
	JUnit          string
	Propagate      bool
	Out            string
	Interval       time.Duration
	MemProfileRate string
	MaxSuspects    int
	KeepProfiles   int
	LogLevel       string
}

const runUsage = `leakscope run starts COMMAND in a cgroup of its own, watches every Go
process in it for memory leaks, optionally drives a load once it is ready,
then stops it and judges.

Usage: leakscope run [flags] -- COMMAND [ARGS...]

Exit status: 0 no leak; 1 a suspect at or above --fail-on; 2 leakscope
could not carry out the run; with --propagate-exit, the command's or the
load's own failing status instead of 0 (see docs/CI.md).

`

func parseRunFlags(args []string) (*RunFlags, error) {
	f := &RunFlags{}
	fs := pflag.NewFlagSet("leakscope run", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetInterspersed(false) // COMMAND's own flags are not ours
	fs.StringVar(&f.Load, "load", "", "load generator or test script (`CMD`, run with sh -c) started once COMMAND is ready; the run ends when it does")
	ready := fs.String("ready", "", "when COMMAND is ready for the load (`SPEC`): log:REGEXP (a line of its output), tcp:[HOST:]PORT (accepting) or delay:DURATION (default: at once)")
	fs.DurationVar(&f.ReadyTimeout, "ready-timeout", 2*time.Minute, "fail (status 2) if COMMAND is not ready by then (0: no limit)")
	fs.DurationVar(&f.Duration, "duration", 0, "end the run after this long, load or not (0: when the load, else COMMAND, ends)")
	fs.DurationVar(&f.Grace, "grace", 10*time.Second, "after the last snapshot, time COMMAND has to exit after SIGTERM before SIGKILL")
	failOn := fs.String("fail-on", "leak", "least verdict that fails the run: leak, or watch")
	ignore := fs.StringArray("ignore", nil, "never fail on suspects whose function or file[:line] matches `PATTERN` ('*' matches anything; repeatable)")
	baseline := fs.String("baseline", "", "suspects.json of an earlier run: fail only on sites not in it (known leaks are reported, not failed)")
	fs.StringVar(&f.JUnit, "junit", "", "write a JUnit XML report to `FILE`")
	fs.BoolVar(&f.Propagate, "propagate-exit", false, "exit with COMMAND's (else the load's) failing status when no leak fails the run")
	fs.StringVar(&f.Out, "out", "", "directory for suspects.json and pprof files (CI artifacts)")
	fs.DurationVar(&f.Interval, "interval", 5*time.Second, "time between snapshots")
	fs.StringVar(&f.MemProfileRate, "memprofilerate", "auto", "heap sampling, set through GODEBUG from the first allocation: auto (512 KiB unless GODEBUG already sets it), keep (leave the runtime's), or a byte count")
	fs.IntVar(&f.MaxSuspects, "max-suspects", 20, "suspects reported per process")
	fs.IntVar(&f.KeepProfiles, "keep-profiles", 60, "leak profiles kept per process in --out")
	fs.StringVar(&f.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.Usage = func() { fmt.Fprintf(fs.Output(), "%s%s", runUsage, fs.FlagUsages()) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	f.Command = fs.Args()
	if len(f.Command) == 0 {
		return nil, errors.New("no command: leakscope run [flags] -- COMMAND [ARGS...]")
	}
	var err error
	if f.Ready, err = cirun.ParseReady(*ready); err != nil {
		return nil, fmt.Errorf("--ready %w", err)
	}
	if *ready != "" && f.Load == "" {
		return nil, errors.New("--ready says when to start --load: give --load too")
	}
	if f.Rules.FailOn, err = cirun.ParseVerdict(*failOn); err != nil {
		return nil, fmt.Errorf("--fail-on %w", err)
	}
	for _, s := range *ignore {
		p, err := cirun.ParsePattern(s)
		if err != nil {
			return nil, fmt.Errorf("--ignore %q: %w", s, err)
		}
		f.Rules.Ignore = append(f.Rules.Ignore, p)
	}
	if *baseline != "" {
		if f.Rules.Baseline, err = cirun.LoadBaseline(*baseline); err != nil {
			return nil, fmt.Errorf("--baseline: %w", err)
		}
	}
	for name, d := range map[string]time.Duration{"--ready-timeout": f.ReadyTimeout, "--duration": f.Duration, "--grace": f.Grace} {
		if d < 0 {
			return nil, fmt.Errorf("%s %v: must not be negative", name, d)
		}
	}
	if f.Interval < 100*time.Millisecond {
		return nil, fmt.Errorf("--interval %v: must be at least 100ms", f.Interval)
	}
	if _, err := parseRate(f.MemProfileRate); err != nil {
		return nil, err
	}
	if f.MaxSuspects < 1 {
		return nil, fmt.Errorf("--max-suspects %d: must be at least 1", f.MaxSuspects)
	}
	if f.KeepProfiles < 1 {
		return nil, fmt.Errorf("--keep-profiles %d: must be at least 1", f.KeepProfiles)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	// Report files must be writable before anything starts.
	if f.JUnit != "" {
		if err := writableFile(f.JUnit); err != nil {
			return nil, fmt.Errorf("--junit: %w", err)
		}
	}
	if f.Out != "" {
		if err := writableDir(f.Out); err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
	}
	return f, nil
}

// runMain is `leakscope run`; it returns the exit status.
func runMain(args []string) int {
	f, err := parseRunFlags(args)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakscope run:", err)
		return cirun.StatusFailed
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(f.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	rate, _ := parseRate(f.MemProfileRate)
	res, err := cirun.Run(ctx, cirun.Options{
		Command:      f.Command,
		Env:          os.Environ(),
		Rate:         rate,
		Load:         f.Load,
		Ready:        f.Ready,
		ReadyTimeout: f.ReadyTimeout,
		Duration:     f.Duration,
		Grace:        f.Grace,
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
		Watch: monitor.Config{
			Interval:     f.Interval,
			OutDir:       f.Out,
			KeepProfiles: f.KeepProfiles,
			StateDir:     monitor.DefaultStateDir,
			Rate:         rate,
			MaxSuspects:  f.MaxSuspects,
			Maps:         tracer.DefaultOptions(),
			Pprof:        monitor.PprofConfig{Discover: false},
		},
	}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakscope run:", err)
		return cirun.StatusFailed
	}
	findings := cirun.Judge(res.Doc, f.Rules)
	out := cirun.Decide(res, findings, f.Propagate)
	out = writeRunReports(f, res, findings, out)

	if res.Doc != nil && len(res.Doc.Targets) > 0 {
		fmt.Println("final report:")
		_ = report.WriteTable(os.Stdout, res.Doc)
	}
	if n := cirun.NonGo(res.Doc); len(n) > 0 {
		names := make([]string, 0, len(n))
		for _, s := range n {
			names = append(names, fmt.Sprintf("%s (pid %d)", s.Exe, s.PID))
		}
		fmt.Printf("not Go programs, not watched (%d): %s\n", len(n), strings.Join(names, ", "))
	}
	if w := cirun.ShortWatch(res); w != "" && out.Status == cirun.StatusOK {
		log.Warn(w)
	}
	for _, fd := range findings {
		if fd.Decision != cirun.Pass {
			fmt.Fprintf(os.Stderr, "leakscope run: %s %s at %s (pid %d, %s): %s\n", fd.Site.Kind, fd.Verdict, fd.Site, fd.PID, fd.Exe, fd.Reason)
		}
	}
	msg := fmt.Sprintf("leakscope run: exit status %d", out.Status)
	if len(out.Reasons) > 0 {
		msg += ": " + strings.Join(out.Reasons, "; ")
	} else {
		msg += ": no leak found"
	}
	fmt.Fprintln(os.Stderr, msg)
	return out.Status
}

// writeRunReports writes the JUnit file, the GitHub annotations and step
// summary; failing to write one makes the run's status 2.
func writeRunReports(f *RunFlags, res *cirun.Result, findings []cirun.Finding, out cirun.Outcome) cirun.Outcome {
	fail := func(what string, err error) {
		out.Status = cirun.StatusFailed
		out.Reasons = append(out.Reasons, fmt.Sprintf("writing %s: %v", what, err))
	}
	if f.JUnit != "" {
		if err := cirun.WriteJUnit(f.JUnit, res, findings, out); err != nil {
			fail("the JUnit report", err)
		}
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		if err := cirun.WriteAnnotations(os.Stdout, res, findings, os.Getenv("GITHUB_WORKSPACE")); err != nil {
			fail("GitHub annotations", err)
		}
	}
	if path := os.Getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := cirun.AppendSummary(path, res, findings, out); err != nil {
			fail("the step summary ($GITHUB_STEP_SUMMARY)", err)
		}
	}
	return out
}

// writableFile proves path can be created (it is replaced at the end).
func writableFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".leakscope-write-test-*")
	if err != nil {
		return fmt.Errorf("%s: not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
