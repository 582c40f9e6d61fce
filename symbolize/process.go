package symbolize

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/leakscope/leakscope/gobin"
)

// Process symbolizes addresses of one running process: its main executable
// through the Go symbol table, everything else by mapping and offset.
type Process struct {
	pid int
	exe *gobin.Binary

	mu   sync.RWMutex
	maps []procMapping // sorted by Start
}

// procMapping is a Mapping with what Symbolize needs precomputed.
type procMapping struct {
	Mapping
	exe  bool   // maps the main executable
	bias uint64 // run-time minus link-time address, if exe
}

// OpenProcess reads the executable and the mappings of pid. The executable
// comes from cache, which opens each executable once however many
// processes (and users of one process) need it. With a nil cache the
// executable is read for this process alone, and its file closed once the
// function table is in memory. It fails if the executable is not a Go
// binary whose function table gobin can read.
func OpenProcess(pid int, cache *gobin.Cache) (*Process, error) {
	exe, err := openExecutable("/proc/"+strconv.Itoa(pid)+"/exe", cache)
	if err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	p := &Process{pid: pid, exe: exe}
	if err := p.Refresh(); err != nil {
		return nil, err
	}
	return p, nil
}

// openExecutable reads the executable at path through cache, or alone.
func openExecutable(path string, cache *gobin.Cache) (*gobin.Binary, error) {
	if cache != nil {
		exe, err := cache.Open(path)
		if err != nil {
			return nil, err
		}
		return exe, exe.LoadFuncTable()
	}
	exe, err := gobin.Open(path)
	if err != nil {
		return nil, err
	}
	err = exe.LoadFuncTable()
	// Symbolizing reads nothing from the file after the function table.
	if cerr := exe.Close(); err == nil {
		err = cerr
	}
	return exe, err
}

// PID returns the process ID.
func (p *Process) PID() int { return p.pid }

// Executable returns the reader of the main executable.
func (p *Process) Executable() *gobin.Binary { return p.exe }

// Refresh rereads /proc/PID/maps, to see libraries loaded since.
func (p *Process) Refresh() error {
	dir := "/proc/" + strconv.Itoa(p.pid)
	f, err := os.Open(dir + "/maps")
	if err != nil {
		return fmt.Errorf("process %d: %w", p.pid, err)
	}
	defer f.Close()
	maps, err := ParseMaps(f)
	if err != nil {
		return fmt.Errorf("process %d: %w", p.pid, err)
	}
	id := exeIdentity(dir + "/exe")
	pms, err := newProcMappings(maps, p.exe, id.matches)
	if err != nil {
		return fmt.Errorf("process %d: %w", p.pid, err)
	}
	p.mu.Lock()
	p.maps = pms
	p.mu.Unlock()
	return nil
}

// fileIdentity tells which mappings show the main executable: by path as
// the kernel prints it (the exe link shows the same string, with
// " (deleted)" too) or by device and inode. Either can fail alone: paths
// can differ between mount namespaces, and overlayfs can report a device
// in stat other than the one in maps.
type fileIdentity struct {
	path         string
	major, minor uint32
	inode        uint64
}

func exeIdentity(link string) fileIdentity {
	var id fileIdentity
	id.path, _ = os.Readlink(link)
	if fi, err := os.Stat(link); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			dev := uint64(st.Dev)
			id.major = uint32((dev>>8)&0xfff | (dev>>32)&^0xfff)
			id.minor = uint32(dev&0xff | (dev>>12)&^0xff)
			id.inode = uint64(st.Ino)
		}
	}
	return id
}

func (id fileIdentity) matches(m Mapping) bool {
	if id.path != "" && m.Path == id.path {
		return true
	}
	return id.inode != 0 && m.Inode == id.inode && m.Major == id.major && m.Minor == id.minor
}

