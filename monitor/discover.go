package monitor

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/leakscope/leakscope/cgroup"
	"github.com/leakscope/leakscope/gobin"
	"github.com/leakscope/leakscope/tracer"
)

// selection is what the operator asked to watch beyond fixed pids,
// resolved and checked: processes appear and leave it at run time.
type selection struct {
	containers []string // full container IDs
	cgroups    []string // cgroup paths
	all        bool     // every Go process
	within     string   // only processes in this cgroup (tests scope --all with it)
	exclude    map[string]bool
}

func (s *selection) dynamic() bool { return s.all || len(s.containers) > 0 || len(s.cgroups) > 0 }

// byCgroup reports whether a process's cgroup decides if it is selected.
func (s *selection) byCgroup() bool {
	return s.within != "" || len(s.containers) > 0 || len(s.cgroups) > 0
}

// resolveSelection checks every container and cgroup the operator named
// before anything is loaded, so a typo fails at once with its own message.
func resolveSelection(cfg Config) (*selection, error) {
	s := &selection{all: cfg.All, exclude: map[string]bool{}}
	for _, e := range cfg.Exclude {
		s.exclude[e] = true
	}
	for _, arg := range cfg.Cgroups {
		p, err := cgroup.Resolve(arg)
		if err != nil {
			return nil, &ConfigError{Field: "Cgroups", Err: err}
		}
		s.cgroups = append(s.cgroups, p)
	}
	if cfg.Within != "" {
		p, err := cgroup.Resolve(cfg.Within)
		if err != nil {
			return nil, &ConfigError{Field: "Within", Err: err}
		}
		s.within = p
	}
	if len(cfg.Containers) > 0 {
		running := runningContainers()
		for _, arg := range cfg.Containers {
			id, err := resolveContainerArg(arg, running, cfg.Meta)
			if err != nil {
				return nil, &ConfigError{Field: "Containers", Err: err}
			}
			s.containers = append(s.containers, id)
		}
	}
	return s, nil
}

// runningContainers lists the IDs of the containers that have a process.
func runningContainers() map[string]bool {
	ids := map[string]bool{}
	for _, pid := range listPIDs() {
		if of, err := cgroup.Read(pid); err == nil && of.ContainerID != "" {
			ids[of.ContainerID] = true
		}
	}
	return ids
}

// resolveContainer turns a full ID or a unique prefix into the full ID of
// a running container, like `docker inspect` does.
func resolveContainer(arg string, running map[string]bool) (string, error) {
	prefix := strings.ToLower(arg)
	if !cgroup.IsIDPrefix(prefix) {
		return "", fmt.Errorf("container %q: not a container ID (want up to 64 hex digits)", arg)
	}
	var matches []string
	for id := range running {
		if strings.HasPrefix(id, prefix) {
			matches = append(matches, id)
		}
	}
	slices.Sort(matches)
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("container %s: no running container has this ID (%d containers found from process cgroups; Docker, containerd, CRI-O and Podman naming)", arg, len(running))
	case 1:
		return matches[0], nil
	}
	return "", fmt.Errorf("container %s: ambiguous, matches %d containers: %s", arg, len(matches), strings.Join(matches, ", "))
}

// listPIDs lists the processes in /proc (thread ids are not listed).
func listPIDs() []uint32 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []uint32
	for _, e := range entries {
		if n, err := strconv.ParseUint(e.Name(), 10, 32); err == nil && n > 0 {
			pids = append(pids, uint32(n))
		}
	}
	return pids
}

// candidate is a process the selection picked: who it is and where.
type candidate struct {
	id    procIdentity
	exe   tracer.ExeKey
	where cgroup.Of
	// byAllOnly: only --all picked it, so a non-Go binary is no news.
	byAllOnly bool
}

// scanner finds the processes that entered the selection since its last
// scan. A process counts as new when its pid, start time or executable
// is new: a reused pid or an exec (a runtime's init process becoming the
// container's program) is another target. Runtimes put a container's
// process in its cgroup before it runs the program, but a process can
// also be moved into a watched cgroup later: so when the selection
// depends on cgroups, the processes not picked are looked at again every
// cgroupRecheck scans.
type scanner struct {
	sel   *selection
	self  uint32
	known map[uint32]knownProc
	round int
}

// cgroupRecheck is how many scans pass between two looks at the cgroups
// of processes not picked (reading /proc/PID/cgroup costs more than the
// two stats of a scan).
const cgroupRecheck = 3

type knownProc struct {
	seen   seenProc
	id     procIdentity
	key    *tracer.ExeKey // nil until looked at
	picked bool
}

