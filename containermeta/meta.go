package containermeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Meta is what a runtime says about one container. Empty fields are
// unknown (a plain Docker container has a Name but no pod).
type Meta struct {
	Name string // the container's name: Kubernetes' container name, else the runtime's
	// RuntimeName is the runtime's own name for it (Docker's, without its
	// "/"; for a pod's container cri-dockerd's k8s_<container>_<pod>_...).
	RuntimeName string
	Pod         string
	Namespace   string
	PodUID      string
	Runtime     string // "docker", "containerd" or "cri-o": which files said so
}

// maxValue bounds each name: Kubernetes names are at most 253 bytes, and
// a runtime's files are the container owner's to write.
const maxValue = 253

// maxFile bounds a metadata file read (Docker's config.v2.json is a few
// KiB; an OCI config.json with a large environment some tens).
const maxFile = 4 << 20

// Sources are the directories to read. Missing directories are passed
// over: a node runs one or two runtimes, not all.
type Sources struct {
	// DockerRoots are Docker data roots (dockerd --data-root).
	DockerRoots []string
	// BundleDirs hold OCI bundles as <dir>/<id>/config.json,
	// <dir>/<namespace>/<id>/config.json (containerd's task directory)
	// or <dir>/<id>/userdata/config.json (CRI-O's container storage).
	BundleDirs []string
}

// DefaultSources are where the runtimes keep their files by default.
func DefaultSources() Sources {
	return Sources{
		DockerRoots: []string{"/var/lib/docker"},
		BundleDirs: []string{
			"/run/containerd/io.containerd.runtime.v2.task",               // containerd (k8s.io namespace below)
			"/run/containers/storage/overlay-containers",                  // CRI-O
			"/run/docker/containerd/daemon/io.containerd.runtime.v2.task", // Docker's own containerd
		},
	}
}

// ErrNotFound: no source knows the container.
var ErrNotFound = errors.New("no runtime metadata for this container")

// Lookup returns what the sources say about the container with the full
// ID id. Docker's record comes first (it has the name the user gave);
// bundle annotations add the Kubernetes names it lacks.
func (s Sources) Lookup(id string) (Meta, error) {
	if !isFullID(id) {
		return Meta{}, fmt.Errorf("container ID %q: want 64 hex digits", id)
	}
	var m Meta
	var errs []error
	for _, root := range s.DockerRoots {
		d, err := readDocker(filepath.Join(root, "containers", id, "config.v2.json"))
		if err == nil {
			m = merge(m, d)
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for _, dir := range s.BundleDirs {
		for _, p := range bundlePaths(dir, id) {
			b, err := readBundle(p)
			if err == nil {
				m = merge(m, b)
				break
			}
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if m == (Meta{}) {
		if len(errs) > 0 {
			return m, errors.Join(errs...)
		}
		return m, ErrNotFound
	}
	return m, nil
}

// FindByName returns the IDs of the containers named name: by Docker's
// name (with or without its leading "/") or by their Kubernetes container
// name as pod/container or namespace/pod/container. Several containers
// may match (a restarted pod's old containers stay until removed); the
// caller keeps the running ones.
func (s Sources) FindByName(name string) ([]string, error) {
	if name == "" {
		return nil, errors.New("empty container name")
	}
	var ids []string
	var errs []error
	seen := map[string]bool{}
	consider := func(id string, m Meta) {
		if !seen[id] && m.matches(name) {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, root := range s.DockerRoots {
		entries, err := os.ReadDir(filepath.Join(root, "containers"))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range entries {
			if !isFullID(e.Name()) {
				continue
			}
			if m, err := readDocker(filepath.Join(root, "containers", e.Name(), "config.v2.json")); err == nil {
				consider(e.Name(), m)
			}
		}
	}
	for _, dir := range s.BundleDirs {
		for _, p := range allBundles(dir) {
			if m, err := readBundle(p.path); err == nil {
				consider(p.id, m)
			}
		}
	}
	if len(ids) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ids, nil
}

func (m Meta) matches(name string) bool {
	name = strings.TrimPrefix(name, "/")
	if m.Name == name || m.RuntimeName == name {
		return true
	}
	if m.Pod == "" || m.Name == "" {
		return false
	}
	return name == m.Pod+"/"+m.Name || (m.Namespace != "" && name == m.Namespace+"/"+m.Pod+"/"+m.Name)
}

// merge fills the fields a lacks from b.
func merge(a, b Meta) Meta {
	if a.Name == "" {
		a.Name = b.Name
	}
	if a.RuntimeName == "" {
		a.RuntimeName = b.RuntimeName
	}
	if a.Pod == "" {
		a.Pod = b.Pod
	}
	if a.Namespace == "" {
		a.Namespace = b.Namespace
	}
	if a.PodUID == "" {
		a.PodUID = b.PodUID
	}
	if a.Runtime == "" {
		a.Runtime = b.Runtime
	}
	return a
}

// readJSON decodes a runtime's file, bounded in size.
func readJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > maxFile {
		return fmt.Errorf("%s: %d bytes, more than a runtime writes", path, st.Size())
	}
	if err := json.NewDecoder(f).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// clean bounds a value and keeps it printable, valid UTF-8 (Prometheus
// refuses label values that are not): it comes from files the container's
// owner controls and ends up in labels and logs.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	for len(s) > maxValue {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

func isFullID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// String lists the directories, for messages.
func (s Sources) String() string {
	dirs := append(append([]string(nil), s.DockerRoots...), s.BundleDirs...)
	if len(dirs) == 0 {
		return "no runtime directories"
	}
	return strings.Join(dirs, ", ")
}
