package crosscheck

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// Heap is the per-site summary of one heap profile. Only this is kept,
// never the profile itself.
type Heap struct {
	// FetchedAt is when the response headers came: just after the
	// target read its profile.
	FetchedAt time.Time
	// Period is the MemProfileRate the target scaled its profile with.
	Period int64
	// Sites holds the in-use values by stack (function names from the
	// innermost frame outward, as the runtime hides its own frames).
	Sites map[string]Site
	// Dropped counts stacks left out beyond the cap (their bytes are in
	// DroppedBytes).
	Dropped      int
	DroppedBytes int64
}

// Site is the in-use part of one stack in a heap profile.
type Site struct {
	Frames       []string
	InuseBytes   int64
	InuseObjects int64
}

// siteKey joins function names; names hold no newline.
func siteKey(frames []string) string { return strings.Join(frames, "\n") }

// summarize keeps the in-use values of p per stack, at most maxSites.
func summarize(p *profile.Profile, maxSites int) (*Heap, error) {
	space, objects := -1, -1
	for i, st := range p.SampleType {
		switch st.Type {
		case "inuse_space":
			space = i
		case "inuse_objects":
			objects = i
		}
	}
	if space < 0 {
		var types []string
		for _, st := range p.SampleType {
			types = append(types, st.Type)
		}
		return nil, fmt.Errorf("not a heap profile (sample types %v)", types)
	}
	h := &Heap{Period: p.Period, Sites: map[string]Site{}}
	for _, s := range p.Sample {
		if space >= len(s.Value) {
			return nil, errors.New("malformed heap profile: short sample")
		}
		frames := sampleFrames(s)
		k := siteKey(frames)
		site, ok := h.Sites[k]
		if !ok && len(h.Sites) >= maxSites {
			h.Dropped++
			h.DroppedBytes += s.Value[space]
			continue
		}
		site.Frames = frames
		site.InuseBytes += s.Value[space]
		if objects >= 0 && objects < len(s.Value) {
			site.InuseObjects += s.Value[objects]
		}
		h.Sites[k] = site
	}
	return h, nil
}

// sampleFrames lists s's functions innermost first, inlined frames
// expanded (a Location's first Line is its innermost function).
func sampleFrames(s *profile.Sample) []string {
	var out []string
	for _, loc := range s.Location {
		if len(loc.Line) == 0 {
			out = append(out, fmt.Sprintf("0x%x", loc.Address))
			continue
		}
		for _, l := range loc.Line {
			if l.Function != nil {
				out = append(out, l.Function.Name)
			}
		}
	}
	return out
}
