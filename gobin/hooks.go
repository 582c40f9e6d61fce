package gobin

import (
	"debug/elf"
	"errors"
	"fmt"
)

// minGoMinor is the oldest Go 1.x release whose runtime layout and register
// ABI this package has been checked against.
const minGoMinor = 19

// Hook is one uprobe site.
type Hook struct {
	Name       string // function name, e.g. "runtime.freeSpecial"
	Func       Func
	AttachAddr uint64 // link-time address of the probed instruction
	FileOffset uint64 // the same, as a file offset (UprobeOptions.Address)
	Why        string // which instruction, e.g. "at PUSHQ BP (+0x9)"
}

// Hooks is everything leakscope needs to probe one binary.
type Hooks struct {
	GoVersion string // "" when unknown

	ProfileAlloc      Hook // runtime.profilealloc(mp, x, size): the sampling path; checked, not probed
	SetProfileBucket  Hook // runtime.setprofilebucket(p, b): the sample got its special
	FreeSpecial       Hook // runtime.freeSpecial(s, p, size): any special freed
	GCMarkTermination Hook // runtime.gcMarkTermination: once per GC cycle

	SpecialKindOffset  uint16 // offset of the kind byte inside runtime.special
	SpecialKindProfile uint8  // kind value meaning "profile special"
	SpecialKindWhy     string

	MemProfileRateAddr uint64 // link-time address of runtime.MemProfileRate (8-byte int)
	MemProfileRateWhy  string
}

// hookSource is what ResolveHooks reads from a binary; tests substitute a
// doctored one.
type hookSource interface {
	Arch() string
	GoVersion() string
	Function(name string) (Func, error)
	Code(f Func) ([]byte, error)
	FileOffset(vaddr uint64) (uint64, error)
	dataSymbol(name string) (elf.Symbol, bool)
	sectionName(vaddr, n uint64) string
	readVaddr(vaddr, n uint64) ([]byte, error)
}

func (b *Binary) sectionName(vaddr, n uint64) string {
	if s := b.sectionHolding(vaddr, n); s != nil {
		return s.Name
	}
	return ""
}

// ResolveHooks finds the four hook sites, the special-kind constants and
// runtime.MemProfileRate, all by decoding the binary's own code, and
// cross-checks them against the version table and the symbol table.
func (b *Binary) ResolveHooks() (*Hooks, error) { return resolveHooks(b) }

func resolveHooks(img hookSource) (*Hooks, error) {
	h := &Hooks{GoVersion: img.GoVersion()}
	if major, minor, ok := ParseGoVersion(h.GoVersion); ok && major == 1 && minor < minGoMinor {
		return nil, fmt.Errorf("%s is older than go1.%d, the oldest supported release", h.GoVersion, minGoMinor)
	}
	sites := []struct {
		dst     *Hook
		name    string
		purpose string
	}{
		{&h.ProfileAlloc, "runtime.profilealloc", "cannot watch sampled allocations"},
		{&h.SetProfileBucket, "runtime.setprofilebucket", "cannot confirm sampled allocations"},
		{&h.FreeSpecial, "runtime.freeSpecial", "cannot watch frees"},
		{&h.GCMarkTermination, "runtime.gcMarkTermination", "cannot count GC cycles"},
	}
	for _, s := range sites {
		hook, err := resolveHook(img, s.name)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("%s %w: %s", s.name, ErrNotFound, s.purpose)
			}
			return nil, fmt.Errorf("%s: %s: %w", s.name, s.purpose, err)
		}
		*s.dst = hook
	}
	kind, why, err := resolveSpecialKind(img, h.SetProfileBucket.Func, h.GoVersion)
	if err != nil {
		return nil, err
	}
	h.SpecialKindOffset, h.SpecialKindProfile, h.SpecialKindWhy = kind.Offset, kind.Value, why
	if h.MemProfileRateAddr, h.MemProfileRateWhy, err = resolveMemProfileRate(img); err != nil {
		return nil, err
	}
	return h, nil
}

// Hook finds the probe site of any Go function of the binary the way
// ResolveHooks does for the runtime's: after the stack check, on the frame
// setup.
func (b *Binary) Hook(name string) (Hook, error) { return resolveHook(b, name) }

func resolveHook(img hookSource, name string) (Hook, error) {
	fn, err := img.Function(name)
	if err != nil {
		return Hook{}, err
	}
	code, err := img.Code(fn)
	if err != nil {
		return Hook{}, err
	}
	ap, err := findAttachPoint(img.Arch(), code, fn.Entry)
	if err != nil {
		return Hook{}, fmt.Errorf("prologue: %w", err)
	}
	addr := fn.Entry + ap.off
	off, err := img.FileOffset(addr)
	if err != nil {
		return Hook{}, err
	}
	return Hook{Name: name, Func: fn, AttachAddr: addr, FileOffset: off, Why: ap.why}, nil
}

// resolveSpecialKind decodes the kind store in setprofilebucket. For a
// version in the table the decoded value must equal the table's; otherwise
// it is trusted only when exactly one candidate was found.
func resolveSpecialKind(img hookSource, fn Func, version string) (specialKind, string, error) {
	code, err := img.Code(fn)
	if err != nil {
		return specialKind{}, "", err
	}
	found, err := kindStores(img.Arch(), code, fn.Entry)
	if err != nil {
		return specialKind{}, "", fmt.Errorf("decode %s: %w", fn.Name, err)
	}
	if major, minor, ok := ParseGoVersion(version); ok {
		if want, known := knownSpecialKind(major, minor); known {
			if len(found) != 1 || found[0] != want {
				return specialKind{}, "", fmt.Errorf("special kind for %s: %s stores %v, but the table says %v", version, fn.Name, found, want)
			}
			return want, fmt.Sprintf("decoded from %s, matches the table for %s", fn.Name, version), nil
		}
	}
	if len(found) != 1 {
		v := version
		if v == "" {
			v = "an unknown Go version"
		}
		return specialKind{}, "", fmt.Errorf("cannot verify special kind for %s: %s has %d candidate byte stores %v", v, fn.Name, len(found), found)
	}
	return found[0], fmt.Sprintf("decoded from %s (the only candidate; %q is not in the table)", fn.Name, version), nil
}
