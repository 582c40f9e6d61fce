package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/leakscope/leakscope/internal/testutil"
)

// TestHTTPWithPrometheusAndBrowser serves a real watch over HTTP and
// checks it the way an operator would: a real Prometheus server scrapes
// /metrics and its query API returns the fixture's leak site with a
// positive growth; promtool accepts a live scrape; `go tool pprof`'s
// parser opens /profiles/PID/leak.pb.gz; headless Chromium renders the
// web view (the leak site and a chart) and the pprof UI for the target.
// Screenshots are left in the artifact directory.
func TestHTTPWithPrometheusAndBrowser(t *testing.T) {
	testutil.RequireBPF(t)
	if testing.Short() {
		t.Skip("watches for about a minute")
	}
	prometheusBin := testutil.RequireCommand(t, "prometheus", "prometheus")
	promtool := testutil.RequireCommand(t, "promtool", "prometheus")
	chromium := testutil.RequireCommand(t, "chromium", "chromium")

	dir := t.TempDir()
	leakscope := buildLeakscope(t, dir)
	fixture := testutil.Build(t, dir, "leaky", "./testdata/leaky")
	target := testutil.Start(t, fixture, "-leak=map", "-churn-rate=16777216", "-duration=5m")
	target.WaitLine(t, "ready", 10*time.Second)

	addr := testutil.LoopbackAddr(testutil.FreePort(t))
	base := "http://" + addr
	ls := testutil.Start(t, leakscope, "--pid", strconv.Itoa(target.PID()), "--interval=2s", "--listen", addr, "--out", filepath.Join(dir, "out"))
	waitHTTP(t, base+"/healthz", 10*time.Second)

	promAddr := testutil.LoopbackAddr(testutil.FreePort(t))
	config := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(config, fmt.Appendf(nil, "global:\n  scrape_interval: 2s\nscrape_configs:\n  - job_name: leakscope\n    static_configs:\n      - targets: ['%s']\n", addr), 0o644)
	testutil.Start(t, prometheusBin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	waitHTTP(t, "http://"+promAddr+"/-/ready", 30*time.Second)

	// The leak site, with a positive growth, through Prometheus.
	query := fmt.Sprintf(`leakscope_suspect_growth_bytes_per_second{function="main.leakMap",pid="%d"} > 0`, target.PID())
	var growth string
	deadline := time.Now().Add(90 * time.Second)
	for growth == "" && time.Now().Before(deadline) {
		time.Sleep(2 * time.Second)
		growth = promQuery(t, "http://"+promAddr, query)
	}
	if growth == "" {
		t.Fatalf("Prometheus never returned %s within 90 s; last scrape:\n%s", query, httpGet(t, base+"/metrics"))
	}
	t.Logf("Prometheus: main.leakMap grows %s bytes/s", growth)

	// What holds it, searched on demand (the verdict may still be watch,
	// which is searched automatically only once it is leak), then a
	// second request too soon after, then the search in the metrics.
	form := url.Values{"function": {"main.leakMap"}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/retention/%d", base, target.PID()), strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var held struct {
		Status string `json:"status"`
		Paths  []struct {
			Root string `json:"root"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(body, &held); resp.StatusCode != http.StatusOK || err != nil || held.Status != "found" || len(held.Paths) == 0 || held.Paths[0].Root != "main.cache" {
		t.Errorf("on-demand search: %s %s (%v); want found, held by main.cache", resp.Status, body, err)
	} else {
		t.Logf("on demand: main.leakMap held by %s", held.Paths[0].Root)
	}
	resp, err = http.Post(fmt.Sprintf("%s/retention/%d", base, target.PID()), "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second on-demand search at once: %s, Retry-After %q; want 429 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	onDemand := fmt.Sprintf(`leakscope_retention_searches_total{container="",container_id="",exe="leaky",namespace="",ns_pid="%d",pid="%d",pod="",trigger="on_demand"} 1`, target.PID(), target.PID())
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(httpGet(t, base+"/metrics"), onDemand); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Errorf("/metrics lacks %s", onDemand)
			break
		}
	}

	// promtool on a live scrape.
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(httpGet(t, base+"/metrics"))
	if out, err := check.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// The profile, as go tool pprof would fetch it.
	p, err := profile.ParseData([]byte(httpGet(t, fmt.Sprintf("%s/profiles/%d/leak.pb.gz", base, target.PID()))))
	if err != nil || !profileHas(p, "main.leakMap") {
		t.Errorf("/profiles/%d/leak.pb.gz: %v; want a profile naming main.leakMap", target.PID(), err)
	}

	// The web view and the pprof UI, rendered by a browser.
	art := testutil.ArtifactDir(t)
	page := browse(t, chromium, base+"/", filepath.Join(art, "webview.png"))
	if !strings.Contains(page, `<code class="site">main.leakMap</code>`) || !strings.Contains(page, `<svg class="chart"`) || !strings.Contains(page, "<polyline") {
		t.Errorf("web view lacks the leak site or its chart:\n%s", page)
	}
	ui := browse(t, chromium, fmt.Sprintf("%s/ui/%d/flamegraph", base, target.PID()), filepath.Join(art, "pprof-flamegraph.png"))
	if !strings.Contains(ui, "main.leakMap") || !strings.Contains(ui, "pprof") {
		t.Errorf("pprof UI page lacks the leak site:\n%.2000s", ui)
	}
	t.Logf("screenshots in %s", art)

	// A clean stop: the server goes with the watch.
	ls.Signal(syscall.SIGTERM)
	if err := ls.Wait(t, 10*time.Second); err != nil {
		t.Errorf("leakscope after SIGTERM: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the HTTP server still answers after leakscope exited")
	}
}

// browse renders url in headless Chromium, saves a screenshot and returns
// the DOM after scripts ran.
func browse(t *testing.T, chromium, url, screenshot string) string {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,900", "--virtual-time-budget=3000"}
	shot := exec.Command(chromium, append(args, "--screenshot="+screenshot, url)...)
	if out, err := shot.CombinedOutput(); err != nil {
		t.Errorf("chromium --screenshot %s: %v\n%s", url, err, out)
	} else if fi, err := os.Stat(screenshot); err != nil || fi.Size() < 1000 {
		t.Errorf("screenshot of %s missing or empty: %v", url, err)
	}
	dom := exec.Command(chromium, append(args, "--dump-dom", url)...)
	dom.Stderr = io.Discard
	out, err := dom.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v", url, err)
	}
	return string(out)
}

func waitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %v: %v", url, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return string(b)
}

// promQuery runs an instant query and returns the first result's value,
// or "" when there is none.
func promQuery(t *testing.T, server, query string) string {
	t.Helper()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(httpGet(t, server+"/api/v1/query?query="+url.QueryEscape(query))), &r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %+v", query, err, r)
	}
	if len(r.Data.Result) == 0 {
		return ""
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return s
}

func profileHas(p *profile.Profile, function string) bool {
	for _, f := range p.Function {
		if f.Name == function {
			return true
		}
	}
	return false
}
