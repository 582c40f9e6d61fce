package report

import (
	"compress/gzip"
	"io"
	"sync"

	"github.com/google/pprof/profile"
)

// gzipWriters reuses gzip writers across profile writes. profile.Write
// makes a new one per call, and a compressor holds ~1 MB of tables:
// writing every target's profiles each interval made 50 watched targets
// allocate 6 MB/s of them (three quarters of leakscope's allocations). A
// pool is a cache, not state: any writer in it is as good as a new one.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}

// gzipProfile writes p gzipped, as profile.Write does (the same bytes),
// through a pooled writer.
func gzipProfile(p *profile.Profile) func(io.Writer) error {
	return func(w io.Writer) error {
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(w)
		err := p.WriteUncompressed(zw)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		gzipWriters.Put(zw)
		return err
	}
}
