package analysis

import "slices"

// suspect renders g as a Suspect.
func (g *group) suspect() Suspect {
	s := Suspect{
		Function:             unknownFunction,
		LiveBytes:            g.cur.liveBytes,
		LiveObjects:          g.cur.liveObjects,
		OldBytes:             int64(g.cur.pt.old),
		AllocBytes:           g.cur.allocBytes,
		AllocObjects:         g.cur.allocObjects,
		GrowthBytesPerSecond: g.evidence.SlopeBytesPerSecond,
		MedianAgeGCCycles:    g.cur.ages.medianLive(),
		Score:                g.score,
		Verdict:              g.verdict,
		FirstLeakAt:          g.firstLeak,
		Evidence:             g.evidence,
		StackIDs:             slices.Sorted(slices.Values(g.ids)),
		Stack:                make([]string, 0, len(g.frames)),
	}
	if len(g.frames) > 0 {
		f := g.frames[0]
		s.Function, s.File, s.Line = funcName(f), f.File, f.Line
	}
	for _, f := range g.frames {
		s.Stack = append(s.Stack, formatFrame(f))
	}
	return s
}
