package retention_test

import (
	"testing"

	"github.com/leakscope/leakscope/internal/testutil"
)

// BenchmarkSearch times a search for the fixture's four objects in a heap
// with 100 MiB and 1 GiB of pointer-bearing ballast (each level reads and
// scans the whole of it). The figures are the machine's of the moment:
// compare only within one run.
func BenchmarkSearch(b *testing.B) {
	for _, c := range []struct {
		name string
		mb   string
	}{{"100MiB", "100"}, {"1GiB", "1024"}} {
		b.Run(c.name, func(b *testing.B) {
			h := startHolders(b, testutil.GoBuild{GOARCH: "amd64"}, "-ballast-mb", c.mb)
			addrs := []uint64{h.targets["map"], h.targets["slice"], h.targets["field"], h.targets["frame"]}
			var scanned uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := h.s.Search(addrs)
				if err != nil {
					b.Fatal(err)
				}
				found := 0
				for _, p := range res.Paths {
					if len(p.Hops) > 0 {
						found++
					}
				}
				b.ReportMetric(float64(found), "paths")
				if res.Cut {
					b.ReportMetric(1, "cut")
				}
				scanned = res.ScannedBytes
				b.ReportMetric(float64(res.Depth), "levels")
			}
			b.ReportMetric(float64(scanned)/(1<<20), "MiB-scanned/op")
		})
	}
}
