package retention

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/leakscope/leakscope/analysis"
)

// Summarize turns the paths of one suspect's sampled objects into its
// analysis.Retention: paths merged by root (the first kept as the
// example, with the number of samples held that way), the unreached
// counted by reason.
func Summarize(paths []Path, res *Result, at time.Time) *analysis.Retention {
	r := &analysis.Retention{Status: analysis.RetentionNone, Paths: []analysis.RetentionPath{}, Searched: len(paths),
		At: at, SearchSeconds: res.Duration.Seconds(), Cut: res.Cut, Dropped: res.Dropped}
	byRoot := map[string]int{}
	for _, p := range paths {
		if len(p.Hops) == 0 {
			if r.Unreached == nil {
				r.Unreached = map[string]int{}
			}
			r.Unreached[p.Why]++
			continue
		}
		key := p.Hops[0].Kind + " " + p.Root()
		if i, ok := byRoot[key]; ok {
			r.Paths[i].Samples++
			continue
		}
		byRoot[key] = len(r.Paths)
		r.Paths = append(r.Paths, convert(p))
	}
	sort.SliceStable(r.Paths, func(i, j int) bool { return r.Paths[i].Samples > r.Paths[j].Samples })
	switch {
	case len(r.Paths) > 0:
		r.Status = analysis.RetentionFound
	case res.Cut:
		r.Status = analysis.RetentionCut
	}
	return r
}

func convert(p Path) analysis.RetentionPath {
	out := analysis.RetentionPath{Root: p.Root(), Samples: 1, Confidence: "high", Summary: summary(p.Hops)}
	for i := 0; i < len(p.Hops); i++ {
		h := p.Hops[i]
		// A run of heap objects of one size (a linked list) is one hop.
		j := i
		for j < len(p.Hops) && p.Hops[j].Kind == KindHeap && p.Hops[j].Size == h.Size && p.Hops[j].Type == h.Type {
			j++
		}
		if j-i >= 3 {
			out.Hops = append(out.Hops, analysis.RetentionHop{Kind: KindChain, Name: chainName(j-i, h),
				FieldOffset: h.Field, Size: h.Size})
			i = j - 1
			continue
		}
		out.Hops = append(out.Hops, analysis.RetentionHop{Kind: h.Kind, Name: h.Name, FieldOffset: h.Field, Size: h.Size,
			Goroutine: h.Goroutine, File: h.File, Line: h.Line, CreatedBy: h.CreatedBy})
	}
	if first := p.Hops[0]; first.Kind == KindFrame && !first.Precise || strings.HasPrefix(first.Name, ".") || p.RootMoved {
		out.Confidence = "medium"
	}
	return out
}

// summary is one line: the root and its kind, then the heap objects in
// between, runs of one size told as a chain ("a chain of 40 objects of
// 48 B": a linked list).
func summary(hops []Hop) string {
	if len(hops) == 0 {
		return ""
	}
	root := hops[0]
	mid := hops[1:]
	if n := len(mid); n > 0 && mid[n-1].Kind == KindLeaked {
		mid = mid[:n-1]
	}
	var b strings.Builder
	switch {
	case root.Kind == KindTimer:
		fmt.Fprintf(&b, "%s (%s)", root.Name, describeTimer(root))
	case root.Kind == KindFrame:
		fmt.Fprintf(&b, "%s frame (goroutine %d, %s:%d)", root.Name, root.Goroutine, path.Base(root.File), root.Line)
	case len(mid) > 0 && mid[0].Kind == KindChannel:
		// The variable is the channel: "main.jobs (channel buffer, ...)".
		fmt.Fprintf(&b, "%s (%s)", root.Name, mid[0].Name)
		mid = mid[1:]
	default:
		fmt.Fprintf(&b, "%s (%s)", root.Name, root.Kind)
	}
	for i := 0; i < len(mid); {
		if mid[i].Kind == KindChannel {
			fmt.Fprintf(&b, " -> %s", mid[i].Name)
			i++
			continue
		}
		j := i
		for j < len(mid) && mid[j].Size == mid[i].Size && mid[j].Type == mid[i].Type && mid[j].Kind != KindChannel {
			j++
		}
		if j-i >= 3 {
			fmt.Fprintf(&b, " -> %s", chainName(j-i, mid[i]))
			i = j
			continue
		}
		fmt.Fprintf(&b, " -> %s", label(mid[i]))
		i++
	}
	return b.String()
}
