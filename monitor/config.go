// Package monitor runs a watch: it resolves and attaches each target,
// snapshots the kernel maps every interval, feeds the analysis, and writes
// the reports, until the duration ends, a signal arrives or every target
// has exited.
package monitor

import (
	"io"
	"time"

	"github.com/leakscope/leakscope/containermeta"
	"github.com/leakscope/leakscope/report"
	"github.com/leakscope/leakscope/tracer"
)

// RateMode says what leakscope may do to the target's runtime.MemProfileRate.
type RateMode int

const (
	// RateAuto turns sampling on (DefaultRate) only when it is off.
	RateAuto RateMode = iota
	// RateKeep never writes to the target.
	RateKeep
	// RateSet writes RatePolicy.Rate.
	RateSet
)

// DefaultRate is the Go runtime's own default MemProfileRate.
const DefaultRate = 512 * 1024

// RatePolicy is the parsed --memprofilerate.
type RatePolicy struct {
	Mode RateMode
	Rate int64 // with RateSet
}

// Config is one watch.
type Config struct {
	PIDs []uint32
	// Containers (full IDs or unique prefixes), Cgroups (paths) and All
	// (every Go process) select processes at run time: those that start
	// later are watched too. Exclude names executables never watched
	// through them.
	Containers []string
	Cgroups    []string
	All        bool
	Exclude    []string
	// Meta is where container names and Kubernetes pods are read from
	// (the runtimes' own files); the zero value reads nothing.
	Meta containermeta.Sources
	// Within, if set, limits every selection to one cgroup (tests scope
	// All with it, so they never touch the host's processes).
	Within string
	// Discovery is how often the selection is looked for new processes.
	Discovery time.Duration
	Interval  time.Duration
	Duration  time.Duration // 0: until the context ends
	OutDir    string        // "" writes no files
	// KeepProfiles is how many leak profiles to keep per target.
	KeepProfiles int
	// StateDir records MemProfileRate changes until they are restored
	// (DefaultStateDir; "" records nothing).
	StateDir    string
	Rate        RatePolicy
	MaxSuspects int
	Maps        tracer.Options
	Stdout      io.Writer // the per-interval table
	// AllAllocs adds the every-allocation probe (--mode=all-allocs): exact
	// allocation counts per site, at a cost of microseconds per allocation.
	AllAllocs bool
	// Publish, if set, receives every interval's results (after the files
	// are written); it must not block for long.
	Publish func(*report.Update)
	// BPFStats turns on the kernel's BPF run-time statistics (a small cost
	// per probe hit) so that Update.Programs is filled.
	BPFStats bool
	// MaxOverhead is the budget per target, a fraction of one core (see
	// package budget); 0 turns it off.
	MaxOverhead float64
	Pprof       PprofConfig
	// Goroutines reads each target's goroutines every interval.
	Goroutines GoroutineConfig
	// Retention searches what holds the objects of each new leak suspect.
	Retention RetentionConfig
	// OnDemand, if set, brings searches asked for while the watch runs
	// (web view, API) into it; Run ends it when it returns.
	OnDemand *OnDemand
}
