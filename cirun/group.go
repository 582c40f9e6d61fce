package cirun

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/leakscope/leakscope/cgroup"
)

// Group is a cgroup v2 made for one run: a parent named after leakscope's
// pid, with one child per role (the command, the load), so that every
// process a role starts, however it forks, execs or daemonizes, stays
// findable and can be killed, and the watch is scoped to the command's.
type Group struct {
	dir  string // the parent, under the cgroup2 mount
	path string // the parent as /proc/PID/cgroup names it
}

// NewGroup creates the run's cgroup under the cgroup2 mount (found in
// mountinfo) with a child for each role.
func NewGroup(roles ...string) (*Group, error) {
	m, err := cgroup.V2Mount()
	if err != nil {
		return nil, fmt.Errorf("creating the run's cgroup: %w", err)
	}
	// Beside leakscope's own group: that is where it is allowed to put
	// processes (delegation), and not the root inside a namespace.
	self, err := v2Path(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("creating the run's cgroup: %w", err)
	}
	parent := "/"
	if rel, ok := strings.CutPrefix(self, m.Root); ok {
		parent = filepath.Dir("/" + strings.TrimPrefix(rel, "/"))
	}
	removeStale(filepath.Join(m.Point, parent))
	name := fmt.Sprintf("%s%d", groupPrefix, os.Getpid())
	g := &Group{
		dir:  filepath.Join(m.Point, parent, name),
		path: filepath.Join(m.Root, parent, name),
	}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup %s: %w", g.dir, err)
	}
	for _, r := range roles {
		if err := os.Mkdir(filepath.Join(g.dir, r), 0o755); err != nil {
			err = fmt.Errorf("creating cgroup %s: %w", filepath.Join(g.dir, r), err)
			return nil, errors.Join(err, g.Remove())
		}
	}
	return g, nil
}

// groupPrefix starts the name of a run's cgroup; the creator's pid ends it.
const groupPrefix = "leakscope-run-"

// removeStale removes the empty cgroups left in dir by runs whose
// leakscope was killed (SIGKILL leaves no chance to clean up). A group
// still holding processes is left alone: they are not this run's.
func removeStale(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), groupPrefix))
		if !e.IsDir() || !strings.HasPrefix(e.Name(), groupPrefix) || err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // its leakscope may still be running
		}
		g := &Group{dir: filepath.Join(dir, e.Name())}
		children, _ := os.ReadDir(g.dir)
		for _, c := range children {
			if c.IsDir() && g.Empty(c.Name()) {
				_ = os.Remove(filepath.Join(g.dir, c.Name()))
			}
		}
		_ = os.Remove(g.dir) // fails while not empty
	}
}

// Path is the cgroup path of role as /proc/PID/cgroup shows it.
func (g *Group) Path(role string) string { return filepath.Join(g.path, role) }

// Dir is the directory of role under the cgroup2 mount.
func (g *Group) Dir(role string) string { return filepath.Join(g.dir, role) }

// Open opens role's directory, for starting a process straight into it
// (clone3 with CLONE_INTO_CGROUP: no moment outside it).
func (g *Group) Open(role string) (*os.File, error) {
	return os.Open(g.Dir(role))
}

// Procs lists the processes in role.
func (g *Group) Procs(role string) []int {
	b, err := os.ReadFile(filepath.Join(g.Dir(role), "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil && n > 0 {
			pids = append(pids, n)
		}
	}
	return pids
}

// Empty reports whether no process is left in role (or its children).
func (g *Group) Empty(role string) bool {
	b, err := os.ReadFile(filepath.Join(g.Dir(role), "cgroup.events"))
	if err != nil {
		return len(g.Procs(role)) == 0
	}
	return bytes.Contains(b, []byte("populated 0"))
}

// Stop ends every process in role: SIGTERM, then after grace SIGKILL
// (cgroup.kill, or each process where the kernel lacks it). It returns
// how they ended: "" when nothing was running, else "terminated" or
// "killed"; an error when processes are still there afterwards.
func (g *Group) Stop(role string, grace time.Duration) (string, error) {
	if g.Empty(role) {
		return "", nil
	}
	g.signal(role, syscall.SIGTERM)
	if g.wait(role, grace) {
		return "terminated", nil
	}
	return "killed", g.Kill(role)
}

// Kill ends every process in role at once and waits for them to be gone.
func (g *Group) Kill(role string) error {
	if g.Empty(role) {
		return nil
	}
	if err := os.WriteFile(filepath.Join(g.Dir(role), "cgroup.kill"), []byte("1"), 0); err != nil {
		g.signal(role, syscall.SIGKILL) // kernels before 5.14
	}
	for range 50 {
		if g.wait(role, 100*time.Millisecond) {
			return nil
		}
		g.signal(role, syscall.SIGKILL) // forked while being killed
	}
	return fmt.Errorf("cgroup %s: processes still running after SIGKILL: %v", g.Dir(role), g.Procs(role))
}

// signal sends sig to each process in role: all were started by the run.
func (g *Group) signal(role string, sig syscall.Signal) {
	for _, pid := range g.Procs(role) {
		_ = syscall.Kill(pid, sig)
	}
}

// wait polls until role is empty or d has passed.
func (g *Group) wait(role string, d time.Duration) bool {
	end := time.Now().Add(d)
	for {
		if g.Empty(role) {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Remove kills whatever is left and removes the cgroups, children first.
func (g *Group) Remove() error {
	entries, _ := os.ReadDir(g.dir)
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if err := g.Kill(e.Name()); err != nil {
			errs = append(errs, err)
		}
		if err := os.Remove(filepath.Join(g.dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("removing cgroup: %w", err))
		}
	}
	if err := os.Remove(g.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("removing cgroup: %w", err))
	}
	return errors.Join(errs...)
}

// v2Path is pid's cgroup in the unified hierarchy.
func v2Path(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	lines, err := cgroup.Parse(b)
	if err != nil {
		return "", err
	}
	for _, l := range lines {
		if l.V2() {
			return l.Path, nil
		}
	}
	return "", fmt.Errorf("pid %d is in no cgroup2 group", pid)
}
