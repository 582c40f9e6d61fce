package analysis

import "time"

// Config tunes a Target. Zero fields take the defaults below.
type Config struct {
	// Interval is how often snapshots arrive (default 10s). It bounds how
	// many points the history may hold: MaxWindow/Interval, times four
	// for slack when snapshots come early.
	Interval time.Duration
	// MinOldAgeGC (K, default 2) is how many GC cycles an object must
	// survive to count as old. An object that survived two collections
	// was still reachable a full cycle after the one it was born in.
	MinOldAgeGC int
	// MaxSuspects caps Suspects (default 20).
	MaxSuspects int
	// Window is the least wall time the evidence must span before a
	// `leak` verdict (default 10m). Growth that stops within about half
	// of it (a cache warming up) is recognised as having stopped.
	Window time.Duration
	// WindowGC is the least number of GC cycles the evidence must span
	// before a `leak` verdict (default 16). The window stretches in time
	// until it holds that many: a process that rarely collects is judged
	// on as many collections as a busy one, only later.
	WindowGC int
	// MaxWindow is the most history kept (default 1h). A process that
	// does not complete WindowGC cycles within it is never judged `leak`.
	MaxWindow time.Duration
	// Alpha is the one-sided Mann-Kendall significance a `leak` needs
	// (default 0.001). WatchAlpha (default 0.01) is what `watch` needs:
	// on a flat but noisy stack it is the rate of spurious watches.
	Alpha, WatchAlpha float64
}

// Defaults.
const (
	DefaultInterval    = 10 * time.Second
	DefaultMinOldAgeGC = 2
	DefaultMaxSuspects = 20
	DefaultWindow      = 10 * time.Minute
	DefaultWindowGC    = 16
	DefaultMaxWindow   = time.Hour
	DefaultAlpha       = 0.001
	DefaultWatchAlpha  = 0.01
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
