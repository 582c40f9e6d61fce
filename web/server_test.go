package web

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/crosscheck"
	"github.com/leakscope/leakscope/report"
)

const pid = 4242

// leakProfile is a heap profile with one leak site whose source file is
// secretFile: the pprof UI must not read it.
func leakProfile(secretFile string) *profile.Profile {
	fn := &profile.Function{ID: 1, Name: "main.remember", SystemName: "main.remember", Filename: secretFile}
	loc := &profile.Location{ID: 1, Address: 0x401000, Line: []profile.Line{{Function: fn, Line: 2}}}
	return &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:     524288,
		Sample:     []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{16, 8 << 20}}},
		Location:   []*profile.Location{loc},
		Function:   []*profile.Function{fn},
		TimeNanos:  time.Now().UnixNano(),
	}
}

func update(at time.Time, live int64, secretFile string) *report.Update {
	return &report.Update{
		Doc: &report.Document{GeneratedAt: at, Skipped: []report.Skipped{{PID: 77, Exe: "sh", Reason: "not a Go program"}}, Targets: []report.Target{{
			PID: pid, NSPID: 1, ContainerID: "0123abcd", Exe: "shop", Status: report.StatusWatching, GCCycles: 12,
			Lost: map[string]uint64{"live_full": 7, "stack_read_failed": 0},
			Suspects: []analysis.Suspect{{
				Function: "main.remember", File: "shop/main.go", Line: 2, Stack: []string{"main.remember (shop/main.go:2)"},
				LiveBytes: live, OldBytes: live / 2, GrowthBytesPerSecond: 1 << 20, Score: 0.9, Verdict: analysis.VerdictLeak,
				Pprof: &analysis.PprofCheck{Status: analysis.PprofDisagrees, Reason: "missed frees?", InuseBytes: 3 << 20},
			}, {
				Function: "main.key", File: "shop/main.go", Line: 9, Stack: []string{"encoding/hex.EncodeToString (hex.go:100)", "main.key (shop/main.go:9)"},
				AllocatedIn: []string{"encoding/hex.EncodeToString"}, LiveBytes: 1 << 20, GrowthBytesPerSecond: 10, Score: 0.95, Verdict: analysis.VerdictWatch,
				Reason: "only 2 GC cycles observed",
			}},
			PreAttachFrees: 5,
			GC:             &report.GCRegime{GCRegime: analysis.GCRegime{Summary: "rare GC (0.5 per minute)"}, Settings: "GOGC=400 (environment at exec)"},
			Pprof: &crosscheck.TargetCheck{URL: "http://127.0.0.1:6060/debug/pprof/heap", Discovered: true, Status: crosscheck.StatusStale,
				AgreementScore: new(float64), Disagreed: 1, LastError: "connection refused"},
			Cost: &report.Cost{EffectiveRate: 4 << 20, ConfiguredRate: 512 << 10, EstimatedOverhead: new(0.0042), MaxOverhead: 0.01, BudgetActive: true},
		}}},
		Profiles: map[uint32]*profile.Profile{pid: leakProfile(secretFile)},
	}
}

