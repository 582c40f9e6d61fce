package analysis

import (
	"sort"

	"github.com/leakscope/leakscope/snapshot"
)

// AllocSite is the exact allocation count of one source-level site, from
// leakscope's all-allocs mode: every heap allocation, not a sample.
type AllocSite struct {
	Function string   `json:"function"` // allocating function (first non-runtime frame)
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Stack    []string `json:"stack"` // "pkg.fn (file.go:12)", site first
	Allocs   uint64   `json:"allocs"`
	Bytes    uint64   `json:"bytes"` // bytes requested (before size-class rounding)
}

// AllocSites groups exact per-stack allocation counts by source-level
// stack, trimmed of runtime frames as the leak suspects are, and returns
// the max sites allocating the most bytes.
func AllocSites(sites map[int32]*snapshot.AllocSite, sym Symbolizer, max int) []AllocSite {
	byKey := map[string]*AllocSite{}
	for _, s := range sites {
		frames := sym.Symbolize(s.PCs)
		frames = frames[leakSite(frames):]
		key := groupKey(frames)
		a := byKey[key]
		if a == nil {
			a = &AllocSite{Function: unknownFunction}
			if len(frames) > 0 {
				a.Function, a.File, a.Line = funcName(frames[0]), frames[0].File, frames[0].Line
			}
			for _, f := range frames {
				a.Stack = append(a.Stack, formatFrame(f))
			}
			byKey[key] = a
		}
		a.Allocs += s.Allocs
		a.Bytes += s.Bytes
	}
	out := make([]AllocSite, 0, len(byKey))
	for _, a := range byKey {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Function < out[j].Function
	})
	if len(out) > max {
		out = out[:max]
	}
	return out
}
