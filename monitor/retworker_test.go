package monitor

import (
	"context"
	"testing"
	"time"
)

// TestRetentionWorkerQueue: on-demand jobs go before the queued automatic
// ones; the duty cycle's rest is cut short when an on-demand job arrives,
// and sits out its time otherwise; the final report takes what is queued.
func TestRetentionWorkerQueue(t *testing.T) {
	rw := newRetentionWorker()
	a, b, od := &retentionJob{pid: 1}, &retentionJob{pid: 2}, &retentionJob{pid: 3, onDemand: true}
	rw.add(a)
	rw.add(b)
	rw.add(od)
	if got := []*retentionJob{rw.next(), rw.next(), rw.next(), rw.next()}; got[0] != od || got[1] != a || got[2] != b || got[3] != nil {
		t.Errorf("order: %v", got)
	}

	// A rest of an hour ends at once for an on-demand job...
	rw.rest = time.Hour
	done := make(chan bool)
	go func() { done <- rw.restFor(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	rw.add(a) // an automatic job does not end it
	select {
	case <-done:
		t.Fatal("rest ended for an automatic job")
	case <-time.After(50 * time.Millisecond):
	}
	rw.add(od)
	select {
	case ok := <-done:
		if !ok {
			t.Error("rest reported the context ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("rest not cut short by an on-demand job")
	}
	// ...and a short one runs its time.
	rw.rest = 30 * time.Millisecond
	start := time.Now()
	if !rw.restFor(context.Background()) || time.Since(start) < 30*time.Millisecond {
		t.Errorf("rest of 30ms took %v", time.Since(start))
	}
	if q := rw.takeQueued(); len(q) != 2 || q[0] != od || q[1] != a || rw.next() != nil {
		t.Errorf("takeQueued = %v", q)
	}
	// A context that ends ends the rest.
	rw.rest = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rw.restFor(ctx) {
		t.Error("rest went on after the context ended")
	}
}
