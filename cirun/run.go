package cirun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/leakscope/leakscope/monitor"
	"github.com/leakscope/leakscope/report"
)

// The run's cgroup has a child per role: only the command's is watched.
const (
	roleCommand = "command"
	roleLoad    = "load"
)

// Options is one run.
type Options struct {
	Command []string // the program and its arguments
	// Env is the environment of the command and the load; the command
	// gets GODEBUG=memprofilerate added as Rate asks.
	Env  []string
	Rate monitor.RatePolicy
	// Load is a shell command line (sh -c) started once Ready is met and
	// run to its end; "" for none: the run then ends when the command
	// exits or Duration passes.
	Load         string
	Ready        Ready
	ReadyTimeout time.Duration // 0: no limit
	Duration     time.Duration // the whole run at most; 0: no limit
	// Grace is how long the command (and a load still running) has to
	// exit after SIGTERM before SIGKILL.
	Grace time.Duration
	// Watch tunes the watch (interval, output directory, capacities...);
	// Run sets what it selects (the command's cgroup) and its ending.
	Watch monitor.Config
	// Stdout and Stderr receive the command's and the load's output.
	Stdout, Stderr io.Writer
}

// Exit is how a process of the run (the command, the load) ended.
type Exit struct {
	Code    int    // exit status; -1 when killed by a signal
	Signal  string // the signal that killed it
	Stopped bool   // the run stopped it (it did not end by itself)
	After   time.Duration
}

// Failed reports whether the process failed by itself: a non-zero status
// or a signal it was not sent by the run.
func (e *Exit) Failed() bool { return e != nil && !e.Stopped && e.Code != 0 }

// Status is the exit status to pass on: the code, or 128+signal.
func (e *Exit) Status() int {
	if e.Code >= 0 {
		return e.Code
	}
	return 128 + int(signalNumber(e.Signal))
}

func (e *Exit) String() string {
	var s string
	if e.Signal != "" {
		s = "killed by " + e.Signal
	} else {
		s = fmt.Sprintf("exit status %d", e.Code)
	}
	s += fmt.Sprintf(" after %s", e.After.Round(time.Millisecond))
	if e.Stopped {
		s += " (stopped by leakscope)"
	}
	return s
}

// Result is what happened in a run.
type Result struct {
	Command []string
	// Doc holds every process watched during the run with its last
	// findings, and every process in the cgroup that could not be
	// watched (non-Go programs among them).
	Doc     *report.Document
	Exit    Exit  // the command's
	Load    *Exit // nil when there was no load or it never started
	Ready   bool  // the readiness condition was met (always, without a load)
	Timeout bool  // the duration ended the run
	// Interrupted: the context was cancelled (SIGINT or SIGTERM).
	Interrupted bool
	// Problems are leakscope's own failures during the run (the watch
	// failed, the readiness condition was never met, cleanup failed):
	// each makes the run's status 2.
	Problems   []string
	Start, End time.Time
}

