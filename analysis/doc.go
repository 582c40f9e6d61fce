// Package analysis turns snapshots over time into ranked leak suspects.
//
// A Target receives one snapshot.Snapshot per interval. Each kernel stack is
// symbolized once, trimmed to the first frame outside the Go runtime's
// allocation machinery, and grouped with every other stack that has the
// same frames from there outward: the detector judges each such group
// (the objects of one line share a lifetime pattern: a map's old tables
// die young, the entries put in it may never). A Suspect is a leak site,
// the first frame outside the runtime AND the standard library (the
// user's code that had hex.EncodeToString build a key, a strings.Builder
// grow or time.AfterFunc arm a timer; the first frame outside the runtime
// when the stack has no other): the groups with the same function there
// and the same frames outward, named after it, with the library functions
// as AllocatedIn and the verdict of the strongest. For each group the
// Target keeps a time series of its OLD live sampled objects and bytes
// (objects that survived at least Config.MinOldAgeGC GC cycles), of all
// its live sampled objects, its live counts at a ladder of ages, and its
// cumulative freed-age histogram.
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
// overdue series. Time is counted in GC cycles as well as seconds: at most
// one point per GC cycle of old objects.
//
// Processes that collect rarely get a second rule, the survival rule: a
// leak that is most of what a program allocates makes its heap double
// between collections, so they get rarer the faster it leaks; an idle
// service collects only by the forced GC every two minutes; GOGC=off with
// GOMEMLIMIT, or a high GOGC, collect seldom. While the window holds fewer
// than MinWindowGC cycles past the overdue age, a group is a `leak` when,
// over at least MinWindow and 3 collections: at most one of its sampled
// objects that survived a collection was freed; the S live ones that
// survived one, and their exposure E (the collections each survived, any
// of which could have freed it), reject at Alpha the null that a
// collection frees a surviving object as often as it spares it (garbage
// goes at the first collection after it becomes unreachable):
// P(Bin(E+D, 1/2) >= E) and P(Bin(S+D, 1/2) >= S) < 0.04, so at least 5
// survivors; and its live sampled objects (every snapshot: growth is seen
// between collections) grow steadily and still now: persistence and recent
// growth as above, and the last gap g without growth plausible for a steady
// stream of N samples over the span T: (1-g/T)^N >= 0.05 (stopAlpha; a
// steady leak fails that at 5% of snapshots, the next ones pass). The
// overdue rule takes that gap test too when at most 5% of the site's
// survivors were freed (a table loaded while watched, in a process that
// collects rarely, ages past the overdue age one collection at a time and
// would look like steady growth long after it stopped).
//
// Error rates: Alpha (0.04) bounds the chance that the survivors of a site
// whose objects die at their first collections, or the overdue objects of
// a steady population, pass as accumulating; stopAlpha (0.05) is the
// share of snapshots at which a steady leak is taken as stopped (it delays
// a verdict by a snapshot, never clears one: a leak keeps its verdict on
// looser bars). What no rate covers is the documented limit below: a
// population still growing because it is young (a cache filling, objects
// that outlive the watch) is a leak until it stops or dies, and in a
// process that collects every two minutes "steadily" is judged over the
// 3 collections, 5 minutes or so, it takes to see them.
//
// Large growth is never passed over in silence: a site whose sampled live
// objects grew by watchGrowthSamples (8, about 4 MiB at the default rate)
// or more with a significant trend (and 2 of them survived a collection,
// unless none ran: young garbage whose level rises with the heap is not
// growth), old bytes rising (Mann-Kendall and
// Theil-Sen), or overdue objects accumulating, is at least `watch`, with
// its growth rate and the reason it is not a leak (Suspect.Reason). The
// Target's Regime reports how often it collects.
//
// Suspects are ranked for action (CompareSuspects): every leak before every
// watch, then by growth rate, then by live bytes. The score is a
// confidence within a verdict; scores of different verdicts are not
// compared.
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
