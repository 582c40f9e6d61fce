package retention

import (
	"fmt"
	"strings"
)

// label is a heap hop in a summary line: its type where the runtime
// records it ("main.session", "map[string]*main.Session"), else its size
// and, for a sampled object, where it was allocated ("48 B object
// allocated in main.newSession").
func label(h Hop) string {
	if h.Type != "" || h.Name == "map" { // "map": a swiss map whose directory leaked (mapcollapse.go)
		return h.Name
	}
	if _, site, ok := strings.Cut(h.Name, " allocated in "); ok {
		return fmt.Sprintf("%d B object allocated in %s", h.Size, site)
	}
	return fmt.Sprintf("%d B object", h.Size)
}

// chainName tells a run of n heap objects of one size and type (a linked
// list): "a chain of 40 objects of 48 B", or of their type when recorded.
func chainName(n int, h Hop) string {
	if h.Type != "" {
		return fmt.Sprintf("a chain of %d %s", n, h.Type)
	}
	return fmt.Sprintf("a chain of %d objects of %d B", n, h.Size)
}
