package gobin

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"testing"
)

// ownPclntab is the .gopclntab of the running test binary: a real table
// to seed the fuzzer with, without committing megabytes.
func ownPclntab(f *testing.F) []byte {
	exe, err := os.Executable()
	if err != nil {
		f.Fatal(err)
	}
	ef, err := elf.Open(exe)
	if err != nil {
		f.Fatal(err)
	}
	defer ef.Close()
	sec := ef.Section(".gopclntab")
	if sec == nil {
		f.Fatal("test binary has no .gopclntab")
	}
	data, err := sec.Data()
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzPclntab feeds arbitrary tables to the pclntab reader and looks up
// functions, names, files and lines in what it accepts: errors and
// misses are fine, panics and runaway reads are not.
func FuzzPclntab(f *testing.F) {
	real := ownPclntab(f)
	f.Add(real, uint64(0x401000))
	f.Add(real[:min(len(real), 4096)], uint64(0x401000))
	f.Add(real[:min(len(real), 64)], uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, text uint64) {
		tab, err := parsePclntab(data, 0, binary.LittleEndian)
		if err != nil {
			return
		}
		tab.text = text
		for i := 0; i <= tab.nfunc && i < 64; i++ {
			entry, _ := tab.ftabEntry(i)
			for _, pc := range []uint64{text + uint64(entry), text + uint64(entry) + 1} {
				fn, ok := tab.findFunc(pc)
				if !ok {
					continue
				}
				_ = tab.funcName(fn.nameOff)
				_, _ = tab.fileLine(fn, pc)
				_ = tab.pcValue(fn.pcln, fn.entry, pc)
				_, _ = tab.funcdataOff(fn, funcdataInlTree)
				_ = tab.pcdataOff(fn, pcdataInlTreeIndex)
			}
		}
	})
}
