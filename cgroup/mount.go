package cgroup

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Mount is a mounted cgroup hierarchy.
type Mount struct {
	Point string // where it is mounted, e.g. /sys/fs/cgroup/unified
	Root  string // the cgroup path shown at Point (not "/" inside a cgroup namespace)
	V2    bool
}

// Mounts lists the cgroup mounts of this mount namespace.
func Mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// ParseMountinfo returns the cgroup and cgroup2 mounts listed in a
// mountinfo file (proc(5): "id parent major:minor root point options
// [optional...] - fstype source superoptions").
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var ms []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, s := range f {
			if s == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || sep+1 >= len(f) {
			continue
		}
		fstype := f[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		ms = append(ms, Mount{Point: unescape(f[4]), Root: unescape(f[3]), V2: fstype == "cgroup2"})
	}
	return ms, sc.Err()
}

// unescape undoes mountinfo's octal escapes of space, tab, newline and '\'.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + (c - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// V2Mount returns where the unified hierarchy is mounted: /sys/fs/cgroup
// on a pure v2 host, often /sys/fs/cgroup/unified on a hybrid one.
func V2Mount() (Mount, error) {
	ms, err := Mounts()
	if err != nil {
		return Mount{}, err
	}
	for _, m := range ms {
		if m.V2 {
			return m, nil
		}
	}
	return Mount{}, fmt.Errorf("no cgroup2 file system mounted")
}

// Resolve turns a cgroup an operator named into a cgroup path as
// /proc/PID/cgroup prints it, checking the group exists in some mounted
// hierarchy. It accepts a cgroup path ("/kubepods.slice/...") or a
// directory under a cgroup mount ("/sys/fs/cgroup/kubepods.slice/...").
func Resolve(arg string) (string, error) {
	if !strings.HasPrefix(arg, "/") {
		return "", fmt.Errorf("cgroup %q: want an absolute path", arg)
	}
	ms, err := Mounts()
	if err != nil {
		return "", fmt.Errorf("cgroup %q: reading mounts: %w", arg, err)
	}
	if len(ms) == 0 {
		return "", fmt.Errorf("cgroup %q: no cgroup file system is mounted", arg)
	}
	clean := filepath.Clean(arg)
	// A directory under a mount point: strip the mount.
	for _, m := range ms {
		if rel, ok := strings.CutPrefix(clean, m.Point); ok && (rel == "" || rel[0] == '/') {
			if fi, err := os.Stat(clean); err == nil && fi.IsDir() {
				return filepath.Join(m.Root, "/"+rel), nil
			}
		}
	}
	// A cgroup path: it must exist in some hierarchy.
	for _, m := range ms {
		rel := clean
		if m.Root != "/" {
			r, ok := strings.CutPrefix(clean, m.Root)
			if !ok || (r != "" && r[0] != '/') {
				continue
			}
			rel = r
		}
		if fi, err := os.Stat(filepath.Join(m.Point, rel)); err == nil && fi.IsDir() {
			return clean, nil
		}
	}
	return "", fmt.Errorf("cgroup %s: no such cgroup in any mounted hierarchy", arg)
}
