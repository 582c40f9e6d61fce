package monitor

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/leakscope/leakscope/retention"
)

// searchDuty is the most of one core that retention searches take on
// average, over every target: after a search that cost c of CPU the worker
// rests c*(1/searchDuty-1) before the next. A search itself is bounded by
// its budget (retention.Config.Budget, wall time, so its CPU too).
const searchDuty = 0.1

// retentionWorker runs the watch's retention searches one at a time, off
// the watch's loop, so that a search (up to its budget, per target) never
// holds up an interval's report. The loop hands it jobs and applies the
// results it sends back; a job's searcher is used by the worker alone
// while the job is out.
type retentionWorker struct {
	mu      sync.Mutex
	queue   []*retentionJob
	wake    chan struct{} // cap 1
	results chan *retentionJob
	rest    time.Duration // the duty cycle's rest before the next job
}

// retentionJob is one search: what to search from and, once done, what it
// found.
type retentionJob struct {
	pid      uint32
	searcher *retention.Searcher
	targets  []uint64
	owner    map[uint64][]string // sampled address -> suspect keys
	keys     []string            // the suspects searched
	onDemand bool
	reply    chan onDemandReply // on demand: the caller waiting
	replyKey string             // on demand: the suspect asked for
	sampled  map[uint64]string  // sampled objects' sites (Searcher.SetSampled)
	at       time.Time          // when the job was made (the results' time)
	// Filled by the worker.
	res *retention.Result
	err error
	cpu time.Duration
}

func newRetentionWorker() *retentionWorker {
	return &retentionWorker{wake: make(chan struct{}, 1), results: make(chan *retentionJob)}
}

// done is the loop's side (nil, never ready, without a worker).
func (rw *retentionWorker) done() <-chan *retentionJob {
	if rw == nil {
		return nil
	}
	return rw.results
}

// add queues a job; on-demand jobs go first (someone is waiting).
func (rw *retentionWorker) add(j *retentionJob) {
	rw.mu.Lock()
	if j.onDemand {
		rw.queue = append([]*retentionJob{j}, rw.queue...)
	} else {
		rw.queue = append(rw.queue, j)
	}
	rw.mu.Unlock()
	select {
	case rw.wake <- struct{}{}:
	default:
	}
}

// next takes the first queued job, or nil.
func (rw *retentionWorker) next() *retentionJob {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.queue) == 0 {
		return nil
	}
	j := rw.queue[0]
	rw.queue = rw.queue[1:]
	return j
}

// run searches until ctx ends. Each result goes to results, which the
// loop reads; the worker waits for that before the next job, so that at
// most one searcher is in use and the loop never sees a half-done job.
// A job taken from the queue is searched at once: the duty cycle's rest
// comes before taking the next (cut short for an on-demand job).
func (rw *retentionWorker) run(ctx context.Context) {
	for {
		if !rw.restFor(ctx) {
			return
		}
		j := rw.next()
		if j == nil {
			select {
			case <-rw.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		j.search()
		rw.rest = time.Duration(float64(j.cpu) * (1/searchDuty - 1))
		select {
		case rw.results <- j:
		case <-ctx.Done():
			return
		}
	}
}

// restFor waits out the duty cycle's rest, or until an on-demand job is
// queued; false when ctx ended.
func (rw *retentionWorker) restFor(ctx context.Context) bool {
	if rw.rest <= 0 {
		return true
	}
	t := time.NewTimer(rw.rest)
	defer t.Stop()
	rw.rest = 0
	for {
		select {
		case <-t.C:
			return true
		case <-rw.wake:
			if rw.onDemandFirst() {
				return true
			}
		case <-ctx.Done():
			return false
		}
	}
}

func (rw *retentionWorker) onDemandFirst() bool {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return len(rw.queue) > 0 && rw.queue[0].onDemand
}

// takeQueued removes and returns the jobs not yet taken.
func (rw *retentionWorker) takeQueued() []*retentionJob {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	q := rw.queue
	rw.queue = nil
	return q
}

// search runs the job's search on a locked thread, so that the thread's
// CPU clock is the CPU it cost.
func (j *retentionJob) search() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	j.searcher.SetSampled(j.sampled)
	j.res, j.err = j.searcher.Search(j.targets)
	j.cpu = threadCPU() - c0
}

// applyJob applies a finished job to its target (gone from the watch: the
// result is dropped, an on-demand caller told so).
func (w *watch) applyJob(j *retentionJob) {
	for _, t := range w.targets {
		if t.id.pid == j.pid && t.ret != nil {
			t.ret.jobsOut--
			t.applyJob(j)
			return
		}
	}
	if j.reply != nil {
		j.reply <- onDemandReply{err: ErrUnknownTarget}
	}
}

// finishSearches readies the final report: queued jobs are dropped (their
// callers told the watch ended), the running one awaited (a search stops
// at its budget), and every target searches at once from now on.
func (w *watch) finishSearches(rw *retentionWorker, budget time.Duration) {
	if rw == nil {
		return
	}
	for _, j := range rw.takeQueued() {
		if j.reply != nil {
			j.reply <- onDemandReply{err: ErrStopped}
		}
		for _, t := range w.targets {
			if t.id.pid == j.pid && t.ret != nil {
				t.ret.jobsOut--
			}
		}
	}
	out := func() bool {
		for _, t := range w.targets {
			if t.ret != nil && t.ret.jobsOut > 0 {
				return true
			}
		}
		return false
	}
	timeout := time.After(2*budget + 10*time.Second)
	for out() {
		select {
		case j := <-rw.results:
			w.applyJob(j)
		case <-timeout:
			w.log.Warn("a retention search did not end in time; the final report goes without it")
			return
		}
	}
	for _, t := range w.targets {
		if t.ret != nil {
			t.ret.sync = true
		}
	}
}
