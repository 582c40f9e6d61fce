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

	"github.com/leakscope/leakscope/internal/testutil"
)

type daemonSet struct {
	Spec struct {
		Template struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				HostPID    bool `yaml:"hostPID"`
				Containers []struct {
					Args  []string `yaml:"args"`
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

	// Every argument is a flag leakscope knows (--help last: parsing stops
	// at an unknown flag before it, with exit code 2).
	bin := testutil.Build(t, t.TempDir(), "leakscope", "./cmd/leakscope")
	out, err := exec.Command(bin, append(slices.Clone(c.Args), "--help")...).CombinedOutput()
	if err != nil {
		t.Errorf("leakscope %s: %v\n%s", strings.Join(c.Args, " "), err, out)
	}
}

// TestDockerfile: the builder's Go is the version go.mod asks for, and it
// builds the command that exists.
func TestDockerfile(t *testing.T) {
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVer := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	from := regexp.MustCompile(`(?m)^FROM .*golang:(\S+)-bookworm AS build$`).FindSubmatch(df)
	if goVer == nil || from == nil || string(goVer[1]) != string(from[1]) {
		t.Errorf("Dockerfile builder golang:%s, go.mod go %s: want the same", from, goVer)
	}
	if !strings.Contains(string(df), "go generate ./bpf/") || !strings.Contains(string(df), "diff -r /tmp/committed-bpf bpf") {
		t.Errorf("Dockerfile does not regenerate and verify the BPF objects")
	}
	if _, err := os.Stat("../cmd/leakscope/main.go"); err != nil || !strings.Contains(string(df), "./cmd/leakscope") {
		t.Errorf("Dockerfile does not build ./cmd/leakscope")
	}
}
