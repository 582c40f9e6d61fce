package symbolize

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"sync"
)

// maxMemo bounds the per-binary cache of expanded PCs; it is simply
// emptied when full, since the hot set of a leak profile is small.
const maxMemo = 1 << 16

// Binary is the symbol table of one Go ELF executable, decoded from its
// pclntab, so it works on stripped, PIE and static binaries alike. It is
// safe for concurrent use and holds no open file.
type Binary struct {
	path      string
	goVersion string
	buildID   string
	elfType   elf.Type
	segments  []Segment

	tab        *pclntab
	gofuncData []byte // from go:func.* (moduledata.gofunc) to the end of its section
	ids        specialIDs

	mu   sync.Mutex
	memo map[uint64][]logicalFrame
}

// OpenBinary reads the symbol table of the Go executable at path, such as
// "/proc/PID/exe". It fails for non-ELF files, binaries without a Go
// pclntab, and pclntabs older than go1.18.
func OpenBinary(path string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening binary: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening binary: %w", err)
	}
	return readBinary(f, st.Size(), path)
}

// readBinary decodes the Go executable in r, which holds size bytes and
// was opened as path.
func readBinary(r io.ReaderAt, size int64, path string) (*Binary, error) {
	b, err := newBinary(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b.path = path
	return b, nil
}

// newBinary decodes a Go executable from r, which holds size bytes.
func newBinary(r io.ReaderAt, size int64) (*Binary, error) {
	im, err := newImage(r, size)
	if err != nil {
		return nil, err
	}
	b := &Binary{elfType: im.f.Type, memo: map[uint64][]logicalFrame{}}
	for _, p := range im.loads {
		b.segments = append(b.segments, Segment{
			Vaddr: p.Vaddr, Offset: p.Off, Filesz: p.Filesz, Memsz: p.Memsz,
			Exec: p.Flags&elf.PF_X != 0,
		})
	}
	b.buildID = readBuildID(im)
	if bi, err := buildinfo.Read(io.NewSectionReader(r, 0, size)); err == nil {
		b.goVersion = bi.GoVersion
	}

	data, addr, err := findPclntab(im)
	if err != nil {
		return nil, err
	}
	if b.tab, err = parsePclntab(data, addr, im.order); err != nil {
		return nil, err
	}
	md, err := findModuledata(im, b.tab)
	if err != nil {
		return nil, err
	}
	b.tab.text = md.text
	b.tab.trim(md.lens)
	if b.gofuncData, err = im.readRest(md.gofunc, uint64(size)); err != nil {
		return nil, fmt.Errorf("reading go:func.*: %w", err)
	}
	b.ids = findSpecialIDs(b.tab)
	return b, nil
}

// findPclntab returns the contents and link-time address of the pclntab:
// the .gopclntab section (.data.rel.ro.gopclntab in some PIE builds),
// else the runtime.pclntab symbol.
func findPclntab(im *image) ([]byte, uint64, error) {
	data, addr, err := im.section(".gopclntab", ".data.rel.ro.gopclntab")
	if err != nil || data != nil {
		return data, addr, err
	}
	syms, _ := im.f.Symbols()
	var start, end uint64
	for _, s := range syms {
		switch s.Name {
		case "runtime.pclntab":
			start = s.Value
		case "runtime.epclntab":
			end = s.Value
		}
	}
	if start == 0 || end <= start {
		return nil, 0, fmt.Errorf("no .gopclntab section: not a go binary")
	}
	data, err = im.read(start, end-start)
	return data, start, err
}

// Path returns the path the binary was opened from; for one shared by a
// Cache, the path it was first opened from.
func (b *Binary) Path() string { return b.path }

// GoVersion returns the toolchain that built the binary, such as
// "go1.26.8", or "" if the build information is missing.
func (b *Binary) GoVersion() string { return b.goVersion }

// BuildID returns the GNU build ID as "gnu:<hex>", else the Go build ID
// as "go:<id>", else "".
func (b *Binary) BuildID() string { return b.buildID }

// Type returns elf.ET_EXEC for fixed-address and elf.ET_DYN for
// position-independent executables.
func (b *Binary) Type() elf.Type { return b.elfType }

// Segments returns the loadable segments, for LoadBias.
func (b *Binary) Segments() []Segment { return append([]Segment(nil), b.segments...) }

// Frames returns the source frames at the link-time address pc, innermost
// first, one per inlined call and last the physical function; nil if pc is
// in no Go function. Use it for an address that is itself the instruction
// of interest, such as a probed function entry or a signal PC.
func (b *Binary) Frames(pc uint64) []Frame {
	return toFrames(b.selectFrames(b.expandMemo(pc), 0, false), pc)
}

// FramesForReturnAddress returns the frames for a return address from a
// stack walk: it looks up ra-1, the last byte of the call instruction,
// because ra may already belong to the next source line or even the next
// function. Frame.PC is ra.
func (b *Binary) FramesForReturnAddress(ra uint64) []Frame {
	return toFrames(b.selectFrames(b.expandMemo(ra-1), 0, false), ra)
}

// expandMemo is expand with a bounded memo: stacks repeat a lot.
func (b *Binary) expandMemo(pc uint64) []logicalFrame {
	b.mu.Lock()
	chain, ok := b.memo[pc]
	b.mu.Unlock()
	if ok {
		return chain
	}
	chain = b.expand(pc)
	b.mu.Lock()
	if len(b.memo) >= maxMemo {
		b.memo = map[uint64][]logicalFrame{}
	}
	b.memo[pc] = chain
	b.mu.Unlock()
	return chain
}

func toFrames(chain []logicalFrame, pc uint64) []Frame {
	if len(chain) == 0 {
		return nil
	}
	frames := make([]Frame, len(chain))
	for i, lf := range chain {
		frames[i] = Frame{PC: pc, Function: lf.name, File: lf.file, Line: lf.line, Inlined: lf.inlined}
	}
	return frames
}