// newProcMappings sorts maps and computes the load bias of each executable
// mapping of the executable from its own offset, so even oddly split
// mappings translate right. Only code mappings count: Go code lives in
// them, and their bias is unambiguous (see LoadBias).
func newProcMappings(maps []Mapping, exe *gobin.Binary, isExe func(Mapping) bool) ([]procMapping, error) {
	pms := make([]procMapping, len(maps))
	found := false
	for i, m := range maps {
		pms[i].Mapping = m
		if exe == nil || len(m.Perms) < 3 || m.Perms[2] != 'x' || !isExe(m) {
			continue
		}
		bias, err := LoadBias(m, exe.Segments())
		if err != nil {
			continue // not a part of the file that holds code
		}
		pms[i].exe, pms[i].bias = true, bias
		found = true
	}
	if exe != nil && !found {
		return nil, fmt.Errorf("executable not found in maps")
	}
	sort.Slice(pms, func(i, j int) bool { return pms[i].Start < pms[j].Start })
	return pms, nil
}

// findMapping returns the mapping holding the run-time address pc.
func findMapping(pms []procMapping, pc uint64) *procMapping {
	i := sort.Search(len(pms), func(i int) bool { return pms[i].End > pc })
	if i < len(pms) && pms[i].Start <= pc {
		return &pms[i]
	}
	return nil
}

// Symbolize turns a stack of run-time addresses, innermost first, into
// frames, innermost first. pcs[0] is taken as the exact address of the
// instruction of interest (a probed function entry); every later one as a
// return address, looked up at pc-1 (the call instruction). That is what a
// kernel stack walk (bpf_get_stack / bpf_get_stackid on user stacks)
// returns. To symbolize runtime.Callers output, whose first entry is a
// return address too, pass pcs[0]-1.
//
// Every address yields at least one frame: Go code expands to its inlined
// calls (exactly as runtime.CallersFrames would, also when pcs holds the
// synthetic per-inlined-call addresses of runtime.Callers); addresses in
// other mappings become "<file base name>+0x<file offset>" (or
// "[vdso]+0x<offset>"), and addresses in no mapping or in anonymous memory
// "0x<address>". All frames of one address carry it as Frame.PC. Nothing
// is dropped, so trim the zero padding of fixed-size stack buffers first.
// Physical frames of autogenerated wrappers (method values, promoted
// methods) are kept, though runtime.Callers would skip them; inlined
// wrappers are hidden as the runtime hides them.
func (p *Process) Symbolize(pcs []uint64) []Frame {
	p.mu.RLock()
	pms := p.maps
	p.mu.RUnlock()
	frames := make([]Frame, 0, len(pcs))
	for i, pc := range pcs {
		m := findMapping(pms, pc)
		if m == nil || !m.exe {
			frames = append(frames, Frame{PC: pc, Function: foreignName(m, pc)})
			continue
		}
		lookup := pc - m.bias
		if i > 0 {
			lookup--
		}
		var next uint64
		hasNext := i+1 < len(pcs)
		if hasNext {
			next = pcs[i+1] - m.bias
		}
		chain := selectFrames(p.exe, p.exe.Expand(lookup), next, hasNext)
		if len(chain) == 0 {
			// Code in the executable that Go does not know: cgo's C
			// code, PLT stubs.
			frames = append(frames, Frame{PC: pc, Function: foreignName(m, pc)})
			continue
		}
		frames = append(frames, toFrames(chain, pc)...)
	}
	return frames
}

// foreignName names an address outside Go code after the file it is in,
// or gives the bare address when there is none.
func foreignName(m *procMapping, pc uint64) string {
	if m == nil || m.Path == "" {
		return fmt.Sprintf("%#x", pc)
	}
	name := m.Path
	if !strings.HasPrefix(name, "[") {
		name = strings.TrimSuffix(name, " (deleted)")
		if i := strings.LastIndexByte(name, '/'); i >= 0 && i < len(name)-1 {
			name = name[i+1:]
		}
	}
	return fmt.Sprintf("%s+%#x", name, pc-m.Start+m.Offset)
}

// Bias returns the main executable's load bias (run-time minus link-time
// address): 0 for a non-PIE binary. Data addresses of the binary, such as
// runtime.MemProfileRate, move by the same amount as its code.
func (p *Process) Bias() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, m := range p.maps {
		if m.exe {
			return m.bias
		}
	}
	return 0
}
