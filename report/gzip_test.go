package report

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/google/pprof/profile"
)

// TestWriteProfileReusesGzip: gzipProfile writes the bytes profile.Write
// writes, and once warm allocates far less than a compressor (~1 MB) per
// profile: leakscope writes every target's profiles each interval.
func TestWriteProfileReusesGzip(t *testing.T) {
	fn := &profile.Function{ID: 1, Name: "main.leak", SystemName: "main.leak", Filename: "main.go"}
	loc := &profile.Location{ID: 1, Address: 0x401000, Line: []profile.Line{{Function: fn, Line: 12}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}},
		Sample:     []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{1 << 20}}},
		Location:   []*profile.Location{loc},
		Function:   []*profile.Function{fn},
	}
	var want, got bytes.Buffer
	if err := p.Write(&want); err != nil {
		t.Fatal(err)
	}
	write := gzipProfile(p)
	if err := write(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("gzipProfile wrote %d bytes unlike profile.Write's %d", got.Len(), want.Len())
	}
	if _, err := profile.Parse(&got); err != nil {
		t.Fatalf("parsing what gzipProfile wrote: %v", err)
	}
	const n = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		got.Reset()
		if err := write(&got); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// A pool may lose its writer to a GC: allow one new compressor.
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 128<<10 {
		t.Errorf("%d bytes allocated per profile written, want at most 128 KiB (a new gzip writer is ~1 MB)", per)
	}
}
