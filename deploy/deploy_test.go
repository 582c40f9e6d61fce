// Package deploy holds the container and Kubernetes manifests; its test
// checks them against the code, since no container engine runs in CI.
package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/leakscope/leakscope/containermeta"
	"github.com/leakscope/leakscope/internal/testutil"
)

type daemonSet struct {
	Spec struct {
		Template struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				HostPID bool `yaml:"hostPID"`
				Volumes []struct {
					Name     string `yaml:"name"`
					HostPath struct {
						Path string `yaml:"path"`
					} `yaml:"hostPath"`
				} `yaml:"volumes"`
				Containers []struct {
					Args         []string `yaml:"args"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
						ReadOnly  bool   `yaml:"readOnly"`
					} `yaml:"volumeMounts"`
					Ports []struct {
						ContainerPort int `yaml:"containerPort"`
					} `yaml:"ports"`
					SecurityContext struct {
						Privileged               *bool `yaml:"privileged"`
						AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
						ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
						Capabilities             struct {
							Drop []string `yaml:"drop"`
							Add  []string `yaml:"add"`
						} `yaml:"capabilities"`
					} `yaml:"securityContext"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// TestDaemonSet: host PID namespace, the minimal capabilities and no
// privileged mode, one metrics port agreeing with --listen and the scrape
// annotations, and arguments leakscope accepts.
func TestDaemonSet(t *testing.T) {
	b, err := os.ReadFile("kubernetes/daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds daemonSet
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	for {
		var doc struct {
			Kind string `yaml:"kind"`
		}
		var node yaml.Node
		if err := dec.Decode(&node); err != nil {
			break
		}
		if err := node.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if doc.Kind == "DaemonSet" {
			if err := node.Decode(&ds); err != nil {
				t.Fatal(err)
			}
		}
	}
	pod := ds.Spec.Template.Spec
	if !pod.HostPID || len(pod.Containers) != 1 {
		t.Fatalf("hostPID %v, %d containers; want hostPID and one container", pod.HostPID, len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc.Privileged == nil || *sc.Privileged || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !sc.ReadOnlyRootFilesystem {
		t.Errorf("securityContext: want privileged false, no privilege escalation, read-only root: %+v", sc)
	}
	want := []string{"BPF", "PERFMON", "SYS_PTRACE", "SYS_RESOURCE", "SYS_ADMIN"}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || !slices.Equal(sc.Capabilities.Add, want) {
		t.Errorf("capabilities: drop %v add %v; want drop ALL, add %v", sc.Capabilities.Drop, sc.Capabilities.Add, want)
	}
	port := ""
	for _, a := range c.Args {
		if m := regexp.MustCompile(`^--listen=0\.0\.0\.0:(\d+)$`).FindStringSubmatch(a); m != nil {
			port = m[1]
		}
	}
	ann := ds.Spec.Template.Metadata.Annotations
	if port == "" || len(c.Ports) != 1 || ann["prometheus.io/port"] != port || ann["prometheus.io/scrape"] != "true" ||
		ann["prometheus.io/path"] != "/metrics" || strconv.Itoa(c.Ports[0].ContainerPort) != port {
		t.Errorf("metrics port: --listen port %q, container ports %+v, annotations %v; want one port everywhere", port, c.Ports, ann)
	}

	// The runtimes' metadata, where leakscope reads it by default, mounted
	// read-only from the same host path.
	hostPaths := map[string]string{}
	for _, v := range pod.Volumes {
		hostPaths[v.Name] = v.HostPath.Path
	}
	meta := containermeta.DefaultSources()
	for _, dir := range append(append([]string{}, meta.DockerRoots[0]+"/containers"), meta.BundleDirs...) {
		if dir == "/run/docker/containerd/daemon/io.containerd.runtime.v2.task" {
			continue // Docker's own containerd: Docker's config.v2.json names its containers already
		}
		found := false
		for _, m := range c.VolumeMounts {
			if m.MountPath == dir {
				found = true
				if !m.ReadOnly || hostPaths[m.Name] != dir {
					t.Errorf("mount %s: read-only %v, host path %q; want read-only from the same path", dir, m.ReadOnly, hostPaths[m.Name])
				}
			}
		}
		if !found {
			t.Errorf("the DaemonSet does not mount %s, where leakscope reads container names", dir)
		}
	}

	// Every argument is a flag leakscope knows (--help last: parsing stops
	// at an unknown flag before it, with exit code 2).
	bin := testutil.Build(t, t.TempDir(), "leakscope", "./cmd/leakscope")
	out, err := exec.Command(bin, append(slices.Clone(c.Args), "--help")...).CombinedOutput()
	if err != nil {
		t.Errorf("leakscope %s: %v\n%s", strings.Join(c.Args, " "), err, out)
	}
}

// TestDockerfile: the image is the static binary `make image` builds,
// FROM scratch (no base image to pull), and the build context sends it.
// TestDocker (cmd/leakscope) builds and runs the image with a real engine.
func TestDockerfile(t *testing.T) {
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	froms := regexp.MustCompile(`(?m)^FROM (.+)$`).FindAllSubmatch(df, -1)
	if len(froms) != 1 || string(froms[0][1]) != "scratch" {
		t.Errorf("Dockerfile FROM lines %q: want FROM scratch alone", froms)
	}
	if !strings.Contains(string(df), "COPY bin/linux-${TARGETARCH}/leakscope /leakscope") || !strings.Contains(string(df), `ENTRYPOINT ["/leakscope"]`) {
		t.Error("Dockerfile does not copy bin/linux-${TARGETARCH}/leakscope to /leakscope as the entrypoint")
	}
	if !regexp.MustCompile(`CGO_ENABLED=0 GOOS=linux GOARCH=\$\(ARCH\) \$\(GO\) build .*-o bin/linux-\$\(ARCH\)/leakscope \./cmd/leakscope`).Match(mk) {
		t.Error("Makefile image target does not build the static ./cmd/leakscope into bin/linux-$(ARCH)/leakscope")
	}
	if !strings.Contains(string(ignore), "!bin/linux-*") {
		t.Error(".dockerignore does not send bin/linux-*")
	}
	if _, err := os.Stat("../cmd/leakscope/main.go"); err != nil {
		t.Error(err)
	}
}
