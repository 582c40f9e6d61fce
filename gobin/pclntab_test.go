package gobin

import (
	"encoding/binary"
	"testing"
)

func TestPCValue(t *testing.T) {
	// At the entry 0x1000 the value goes -1 -> 10 (delta +11, zig-zag 22)
	// for 4 instructions, then 10 -> 8 (delta -2, zig-zag 3) for 0x90
	// instructions (a two-byte varint), then the table ends.
	tab := &pclntab{quantum: 1, pctab: []byte{0xff, 22, 4, 3, 0x90, 0x01, 0}}
	for _, tc := range []struct {
		pc   uint64
		want int32
	}{
		{0x1000, 10}, {0x1003, 10}, {0x1004, 8}, {0x1093, 8},
		{0x1094, -1}, // past the table
	} {
		if got := tab.pcValue(1, 0x1000, tc.pc); got != tc.want {
			t.Errorf("pcValue(%#x) = %d, want %d", tc.pc, got, tc.want)
		}
	}
	if got := tab.pcValue(0, 0x1000, 0x1000); got != -1 {
		t.Errorf("pcValue of table 0 = %d, want -1 (no table)", got)
	}
	// Instructions of 4 bytes (arm64) scale the pc deltas.
	tab.quantum = 4
	if got := tab.pcValue(1, 0x1000, 0x100f); got != 10 {
		t.Errorf("quantum 4: pcValue(0x100f) = %d, want 10", got)
	}
	// Truncated tables and overlong varints end the walk.
	for _, bad := range [][]byte{{0xff, 22}, {0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 4}, {0xff}} {
		tab := &pclntab{quantum: 1, pctab: bad}
		if got := tab.pcValue(1, 0x1000, 0x1000); got != -1 {
			t.Errorf("pcValue on %x = %d, want -1", bad, got)
		}
	}
}

func TestParsePclntabRejects(t *testing.T) {
	hdr := func(magic uint32, minLC, ptrSize byte) []byte {
		b := make([]byte, 200)
		binary.LittleEndian.PutUint32(b, magic)
		b[6], b[7] = minLC, ptrSize
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"go1.16", hdr(magic116, 1, 8)},
		{"go1.2", hdr(magic12, 1, 8)},
		{"not go", hdr(0x12345678, 1, 8)},
		{"bad quantum", hdr(magic120, 3, 8)},
		{"bad pointer size", hdr(magic120, 1, 2)},
		{"offsets zero", hdr(magic120, 1, 8)},
	} {
		if _, err := parsePclntab(tc.data, 0, binary.LittleEndian); err == nil {
			t.Errorf("%s: parsePclntab accepted it", tc.name)
		}
	}
}

func TestFuncNameForPrint(t *testing.T) {
	for in, want := range map[string]string{
		"main.f":                        "main.f",
		"main.twice[go.shape.int]":      "main.twice[...]",
		"main.(*T[go.shape.int]).m":     "main.(*T[...]).m",
		"main.g[go.shape.int].func1":    "main.g[...].func1",
		"main.h[go.shape.[2]int,bool]x": "main.h[...]x",
		"odd]name[":                     "odd]name[",
	} {
		if got := funcNameForPrint(in); got != want {
			t.Errorf("funcNameForPrint(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestForEachNote(t *testing.T) {
	note := func(name string, typ uint32, desc []byte) []byte {
		pad := func(b []byte) []byte {
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
			return b
		}
		var b []byte
		b = binary.LittleEndian.AppendUint32(b, uint32(len(name)+1))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
		b = binary.LittleEndian.AppendUint32(b, typ)
		b = append(b, pad(append([]byte(name), 0))...)
		return append(b, pad(desc)...)
	}
	data := append(note("Go", ntGoBuildID, []byte("abc/def")), note("GNU", ntGNUBuildID, []byte{0xde, 0xad, 0xbe, 0xef})...)
	var got []string
	forEachNote(data, binary.LittleEndian, func(name string, typ uint32, desc []byte) {
		got = append(got, name+":"+string(desc))
	})
	if len(got) != 2 || got[0] != "Go:abc/def" || got[1] != "GNU:\xde\xad\xbe\xef" {
		t.Errorf("notes = %q", got)
	}
	// Every truncation is survived.
	for i := range data {
		forEachNote(data[:i], binary.LittleEndian, func(string, uint32, []byte) {})
	}
}
