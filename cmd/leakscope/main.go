// Command leakscope attaches to running Go processes and names the call
// sites whose heap objects keep surviving garbage collection.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/leakscope/leakscope/containermeta"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/monitor"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/retention"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run" { // leakscope run (run.go)
		os.Exit(runMain(os.Args[2:]))
	}
	flags, err := parseFlags(os.Args[1:])
	if errors.Is(err, pflag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakscope:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: flags.Level}))

	// SIGHUP (a closed terminal) stops cleanly like SIGINT and SIGTERM, so
	// the target's MemProfileRate is restored; a closed stdout pipe must not
	// kill leakscope either (writes then just fail).
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := run(ctx, flags, log); err != nil {
		fmt.Fprintln(os.Stderr, "leakscope:", withFlagName(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, f *Flags, log *slog.Logger) error {
	var pids []uint32
	seen := map[int]bool{}
	for _, p := range f.PIDs {
		if !seen[p] {
			seen[p] = true
			pids = append(pids, uint32(p))
		}
	}
	if f.DebugPprof != "" {
		ln, err := listenDebugPprof(f.DebugPprof)
		if err != nil {
			return err
		}
		dctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); serveDebugPprof(dctx, ln, log) }()
		defer func() { cancel(); <-done }()
	}
	var onDemand *monitor.OnDemand // on-demand retention searches from the web view
	if !f.NoRetention {
		onDemand = monitor.NewOnDemand()
	}
	srv, err := newHTTPServer(f, log, onDemand)
	if err != nil {
		return err
	}
	var publish func(*report.Update)
	if srv != nil {
		sctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); srv.serve(sctx) }()
		defer func() { cancel(); <-done }()
		publish = srv.store.Publish
	}
	return monitor.Run(ctx, monitor.Config{
		PIDs:         pids,
		Containers:   f.Containers,
		Cgroups:      f.Cgroups,
		All:          f.All,
		Exclude:      f.Exclude,
		Within:       f.WithinCgroup,
		Meta:         containermeta.Sources{DockerRoots: f.DockerRoots, BundleDirs: f.BundleDirs},
		Interval:     f.Interval,
		Duration:     f.Duration,
		OutDir:       f.Out,
		KeepProfiles: f.KeepProfiles,
		StateDir:     f.StateDir,
		Rate:         f.Rate,
		MaxSuspects:  f.MaxSuspects,
		Maps:         f.Maps,
		AllAllocs:    f.Mode == "all-allocs",
		Stdout:       os.Stdout,
		Publish:      publish,
		BPFStats:     f.BPFStats,
		MaxOverhead:  f.Budget,
		Pprof: monitor.PprofConfig{
			URLs:     f.PprofByPID,
			Discover: !f.NoPprofDiscover,
			GC:       f.PprofGC,
			Interval: f.PprofInterval,
		},
		Goroutines: monitor.GoroutineConfig{
			Off:     f.NoGoroutines,
			Read:    goroutines.Config{MaxGoroutines: f.MaxGoroutines},
			Verdict: goroutines.TrackerConfig{MinOldAge: f.GoroutineMinAge, MinWindow: f.GoroutineMinWindow, MaxSuspects: f.MaxSuspects},
		},
		Retention: monitor.RetentionConfig{Off: f.NoRetention, Search: retention.Config{Budget: f.RetentionBudget}},
		OnDemand:  onDemand,
	}, log)
}
