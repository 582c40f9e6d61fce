// Package analysis turns snapshots over time into ranked leak suspects.
//
// A Target receives one snapshot.Snapshot per interval. Each kernel stack is
// symbolized once, trimmed to its leak site (the first frame outside the Go
// runtime's allocation machinery) and grouped with every other stack that
// has the same frames from the leak site outward. For each group the Target
// keeps a time series of its OLD live sampled objects and bytes (objects
// that survived at least Config.MinOldAgeGC GC cycles), its live counts at
// a ladder of ages, and its cumulative freed-age histogram.
//
// The detector (assess) works on OVERDUE objects: live objects older than
// 1.5 times the age by which this stack's old objects usually die (the 95%
// quantile of its freed-age histogram; the oldest death seen when there
// are few), raised until at most one of the window's frees was that old.
// A leak's objects are all overdue once they reach that age, and their
// number grows by the sampling rate; ordinary objects, however long they
// live, hardly ever are, and when they are they die, which is counted.
// Given the overdue arrivals A and deaths D in the window, A is
// Binomial(A+D, 1/2) if nothing accumulates (arrivals and deaths of a
// steady population are Poisson counts of equal mean): its upper tail is
// the accumulation p-value. A `leak` needs it below Config.Alpha (0.04: 5
// overdue samples and no death), growth still going on in the last 40% of
// the window and steady (the Wilson bound of the slower part's rate is at
// least half the faster one's: no levelling off, no single step), over at
// least Config.MinWindow (50 s) and Config.MinWindowGC (8) cycles of the
// overdue series. Mann-Kendall and Theil-Sen on old bytes give `watch`
// and the growth rate. Time is counted in GC cycles as well as seconds:
// at most one point per GC cycle, and a process collecting every two
// minutes needs as many collections as a busy one.
//
// Only objects sampled after attach are seen. At attach every count is
// zero, which is one more exact point of the overdue series, placed when
// the GC count since attach reached the overdue age (nothing can be
// overdue earlier). A start-up table built before attach is invisible; a
// cache still filling at attach looks like growth until it stops, and is
// told from a leak only by having stopped: one that fills for more than
// ~30 s after the overdue age is reached, a batch released less often
// than about once a minute, or objects that outlive the time watched so
// far without any of them having been seen to die, are indistinguishable
// from a leak until then, and may be named one. The Evidence type
// documents what the score means.
package analysis
