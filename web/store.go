package web

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leakscope/leakscope/report"
)

// historyLen bounds each suspect's chart: one point per interval, so an
// hour at the default 10 s interval. A suspect unseen for historyAge is
// forgotten.
const (
	historyLen = 360
	historyAge = time.Hour
)

// Point is one interval's figures of a suspect.
type Point struct {
	Time      time.Time
	LiveBytes int64
	OldBytes  int64
}

// Store keeps the latest results and a bounded history of each suspect.
// It is safe for concurrent use.
type Store struct {
	mu      sync.RWMutex
	latest  *report.Update
	history map[string][]Point // by suspectKey
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{history: map[string][]Point{}}
}

// Publish makes u the latest results and extends the suspects' histories.
// Histories of suspects absent for longer than the chart spans, and of
// targets no longer reported, are dropped, so memory stays bounded.
func (s *Store) Publish(u *report.Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest = u
	if u == nil || u.Doc == nil {
		return
	}
	now := u.Doc.GeneratedAt
	pids := map[string]bool{}
	for _, t := range u.Doc.Targets {
		pids[pidPrefix(t.PID)] = true
		for _, sp := range t.Suspects {
			k := suspectKey(t.PID, sp.Stack, sp.Function)
			h := append(s.history[k], Point{Time: now, LiveBytes: sp.LiveBytes, OldBytes: sp.OldBytes})
			if len(h) > historyLen {
				h = h[len(h)-historyLen:]
			}
			s.history[k] = h
		}
	}
	for k, h := range s.history {
		pid, _, _ := strings.Cut(k, "\x00")
		if !pids[pid+"\x00"] || now.Sub(h[len(h)-1].Time) > historyAge {
			delete(s.history, k)
		}
	}
}

// Latest returns the latest results, or nil before the first interval.
func (s *Store) Latest() *report.Update {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.latest
}

// History returns a copy of a suspect's points, oldest first.
func (s *Store) History(pid uint32, stack []string, function string) []Point {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]Point(nil), s.history[suspectKey(pid, stack, function)]...)
}

// suspectKey names a suspect across intervals: its target and its frames
// from the leak site outward (which is what groups its stacks).
func suspectKey(pid uint32, stack []string, function string) string {
	if len(stack) == 0 {
		stack = []string{function}
	}
	return pidPrefix(pid) + strings.Join(stack, "\x00")
}

func pidPrefix(pid uint32) string {
	return strconv.FormatUint(uint64(pid), 10) + "\x00"
}
