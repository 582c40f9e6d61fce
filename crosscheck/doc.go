// Package crosscheck compares leakscope's suspects with the target's own
// heap profile, served by net/http/pprof at /debug/pprof/heap.
//
// The runtime's profile is its own view of the very samples leakscope
// sees from the kernel (the same MemProfileRate, the same sampling
// decisions), so per leak site the two must tell the same story; where
// they do not, leakscope missed frees, symbolized wrongly or scaled
// wrongly, or the endpoint is not what it seems.
//
// Three jobs, one file each:
//   - discovery (nettcp.go, netns.go): the target's listening TCP sockets
//     are its socket inodes in /proc/PID/fd matched against
//     /proc/PID/net/tcp and tcp6; a target in another network namespace
//     is dialed from a socket created inside that namespace.
//   - fetching (fetch.go, heap.go, watch.go): a Watcher per target fetches
//     on its own goroutine, off the monitor's loop, at most once per
//     interval and preferably right after one of leakscope's snapshots
//     (the monitor kicks it), with a timeout, caps on the body and on the
//     decompressed size, no redirect off the target, and never ?gc=1
//     unless asked. Only a per-site summary is kept.
//   - comparison (compare.go): like with like, per leak site.
//
// Goroutines (goroutine.go, goroutinecheck.go): when leakscope reads a
// target's goroutines, the Watcher also fetches /debug/pprof/goroutine
// (proto) right after each heap fetch, with the same limits, and (only
// when GC-forcing fetches are allowed) /debug/pprof/goroutineleak. The
// proto profile has current stacks and no creation sites, so counts are
// compared per blocked function (the innermost frame outside the
// runtime), the same rule on both sides.
//
// What is compared. The runtime publishes its heap profile as of the
// mark termination BEFORE the latest one: an allocation counts once the
// cycle after it completed, a sweep free once its sweep is done (see
// runtime/mprof.go; only runtime.GC() publishes the latest cycle). So at
// any moment the profile holds the sampled objects that were allocated
// before the second-to-last mark termination and still reachable at it:
// objects that survived at least two GC cycles. That is exactly
// leakscope's old bytes (analysis.Config.MinOldAgeGC, 2 by default), up
// to objects that became garbage at the latest cycle and are not swept
// yet. The runtime's profile also holds everything sampled before
// leakscope attached, which leakscope never saw; so the comparison is of
// growth: the runtime's in-use bytes at the site between a baseline
// profile and the latest one, against leakscope's old bytes at the same
// two moments (interpolated between its snapshots; a fetch right after a
// snapshot makes that nearly exact). For a leak both are the same sampled
// objects, scaled the same way. The baseline is taken once two GC cycles
// have completed since attach (before that, the runtime's profile is as
// of a cycle before attach, and objects allocated between that cycle and
// attach would be in the runtime's growth only), and moves along to stay
// within five minutes of the latest profile, so that objects from before
// attach, freed later, stop counting once gone.
package crosscheck
