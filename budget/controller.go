package budget

import (
	"math"
	"time"
)

// Hysteresis: the rate never moves faster than this.
const (
	// RaiseHold is the least time between two changes when the estimate
	// is over budget; the estimate must also come from a period that
	// started after the last change.
	RaiseHold = 10 * time.Second
	// LowerHold is how long the target must have stayed calm (see
	// calmShare), and the least time since the last change, before the
	// rate is lowered.
	LowerHold = 60 * time.Second
	// aimShare is where a raise aims, as a share of the room (the budget
	// less leakscope's own work, see Controller.room). Rates move in
	// powers of two of the configured rate, so after a raise the
	// sampling part of the estimate lies in (aimShare/2, aimShare] of it.
	aimShare = 0.5
	// calmShare: the rate is lowered (one or more powers of two) only
	// while the sampling part stays at or under calmShare of the room, so
	// that the lower rate is still at or under aimShare. Between
	// calmShare and 1 (the dead band) nothing changes.
	calmShare = aimShare / 2
	// MaxRate is the highest rate the controller sets (the tracer refuses
	// to write more).
	MaxRate = 1 << 30
	// minRoomShare is the least share of the budget left to sampling
	// however much leakscope's own work costs (see Controller.room).
	minRoomShare = 0.5
)

// Controller chooses one target's MemProfileRate under a budget. The zero
// value is off.
type Controller struct {
	// Budget is the fraction of one core watching may cost the target;
	// 0 turns the controller off.
	Budget float64
	// Floor is the configured rate: the controller never sets a lower one.
	Floor int64

	lastChange time.Time
	calmSince  time.Time // zero while not calm
}

// Observation is one period of a target's sampling.
type Observation struct {
	From, To time.Time
	Samples  uint64 // samples taken in [From, To)
	Rate     int64  // the MemProfileRate in force over the period
	// PerSample is what one sample costs the target (Cost.PerSample).
	PerSample time.Duration
	// Own is leakscope's own CPU over the period spent on this target (its
	// share of leakscope's process CPU time), as a fraction of one core:
	// on a host whose cores are all busy it is CPU the target does not
	// get. It does not scale with the rate.
	Own float64
}

// Decision is the controller's answer to one observation.
type Decision struct {
	// Overhead is the estimated cost of watching over the period, as a
	// fraction of one core.
	Overhead float64
	// Rate is the rate to set; equal to Observation.Rate when unchanged.
	Rate int64
	// Active is true when Rate is above the configured rate.
	Active bool
}

// Overhead is the cost of o as a fraction of one core: its samples' and
// leakscope's own.
func (o Observation) Overhead() float64 {
	if o.To.Sub(o.From) <= 0 {
		return 0
	}
	return o.sampling() + o.Own
}

// sampling is the part of the overhead that the rate scales.
func (o Observation) sampling() float64 {
	secs := o.To.Sub(o.From).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(o.Samples) / secs * o.PerSample.Seconds()
}

// room is what the budget leaves for sampling once leakscope's own work
// (own) is paid; at least half the budget, so that an expensive watcher
// shows as an estimate over budget rather than blinding the sampling.
func (c *Controller) room(own float64) float64 {
	return max(c.Budget-own, c.Budget*minRoomShare)
}

// Observe takes one period and returns the rate to set, and records a
// change the caller then makes; the caller reports failures to write
// with Reset.
func (c *Controller) Observe(o Observation) Decision {
	d := Decision{Overhead: o.Overhead(), Rate: o.Rate}
	if c.Budget <= 0 || o.Rate <= 0 || c.Floor <= 0 || o.To.Sub(o.From) <= 0 {
		return d // off, or sampling off: nothing to scale
	}
	d.Active = o.Rate > c.Floor
	settled := !o.From.Before(c.lastChange) // measured wholly at this rate
	// The rate scales only the sampling part: it is held to the room
	// leakscope's own work leaves (the whole budget when that is nil).
	room, sampling := c.room(o.Own), o.sampling()
	switch {
	case sampling > room:
		c.calmSince = time.Time{}
		if !settled || o.To.Sub(c.lastChange) < RaiseHold {
			return d
		}
		d.Rate = c.step(o.Rate, sampling, aimShare*room)
	case sampling <= calmShare*room && o.Rate > c.Floor:
		if c.calmSince.IsZero() {
			c.calmSince = o.From
		}
		if !settled || o.To.Sub(c.calmSince) < LowerHold || o.To.Sub(c.lastChange) < LowerHold {
			return d
		}
		d.Rate = c.step(o.Rate, sampling, aimShare*room)
	default:
		c.calmSince = time.Time{}
		return d
	}
	if d.Rate != o.Rate {
		c.lastChange, c.calmSince = o.To, time.Time{}
	}
	d.Active = d.Rate > c.Floor
	return d
}

// step returns the lowest rate Floor x 2^k (at most MaxRate) at which
// the sampling overhead, measured at rate, would be at most aim (a
// fraction of one core): it scales as the inverse of the rate (samples
// per byte).
func (c *Controller) step(rate int64, overhead, aim float64) int64 {
	want := float64(rate) * overhead / aim
	r := c.Floor
	for float64(r) < want && r <= MaxRate/2 { // not r*2: a floor near the int64 limit would overflow
		r *= 2
	}
	return max(r, c.Floor)
}

// Reset forgets the hold after a change that could not be made.
func (c *Controller) Reset() { c.lastChange, c.calmSince = time.Time{}, time.Time{} }

// SamplesPerSecond is what the budget allows at cost perSample, a
// fraction budget of one core; +Inf when sampling is free or the budget off.
func SamplesPerSecond(budget float64, perSample time.Duration) float64 {
	if budget <= 0 || perSample <= 0 {
		return math.Inf(1)
	}
	return budget / perSample.Seconds()
}
