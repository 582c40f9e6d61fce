package gobin

import (
	"debug/elf"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// runtimeVar says how to find one of the runtime's global variables in a
// binary, with or without symbols. Stripped binaries keep no data symbols,
// but the runtime's own code still loads the variable: the address comes
// from decoding the references in the functions that read it, and a
// symbol, when there is one, must agree with it.
//
// runtime.MemProfileRate is the first such variable; the goroutine list
// (runtime.allgs, runtime.allglen) is found the same way: a runtimeVar
// with its readers and its own test of what a candidate looks like.
type runtimeVar struct {
	name string // the symbol, e.g. "runtime.MemProfileRate"
	// readers are functions whose code references the variable, in
	// stages: the first stage that yields a candidate decides, and it
	// must yield exactly one. A reader absent from the binary (renamed,
	// or inlined everywhere) is passed over.
	readers [][]string
	// is reports whether an address some reader references is the
	// variable (its section, its initial value...); what says the same
	// in words, for errors and provenance ("the .noptrdata global
	// holding 524288").
	is   func(src hookSource, addr uint64) bool
	what string
	// validSymbol checks a symbol before it is believed; symbolShape
	// says what it wants, for the error.
	validSymbol func(src hookSource, sym elf.Symbol) bool
	symbolShape string
	// fallback, if not nil, decodes the variable another way when no
	// reader references a match and fallbackWhen says it applies.
	fallback     func(src hookSource) (uint64, string, error)
	fallbackWhen func(src hookSource) bool
}

// locateVar finds v. It prefers the symbol, but always decodes too: a
// disagreement means one of the two methods is wrong for this binary.
func locateVar(src hookSource, v runtimeVar) (addr uint64, why string, err error) {
	decoded, why, decErr := decodeVar(src, v)
	sym, ok := src.dataSymbol(v.name)
	if !ok {
		if decErr != nil {
			return 0, "", decErr
		}
		return decoded, why, nil
	}
	if v.validSymbol != nil && !v.validSymbol(src, sym) {
		return 0, "", fmt.Errorf("symbol %s at %#x (size %d) is not %s", v.name, sym.Value, sym.Size, v.symbolShape)
	}
	switch {
	case decErr != nil:
		return 0, "", fmt.Errorf("symbol %s is at %#x but decoding failed: %w", v.name, sym.Value, decErr)
	case decoded != sym.Value:
		return 0, "", fmt.Errorf("%s: symbol says %#x, decoding says %#x", v.name, sym.Value, decoded)
	}
	return sym.Value, "symbol " + v.name + "; " + why + " agrees", nil
}

// decodeVar finds v without symbols: through its readers, else its
// fallback.
func decodeVar(src hookSource, v runtimeVar) (uint64, string, error) {
	addr, why, err := referencedVar(src, v)
	if err != nil && errors.Is(err, ErrNotFound) && v.fallback != nil && v.fallbackWhen(src) {
		return v.fallback(src)
	}
	return addr, why, err
}

// referencedVar: among the globals that v's readers reference, the one
// that v.is accepts. Exactly one must qualify in the first stage that has
// any.
func referencedVar(src hookSource, v runtimeVar) (addr uint64, why string, err error) {
	var all []string
	for _, stage := range v.readers {
		all = append(all, stage...)
		cands := map[uint64][]string{}
		for _, name := range stage {
			fn, err := src.Function(name)
			if err != nil {
				continue // absent in this version, or inlined everywhere
			}
			refs, err := codeRefs(src, fn)
			if err != nil {
				return 0, "", err
			}
			for _, r := range refs {
				if v.is(src, r) {
					cands[r] = append(cands[r], name)
				}
			}
		}
		switch len(cands) {
		case 0:
			continue
		case 1:
			for a, fns := range cands {
				return a, fmt.Sprintf("decoded from %s: the %s", fns[0], v.what), nil
			}
		default:
			addrs := make([]uint64, 0, len(cands))
			for a := range cands {
				addrs = append(addrs, a)
			}
			sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
			return 0, "", fmt.Errorf("%s is ambiguous: %d candidates %#x", v.name, len(addrs), addrs)
		}
	}
	return 0, "", fmt.Errorf("%s: no %s is referenced by %s: %w", v.name, v.what, strings.Join(all, ", "), ErrNotFound)
}

// functionRefs lists the absolute addresses that the code of the named
// function loads from or takes the address of. The error wraps
// ErrNotFound when the binary has no such function.
func functionRefs(src hookSource, name string) ([]uint64, error) {
	fn, err := src.Function(name)
	if err != nil {
		return nil, err
	}
	return codeRefs(src, fn)
}

// codeRefs lists the absolute addresses that the code of fn loads from or
// takes the address of.
func codeRefs(src hookSource, fn Func) ([]uint64, error) {
	code, err := src.Code(fn)
	if err != nil {
		return nil, err
	}
	refs, err := globalRefs(src.Arch(), code, fn.Entry)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name, err)
	}
	return refs, nil
}
