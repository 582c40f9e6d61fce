package analysis

import "time"

// Config tunes a Target. Zero fields take the defaults below.
type Config struct {
	// Interval is how often snapshots arrive (default 10s). It bounds how
	// many points the history may hold: MaxWindow/Interval, times four
	// for slack when snapshots come early; and it is the assumed time
	// from attach to the first snapshot until a second one shows the
	// real cadence.
	Interval time.Duration
	// MinOldAgeGC (K, default 2) is how many GC cycles an object must
	// survive to count as old. An object that survived two collections
	// was still reachable a full cycle after the one it was born in.
	MinOldAgeGC int
	// MaxSuspects caps Suspects (default 20).
	MaxSuspects int
	// Window is the sliding evidence window in wall time (default 5m):
	// the detector looks at the shortest suffix of the history spanning
	// both Window and WindowGC (since attach, until that much exists).
	// Longer windows gather more samples of a slow leak; growth that
	// stopped within the window's most recent part is seen as stopped.
	Window time.Duration
	// WindowGC is the least number of GC cycles in the sliding window
	// (default 16): a process that rarely collects is judged over a
	// window that stretches in time until it holds that many.
	WindowGC int
	// MinWindow (default 50s) and MinWindowGC (default 8) are the least
	// span of the overdue series, in wall time AND in GC cycles, for a
	// `leak` verdict. Since attach, that series starts once the GC count
	// reached the overdue age (nothing can be overdue before), so with
	// GC several times a second and snapshots every 5-10 s a leak can
	// be named 55-60 s after attach; a process that collects every two
	// minutes needs 8 cycles past the overdue age (24 minutes or more).
	MinWindow   time.Duration
	MinWindowGC int
	// MaxWindow is the most history kept (default 1h). A process that
	// does not complete MinWindowGC cycles within it is never judged
	// `leak`.
	MaxWindow time.Duration
	// Alpha is the significance a `leak` needs in the accumulation test
	// (overdue objects appear faster than they die; default 0.04: five
	// overdue samples and no overdue death).
	// WatchAlpha (default 0.05) is what `watch` needs, in that test or
	// in the Mann-Kendall trend test of old bytes.
	Alpha, WatchAlpha float64
}

// Defaults.
const (
	DefaultInterval    = 10 * time.Second
	DefaultMinOldAgeGC = 2
	DefaultMaxSuspects = 20
	DefaultWindow      = 5 * time.Minute
	DefaultWindowGC    = 16
	DefaultMinWindow   = 50 * time.Second
	DefaultMinWindowGC = 8
	DefaultMaxWindow   = time.Hour
	DefaultAlpha       = 0.04
	DefaultWatchAlpha  = 0.05
)

// withDefaults returns c with zero fields replaced by defaults.
func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.MinOldAgeGC <= 0 {
		c.MinOldAgeGC = DefaultMinOldAgeGC
	}
	if c.MaxSuspects <= 0 {
		c.MaxSuspects = DefaultMaxSuspects
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.WindowGC <= 0 {
		c.WindowGC = DefaultWindowGC
	}
	if c.MinWindow <= 0 {
		c.MinWindow = DefaultMinWindow
	}
	if c.MinWindowGC <= 0 {
		c.MinWindowGC = DefaultMinWindowGC
	}
	if c.Window < c.MinWindow {
		c.Window = c.MinWindow
	}
	if c.WindowGC < c.MinWindowGC {
		c.WindowGC = c.MinWindowGC
	}
	if c.MaxWindow <= 0 {
		c.MaxWindow = DefaultMaxWindow
	}
	if c.MaxWindow < c.Window {
		c.MaxWindow = c.Window
	}
	if c.Alpha <= 0 {
		c.Alpha = DefaultAlpha
	}
	if c.WatchAlpha <= 0 {
		c.WatchAlpha = DefaultWatchAlpha
	}
	if c.WatchAlpha < c.Alpha {
		c.WatchAlpha = c.Alpha
	}
	return c
}

// maxPoints bounds the history length whatever the snapshot cadence.
func (c Config) maxPoints() int {
	return 4*int(c.MaxWindow/c.Interval) + 8
}
