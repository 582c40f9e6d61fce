package analysis

import "slices"

// suspect renders g as a Suspect: named after its site (the first frame
// outside the runtime and the standard library), with the stack and line
// of its largest part, and the library functions that allocated for it.
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
	}
	frames, site := g.frames, 0
	if p := g.largest(); p != nil {
		frames, site = p.frames, p.site
	}
	if len(frames) > site {
		f := frames[site]
		s.Function, s.File, s.Line = funcName(f), f.File, f.Line
	}
	s.Stack = make([]string, 0, len(frames))
	for _, f := range frames {
		s.Stack = append(s.Stack, formatFrame(f))
	}
	for _, p := range g.parts {
		if p.site > 0 && (p.cur.liveObjects > 0 || p.cur.allocObjects > 0) {
			if fn := funcName(p.frames[0]); !slices.Contains(s.AllocatedIn, fn) {
				s.AllocatedIn = append(s.AllocatedIn, fn)
			}
		}
	}
	slices.Sort(s.AllocatedIn)
	return s
}
