package goroutines_test

import (
	"fmt"
	"testing"

	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
)

// BenchmarkRead reads a process holding N parked goroutines (plus the
// fixture's leaks), as every interval does: allgs, the g structs, and the
// stacks (read once, then reused while the goroutines do not run).
//
//	go test -run '^$' -bench Read -benchtime 10x ./goroutines/
func BenchmarkRead(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dK", n/1000), func(b *testing.B) {
			f := startFixtureConfig(b, testutil.GoBuild{}, goroutines.Config{MaxGoroutines: 2 * n}, "-cases", "chansend,pool", "-park", fmt.Sprint(n))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				s, err := f.reader.Read()
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Goroutines) < n {
					b.Fatalf("read %d goroutines, want >= %d (dropped %v, skipped %d)", len(s.Goroutines), n, s.Dropped, s.Skipped)
				}
			}
		})
	}
}