// Run runs o: see the package documentation. The error is for a run that
// could not start (no such command, no cgroup2); whatever happens after
// the command started is in the Result.
func Run(ctx context.Context, o Options, log *slog.Logger) (*Result, error) {
	if len(o.Command) == 0 {
		return nil, errors.New("no command to run")
	}
	path, err := exec.LookPath(o.Command[0])
	if err != nil {
		return nil, fmt.Errorf("command %s: %w", o.Command[0], err)
	}
	g, err := NewGroup(roleCommand, roleLoad)
	if err != nil {
		return nil, err
	}
	res := &Result{Command: o.Command, Start: time.Now()}
	defer func() {
		if err := g.Remove(); err != nil {
			res.Problems = append(res.Problems, err.Error())
		}
	}()

	// The watch runs until the run ends, whatever ended it, so that its
	// last snapshot is always taken: its context is not ctx.
	acc := newAccumulator()
	wctx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	watchDone := make(chan error, 1)
	go func() { watchDone <- monitor.Run(wctx, watchConfig(o.Watch, g, acc), log) }()

	env := commandEnv(o.Env, o.Rate)
	matcher := newLineMatcher(o.Ready.Log)
	cmd, outputs, err := startCommand(g, path, o, env, matcher)
	if err != nil {
		stopWatch()
		<-watchDone
		return nil, err
	}
	log.Info("started", "pid", cmd.Process.Pid, "command", strings.Join(o.Command, " "), "cgroup", g.Dir(roleCommand))
	cmdDone := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		res.Exit = exitOf(cmd.ProcessState, time.Since(res.Start))
		close(cmdDone)
	}()

	r := &runState{o: o, g: g, res: res, log: log, ctx: ctx, cmdDone: cmdDone, watchDone: watchDone, matcher: matcher}
	watchErr, watchEnded := r.waitForEnd()

	// The last snapshot, while the command still runs (when it does).
	stopWatch()
	if !watchEnded {
		watchErr = <-watchDone
	}
	if watchErr != nil {
		res.Problems = append(res.Problems, "watching failed: "+watchErr.Error())
	}
	res.End = time.Now()
	r.stopAll()
	waitOutputs(outputs, 2*time.Second)
	res.Doc = acc.document()
	if o.Watch.OutDir != "" && res.Doc != nil {
		// Every process of the run, not only those the watch still
		// reports (it forgets exited ones after a while).
		if err := report.WriteJSON(o.Watch.OutDir, res.Doc); err != nil {
			res.Problems = append(res.Problems, err.Error())
		}
	}
	return res, nil
}

// watchConfig is w scoped to the command's cgroup, feeding acc.
func watchConfig(w monitor.Config, g *Group, acc *accumulator) monitor.Config {
	w.PIDs, w.Containers, w.All, w.Within = nil, nil, false, ""
	w.Cgroups = []string{g.Path(roleCommand)}
	w.Duration, w.Stdout = 0, nil
	if w.Discovery <= 0 {
		w.Discovery = 250 * time.Millisecond // short-lived test binaries too
	}
	publish := w.Publish
	w.Publish = func(u *report.Update) {
		acc.add(u.Doc)
		if publish != nil {
			publish(u)
		}
	}
	return w
}

// commandEnv is env with the sampling rate set through GODEBUG as rate
// asks: the runtime's default unless the user set one (auto), the
// given rate (set), or nothing (keep).
func commandEnv(env []string, rate monitor.RatePolicy) []string {
	switch rate.Mode {
	case monitor.RateAuto:
		return WithGODEBUG(env, "memprofilerate", fmt.Sprint(monitor.DefaultRate), false)
	case monitor.RateSet:
		return WithGODEBUG(env, "memprofilerate", fmt.Sprint(rate.Rate), true)
	}
	return env
}

// runState is a run between the command's start and its end.
type runState struct {
	o         Options
	g         *Group
	res       *Result
	log       *slog.Logger
	ctx       context.Context
	cmdDone   chan struct{}
	watchDone chan error
	matcher   *lineMatcher
	load      *exec.Cmd
	loadDone  chan struct{}
}

