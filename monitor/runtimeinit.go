package monitor

import (
	"fmt"
	"os"
	"strings"
)

// runtimeInit reports whether pid is a container runtime's own process
// inside the container, before it executes the container's program: runc
// (written in Go, and run from a memfd copy of itself) names its stages
// "runc:[0:PARENT]", "runc:[1:CHILD]" and "runc:[2:INIT]", and the last
// one waits in the container's cgroup until the container starts. It is
// the runtime's, not the container's program: never watched. Its exec of
// the program changes the executable, so the scan looks at the pid again
// then.
func runtimeInit(pid uint32) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.HasPrefix(string(b), "runc:[")
}

// forget drops what the scanner knows of pid, so that the next scan looks
// at it afresh: after the program it ran was found replaced by an exec of
// the same executable, which the scanner's glance (the executable's inode)
// cannot tell from the process it already picked.
func (s *scanner) forget(pid uint32) {
	delete(s.known, pid)
}
