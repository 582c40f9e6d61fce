package containermeta

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

var (
	idDocker  = strings.Repeat("a1", 32)
	idK8sDock = strings.Repeat("b2", 32)
	idCtrd    = strings.Repeat("c3", 32)
	idPause   = strings.Repeat("d4", 32)
	idCRIO    = strings.Repeat("e5", 32)
)

// sources lays out the files the runtimes write, in their formats
// (abridged to the keys read plus neighbours): a plain Docker container, a
// cri-dockerd one, a containerd CRI container and its sandbox under the
// k8s.io namespace, and a CRI-O container.
func sources(t *testing.T) Sources {
	dir := t.TempDir()
	docker := filepath.Join(dir, "docker")
	write(t, filepath.Join(docker, "containers", idDocker, "config.v2.json"),
		`{"State":{"Running":true,"Pid":6670},"ID":"`+idDocker+`","Name":"/web-1","Config":{"Image":"shop","Labels":{}}}`)
	write(t, filepath.Join(docker, "containers", idK8sDock, "config.v2.json"),
		`{"ID":"`+idK8sDock+`","Name":"/k8s_app_shop-7d9f_prod_0f1e_0","Config":{"Labels":{
		"annotation.io.kubernetes.container.hash":"5c1d","io.kubernetes.container.name":"app",
		"io.kubernetes.docker.type":"container","io.kubernetes.pod.name":"shop-7d9f",
		"io.kubernetes.pod.namespace":"prod","io.kubernetes.pod.uid":"0f1e2d3c-aaaa-bbbb-cccc-000000000001"}}}`)
	ctrd := filepath.Join(dir, "containerd")
	write(t, filepath.Join(ctrd, "k8s.io", idCtrd, "config.json"),
		`{"ociVersion":"1.1.0","process":{"args":["/app"]},"annotations":{
		"io.kubernetes.cri.container-name":"worker","io.kubernetes.cri.container-type":"container",
		"io.kubernetes.cri.image-name":"registry.example/worker:1","io.kubernetes.cri.sandbox-id":"`+idPause+`",
		"io.kubernetes.cri.sandbox-name":"worker-5b6c","io.kubernetes.cri.sandbox-namespace":"batch",
		"io.kubernetes.cri.sandbox-uid":"11111111-2222-3333-4444-555555555555"}}`)
	write(t, filepath.Join(ctrd, "k8s.io", idPause, "config.json"),
		`{"annotations":{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-id":"`+idPause+`",
		"io.kubernetes.cri.sandbox-name":"worker-5b6c","io.kubernetes.cri.sandbox-namespace":"batch",
		"io.kubernetes.cri.sandbox-uid":"11111111-2222-3333-4444-555555555555"}}`)
	crio := filepath.Join(dir, "crio")
	write(t, filepath.Join(crio, idCRIO, "userdata", "config.json"),
		`{"annotations":{"io.kubernetes.container.name":"api","io.kubernetes.cri-o.ContainerType":"container",
		"io.kubernetes.cri-o.Name":"k8s_api_api-0_web_9a8b_0","io.kubernetes.pod.name":"api-0",
		"io.kubernetes.pod.namespace":"web","io.kubernetes.pod.uid":"9a8b7c6d-0000-1111-2222-333333333333"}}`)
	return Sources{DockerRoots: []string{docker, filepath.Join(dir, "absent")}, BundleDirs: []string{ctrd, crio, filepath.Join(dir, "absent")}}
}

func TestLookup(t *testing.T) {
	s := sources(t)
	cases := []struct {
		id   string
		want Meta
	}{
		{idDocker, Meta{Name: "web-1", RuntimeName: "web-1", Runtime: "docker"}},
		{idK8sDock, Meta{Name: "app", RuntimeName: "k8s_app_shop-7d9f_prod_0f1e_0", Pod: "shop-7d9f", Namespace: "prod", PodUID: "0f1e2d3c-aaaa-bbbb-cccc-000000000001", Runtime: "docker"}},
		{idCtrd, Meta{Name: "worker", Pod: "worker-5b6c", Namespace: "batch", PodUID: "11111111-2222-3333-4444-555555555555", Runtime: "containerd"}},
		{idPause, Meta{Name: "POD", Pod: "worker-5b6c", Namespace: "batch", PodUID: "11111111-2222-3333-4444-555555555555", Runtime: "containerd"}},
		{idCRIO, Meta{Name: "api", Pod: "api-0", Namespace: "web", PodUID: "9a8b7c6d-0000-1111-2222-333333333333", Runtime: "cri-o"}},
	}
	for _, c := range cases {
		got, err := s.Lookup(c.id)
		if err != nil || got != c.want {
			t.Errorf("Lookup(%s...) = %+v, %v; want %+v", c.id[:8], got, err, c.want)
		}
	}
	if _, err := s.Lookup(strings.Repeat("f", 64)); err != ErrNotFound {
		t.Errorf("unknown container: %v, want ErrNotFound", err)
	}
	if _, err := s.Lookup("../../etc"); err == nil {
		t.Error("a path as container ID was accepted")
	}
}

func TestFindByName(t *testing.T) {
	s := sources(t)
	cases := map[string][]string{
		"web-1":                    {idDocker},
		"/web-1":                   {idDocker},
		"shop-7d9f/app":            {idK8sDock},
		"prod/shop-7d9f/app":       {idK8sDock},
		"batch/worker-5b6c/worker": {idCtrd},
		"web/api-0/api":            {idCRIO},
		"api":                      {idCRIO},
		"nothing":                  nil,
		"other/api-0/api":          nil,
	}
	for name, want := range cases {
		got, err := s.FindByName(name)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("FindByName(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}

// A runtime's file is its container owner's to fill: names are bounded
// and control characters dropped, a broken file is an error, not a panic.
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	id := strings.Repeat("9", 64)
	write(t, filepath.Join(dir, "containers", id, "config.v2.json"),
		`{"Name":"/`+strings.Repeat("x", 1000)+`","Config":{"Labels":{"io.kubernetes.pod.namespace":"a\nb\u0000c"}}}`)
	s := Sources{DockerRoots: []string{dir}}
	m, err := s.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Name) != maxValue || m.Namespace != "abc" {
		t.Errorf("name %d bytes, namespace %q; want %d bytes and %q", len(m.Name), m.Namespace, maxValue, "abc")
	}
	// A multi-byte name cut at the bound, and bytes that are not UTF-8.
	utf := strings.Repeat("7", 64)
	write(t, filepath.Join(dir, "containers", utf, "config.v2.json"), `{"Name":"/`+strings.Repeat("é", 200)+`","Config":{"Labels":{"io.kubernetes.pod.name":"a`+"\xff"+`b"}}}`)
	// (encoding/json turns the stray byte into U+FFFD)
	if m, err := s.Lookup(utf); err != nil || len(m.Name) != 252 || !utf8.ValidString(m.Name) || m.Pod != "a\uFFFDb" {
		t.Errorf("name of %d bytes (valid UTF-8 %v), pod %q, %v; want 252 bytes of é and pod a\uFFFDb", len(m.Name), utf8.ValidString(m.Name), m.Pod, err)
	}
	bad := strings.Repeat("8", 64)
	write(t, filepath.Join(dir, "containers", bad, "config.v2.json"), `{"Name":`)
	if _, err := s.Lookup(bad); err == nil || err == ErrNotFound {
		t.Errorf("truncated config.v2.json: %v, want a decoding error", err)
	}
}