type fixture struct {
	srv    *httptest.Server
	outDir string
	secret string
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	f := &fixture{outDir: t.TempDir()}
	// A file the watched binary names as its source: must never be served.
	f.secret = filepath.Join(t.TempDir(), "secret.go")
	if err := os.WriteFile(f.secret, []byte("package main\nvar password = \"hunter2-do-not-serve\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := NewStore()
	start := time.Now()
	for i := range 5 {
		store.Publish(update(start.Add(time.Duration(i)*10*time.Second), int64(i+1)<<20, f.secret))
	}
	saved := filepath.Join(f.outDir, "4242", "leak-20260101T000000Z.pb.gz")
	os.MkdirAll(filepath.Dir(saved), 0o755)
	var buf bytes.Buffer
	leakProfile("x.go").Write(&buf)
	os.WriteFile(saved, buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(f.outDir, "4242", "notes.txt"), []byte("not a profile"), 0o644)

	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "leakscope_targets 1\n") })
	s := NewServer(Options{Store: store, Metrics: metrics, OutDir: f.outDir, Token: token})
	f.srv = httptest.NewServer(s.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestRoutes(t *testing.T) {
	f := newFixture(t, "")
	u := f.srv.URL

	code, body := get(t, u+"/suspects.json")
	var doc report.Document
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || len(doc.Targets) != 1 || doc.Targets[0].Suspects[0].Function != "main.remember" {
		t.Errorf("/suspects.json: %d %q", code, body)
	}
	if code, body := get(t, u+"/metrics"); code != 200 || !strings.Contains(body, "leakscope_targets") {
		t.Errorf("/metrics: %d %q", code, body)
	}
	if code, body := get(t, u+"/profiles/"); code != 200 || body != "4242/\n" {
		t.Errorf("/profiles/: %d %q", code, body)
	}
	if code, body := get(t, u+"/profiles/4242/"); code != 200 || body != "leak.pb.gz\nleak-20260101T000000Z.pb.gz\n" {
		t.Errorf("/profiles/4242/: %d %q", code, body)
	}
	for _, name := range []string{"leak.pb.gz", "leak-20260101T000000Z.pb.gz"} {
		code, body := get(t, u+"/profiles/4242/"+name)
		p, err := profile.ParseData([]byte(body))
		if code != 200 || err != nil || p.Function[0].Name != "main.remember" {
			t.Errorf("/profiles/4242/%s: %d, %v", name, code, err)
		}
	}
	for _, path := range []string{"/profiles/4242/notes.txt", "/profiles/4242/..%2f..%2fetc%2fpasswd", "/profiles/1/leak.pb.gz", "/profiles/x/leak.pb.gz", "/ui/1/top", "/nope"} {
		if code, _ := get(t, u+path); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}

	code, body = get(t, u+"/")
	if code != 200 || !strings.Contains(body, `<code class="site">main.remember</code>`) || !strings.Contains(body, `<svg class="chart"`) ||
		!strings.Contains(body, "live_full: 7") || strings.Contains(body, "stack_read_failed") {
		t.Errorf("/: %d\n%s", code, body)
	}
	for _, want := range []string{`<span class="pprof-disagrees" title="missed frees?">disagrees</span>`, "in use 3.0 MiB",
		"<code>http://127.0.0.1:6060/debug/pprof/heap</code>, discovered",
		"pid 4242 (pid 1 in its namespace) · shop · container 0123abcd",
		`<p class="cost">watching costs ~0.42% of a core (budget 1%, active: rate 4.0 MiB, configured 512.0 KiB) · names leaks from none within 1 min`, "<td>77</td><td>sh</td><td></td><td>not a Go program</td>", "agrees on 0 of 1 suspects", "last error: connection refused"} {
		if !strings.Contains(body, want) {
			t.Errorf("/: the cross-check lacks %q", want)
		}
	}
	for _, want := range []string{"not a leak yet: only 2 GC cycles observed", `allocated in <code>encoding/hex.EncodeToString</code>`,
		"GC: rare GC (0.5 per minute) · GOGC=400 (environment at exec)", `<p class="expected">5 frees of objects sampled before leakscope attached (expected: not a loss)</p>`,
		"<td>1</td>\n<td><span class=\"leak\">", "<td>2</td>\n<td><span class=\"watch\">"} {
		if !strings.Contains(body, want) {
			t.Errorf("/: lacks %q", want)
		}
	}
	if strings.Count(body, "<polyline") != 4 || !strings.Contains(body, "over 40s") {
		t.Errorf("/: want one chart of 5 points over 40 s:\n%s", body)
	}
}

func TestPprofUI(t *testing.T) {
	f := newFixture(t, "")
	u := f.srv.URL
	for _, view := range []string{"top", "flamegraph", "peek", "source"} {
		code, body := get(t, u+"/ui/4242/"+view)
		if code != 200 || !strings.Contains(body, "main.remember") {
			t.Errorf("/ui/4242/%s: %d\n%.400s", view, code, body)
		}
		if strings.Contains(body, "hunter2") {
			t.Errorf("/ui/4242/%s served the file the profile names", view)
		}
	}
	resp, err := http.Get(u + "/ui/4242/")
	if err != nil || resp.StatusCode != 200 || !strings.HasSuffix(resp.Request.URL.Path, "/ui/4242/flamegraph") {
		t.Errorf("/ui/4242/ should redirect to its flame graph: %v %v", resp.Request.URL, err)
	}
	for _, view := range []string{"disasm", "saveconfig", "deleteconfig"} {
		if code, _ := get(t, u+"/ui/4242/"+view); code != http.StatusForbidden {
			t.Errorf("/ui/4242/%s: %d, want 403", view, code)
		}
	}
}

func TestToken(t *testing.T) {
	f := newFixture(t, "s3cret")
	u := f.srv.URL
	for _, c := range []struct {
		header []string
		want   int
	}{
		{nil, 401},
		{[]string{"Authorization", "Bearer wrong"}, 401},
		{[]string{"Authorization", "Bearer s3cret"}, 200},
		{[]string{"Authorization", "Basic " + basic("pprof", "s3cret")}, 200},
		{[]string{"Authorization", "Basic " + basic("s3cret", "")}, 401},
	} {
		for _, path := range []string{"/", "/metrics", "/suspects.json", "/profiles/4242/leak.pb.gz", "/ui/4242/top"} {
			if code, _ := get(t, u+path, c.header...); code != c.want {
				t.Errorf("%s with %q: %d, want %d", path, c.header, code, c.want)
			}
		}
	}
	// go tool pprof sends the URL's user info as basic auth.
	resp, err := http.Get(strings.Replace(u, "http://", "http://pprof:s3cret@", 1) + "/profiles/4242/leak.pb.gz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("token in the URL: %v %v", resp.Status, err)
	}
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	s := NewServer(Options{Store: NewStore(), Metrics: http.NotFoundHandler()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, cert, key) }()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	resp, err := client.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("https: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Error("plain http was served on the TLS port")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("Serve did not stop within 3 s of cancel")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "leakscope test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

func TestStoreHistoryBounded(t *testing.T) {
	s := NewStore()
	start := time.Now()
	for i := range historyLen + 50 {
		s.Publish(update(start.Add(time.Duration(i)*time.Second), int64(i), "x.go"))
	}
	h := s.History(pid, []string{"main.remember (shop/main.go:2)"}, "main.remember")
	if len(h) != historyLen || h[len(h)-1].LiveBytes != historyLen+49 {
		t.Errorf("history: %d points ending at %d; want %d ending at %d", len(h), h[len(h)-1].LiveBytes, historyLen, historyLen+49)
	}
	// The target is gone from the next results: its history goes too.
	s.Publish(&report.Update{Doc: &report.Document{GeneratedAt: start.Add(time.Hour)}})
	if len(s.history) != 0 {
		t.Errorf("%d histories kept after the target left", len(s.history))
	}
}

func TestSourcePathConfined(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.go")
	os.WriteFile(outside, []byte("secret"), 0o600)
	os.MkdirAll(filepath.Join(root, "shop"), 0o755)
	os.WriteFile(filepath.Join(root, "shop", "main.go"), []byte("package main"), 0o644)
	os.Symlink(outside, filepath.Join(root, "shop", "link.go"))
	realRoot, _ := filepath.EvalSymlinks(root)

	u := &pprofUI{sourcePath: root}
	for _, c := range []struct{ name, want string }{
		{"/build/ci/shop/main.go", filepath.Join(realRoot, "shop", "main.go")},
		{"shop/main.go", filepath.Join(realRoot, "shop", "main.go")},
		{"/build/shop/link.go", noSource + "/build/shop/link.go"}, // symlink out of the root
		{"../../../../" + outside, noSource + outside},            // climbs out
		{outside, noSource + outside},                             // absolute elsewhere
	} {
		if got := u.sourceFile(c.name); got != c.want {
			t.Errorf("sourceFile(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if got := (&pprofUI{}).sourceFile("/etc/passwd"); got != noSource+"/etc/passwd" {
		t.Errorf("without a source path: %q", got)
	}
}
