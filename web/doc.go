// Package web serves leakscope's results over HTTP: Prometheus metrics,
// suspects.json, the leak profiles for `go tool pprof`, a page of targets
// and suspects with charts of their live bytes, and the pprof web UI (the
// google/pprof driver, in process) on each target's latest leak profile.
//
// Every response is built from the latest report.Update that the monitor
// published; nothing here touches the kernel or the targets.
package web
