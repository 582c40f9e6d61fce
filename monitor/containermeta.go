package monitor

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/leakscope/leakscope/cgroup"
	"github.com/leakscope/leakscope/containermeta"
)

// containerMeta reads the names of container id from its runtime's files
// at attach. Unknown names leave the labels empty: a runtime leakscope
// cannot read (or none: a plain cgroup) is no reason not to watch.
func containerMeta(src containermeta.Sources, id string, log *slog.Logger) containermeta.Meta {
	if id == "" {
		return containermeta.Meta{}
	}
	m, err := src.Lookup(id)
	if err != nil && !errors.Is(err, containermeta.ErrNotFound) {
		log.Warn("reading container metadata", "container", id, "err", err)
	}
	return m
}

// describeContainer names a container for a profile's comments.
func describeContainer(id string, m containermeta.Meta) string {
	if id == "" {
		return ""
	}
	s := "container " + id
	switch {
	case m.Pod != "":
		s += " (" + m.Namespace + "/" + m.Pod + "/" + m.Name + ")"
	case m.Name != "":
		s += " (" + m.Name + ")"
	}
	return s
}

// containersNamed returns the running containers among those the runtimes
// call name (see containermeta.Sources.FindByName).
func containersNamed(src containermeta.Sources, name string, running map[string]bool) ([]string, error) {
	ids, err := src.FindByName(name)
	var out []string
	for _, id := range ids {
		if running[id] {
			out = append(out, id)
		}
	}
	return out, err
}

// resolveContainerArg turns what the operator gave --container into the
// full ID of a running container, in `docker inspect`'s order: a full ID,
// then an exact name (Docker's, or Kubernetes' pod/container or
// namespace/pod/container), then a unique ID prefix.
func resolveContainerArg(arg string, running map[string]bool, src containermeta.Sources) (string, error) {
	if running[strings.ToLower(arg)] {
		return strings.ToLower(arg), nil
	}
	named, nameErr := containersNamed(src, arg, running)
	switch len(named) {
	case 0:
	case 1:
		return named[0], nil
	default:
		slices.Sort(named)
		return "", fmt.Errorf("container %q: ambiguous, %d running containers have this name: %s", arg, len(named), strings.Join(named, ", "))
	}
	id, err := resolveContainer(arg, running)
	if err == nil {
		return id, nil
	}
	if !cgroup.IsIDPrefix(strings.ToLower(arg)) {
		err = fmt.Errorf("container %q: not a container ID, nor the name of a running container (%d containers found from process cgroups; names read from %s)", arg, len(running), src)
	}
	if nameErr != nil {
		err = errors.Join(err, fmt.Errorf("reading container names: %w", nameErr))
	}
	return "", err
}
