// Command selfpcs is a test fixture for package symbolize.
//
// It records its own call stacks with runtime.Callers from deep call chains
// that mix inlined and non-inlined functions, prints them as one JSON object
// with the frames runtime.CallersFrames reports for them, and then waits
// until its standard input closes, so that a test can symbolize the same
// addresses from outside through /proc/PID/exe and /proc/PID/maps and compare.
//
// It must build with every toolchain the tests use (Go 1.18 and later), so it
// uses no newer language features.
package main

import (
	"encoding/json"
	"io"
	"os"
	"runtime"
)

// stack is one recorded call stack.
type stack struct {
	// PCs is the output of runtime.Callers: return addresses, one per
	// logical frame (inlined calls get synthetic ones).
	PCs []uint64 `json:"pcs"`
	// Physical are the indexes in PCs of the return addresses of real
	// machine frames, which is what a frame-pointer walk (and so the
	// kernel) sees. The first PC is always physical.
	Physical []int `json:"physical"`
	// Frames are what runtime.CallersFrames(PCs) reports, in order.
	Frames []frame `json:"frames"`
}

type frame struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Inlined  bool   `json:"inlined"`
}

type output struct {
	GoVersion string  `json:"go_version"`
	Stacks    []stack `json:"stacks"`
}

var (
	stacks []stack
	buf    [64]uintptr
)

// record captures the stack of its caller. It is inlined, so the first PC
// of every stack (the return address of the call to save) lies in an inlined
// frame.
func record() {
	save()
}

// save skips itself and runtime.Callers: the first recorded frame is
// record.
//
//go:noinline
func save() {
	n := runtime.Callers(2, buf[:])
	stacks = append(stacks, describe(buf[:n]))
}

// describe is never inlined: it must not add frames to the recorded stack
// and it is too big for the inliner anyway.
//
//go:noinline
func describe(pcs []uintptr) stack {
	var s stack
	for _, pc := range pcs {
		s.PCs = append(s.PCs, uint64(pc))
	}
	frames := runtime.CallersFrames(pcs)
	prevInlined := false
	for i := 0; ; i++ {
		f, more := frames.Next()
		s.Frames = append(s.Frames, frame{Function: f.Function, File: f.File, Line: f.Line, Inlined: f.Func == nil})
		// PCs and frames correspond one to one for runtime.Callers output
		// (it emits one PC per logical frame). A PC is the return address
		// of a real frame unless the frame before it was inlined into the
		// frame it names.
		if i == 0 || !prevInlined {
			s.Physical = append(s.Physical, i)
		}
		prevInlined = f.Func == nil
		if !more {
			break
		}
	}
	if len(s.Frames) != len(s.PCs) {
		panic("runtime.CallersFrames did not report one frame per PC")
	}
	return s
}

// The chain main -> outer -> middle -> inlinedA -> inlinedB -> leaf ->
// record: outer, middle and leaf are real frames; inlinedA, inlinedB and
// record are inlined, so one return address stands for several frames.

//go:noinline
func outer(n int) int {
	return middle(n) + 1
}

//go:noinline
func middle(n int) int {
	x := inlinedA(n)
	return x * 2
}

func inlinedA(n int) int {
	return inlinedB(n) + 3
}

func inlinedB(n int) int {
	return leaf(n) - 1
}

//go:noinline
func leaf(n int) int {
	record()
	return n + 7
}

// A second chain through a method, a generic function, a closure and
// recursion, with inlining at both ends.

type counter struct{ n int }

//go:noinline
func (c *counter) bump(depth int) {
	if depth > 0 {
		c.bump(depth - 1)
		return
	}
	c.n += twice(c.n)
}

// twice is generic, so its name prints as main.twice[...].
func twice[T int | int64](v T) T {
	each(func() { record() })
	return v * 2
}

func each(f func()) {
	f()
}

func main() {
	r := outer(5)
	c := &counter{n: r}
	c.bump(2)
	// A third stack: record inlined straight into main.main.
	record()

	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(output{GoVersion: runtime.Version(), Stacks: stacks}); err != nil {
		os.Exit(1)
	}
	// Stay alive (with the same mappings) until the test is done.
	_, _ = io.Copy(io.Discard, os.Stdin)
}
