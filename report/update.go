package report

import (
	"time"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/snapshot"
)

// Update is everything the exporters (metrics, HTTP) serve, made once per
// interval by the monitor and never changed afterwards: readers share it
// without locks.
type Update struct {
	Doc *Document
	// Profiles holds each target's latest leak profile, by pid.
	Profiles map[uint32]*profile.Profile
	// Programs holds the BPF programs' run counts and times, when the
	// kernel's BPF statistics are on (else nil).
	Programs map[string]snapshot.ProgramStat
	// MapBytes is the kernel memory charged to each BPF map.
	MapBytes map[string]uint64
	// SnapshotDuration is how long reading the kernel maps took.
	SnapshotDuration time.Duration
}