// seenProc is what tells a known process from a new one under its pid,
// from two stats (reading /proc/PID/stat costs four times more).
type seenProc struct {
	// procIno is the inode of /proc/PID, made afresh for every process
	// that gets the pid (and, harmlessly, when the kernel evicts it: the
	// process is then looked at again and found known).
	procIno  uint64
	dev, ino uint64 // the executable: an exec changes it; 0 for kernel threads
}

func glance(pid uint32) (seenProc, error) {
	var dir, exe syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d", pid), &dir); err != nil {
		return seenProc{}, err // gone
	}
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/exe", pid), &exe); err != nil {
		// A kernel thread or a zombie: known too, never picked.
		return seenProc{procIno: dir.Ino}, nil
	}
	return seenProc{procIno: dir.Ino, dev: uint64(exe.Dev), ino: exe.Ino}, nil
}

func newScanner(sel *selection) *scanner {
	return &scanner{sel: sel, self: uint32(os.Getpid()), known: map[uint32]knownProc{}}
}

// scan returns the processes new to the selection.
func (s *scanner) scan() []candidate {
	s.round++
	recheck := s.sel.byCgroup() && s.round%cgroupRecheck == 0
	pids := listPIDs()
	present := make(map[uint32]bool, len(pids))
	var found []candidate
	for _, pid := range pids {
		present[pid] = true
		if pid == s.self { // never watch leakscope itself
			continue
		}
		// Known processes cost two stats a scan.
		seen, err := glance(pid)
		if err != nil {
			continue // gone
		}
		k, ok := s.known[pid]
		if ok && k.seen == seen {
			if k.picked || !recheck || k.seen.ino == 0 || k.key == nil {
				continue
			}
			// Moved into a watched cgroup since? Only the cgroup is read again.
			if c, ok := s.pick(k.id, *k.key); ok {
				found = append(found, c)
				k.picked = true
				s.known[pid] = k
			}
			continue
		}
		k = knownProc{seen: seen}
		s.known[pid] = k
		if seen.ino == 0 {
			continue
		}
		id, err := identify(pid)
		if err != nil {
			continue
		}
		key, err := tracer.ExecutableOf(pid)
		if err != nil {
			continue
		}
		k.id, k.key = id, &key
		c, picked := s.pick(id, key)
		if picked {
			found = append(found, c)
		}
		k.picked = picked
		s.known[pid] = k
	}
	for pid := range s.known {
		if !present[pid] {
			delete(s.known, pid)
		}
	}
	return found
}

// pick decides whether the selection includes a new process.
func (s *scanner) pick(id procIdentity, key tracer.ExeKey) (candidate, bool) {
	of, err := cgroup.Read(id.pid)
	if err != nil {
		return candidate{}, false
	}
	if s.sel.within != "" && !anyUnder(of.Paths, s.sel.within) {
		return candidate{}, false
	}
	if s.sel.exclude[exeName(id.pid)] || runtimeInit(id.pid) {
		return candidate{}, false
	}
	c := candidate{id: id, exe: key, where: of}
	if of.ContainerID != "" && slices.Contains(s.sel.containers, of.ContainerID) {
		return c, true
	}
	for _, g := range s.sel.cgroups {
		if anyUnder(of.Paths, g) {
			return c, true
		}
	}
	c.byAllOnly = true
	return c, s.sel.all
}

func anyUnder(paths []string, dir string) bool {
	for _, p := range paths {
		if cgroup.Under(p, dir) {
			return true
		}
	}
	return false
}

// exeCache inspects each executable once (keyed as the tracer keys probe
// sets): whether it is Go, and its hooks. The binaries come from bins, the
// one reader every user of an executable shares; a verdict keeps only the
// hooks, so that bins alone bounds how many binaries stay in memory.
type exeCache struct {
	bins     *gobin.Cache
	verdicts map[tracer.ExeKey]exeVerdict
}

func newExeCache() exeCache {
	return exeCache{bins: &gobin.Cache{}, verdicts: map[tracer.ExeKey]exeVerdict{}}
}

type exeVerdict struct {
	hooks *gobin.Hooks
	err   error
}

// inspect resolves the hooks of the executable pid runs (key), or says why
// it cannot be watched.
func (c exeCache) inspect(pid uint32, key tracer.ExeKey) exeVerdict {
	if v, ok := c.verdicts[key]; ok {
		return v
	}
	v := c.resolve(pid)
	c.verdicts[key] = v
	return v
}

func (c exeCache) resolve(pid uint32) exeVerdict {
	bin, err := c.bins.Open(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return exeVerdict{err: err}
	}
	hooks, err := bin.ResolveHooks()
	if err != nil {
		return exeVerdict{err: fmt.Errorf("%s: cannot watch: %w", orUnknown(bin.GoVersion()), err)}
	}
	return exeVerdict{hooks: hooks}
}