// waitForEnd waits for what ends the run: the load's end (with a load),
// the command's, the duration, a signal, or a failure. It returns the
// watch's error if the watch ended first.
func (r *runState) waitForEnd() (error, bool) {
	var durationC, readyTimeoutC <-chan time.Time
	if r.o.Duration > 0 {
		t := time.NewTimer(r.o.Duration)
		defer t.Stop()
		durationC = t.C
	}
	var readyC <-chan struct{}
	rctx, cancelReady := context.WithCancel(r.ctx)
	defer cancelReady()
	if r.o.Load != "" {
		readyC = r.o.Ready.wait(rctx, r.matcher.matched)
		if r.o.ReadyTimeout > 0 {
			t := time.NewTimer(r.o.ReadyTimeout)
			defer t.Stop()
			readyTimeoutC = t.C
		}
	} else {
		r.res.Ready = true
	}
	for {
		select {
		case <-r.ctx.Done():
			r.res.Interrupted = true
			r.log.Warn("interrupted: stopping the run")
			return nil, false
		case err := <-r.watchDone:
			if err == nil {
				err = errors.New("the watch ended early")
			}
			return err, true
		case <-durationC:
			r.res.Timeout = true
			r.log.Info("duration reached: stopping the run", "duration", r.o.Duration)
			if r.o.Load != "" && !r.res.Ready {
				r.res.Problems = append(r.res.Problems, fmt.Sprintf("the command was not ready (%s) when the duration ended; the load never ran", r.o.Ready))
			}
			return nil, false
		case <-r.cmdDone:
			r.log.Info("command exited", "how", r.res.Exit.String())
			if r.o.Load != "" && !r.res.Ready {
				r.res.Problems = append(r.res.Problems, fmt.Sprintf("the command exited (%s) before it was ready (%s); the load never ran", r.res.Exit.String(), r.o.Ready))
			}
			return nil, false
		case <-readyTimeoutC:
			r.res.Problems = append(r.res.Problems, fmt.Sprintf("the command was not ready (%s) within %s; the load never ran", r.o.Ready, r.o.ReadyTimeout))
			return nil, false
		case <-readyC:
			readyC, readyTimeoutC = nil, nil
			r.res.Ready = true
			if err := r.startLoad(); err != nil {
				r.res.Problems = append(r.res.Problems, err.Error())
				return nil, false
			}
		case <-r.loadDone:
			r.log.Info("load finished", "how", r.res.Load.String())
			return nil, false
		}
	}
}

// startLoad starts the load in its own cgroup: never watched, always
// cleaned up.
func (r *runState) startLoad() error {
	dir, err := r.g.Open(roleLoad)
	if err != nil {
		return fmt.Errorf("starting the load: %w", err)
	}
	defer dir.Close()
	cmd := exec.Command("/bin/sh", "-c", r.o.Load)
	cmd.Env = r.o.Env
	cmd.Stdout, cmd.Stderr = r.o.Stdout, r.o.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the load: %w", err)
	}
	r.log.Info("ready: load started", "ready", r.o.Ready.String(), "pid", cmd.Process.Pid, "load", r.o.Load)
	r.load, r.loadDone = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		e := exitOf(cmd.ProcessState, time.Since(start))
		r.res.Load = &e
		close(r.loadDone)
	}()
	return nil
}

// stopAll stops the load and the command (SIGTERM, then SIGKILL after the
// grace period) and waits for them.
func (r *runState) stopAll() {
	loadRunning := r.loadDone != nil && !closed(r.loadDone)
	cmdRunning := !closed(r.cmdDone)
	for _, role := range []string{roleLoad, roleCommand} {
		how, err := r.g.Stop(role, r.o.Grace)
		if err != nil {
			r.res.Problems = append(r.res.Problems, err.Error())
		}
		if how != "" {
			r.log.Info("stopped", "role", role, "how", how)
		}
	}
	for _, done := range []chan struct{}{r.loadDone, r.cmdDone} {
		if done == nil {
			continue
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			r.res.Problems = append(r.res.Problems, "a process of the run was not reaped within 5s of being killed")
		}
	}
	if loadRunning && closed(r.loadDone) {
		r.res.Load.Stopped = true
	}
	if cmdRunning && closed(r.cmdDone) {
		r.res.Exit.Stopped = true
	}
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// startCommand starts the command straight into its cgroup, with its
// output copied to o.Stdout and o.Stderr and watched for the ready line.
func startCommand(g *Group, path string, o Options, env []string, m *lineMatcher) (*exec.Cmd, []chan struct{}, error) {
	dir, err := g.Open(roleCommand)
	if err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", o.Command[0], err)
	}
	defer dir.Close()
	cmd := exec.Command(path, o.Command[1:]...)
	cmd.Args[0] = o.Command[0]
	cmd.Env = env
	// Its own process group: a ^C at the terminal reaches leakscope,
	// which stops the command itself after the last snapshot.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	var outputs []chan struct{}
	var closeAfter []*os.File
	for i, dst := range []io.Writer{o.Stdout, o.Stderr} {
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		if i == 0 {
			cmd.Stdout = pw
		} else {
			cmd.Stderr = pw
		}
		closeAfter = append(closeAfter, pw)
		done := make(chan struct{})
		outputs = append(outputs, done)
		go copyOutput(dst, pr, i, m, done)
	}
	err = cmd.Start()
	for _, f := range closeAfter {
		f.Close() // the command holds its ends
	}
	if err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", o.Command[0], err)
	}
	return cmd, outputs, nil
}

