package cgroup

import "strings"

// idLen is the length of a container ID in hex: Docker, containerd and
// CRI-O all use 256-bit IDs.
const idLen = 64

// scopePrefixes are the runtimes' systemd unit names for a container,
// "<prefix><id>.scope"; CRI-O's conmon monitor ("crio-conmon-<id>.scope")
// is not the container and does not match (its ID would not be hex).
var scopePrefixes = []string{
	"docker-",         // Docker, systemd cgroup driver
	"cri-containerd-", // containerd's CRI plugin (Kubernetes), systemd driver
	"crio-",           // CRI-O, systemd driver
	"libpod-",         // Podman
	"nerdctl-",        // nerdctl on containerd
}

// ContainerID returns the container ID a cgroup path names, or "". The
// deepest component that looks like a container wins, so a nested group
// (Docker in Docker, a runtime's "init" or "container" sub-group) still
// yields the innermost container. Recognised components:
//
//	docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope,
//	libpod-<id>.scope, nerdctl-<id>.scope   (systemd cgroup driver)
//	<id>  under /docker/, /kubepods/.../pod<uid>/, /<containerd namespace>/
//	       (cgroupfs driver: a bare 64-hex-digit name)
//
// where <id> is 64 lowercase hex digits.
func ContainerID(path string) string {
	comps := strings.Split(path, "/")
	for i := len(comps) - 1; i >= 0; i-- {
		if id := componentID(comps[i]); id != "" {
			return id
		}
	}
	return ""
}

func componentID(c string) string {
	if isID(c) {
		return c
	}
	name, ok := strings.CutSuffix(c, ".scope")
	if !ok {
		return ""
	}
	for _, p := range scopePrefixes {
		if id, ok := strings.CutPrefix(name, p); ok && isID(id) {
			return id
		}
	}
	return ""
}

func isID(s string) bool {
	if len(s) != idLen {
		return false
	}
	return IsIDPrefix(s)
}

// IsIDPrefix reports whether s could begin a container ID: one or more
// lowercase hex digits, at most a whole ID.
func IsIDPrefix(s string) bool {
	if s == "" || len(s) > idLen {
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
