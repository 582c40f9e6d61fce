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

	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/monitor"
	"github.com/leakscope/leakscope/report"
)

func main() {
	flags, err := parseFlags(os.Args[1:])
	if errors.Is(err, pflag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakscope:", err)
		os.Exit(2)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(flags.LogLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "leakscope: --log-level:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// SIGHUP (a closed terminal) stops cleanly like SIGINT and SIGTERM, so
	// the target's MemProfileRate is restored; a closed stdout pipe must not
	// kill leakscope either (writes then just fail).
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := run(ctx, flags, log); err != nil {
		fmt.Fprintln(os.Stderr, "leakscope:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f *Flags, log *slog.Logger) error {
	rate, err := parseRate(f.MemProfileRate)
	if err != nil {
		return err
	}
	urls, err := parsePprofURLs(f.PprofURLs, f.PIDs, f.PprofGC)
	if err != nil {
		return err
	}
	var pids []uint32
	seen := map[int]bool{}
	for _, p := range f.PIDs {
		if !seen[p] {
			seen[p] = true
			pids = append(pids, uint32(p))
		}
	}
	srv, err := newHTTPServer(f, log)
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
		Interval:     f.Interval,
		Duration:     f.Duration,
		OutDir:       f.Out,
		KeepProfiles: f.KeepProfiles,
		StateDir:     f.StateDir,
		Rate:         rate,
		MaxSuspects:  f.MaxSuspects,
		Maps:         f.Maps,
		AllAllocs:    f.Mode == "all-allocs",
		Stdout:       os.Stdout,
		Publish:      publish,
		BPFStats:     f.BPFStats,
		Pprof: monitor.PprofConfig{
			URLs:     urls,
			Discover: !f.NoPprofDiscover,
			GC:       f.PprofGC,
			Interval: f.PprofInterval,
		},
		Goroutines: monitor.GoroutineConfig{
			Off:     f.NoGoroutines,
			Read:    goroutines.Config{MaxGoroutines: f.MaxGoroutines},
			Verdict: goroutines.TrackerConfig{MinOldAge: f.GoroutineMinAge, MinWindow: f.GoroutineMinWindow, MaxSuspects: f.MaxSuspects},
		},
	}, log)
}
