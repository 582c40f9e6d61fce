package cgroup

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Line is one line of /proc/PID/cgroup: "hierarchy-ID:controllers:path".
// On cgroup v2 (and the v2 line of a hybrid host) the ID is 0 and the
// controller list empty.
type Line struct {
	Hierarchy   int
	Controllers []string
	Path        string
}

// V2 reports whether l is the unified (cgroup v2) hierarchy.
func (l Line) V2() bool { return l.Hierarchy == 0 && len(l.Controllers) == 0 }

// maxCgroupFile bounds what Parse reads: a process is in one cgroup per
// hierarchy, a few dozen at most, each path at most PATH_MAX.
const maxCgroupFile = 1 << 20

// Parse parses the contents of /proc/PID/cgroup.
func Parse(b []byte) ([]Line, error) {
	if len(b) > maxCgroupFile {
		return nil, fmt.Errorf("cgroup file of %d bytes: too large", len(b))
	}
	var lines []Line
	for n, s := range strings.Split(string(b), "\n") {
		if s == "" {
			continue
		}
		// The path is last and may itself hold ':'.
		parts := strings.SplitN(s, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("cgroup line %d %q: want hierarchy:controllers:path", n+1, s)
		}
		id, err := strconv.Atoi(parts[0])
		if err != nil || id < 0 {
			return nil, fmt.Errorf("cgroup line %d %q: bad hierarchy id", n+1, s)
		}
		if !strings.HasPrefix(parts[2], "/") {
			return nil, fmt.Errorf("cgroup line %d %q: path is not absolute", n+1, s)
		}
		l := Line{Hierarchy: id, Path: parts[2]}
		if parts[1] != "" {
			l.Controllers = strings.Split(parts[1], ",")
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return nil, errors.New("empty cgroup file")
	}
	return lines, nil
}

// Of is where a process is: its cgroup path (the v2 one when the host has
// it, else the first v1 hierarchy's) and the container that path names.
type Of struct {
	Path        string
	ContainerID string
	// Paths holds every hierarchy's path, for matching a --cgroup.
	Paths []string
}

// Read reads the cgroups of pid from /proc.
func Read(pid uint32) (Of, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return Of{}, err
	}
	lines, err := Parse(b)
	if err != nil {
		return Of{}, fmt.Errorf("/proc/%d/cgroup: %w", pid, err)
	}
	return Locate(lines), nil
}

// Locate picks the process's cgroup path and container from its lines. A
// hybrid host may put a process in a container's group in one hierarchy
// only (e.g. the runtime writes v1 groups, systemd the v2 one), so the
// container ID is looked for in every line, v2 first.
func Locate(lines []Line) Of {
	var of Of
	for _, l := range lines {
		of.Paths = append(of.Paths, l.Path)
		if l.V2() && of.Path == "" {
			of.Path = l.Path
		}
	}
	// A v2 line of "/" on a hybrid host says nothing: prefer a v1 path
	// that does.
	if (of.Path == "" || of.Path == "/") && len(lines) > 0 {
		for _, l := range lines {
			if !l.V2() && l.Path != "/" {
				of.Path = l.Path
				break
			}
		}
		if of.Path == "" {
			of.Path = lines[0].Path
		}
	}
	for _, l := range lines {
		if l.V2() {
			if id := ContainerID(l.Path); id != "" {
				of.ContainerID = id
				return of
			}
		}
	}
	for _, l := range lines {
		if id := ContainerID(l.Path); id != "" {
			of.ContainerID = id
			break
		}
	}
	return of
}

// Under reports whether cgroup path p is dir or below it.
func Under(p, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}
