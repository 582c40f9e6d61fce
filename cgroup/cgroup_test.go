package cgroup

import (
	"os"
	"slices"
	"strings"
	"testing"
)

const (
	id1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	id2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

func TestContainerID(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		// Docker: systemd driver, cgroupfs driver, Docker in Docker.
		{"/system.slice/docker-" + id1 + ".scope", id1},
		{"/docker/" + id1, id1},
		{"/docker/" + id2 + "/docker/" + id1, id1},
		{"/system.slice/docker-" + id1 + ".scope/init", id1},
		// Kubernetes with containerd and CRI-O, systemd driver.
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/cri-containerd-" + id1 + ".scope", id1},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice/crio-" + id1 + ".scope", id1},
		{"/kubepods.slice/kubepods-podabc.slice/crio-" + id1 + ".scope/container", id1},
		// Kubernetes, cgroupfs driver; containerd outside Kubernetes.
		{"/kubepods/burstable/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d/" + id1, id1},
		{"/default/" + id1, id1},
		// Podman, nerdctl.
		{"/machine.slice/libpod-" + id1 + ".scope", id1},
		{"/system.slice/nerdctl-" + id1 + ".scope", id1},
		// Not containers.
		{"/", ""},
		{"/user.slice/user-0.slice/session-3.scope", ""},
		{"/system.slice/crio-conmon-" + id1 + ".scope", ""},
		{"/kubepods.slice/kubepods-burstable.slice", ""},
		{"/process_api/17fb3b8476909f9a734b2c45d9e40364", ""}, // 32 hex digits
		{"/docker/" + strings.ToUpper(id1), ""},
		{"/docker-" + id1[:63] + ".scope", ""},
		{"/docker-" + id1 + "0.scope", ""},
	} {
		if got := ContainerID(tc.path); got != tc.want {
			t.Errorf("ContainerID(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestParseAndLocate(t *testing.T) {
	for _, tc := range []struct {
		name, file   string
		path, ctr    string
		paths        []string
		controllers0 []string
	}{
		{"v2", "0::/system.slice/docker-" + id1 + ".scope\n", "/system.slice/docker-" + id1 + ".scope", id1,
			[]string{"/system.slice/docker-" + id1 + ".scope"}, nil},
		{"v1", "12:pids:/docker/" + id1 + "\n11:cpu,cpuacct:/docker/" + id1 + "\n1:name=systemd:/docker/" + id1 + "\n",
			"/docker/" + id1, id1, []string{"/docker/" + id1, "/docker/" + id1, "/docker/" + id1}, []string{"pids"}},
		// Hybrid: the runtime wrote v1 groups only; v2 shows the root.
		{"hybrid v1 only", "4:memory:/kubepods/besteffort/podx/" + id1 + "\n1:cpu:/\n0::/\n", "/kubepods/besteffort/podx/" + id1, id1,
			[]string{"/kubepods/besteffort/podx/" + id1, "/", "/"}, []string{"memory"}},
		// Hybrid: v2 names the container, a v1 hierarchy something else.
		{"hybrid v2", "4:memory:/process_api/17fb3b8476909f9a734b2c45d9e40364\n0::/x/crio-" + id1 + ".scope\n", "/x/crio-" + id1 + ".scope", id1,
			[]string{"/process_api/17fb3b8476909f9a734b2c45d9e40364", "/x/crio-" + id1 + ".scope"}, []string{"memory"}},
		{"colon in path", "0::/a:b\n", "/a:b", "", []string{"/a:b"}, nil},
		{"host", "0::/\n", "/", "", []string{"/"}, nil},
	} {
		lines, err := Parse([]byte(tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(lines[0].Controllers, tc.controllers0) {
			t.Errorf("%s: controllers %q, want %q", tc.name, lines[0].Controllers, tc.controllers0)
		}
		of := Locate(lines)
		if of.Path != tc.path || of.ContainerID != tc.ctr || !slices.Equal(of.Paths, tc.paths) {
			t.Errorf("%s: Locate = %+v, want path %q container %q paths %q", tc.name, of, tc.path, tc.ctr, tc.paths)
		}
	}
	for _, bad := range []string{"", "\n", "x::/", "0:/", "-1::/", "0::relative", "garbage"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q): want an error", bad)
		}
	}
}

func TestUnder(t *testing.T) {
	for _, tc := range []struct {
		p, dir string
		want   bool
	}{
		{"/a/b", "/a", true}, {"/a", "/a", true}, {"/a", "/a/", true}, {"/ab", "/a", false},
		{"/anything", "/", true}, {"/a", "/a/b", false},
	} {
		if got := Under(tc.p, tc.dir); got != tc.want {
			t.Errorf("Under(%q, %q) = %v", tc.p, tc.dir, got)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	info := `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:9 - cgroup cgroup rw,name=systemd
41 31 0:38 /../.. /sys/fs/cgroup/my\040unified rw,relatime - cgroup2 cgroup2 rw
junk
`
	ms, err := ParseMountinfo(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{Point: "/sys/fs/cgroup/cpu", Root: "/"},
		{Point: "/sys/fs/cgroup/systemd", Root: "/"},
		{Point: "/sys/fs/cgroup/my unified", Root: "/../..", V2: true},
	}
	if !slices.Equal(ms, want) {
		t.Errorf("ParseMountinfo = %+v, want %+v", ms, want)
	}
}

// TestReadSelf reads this process's own groups: whatever the host's
// layout, there is a path and the mount of some hierarchy.
func TestReadSelf(t *testing.T) {
	of, err := Read(uint32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(of.Path, "/") || len(of.Paths) == 0 {
		t.Errorf("Read(self) = %+v", of)
	}
	if _, err := Resolve(of.Path); err != nil {
		t.Errorf("Resolve(own cgroup %q): %v", of.Path, err)
	}
	for _, bad := range []string{"relative", "/leakscope-no-such-cgroup-" + id1} {
		if _, err := Resolve(bad); err == nil {
			t.Errorf("Resolve(%q): want an error", bad)
		}
	}
}
