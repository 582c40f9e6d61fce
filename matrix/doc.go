// Package matrix holds leakscope's compatibility matrix, a privileged test
// (make matrix): the fixture testdata/matrix is built by the newest patch
// release of every Go minor version from 1.19 (what Debian 12's packaged Go
// daemons are built with) to 1.27, each fetched through the module proxy,
// in five build kinds (default, PIE, stripped, static, cgo-linked). Every
// amd64 build runs, all at once, under one leakscope watch; each must be
// attached, have its leak site called a leak, its churn site's frees
// matched, losses within a stated bound, and be healthy after detach. The
// arm64 builds are cross-compiled (cgo with Debian's aarch64-linux-gnu-gcc,
// externally linked) and their hooks, their file offsets and constants
// decoded and verified (they cannot run here). A missing cross compiler
// skips its cells loudly, and fails them under LEAKSCOPE_REQUIRE_BPF=1. A binary whose Go version is not in
// leakscope's tables is watched when everything verifies by decoding and
// refused, naming the hook, when something does not.
//
// With -update the test writes docs/COMPAT.md and the README's
// compatibility table from the run.
package matrix
