package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/metrics"
	"github.com/leakscope/leakscope/monitor"
	"github.com/leakscope/leakscope/web"
)

// httpServer is the HTTP side of a watch, bound before anything attaches
// so that a bad address or credential fails fast.
type httpServer struct {
	srv      *web.Server
	ln       net.Listener
	cert     string
	key      string
	store    *web.Store
	log      *slog.Logger
	insecure bool // reachable from the network without a token or TLS
}

// newHTTPServer validates the HTTP flags and listens. It returns nil, nil
// when there is to be no server: --listen "", or the default address is
// taken (another leakscope, say), which is logged rather than fatal.
func newHTTPServer(f *Flags, log *slog.Logger, onDemand *monitor.OnDemand) (*httpServer, error) {
	if f.Listen == "" {
		return nil, nil
	}
	token, err := readToken(f.AuthTokenFile)
	if err != nil {
		return nil, err
	}
	if f.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(f.TLSCert, f.TLSKey); err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	}
	ln, err := net.Listen("tcp", f.Listen)
	if err != nil {
		if !f.ListenExplicit {
			log.Warn("no HTTP server: the default address is not available (give --listen ADDR, or --listen '' to silence this)", "err", err)
			return nil, nil
		}
		return nil, fmt.Errorf("--listen %s: %w", f.Listen, err)
	}
	store := web.NewStore()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(store.Latest))
	// leakscope's own CPU time and resident memory (process_*), for the
	// dashboard's health row.
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := &httpServer{
		srv: web.NewServer(web.Options{
			Store:           store,
			Metrics:         promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}),
			OutDir:          f.Out,
			Token:           token,
			SourcePath:      f.SourcePath,
			Log:             log,
			SearchRetention: searchRetention(onDemand),
		}),
		ln: ln, cert: f.TLSCert, key: f.TLSKey, store: store, log: log,
		insecure: !isLoopback(ln.Addr()) && (token == "" || f.TLSCert == ""),
	}
	return h, nil
}

// searchRetention serves the web view's on-demand searches through the
// watch (nil: none), in the web package's terms.
func searchRetention(o *monitor.OnDemand) web.SearchRetention {
	if o == nil {
		return nil
	}
	return func(ctx context.Context, pid uint32, function string) (*analysis.Retention, error) {
		r, err := o.Search(ctx, pid, function)
		var soon *monitor.TooSoonError
		switch {
		case errors.As(err, &soon):
			return nil, &web.RetryAfterError{After: soon.RetryAfter, Err: err}
		case errors.Is(err, monitor.ErrUnknownTarget), errors.Is(err, monitor.ErrUnknownSuspect):
			return nil, fmt.Errorf("%w: pid %d, %s: %w", web.ErrNotFound, pid, function, err)
		}
		return r, err
	}
}

// serve runs until ctx ends.
func (h *httpServer) serve(ctx context.Context) {
	scheme := "http"
	if h.cert != "" {
		scheme = "https"
	}
	h.log.Info("serving", "url", scheme+"://"+h.ln.Addr().String()+"/")
	if h.insecure {
		h.log.Warn("the HTTP server is reachable from the network without both --auth-token-file and TLS: profiles and suspects show code paths and data sizes")
	}
	if err := h.srv.Serve(ctx, h.ln, h.cert, h.key); err != nil {
		h.log.Error("HTTP server stopped", "err", err)
	}
}

// readToken reads --auth-token-file: one line, not empty.
func readToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--auth-token-file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" || strings.ContainsAny(token, "\r\n") {
		return "", errors.New("--auth-token-file: want one non-empty line")
	}
	return token, nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
