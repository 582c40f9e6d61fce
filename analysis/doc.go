// Package analysis turns snapshots over time into ranked leak suspects.
//
// A Target receives one tracer.Snapshot per interval. Each kernel stack is
// symbolized once, trimmed to its leak site (the first frame outside the Go
// runtime's allocation machinery) and grouped with every other stack that
// has the same frames from the leak site outward. For each group the Target
// keeps a time series of its OLD live sampled objects and bytes: objects
// that survived at least Config.MinOldAgeGC GC cycles. Young objects are
// left out because they are what makes live bytes noisy (churn), and
// because nothing can be called leaked before it has outlived a few
// collections.
//
// The detector (assess) judges that series over a sliding window that must
// span both Config.Window of wall time and Config.WindowGC GC cycles, with
// at most one point per GC cycle, so a process that collects every two
// minutes and one that collects a hundred times a second are held to the
// same evidence counted in collections. Old bytes must rise (Mann-Kendall
// trend test, Theil-Sen slope), steadily (no levelling off, no single
// step), and the growth must be made of objects older than the age at
// which this stack's objects usually die (its freed-age histogram): that
// is what separates a leak from a cache warming up, a table built once,
// batches, pools, bursts and working sets. The Evidence type documents
// what the score means.
package analysis
