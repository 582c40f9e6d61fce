package symbolize

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
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

// FuzzOpenBinary feeds arbitrary files to OpenBinary (ELF, build id,
// moduledata search, pclntab) and symbolizes a few addresses in what it
// accepts.
func FuzzOpenBinary(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Add(bytes.Repeat([]byte{0}, 64))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "bin")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := OpenBinary(path)
		if err != nil {
			return
		}
		_ = b.GoVersion() + b.BuildID()
		for _, s := range b.Segments() {
			_ = b.Frames(s.Vaddr)
			_ = b.FramesForReturnAddress(s.Vaddr + 1)
		}
	})
}