// copyOutput copies one output stream of the command until every process
// holding it has exited.
func copyOutput(dst io.Writer, src *os.File, stream int, m *lineMatcher, done chan struct{}) {
	defer close(done)
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			m.feed(stream, buf[:n])
			if dst != nil {
				_, _ = dst.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

func waitOutputs(outputs []chan struct{}, d time.Duration) {
	end := time.After(d)
	for _, c := range outputs {
		select {
		case <-c:
		case <-end:
			return
		}
	}
}

func exitOf(ps *os.ProcessState, after time.Duration) Exit {
	e := Exit{Code: -1, After: after}
	if ps == nil {
		return e
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = unix2name(ws.Signal())
		return e
	}
	e.Code = ps.ExitCode()
	return e
}

func unix2name(s syscall.Signal) string {
	for n, v := range signalNames {
		if v == s {
			return n
		}
	}
	return fmt.Sprintf("signal %d", int(s))
}

func signalNumber(name string) syscall.Signal { return signalNames[name] }

var signalNames = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT, "SIGILL": syscall.SIGILL,
	"SIGABRT": syscall.SIGABRT, "SIGBUS": syscall.SIGBUS, "SIGFPE": syscall.SIGFPE, "SIGKILL": syscall.SIGKILL,
	"SIGSEGV": syscall.SIGSEGV, "SIGPIPE": syscall.SIGPIPE, "SIGALRM": syscall.SIGALRM, "SIGTERM": syscall.SIGTERM,
	"SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2,
}

// accumulator keeps every process the watch reported during the run, with
// its latest state: the watch itself forgets exited ones after a while.
type accumulator struct {
	mu      sync.Mutex
	last    *report.Document
	targets map[string]report.Target
	skipped map[string]report.Skipped
}

func newAccumulator() *accumulator {
	return &accumulator{targets: map[string]report.Target{}, skipped: map[string]report.Skipped{}}
}

func (a *accumulator) add(doc *report.Document) {
	if doc == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last = doc
	for _, t := range doc.Targets {
		a.targets[fmt.Sprintf("%d %s", t.PID, t.Exe)] = t
	}
	for _, s := range doc.Skipped {
		a.skipped[fmt.Sprintf("%d %s", s.PID, s.Exe)] = s
	}
}

// document is the run's document: nil if the watch never reported.
func (a *accumulator) document() *report.Document {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil {
		return nil
	}
	doc := &report.Document{GeneratedAt: a.last.GeneratedAt, ProbeSets: a.last.ProbeSets}
	for _, t := range a.targets {
		doc.Targets = append(doc.Targets, t)
	}
	for _, s := range a.skipped {
		doc.Skipped = append(doc.Skipped, s)
	}
	sort.Slice(doc.Targets, func(i, j int) bool { return doc.Targets[i].PID < doc.Targets[j].PID })
	sort.Slice(doc.Skipped, func(i, j int) bool { return doc.Skipped[i].PID < doc.Skipped[j].PID })
	return doc
}
