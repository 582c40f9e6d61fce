package symbolize

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const sampleMaps = `00400000-004c7000 r-xp 00000000 fd:01 1234567                            /usr/local/bin/my app
004c7000-005c7000 r--p 000c7000 fd:01 1234567                            /usr/local/bin/my app
c000000000-c000400000 rw-p 00000000 00:00 0 
7f1c2a000000-7f1c2a028000 r--p 00000000 103:02 9437 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1c2a028000-7f1c2a1bd000 r-xp 00028000 103:02 9437 /usr/lib/x86_64-linux-gnu/libc.so.6
7ffd1c3f0000-7ffd1c411000 rw-p 00000000 00:00 0                          [stack]
7ffd1c5e5000-7ffd1c5e7000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
55d0c2a00000-55d0c2a01000 r-xp 00001000 08:01 42 /tmp/gone (deleted)
`

func TestParseMaps(t *testing.T) {
	maps, err := ParseMaps(strings.NewReader(sampleMaps))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{Start: 0x400000, End: 0x4c7000, Perms: "r-xp", Offset: 0, Major: 0xfd, Minor: 1, Inode: 1234567, Path: "/usr/local/bin/my app"},
		{Start: 0x4c7000, End: 0x5c7000, Perms: "r--p", Offset: 0xc7000, Major: 0xfd, Minor: 1, Inode: 1234567, Path: "/usr/local/bin/my app"},
		{Start: 0xc000000000, End: 0xc000400000, Perms: "rw-p"},
		{Start: 0x7f1c2a000000, End: 0x7f1c2a028000, Perms: "r--p", Major: 0x103, Minor: 2, Inode: 9437, Path: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{Start: 0x7f1c2a028000, End: 0x7f1c2a1bd000, Perms: "r-xp", Offset: 0x28000, Major: 0x103, Minor: 2, Inode: 9437, Path: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{Start: 0x7ffd1c3f0000, End: 0x7ffd1c411000, Perms: "rw-p", Path: "[stack]"},
		{Start: 0x7ffd1c5e5000, End: 0x7ffd1c5e7000, Perms: "r-xp", Path: "[vdso]"},
		{Start: 0xffffffffff600000, End: 0xffffffffff601000, Perms: "--xp", Path: "[vsyscall]"},
		{Start: 0x55d0c2a00000, End: 0x55d0c2a01000, Perms: "r-xp", Offset: 0x1000, Major: 8, Minor: 1, Inode: 42, Path: "/tmp/gone (deleted)"},
	}
	if !reflect.DeepEqual(maps, want) {
		t.Errorf("ParseMaps:\ngot  %+v\nwant %+v", maps, want)
	}
}

func TestParseMapsErrors(t *testing.T) {
	for _, line := range []string{
		"00400000 r-xp 00000000 fd:01 1 /x",          // no range
		"00400000-00300000 r-xp 00000000 fd:01 1 /x", // end before start
		"00400000-00400000 r-xp 00000000 fd:01 1 /x", // empty
		"00400000-00500000 rwx 00000000 fd:01 1 /x",  // short perms
		"00400000-00500000 rwzp 00000000 fd:01 1 /x", // bad perms
		"00400000-00500000 r-xp 0000000g fd:01 1 /x", // bad offset
		"00400000-00500000 r-xp 00000000 fd01 1 /x",  // bad device
		"00400000-00500000 r-xp 00000000 fd:01 -1 /x",
		"00400000-00500000 r-xp 00000000 fd:01", // truncated
		"10000000000000000-10000000000000001 r-xp 00000000 fd:01 1 /x",
	} {
		if _, err := ParseMaps(strings.NewReader(line + "\n")); !errors.Is(err, errMapsSyntax) {
			t.Errorf("ParseMaps(%q) error = %v, want a syntax error", line, err)
		}
	}
	long := "00400000-00500000 r-xp 00000000 fd:01 1 /" + strings.Repeat("a", maxMapsLine) + "\n"
	if _, err := ParseMaps(strings.NewReader(long)); err == nil {
		t.Error("ParseMaps accepted an overlong line")
	}
}

func TestParseMapsKeepsOddPaths(t *testing.T) {
	// Blanks inside and after the name and a trailing '\r' belong to it.
	in := "1000-2000 r-xp 00000000 00:00 7   /a b\t c \r\n"
	maps, err := ParseMaps(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := maps[0].Path, "/a b\t c \r"; got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}

// FuzzParseMaps checks that ParseMaps never panics on garbage, that what it
// accepts is well formed, and that formatting and parsing again gives the
// same mappings.
func FuzzParseMaps(f *testing.F) {
	f.Add([]byte(sampleMaps))
	f.Add([]byte("1000-2000 r-xp 00000000 00:00 7   /a b\t c \r\n"))
	f.Add([]byte("1-2 ---s 0 0:0 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		maps, err := ParseMaps(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		for _, m := range maps {
			if m.Start >= m.End || !validPerms(m.Perms) {
				t.Fatalf("accepted bad mapping %+v", m)
			}
			buf.WriteString(m.String())
			buf.WriteByte('\n')
		}
		again, err := ParseMaps(&buf)
		if err != nil {
			t.Fatalf("reparsing %q: %v", buf.String(), err)
		}
		if len(maps) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(maps, again) {
			t.Fatalf("round trip changed mappings:\n%+v\n%+v", maps, again)
		}
	})
}
