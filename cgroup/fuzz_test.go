package cgroup

import (
	"strings"
	"testing"
)

// FuzzParseCgroup: whatever /proc/PID/cgroup holds, parsing and container
// recognition never panic, and an ID found is 64 hex digits that the path
// really contains.
func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte("0::/system.slice/docker-" + id1 + ".scope\n"))
	f.Add([]byte("12:pids:/docker/" + id1 + "\n1:name=systemd:/docker/" + id1 + "\n"))
	f.Add([]byte("4:memory:/kubepods/besteffort/podx/" + id1 + "\n0::/\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := Parse(b)
		if err != nil {
			return
		}
		of := Locate(lines)
		if of.ContainerID == "" {
			return
		}
		if len(of.ContainerID) != idLen || !IsIDPrefix(of.ContainerID) || !strings.Contains(string(b), of.ContainerID) {
			t.Fatalf("container id %q from %q", of.ContainerID, b)
		}
	})
}
