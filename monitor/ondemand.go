package monitor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/leakscope/leakscope/analysis"
)

// Errors of OnDemand.Search.
var (
	ErrUnknownTarget  = errors.New("no watched process with that pid")
	ErrUnknownSuspect = errors.New("no suspect at that function in the target's latest report")
	// ErrTooSoon: the target's heap was searched on demand less than
	// OnDemandGap ago (see RetryAfter).
	ErrTooSoon = errors.New("searched on demand moments ago")
	ErrStopped = errors.New("the watch has ended")
)

// OnDemandGap is the least time between two on-demand searches of one
// target: each reads its pointer-bearing heap, so a burst of requests must
// not turn into a burst of scans.
const OnDemandGap = 10 * time.Second

// OnDemand carries retention-path searches asked for while a watch runs
// (from the web view or its API) into the watch's loop, which owns the
// targets; a search there runs between intervals. Give one to
// Config.OnDemand; the zero value is not usable (NewOnDemand).
type OnDemand struct {
	reqs chan onDemandRequest
	done chan struct{} // closed when the watch ends
	once sync.Once
}

// NewOnDemand returns an OnDemand for one watch.
func NewOnDemand() *OnDemand {
	return &OnDemand{reqs: make(chan onDemandRequest), done: make(chan struct{})}
}

type onDemandRequest struct {
	pid      uint32
	function string
	reply    chan onDemandReply // buffered: the loop never blocks on it
}

type onDemandReply struct {
	r     *analysis.Retention
	retry time.Duration
	err   error
}

// TooSoonError is ErrTooSoon with how long to wait.
type TooSoonError struct{ RetryAfter time.Duration }

func (e *TooSoonError) Error() string {
	return fmt.Sprintf("%v: ask again in %s", ErrTooSoon, e.RetryAfter.Round(time.Second))
}
func (e *TooSoonError) Unwrap() error { return ErrTooSoon }

// Search asks the watch to search what holds the objects of the suspect
// at function in target pid (any verdict, not only leak), and waits for
// the result. The result also shows in the next report.
func (o *OnDemand) Search(ctx context.Context, pid uint32, function string) (*analysis.Retention, error) {
	req := onDemandRequest{pid: pid, function: function, reply: make(chan onDemandReply, 1)}
	select {
	case o.reqs <- req:
	case <-o.done:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case rep := <-req.reply:
		if rep.retry > 0 {
			return nil, &TooSoonError{RetryAfter: rep.retry}
		}
		return rep.r, rep.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// requests is the loop's side (nil, never ready, without an OnDemand).
func (o *OnDemand) requests() <-chan onDemandRequest {
	if o == nil {
		return nil
	}
	return o.reqs
}

// stop tells waiting and later callers that the watch has ended.
func (o *OnDemand) stop() {
	if o != nil {
		o.once.Do(func() { close(o.done) })
	}
}

// searchOnDemand serves one request in the watch's loop: refused, or
// answered at once, or given to the worker, whose result is applied, and
// answered, in the loop (retentionJob.reply).
func (w *watch) searchOnDemand(req onDemandRequest) {
	t := w.live[req.pid]
	if t == nil {
		req.reply <- onDemandReply{err: ErrUnknownTarget}
		return
	}
	j, r, retry, err := t.onDemandJob(req.function, time.Now())
	if j == nil {
		req.reply <- onDemandReply{r: r, retry: retry, err: err}
		return
	}
	j.reply = req.reply
	t.ret.jobsOut++
	if t.ret.worker == nil {
		j.search()
		w.applyJob(j)
		return
	}
	t.ret.worker.add(j)
}

// onDemandJob is the search of the suspects at function of the latest
// report, or why there is none: an answer at once (the heap cannot be
// searched), a wait, or an error.
func (t *target) onDemandJob(function string, now time.Time) (*retentionJob, *analysis.Retention, time.Duration, error) {
	rw := t.ret
	if rw == nil {
		return nil, nil, 0, ErrUnknownSuspect
	}
	var idx []int
	for i := range rw.reported {
		if rw.reported[i].Function == function {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, nil, 0, ErrUnknownSuspect
	}
	if wait := OnDemandGap - now.Sub(rw.lastOnDemand); wait > 0 {
		return nil, nil, wait, nil
	}
	if t.openSearcher(); rw.unavailable != "" {
		return nil, unavailableRetention(rw.unavailable, now), 0, nil
	}
	rw.lastOnDemand = now
	j := t.newJob(rw.reported, idx, now)
	j.onDemand, j.replyKey = true, suspectKey(&rw.reported[idx[0]])
	return j, nil, 0, nil
}
