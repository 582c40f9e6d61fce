package testutil

import (
	"fmt"
	"os"

	"github.com/google/pprof/profile"
)

// SiteCounts reads a leak profile written by leakscope and sums, over the
// samples whose leaf frame (the leak site) is fn, the sampled objects
// allocated and those still live.
func SiteCounts(path, fn string) (allocs, inuse int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	prof, err := profile.Parse(f)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	idx := map[string]int{}
	for i, st := range prof.SampleType {
		idx[st.Type] = i
	}
	ai, ok1 := idx["alloc_objects"]
	ii, ok2 := idx["inuse_objects"]
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("%s: no alloc_objects/inuse_objects sample types", path)
	}
	for _, s := range prof.Sample {
		if len(s.Location) == 0 || len(s.Location[0].Line) == 0 || s.Location[0].Line[0].Function.Name != fn {
			continue
		}
		allocs += s.Value[ai]
		inuse += s.Value[ii]
	}
	return allocs, inuse, nil
}
