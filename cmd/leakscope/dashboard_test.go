package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/leakscope/leakscope/internal/testutil"
)

// startLossyWatch runs a second leakscope whose live-object map is far
// too small for its leaking target (a host process), so that losses are
// counted and exported: the loss panels and alert need some. It returns
// its metrics address.
func startLossyWatch(t *testing.T, leakscope, dir string) string {
	t.Helper()
	// A copy of its own: the other watch's probes are on another file.
	fixture := testutil.Build(t, dir, "leaky-lossy", "./testdata/leaky")
	target := testutil.Start(t, fixture, "-leak=slice", "-churn-rate=8388608", "-duration=10m")
	target.WaitLine(t, "ready", 10*time.Second)
	addr := testutil.LoopbackAddr(testutil.FreePort(t))
	testutil.Start(t, leakscope, "--pid", fmt.Sprint(target.PID()), "--max-live-objects=8", "--interval=2s",
		"--listen", addr, "--out", filepath.Join(dir, "out-lossy"))
	waitHTTP(t, "http://"+addr+"/healthz", 20*time.Second)
	return addr
}

// startPrometheus runs the real Prometheus (as the HTTP test does),
// scraping the given leakscope addresses every 2 s, and returns its URL.
func startPrometheus(t *testing.T, dir string, targets ...string) string {
	t.Helper()
	bin := testutil.RequireCommand(t, "prometheus", "prometheus")
	promAddr := testutil.LoopbackAddr(testutil.FreePort(t))
	config := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(config, fmt.Appendf(nil, "global:\n  scrape_interval: 2s\nscrape_configs:\n  - job_name: leakscope\n    static_configs:\n      - targets: ['%s']\n",
		strings.Join(targets, "', '")), 0o644)
	testutil.Start(t, bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	waitHTTP(t, "http://"+promAddr+"/-/ready", 30*time.Second)
	return "http://" + promAddr
}

// promSeries runs an instant query and returns the label sets of its
// results.
func promSeries(t *testing.T, server, query string) ([]map[string]string, error) {
	t.Helper()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	resp, err := httpGetErr(server + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(resp), &r); err != nil || r.Status != "success" {
		return nil, fmt.Errorf("query %s: %v %s %s", query, err, r.Status, r.Error)
	}
	var out []map[string]string
	for _, s := range r.Data.Result {
		out = append(out, s.Metric)
	}
	return out, nil
}

type dashboardQuery struct {
	where, title, expr string
}

// dashboardQueries extracts every PromQL expression of the Grafana
// dashboard (panels, rows, nested panels) and the alert rules, with the
// dashboard's variables filled in as Grafana would for "All".
func dashboardQueries(t *testing.T) []dashboardQuery {
	t.Helper()
	root := testutil.ModuleRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "deploy/grafana/leakscope.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("deploy/grafana/leakscope.json: %v", err)
	}
	vars := strings.NewReplacer("${namespace}", ".*", "$namespace", ".*", "$__rate_interval", "1m", "${__rate_interval}", "1m")
	var qs []dashboardQuery
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var p struct {
			Title   string                  `json:"title"`
			Targets []struct{ Expr string } `json:"targets"`
			Panels  []json.RawMessage       `json:"panels"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("dashboard panel: %v", err)
		}
		for _, tg := range p.Targets {
			if tg.Expr != "" {
				qs = append(qs, dashboardQuery{"dashboard", p.Title, vars.Replace(tg.Expr)})
			}
		}
		for _, sub := range p.Panels {
			walk(sub)
		}
	}
	for _, p := range dash.Panels {
		walk(p)
	}
	rb, err := os.ReadFile(filepath.Join(root, "deploy/prometheus/leakscope-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rb, &rules); err != nil {
		t.Fatalf("leakscope-rules.yml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			qs = append(qs, dashboardQuery{"alert rule", r.Alert + r.Record, r.Expr})
		}
	}
	for _, q := range qs {
		if strings.Contains(q.expr, "$") {
			t.Errorf("%s %q: a variable the test does not fill: %s", q.where, q.title, q.expr)
		}
	}
	return qs
}

// checkDashboardQueries runs every dashboard and alert expression against
// Prometheus: each must return data, every one whose results name call
// sites must name the leak, and the per-namespace/pod ones must name the
// leaking pod.
func checkDashboardQueries(t *testing.T, prom, leakFunc, namespace, pod string) {
	t.Helper()
	qs := dashboardQueries(t)
	if len(qs) < 15 {
		t.Fatalf("%d expressions found in the dashboard and rules: the extraction is broken", len(qs))
	}
	deadline := time.Now().Add(60 * time.Second) // rate() windows and the lossy watch need a few scrapes
	for _, q := range qs {
		var series []map[string]string
		var err error
		for {
			series, err = promSeries(t, prom, q.expr)
			if (err == nil && len(series) > 0) || time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Second)
		}
		switch {
		case err != nil:
			t.Errorf("%s %q: %v", q.where, q.title, err)
			continue
		case len(series) == 0:
			t.Errorf("%s %q returns no data: %s", q.where, q.title, q.expr)
			continue
		}
		namesSites, namesLeak, namesPod := false, false, false
		for _, s := range series {
			if _, ok := s["function"]; ok {
				namesSites = true
				namesLeak = namesLeak || s["function"] == leakFunc
			}
			namesPod = namesPod || (s["namespace"] == namespace && (s["pod"] == pod || s["pod"] == ""))
		}
		if namesSites && !namesLeak {
			t.Errorf("%s %q names call sites but not the leak %s: %v", q.where, q.title, leakFunc, series)
		}
		if strings.Contains(q.title, "namespace") && !namesPod {
			t.Errorf("%s %q does not name namespace %s: %v", q.where, q.title, namespace, series)
		}
		t.Logf("%s %q: %d series", q.where, q.title, len(series))
	}
}

func httpGetErr(u string) (string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	return string(b), err
}
