package monitor

import (
	"fmt"
	"log/slog"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/tracer"
)

// AllAllocsWarning is logged once per target in --mode=all-allocs.
const AllAllocsWarning = "--mode=all-allocs probes EVERY heap allocation of the target (a uprobe and a stack walk each, several microseconds): " +
	"a target allocating millions of objects per second slows down several times (see docs/BENCHMARKS.md). " +
	"Use it briefly, for exact allocation counts per site; the default sampled mode is the one for continuous watching"

// attachAllAllocs adds the every-allocation probe to an attached target.
// bin is the target's executable, as read for its other hooks.
func attachAllAllocs(att *tracer.Attachment, bin *gobin.Binary, log *slog.Logger) error {
	hook, err := bin.Hook(tracer.MallocHookName)
	if err != nil {
		return fmt.Errorf("all-allocs mode: finding %s: %w", tracer.MallocHookName, err)
	}
	if err := att.AttachAllAllocs(hook); err != nil {
		return fmt.Errorf("all-allocs mode: %w", err)
	}
	log.Warn(AllAllocsWarning, "pid", att.PID, "probe", hook.Name, "at", hook.Why)
	return nil
}
