package analysis

import "time"

// Statuses of Retention.
const (
	RetentionFound       = "found"       // at least one sampled object has a path
	RetentionNone        = "none"        // searched, no path to a root
	RetentionCut         = "cut"         // the search ran out of its budget first
	RetentionUnavailable = "unavailable" // the heap could not be read (Reason)
	RetentionPending     = "pending"     // a search is queued or running; a later report has it
)

// Retention says what keeps a leak suspect's sampled objects alive: the
// paths from a root (a global variable or a goroutine's frame) to them,
// merged by holder. It is data only; monitor fills it from package
// retention. The JSON names are a contract: add fields, never rename.
type Retention struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Paths, most samples first; each root first, the leaked object last.
	Paths []RetentionPath `json:"paths"`
	// Searched is the number of sampled objects searched from; Unreached
	// those with no path, and why (reason -> count).
	Searched  int            `json:"searched"`
	Unreached map[string]int `json:"unreached,omitempty"`
	At        time.Time      `json:"at"`
	// SearchSeconds is the time the search took (all the target's
	// suspects together); Cut says the budget stopped it.
	SearchSeconds float64 `json:"search_seconds"`
	Cut           bool    `json:"cut,omitempty"`
	// Dropped counts what the search could not read or did not believe
	// (spans, stacks, heap pieces, paths changed on re-read, runtime
	// holders), by reason.
	Dropped map[string]int `json:"dropped,omitempty"`
}

// RetentionPath is one way the objects are held.
type RetentionPath struct {
	// Root names the first holder: "main.sessions", ".bss+0x2e0" in a
	// stripped binary, or a frame's function.
	Root string `json:"root"`
	// Summary is one line: "main.sessions (global) -> 4 heap objects".
	Summary string         `json:"summary"`
	Hops    []RetentionHop `json:"hops"`
	Samples int            `json:"samples"` // sampled objects held this way
	// Confidence: "high" for a global named by its symbol, every pointer
	// re-read the same; "medium" for a frame (a conservative scan can see
	// a dead slot), a stripped binary's segment offset, or a root that had
	// moved on to another object of the same size when re-read (a list's
	// head).
	Confidence string `json:"confidence"`
}

// RetentionHop is one holder on a path.
type RetentionHop struct {
	Kind string `json:"kind"` // global, frame, timer, heap, channel buffer, chain (a run of one size), leaked
	Name string `json:"name"`
	// FieldOffset is where in the holder the pointer to the next hop sits.
	FieldOffset uint64 `json:"field_offset"`
	Size        uint64 `json:"size,omitempty"` // heap objects
	// Frames: the goroutine, the position and its creation site.
	Goroutine uint64 `json:"goroutine,omitempty"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	CreatedBy string `json:"created_by,omitempty"`
}
