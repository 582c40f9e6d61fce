package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// States of RetentionSearches.
const (
	RetentionIdle        = "idle"        // no search needed yet (no leak suspect)
	RetentionOn          = "on"          // the heap was located and searched
	RetentionUnavailable = "unavailable" // the heap cannot be searched (Reason)
	RetentionOff         = "off"         // turned off
)

// RetentionSearches is a target's retention-path searching: its state and
// what the searches have cost and lost since attach, so that a budget cut
// or an unreadable heap is never silent. Field names are a contract: add,
// never rename.
type RetentionSearches struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Searches counts searches since attach, OnDemand those asked for
	// from the web view or API, Cut those the budget stopped before every
	// object had a root.
	Searches uint64 `json:"searches"`
	OnDemand uint64 `json:"on_demand"`
	Cut      uint64 `json:"cut"`
	// SearchSeconds is their total wall time, CPUSeconds the CPU leakscope
	// spent on them.
	SearchSeconds float64 `json:"search_seconds"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	// The latest search: when, how long, how much memory it read.
	LastAt           time.Time `json:"last_at,omitzero"`
	LastSeconds      float64   `json:"last_seconds"`
	LastScannedBytes uint64    `json:"last_scanned_bytes"`
	// Dropped counts, by reason, what searches could not read or did not
	// believe (spans, stacks, heap pieces, runtime holders), since attach.
	Dropped map[string]uint64 `json:"dropped"`
}

// Summary is the table's line for r ("" when there is nothing to say: no
// search needed yet).
func (r *RetentionSearches) Summary() string {
	switch r.Status {
	case RetentionUnavailable:
		return "unavailable: " + r.Reason
	case RetentionOff:
		return "off"
	case RetentionOn:
	default:
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d searches", r.Searches)
	if r.OnDemand > 0 {
		fmt.Fprintf(&b, " (%d on demand)", r.OnDemand)
	}
	if r.Cut > 0 {
		fmt.Fprintf(&b, ", %d cut by the budget", r.Cut)
	}
	fmt.Fprintf(&b, ", %.2f s CPU; last %.2f s over %s", r.CPUSeconds, r.LastSeconds, HumanBytes(float64(r.LastScannedBytes)))
	if len(r.Dropped) > 0 {
		var parts []string
		for _, why := range slices.Sorted(maps.Keys(r.Dropped)) {
			parts = append(parts, fmt.Sprintf("%s %d", why, r.Dropped[why]))
		}
		fmt.Fprintf(&b, "; dropped %s", strings.Join(parts, ", "))
	}
	return b.String()
}
