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
//     on its own schedule, off the monitor's loop, with a timeout, caps on
//     the body and on the decompressed size, no redirect off the target,
//     and never ?gc=1 unless asked. Only a per-site summary is kept.
//   - comparison (compare.go): like with like, per leak site.
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
// two moments (interpolated between its snapshots). For a leak both are
// the same sampled objects, scaled the same way.
package crosscheck
