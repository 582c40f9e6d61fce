package gobin

import (
	"bytes"
	"debug/elf"
	"math/rand"
	"os"
	"testing"
)

// TestCorruptBinaries feeds damaged copies of a real binary to the decoder:
// it may reject them or return wrong frames, but must not panic, hang or
// allocate beyond the file.
func TestCorruptBinaries(t *testing.T) {
	for _, v := range []fixture{
		{GOARCH: "amd64"},
		{GOARCH: "amd64", PIE: true, LDFlags: ldStripped},
	} {
		t.Run(v.Name(), func(t *testing.T) {
			orig, err := os.ReadFile(buildFixture(t, v))
			if err != nil {
				t.Fatal(err)
			}
			if b, err := newBinary(bytes.NewReader(orig), int64(len(orig)), "orig"); err != nil {
				t.Fatal(err)
			} else if err := b.LoadFuncTable(); err != nil {
				t.Fatal(err)
			}
			// Damage where the decoder reads: the pclntab, the inline
			// trees after go:func.*, the data holding moduledata, and
			// the headers.
			f, err := elf.NewFile(bytes.NewReader(orig))
			if err != nil {
				t.Fatal(err)
			}
			var regions [][2]uint64 // file offset ranges
			for _, name := range []string{".gopclntab", ".rodata", ".noptrdata", ".rela"} {
				if s := f.Section(name); s != nil {
					regions = append(regions, [2]uint64{s.Offset, s.Offset + s.Size})
				}
			}
			regions = append(regions, [2]uint64{0, 0x1000})
			text := f.Section(".text")

			rng := rand.New(rand.NewSource(1))
			iterations := 150
			if testing.Short() {
				iterations = 20
			}
			accepted := 0
			for i := 0; i < iterations; i++ {
				data := bytes.Clone(orig)
				r := regions[rng.Intn(len(regions))]
				for j := 0; j < 1+rng.Intn(64); j++ {
					off := r[0] + uint64(rng.Int63n(int64(r[1]-r[0])))
					data[off] = byte(rng.Intn(256))
				}
				if i%10 == 0 {
					data = data[:rng.Intn(len(data))]
				}
				b, err := newBinary(bytes.NewReader(data), int64(len(data)), "damaged")
				if err != nil || b.LoadFuncTable() != nil {
					continue
				}
				accepted++
				// Walk addresses across the text with a stride, plus
				// ones far off.
				for pc := text.Addr; pc < text.Addr+text.Size; pc += 97 {
					b.Expand(pc)
					b.Expand(pc - 1)
				}
				b.Expand(0)
				b.Expand(^uint64(0))
				_, _ = b.Function("runtime.mallocgc")
			}
			t.Logf("%d of %d damaged copies decoded and queried", accepted, iterations)
		})
	}
}
