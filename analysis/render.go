package analysis

import "slices"

// suspect renders g as a Suspect: named after its leak site (the first
// frame outside the runtime and the standard library), with the library
// function that allocated for it, if any, as AllocatedIn.
func (g *group) suspect() Suspect {
	s := Suspect{
		Function:             unknownFunction,
		LiveBytes:            g.cur.liveBytes,
		LiveObjects:          g.cur.liveObjects,
		OldBytes:             int64(g.cur.pt.old),
		AllocBytes:           g.cur.allocBytes,
		AllocObjects:         g.cur.allocObjects,
		GrowthBytesPerSecond: g.evidence.GrowthBytesPerSecond,
		MedianAgeGCCycles:    g.cur.ages.medianLive(),
		Score:                g.score,
		Verdict:              g.verdict,
		Reason:               g.evidence.Reason,
		FirstLeakAt:          g.firstLeak,
		Evidence:             g.evidence,
		StackIDs:             slices.Sorted(slices.Values(g.ids)),
		Stack:                make([]string, 0, len(g.frames)),
	}
	if len(g.frames) > g.site {
		f := g.frames[g.site]
		s.Function, s.File, s.Line = funcName(f), f.File, f.Line
	}
	if g.site > 0 {
		s.AllocatedIn = []string{funcName(g.frames[0])}
	}
	for _, f := range g.frames {
		s.Stack = append(s.Stack, formatFrame(f))
	}
	return s
}
