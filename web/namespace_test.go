package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leakscope/leakscope/report"
)

// TestNamespaceFilter: targets show their pod, namespace and container
// name; ?namespace= keeps one namespace's targets, and the page links
// every namespace present.
func TestNamespaceFilter(t *testing.T) {
	store := NewStore()
	store.Publish(&report.Update{Doc: &report.Document{GeneratedAt: time.Now(), Targets: []report.Target{
		{PID: 10, Exe: "shop", ContainerID: "aa11", ContainerName: "app", Pod: "shop-7d9f", Namespace: "prod", Status: report.StatusWatching},
		{PID: 11, Exe: "worker", ContainerID: "bb22", ContainerName: "worker", Pod: "worker-5b6c", Namespace: "batch", Status: report.StatusWatching},
		{PID: 12, Exe: "plain", Status: report.StatusWatching},
	}}})
	srv := httptest.NewServer(NewServer(Options{Store: store, Metrics: http.NotFoundHandler(), OutDir: t.TempDir()}).Handler())
	t.Cleanup(srv.Close)

	_, all := get(t, srv.URL+"/")
	for _, want := range []string{`id="pid-10"`, `id="pid-11"`, `id="pid-12"`, `pod <span class="pod">prod/shop-7d9f</span>`,
		`container <span class="container-name">app</span>`, `<a href="/?namespace=batch">batch</a>`, `<a href="/?namespace=prod">prod</a>`} {
		if !strings.Contains(all, want) {
			t.Errorf("page without filter lacks %q", want)
		}
	}
	_, prod := get(t, srv.URL+"/?namespace=prod")
	if !strings.Contains(prod, `id="pid-10"`) || strings.Contains(prod, `id="pid-11"`) || strings.Contains(prod, `id="pid-12"`) {
		t.Errorf("?namespace=prod shows other namespaces' targets:\n%s", prod)
	}
	if !strings.Contains(prod, "<b>prod</b>") || !strings.Contains(prod, `<a href="/">all</a>`) {
		t.Error("?namespace=prod: the filter is not shown as chosen")
	}
}
