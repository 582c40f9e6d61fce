package containermeta

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLookup: whatever a runtime's files hold (they are the container
// owner's to fill, in part), Lookup returns names or an error, never
// panics, and every name is bounded, valid UTF-8 (a Prometheus label
// value) and free of control characters.
func FuzzLookup(f *testing.F) {
	f.Add([]byte(`{"Name":"/web","Config":{"Labels":{"io.kubernetes.pod.name":"p"}}}`), []byte(`{"annotations":{"io.kubernetes.cri.sandbox-name":"s"}}`))
	f.Add([]byte(`{"Name":`), []byte(`[]`))
	f.Add([]byte(`{"Config":{"Labels":null}}`), []byte(`{"annotations":{"io.kubernetes.cri-o.ContainerType":"sandbox","io.kubernetes.pod.name":"x\u0000y"}}`))
	f.Fuzz(func(t *testing.T, docker, bundle []byte) {
		dir := t.TempDir()
		id := strings.Repeat("ab", 32)
		for path, body := range map[string][]byte{
			filepath.Join(dir, "docker", "containers", id, "config.v2.json"): docker,
			filepath.Join(dir, "bundles", "k8s.io", id, "config.json"):       bundle,
		} {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s := Sources{DockerRoots: []string{filepath.Join(dir, "docker")}, BundleDirs: []string{filepath.Join(dir, "bundles")}}
		m, _ := s.Lookup(id)
		for _, v := range []string{m.Name, m.RuntimeName, m.Pod, m.Namespace, m.PodUID} {
			if len(v) > maxValue || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("unbounded, invalid or unprintable name %q", v)
			}
		}
		_, _ = s.FindByName("web")
	})
}
