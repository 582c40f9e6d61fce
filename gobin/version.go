package gobin

import (
	"debug/buildinfo"
	"encoding/binary"
	"io"
	"strings"
)

// maxVersionLen bounds the runtime.buildVersion string we are willing to read.
const maxVersionLen = 128

// readGoVersion returns the Go version that built b, or "".
//
// Order: debug/buildinfo (the .go.buildinfo blob every Go >= 1.13 binary
// carries, stripped or not), then the runtime.buildVersion string found
// through .symtab. There is no blind scan of .rodata for "go1.": strings
// such as error messages would make it guess wrong, and ResolveHooks can
// derive what it needs from the code when the version is unknown.
func (b *Binary) readGoVersion() string {
	var v string
	_ = safely("read buildinfo", func() error {
		bi, err := buildinfo.Read(io.NewSectionReader(b.im.r, 0, b.im.size))
		if err == nil && bi != nil {
			v = bi.GoVersion
		}
		return nil
	})
	if v != "" {
		return v
	}
	return b.buildVersionSymbol()
}

// buildVersionSymbol reads runtime.buildVersion, a Go string header
// (pointer, length) that points at the version text.
func (b *Binary) buildVersionSymbol() string {
	sym, ok := b.dataSymbol("runtime.buildVersion")
	if !ok {
		return ""
	}
	hdr, err := b.readVaddr(sym.Value, 16)
	if err != nil {
		return ""
	}
	ptr := binary.LittleEndian.Uint64(hdr)
	n := binary.LittleEndian.Uint64(hdr[8:])
	if n == 0 || n > maxVersionLen {
		return ""
	}
	s, err := b.readVaddr(ptr, n)
	if err != nil {
		return ""
	}
	if _, _, ok := ParseGoVersion(string(s)); !ok {
		return ""
	}
	return string(s)
}

// ParseGoVersion extracts the release from a Go version string: "go1.26.8",
// "go1.21rc2", "go1.24.0 X:boringcrypto" and "devel go1.27-abcdef ..." all
// parse; ok is false for anything else.
func ParseGoVersion(s string) (major, minor int, ok bool) {
	s = strings.TrimPrefix(s, "devel ")
	rest, found := strings.CutPrefix(s, "go")
	if !found {
		return 0, 0, false
	}
	major, rest, ok = leadingInt(rest)
	if !ok || !strings.HasPrefix(rest, ".") {
		return 0, 0, false
	}
	// Whatever follows the minor (".8", "rc2", "-abcdef", " X:...") is
	// not needed.
	minor, _, ok = leadingInt(rest[1:])
	if !ok {
		return 0, 0, false
	}
	return major, minor, true
}

// leadingInt parses a small decimal prefix (at most 4 digits, so it cannot
// overflow).
func leadingInt(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && i < 5 && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || i > 4 {
		return 0, s, false
	}
	return n, s[i:], true
}

// KnownVersion reports whether v is a release in leakscope's tables
// (checked against real builds of it). A binary of any other version is
// watched only when every hook and constant verifies by decoding alone.
func KnownVersion(v string) bool {
	major, minor, ok := ParseGoVersion(v)
	if !ok {
		return false
	}
	_, known := knownSpecialKind(major, minor)
	return known
}
