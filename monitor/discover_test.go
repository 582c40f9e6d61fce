package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakscope/leakscope/cgroup"
	"github.com/leakscope/leakscope/containermeta"
	"github.com/leakscope/leakscope/tracer"
)

func TestResolveContainer(t *testing.T) {
	a := strings.Repeat("ab", 32)
	b := "abcd" + strings.Repeat("0", 60)
	running := map[string]bool{a: true, b: true}
	for _, tc := range []struct{ arg, want, err string }{
		{a, a, ""},
		{"ABAB", a, ""}, // IDs are case-insensitive to type
		{"abc", b, ""},
		{"ab", "", "ambiguous, matches 2 containers"},
		{"ff", "", "no running container has this ID"},
		{"xyz", "", "not a container ID"},
		{"", "", "not a container ID"},
		{a + "0", "", "not a container ID"},
	} {
		got, err := resolveContainer(tc.arg, running)
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("resolveContainer(%q) = %q, %v; want %q, error with %q", tc.arg, got, err, tc.want, tc.err)
		}
	}
}

// TestScannerPicks: selection by cgroup, the within scope, exclusion by
// executable name, and leakscope never picking itself.
func TestScannerPicks(t *testing.T) {
	self, err := identify(uint32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	of, err := cgroup.Read(self.pid)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(os.Args[0])
	for _, tc := range []struct {
		name string
		sel  selection
		want bool
	}{
		{"all", selection{all: true}, true},
		{"own cgroup", selection{cgroups: []string{of.Path}}, true},
		{"other cgroup", selection{cgroups: []string{"/leakscope-elsewhere"}}, false},
		{"all within own cgroup", selection{all: true, within: of.Path}, true},
		{"all within another", selection{all: true, within: "/leakscope-elsewhere"}, false},
		{"excluded", selection{all: true, exclude: map[string]bool{name: true}}, false},
		{"nothing", selection{}, false},
	} {
		s := newScanner(&tc.sel)
		c, got := s.pick(self, tracer.ExeKey{})
		if got != tc.want {
			t.Errorf("%s: picked %v, want %v", tc.name, got, tc.want)
		}
		if got && c.byAllOnly != (len(tc.sel.cgroups) == 0) {
			t.Errorf("%s: byAllOnly %v", tc.name, c.byAllOnly)
		}
	}
	// A process looks the same from scan to scan.
	g1, err1 := glance(self.pid)
	g2, err2 := glance(self.pid)
	if err1 != nil || err2 != nil || g1 != g2 || g1.procIno == 0 || g1.ino == 0 {
		t.Errorf("glance(self) = %+v, %v then %+v, %v", g1, err1, g2, err2)
	}
	// A scan never returns leakscope itself.
	s := newScanner(&selection{all: true, within: of.Path})
	for _, c := range s.scan() {
		if c.id.pid == self.pid {
			t.Errorf("the scan picked leakscope itself")
		}
	}
}

// BenchmarkScan is the cost of one look at /proc when every process is
// known already (the steady state): reported per scan, and per process.
func BenchmarkScan(b *testing.B) {
	s := newScanner(&selection{within: "/leakscope-matches-nothing"})
	s.scan()
	n := len(s.known)
	b.ResetTimer()
	for range b.N {
		s.scan()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(max(n, 1)), "ns/process")
	b.ReportMetric(float64(n), "processes")
}

// TestResolveContainerByName: an exact name (Docker's, or Kubernetes'
// pod/container and namespace/pod/container) before an ID prefix, only
// running containers, and ambiguous names refused.
func TestResolveContainerByName(t *testing.T) {
	dir := t.TempDir()
	web := strings.Repeat("a1", 32)
	old := strings.Repeat("a2", 32) // a stopped container of the same pod
	other := strings.Repeat("b3", 32)
	dup1, dup2 := strings.Repeat("c4", 32), strings.Repeat("c5", 32)
	write := func(id, body string) {
		p := filepath.Join(dir, "containers", id, "config.v2.json")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k8s := `{"Name":"/k8s_app_shop_prod_1","Config":{"Labels":{"io.kubernetes.pod.name":"shop","io.kubernetes.pod.namespace":"prod","io.kubernetes.container.name":"app"}}}`
	write(web, k8s)
	write(old, k8s)
	write(other, `{"Name":"/b3","Config":{"Labels":{}}}`) // a name that is another's ID prefix
	write(dup1, `{"Name":"/x","Config":{"Labels":{"io.kubernetes.pod.name":"p","io.kubernetes.pod.namespace":"a","io.kubernetes.container.name":"c"}}}`)
	write(dup2, `{"Name":"/y","Config":{"Labels":{"io.kubernetes.pod.name":"p","io.kubernetes.pod.namespace":"b","io.kubernetes.container.name":"c"}}}`)
	running := map[string]bool{web: true, other: true, dup1: true, dup2: true}
	src := containermeta.Sources{DockerRoots: []string{dir}}
	for _, tc := range []struct{ arg, want, err string }{
		{"shop/app", web, ""},
		{"prod/shop/app", web, ""},
		{"k8s_app_shop_prod_1", web, ""},
		{"/k8s_app_shop_prod_1", web, ""},
		{"b3", other, ""}, // the name wins over the prefix of b3b3...
		{"a1a1", web, ""}, // an ID prefix
		{"p/c", "", "ambiguous, 2 running containers have this name"},
		{"a/p/c", dup1, ""}, // the namespace tells them apart
		{"nope", "", "not a container ID, nor the name of a running container"},
		{"ff", "", "no running container has this ID"},
	} {
		got, err := resolveContainerArg(tc.arg, running, src)
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("resolveContainerArg(%q) = %q, %v; want %q, error with %q", tc.arg, got, err, tc.want, tc.err)
		}
	}
}
