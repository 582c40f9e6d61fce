package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// TestDebugPprof: --debug-pprof serves leakscope's own heap profile on
// loopback, and refuses an address reachable from the network.
func TestDebugPprof(t *testing.T) {
	if _, err := listenDebugPprof("0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "--debug-pprof 0.0.0.0:0: want a loopback address") {
		t.Errorf("--debug-pprof 0.0.0.0:0: %v, want a loopback error", err)
	}
	if _, err := listenDebugPprof("not-an-address"); err == nil || !strings.HasPrefix(err.Error(), "--debug-pprof not-an-address: ") {
		t.Errorf("--debug-pprof not-an-address: %v, want an error naming the flag", err)
	}
	ln, err := listenDebugPprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); serveDebugPprof(ctx, ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	defer func() { cancel(); <-done }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/heap")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /debug/pprof/heap: %s", resp.Status)
	}
	p, err := profile.Parse(resp.Body)
	if err != nil {
		t.Fatalf("parsing leakscope's heap profile: %v", err)
	}
	if len(p.SampleType) == 0 || p.SampleType[len(p.SampleType)-1].Type != "inuse_space" {
		t.Errorf("heap profile sample types %v, want ending with inuse_space", p.SampleType)
	}
	f, err := parseFlags([]string{"--pid", "4242", "--debug-pprof", "127.0.0.1:6060"})
	if err != nil || f.DebugPprof != "127.0.0.1:6060" {
		t.Errorf("parseFlags --debug-pprof: %+v, %v", f, err)
	}
	if f, err := parseFlags([]string{"--pid", "4242"}); err != nil || f.DebugPprof != "" {
		t.Errorf("--debug-pprof is on by default: %q, %v", f.DebugPprof, err)
	}
}
