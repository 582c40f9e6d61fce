// Package goroutinetest holds checks of the goroutines package that both
// its tests and make matrix run on reference builds.
package goroutinetest

import (
	"debug/elf"
	"fmt"

	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/goroutines"
	"github.com/leakscope/leakscope/internal/testutil"
)

// CheckStrippedRoots builds the empty program with b, with and without
// -s -w, and checks that decoding the stripped one finds the symbols of
// the other among at most 8 candidate pairs.
func CheckStrippedRoots(work string, b testutil.GoBuild) error {
	full, err := testutil.BuildEmptyProgram(work, b)
	if err != nil {
		return err
	}
	b.LDFlags = "-s -w"
	stripped, err := testutil.BuildEmptyProgram(work, b)
	if err != nil {
		return err
	}
	want, err := roots(full)
	if err != nil {
		return err
	}
	if len(want) != 1 || want[0].How != "symbol table" {
		return fmt.Errorf("%s: unstripped build: %+v, want the symbol table's", b.Name(), want)
	}
	got, err := roots(stripped)
	if err != nil {
		return err
	}
	if len(got) > 8 {
		return fmt.Errorf("%s: %d candidate pairs, want at most 8", b.Name(), len(got))
	}
	// Sections may start elsewhere once stripped: compare offsets in them.
	wa, wl, err := sectionOffsets(full, want[0])
	if err != nil {
		return err
	}
	for _, c := range got {
		ga, gl, err := sectionOffsets(stripped, c)
		if err != nil {
			return err
		}
		if ga == wa && gl == wl {
			return nil
		}
	}
	return fmt.Errorf("%s: decoded candidates %+v lack allgs %s allglen %s", b.Name(), got, wa, wl)
}

// sectionOffsets names where r's addresses are as "section+offset".
func sectionOffsets(path string, r goroutines.Roots) (allgs, allglen string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	at := func(a uint64) string {
		for _, s := range f.Sections {
			if s.Flags&elf.SHF_ALLOC != 0 && a >= s.Addr && a < s.Addr+s.Size {
				return fmt.Sprintf("%s+%#x", s.Name, a-s.Addr)
			}
		}
		return fmt.Sprintf("%#x", a)
	}
	return at(r.Allgs), at(r.Allglen), nil
}

func roots(path string) ([]goroutines.Roots, error) {
	b, err := gobin.Open(path)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return goroutines.CandidateRoots(goroutines.FromGobin(b))
}
