package symbolize

import "github.com/leakscope/leakscope/gobin"

import "testing"

func TestLoadBias(t *testing.T) {
	// Segments as Go's internal linker lays out a PIE binary: link-time
	// addresses from 0x400000, the data segment sharing no page.
	goPIE := []gobin.Segment{
		{Vaddr: 0x400000, Offset: 0, Filesz: 0xc70f0, Memsz: 0xc70f0, Exec: true},
		{Vaddr: 0x4c8000, Offset: 0xc8000, Filesz: 0x1002d8, Memsz: 0x1002d8},
		{Vaddr: 0x5c9000, Offset: 0x1c9000, Filesz: 0x30a48, Memsz: 0x30a48},
	}
	// As GNU ld lays out a PIE: from address 0.
	gccPIE := []gobin.Segment{
		{Vaddr: 0, Offset: 0, Filesz: 0x5f8, Memsz: 0x5f8},
		{Vaddr: 0x1000, Offset: 0x1000, Filesz: 0x1b5, Memsz: 0x1b5, Exec: true},
		{Vaddr: 0x2000, Offset: 0x2000, Filesz: 0xf4, Memsz: 0xf4},
		{Vaddr: 0x3df0, Offset: 0x2df0, Filesz: 0x220, Memsz: 0x228},
	}
	sharedPage := []gobin.Segment{
		{Vaddr: 0x400000, Offset: 0, Filesz: 0x1100, Memsz: 0x1100},
		{Vaddr: 0x401100, Offset: 0x1100, Filesz: 0x5000, Memsz: 0x5000, Exec: true},
	}
	// A fixed-address executable.
	exec := []gobin.Segment{
		{Vaddr: 0x400000, Offset: 0, Filesz: 0xc6d11, Memsz: 0xc6d11, Exec: true},
		{Vaddr: 0x4c7000, Offset: 0xc7000, Filesz: 0xff828, Memsz: 0xff828},
	}
	for _, tc := range []struct {
		name string
		m    Mapping
		segs []gobin.Segment
		want uint64
	}{
		{"exec text", Mapping{Start: 0x400000, End: 0x4c7000, Perms: "r-xp"}, exec, 0},
		{"exec rodata", Mapping{Start: 0x4c7000, End: 0x5c7000, Perms: "r--p", Offset: 0xc7000}, exec, 0},
		{"go pie text", Mapping{Start: 0x555555554000, End: 0x55555561c000, Perms: "r-xp"}, goPIE, 0x555555554000 - 0x400000},
		{"go pie rodata", Mapping{Start: 0x55555561c000, End: 0x55555571d000, Perms: "r--p", Offset: 0xc8000}, goPIE, 0x555555554000 - 0x400000},
		{"gcc pie text", Mapping{Start: 0x5581a3e01000, End: 0x5581a3e02000, Perms: "r-xp", Offset: 0x1000}, gccPIE, 0x5581a3e00000},
		// A read-only and a code segment sharing a file page: the
		// mapping's permissions pick the code one.
		{"shared page", Mapping{Start: 0x7f0000401000, End: 0x7f0000407000, Perms: "r-xp", Offset: 0x1000}, sharedPage, 0x7f0000000000},
		// mprotect can split a mapping: a later piece starts at a
		// larger offset.
		{"split text", Mapping{Start: 0x555555560000, End: 0x55555561c000, Perms: "r-xp", Offset: 0xc000}, goPIE, 0x555555554000 - 0x400000},
	} {
		got, err := LoadBias(tc.m, tc.segs)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: bias %#x, want %#x", tc.name, got, tc.want)
		}
	}
	if _, err := LoadBias(Mapping{Start: 0x1000, End: 0x2000, Perms: "r-xp", Offset: 0x900000}, goPIE); err == nil {
		t.Error("LoadBias found a segment for an offset past the file's segments")
	}
}
