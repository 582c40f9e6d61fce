package crosscheck

import (
	"bytes"
	"testing"

	"github.com/google/pprof/profile"
)

// testSite is one stack of a synthetic heap profile, innermost first.
type testSite struct {
	frames       []string
	inuseObjects int64
	inuseBytes   int64
}

// heapProfile builds a gzipped heap profile as runtime/pprof writes it.
func heapProfile(t testing.TB, period int64, sites ...testSite) []byte {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"},
		},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:     period,
	}
	funcs := map[string]*profile.Function{}
	for _, s := range sites {
		var locs []*profile.Location
		for _, name := range s.frames {
			fn := funcs[name]
			if fn == nil {
				fn = &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name, Filename: "x.go"}
				funcs[name] = fn
				p.Function = append(p.Function, fn)
			}
			loc := &profile.Location{ID: uint64(len(p.Location) + 1), Address: 0x1000 + uint64(len(p.Location)), Line: []profile.Line{{Function: fn, Line: 1}}}
			p.Location = append(p.Location, loc)
			locs = append(locs, loc)
		}
		p.Sample = append(p.Sample, &profile.Sample{
			Location: locs,
			Value:    []int64{s.inuseObjects, s.inuseBytes, s.inuseObjects, s.inuseBytes},
		})
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
