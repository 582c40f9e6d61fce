package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// listenDebugPprof binds --debug-pprof: leakscope's own profiles (heap,
// goroutines, CPU) for an operator asking where its memory or CPU goes.
// Loopback only: the profiles name leakscope's internals and the targets'
// paths, and the listener has neither token nor TLS.
func listenDebugPprof(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-pprof %s: %w", addr, err)
	}
	if !isLoopback(ln.Addr()) {
		_ = ln.Close()
		return nil, fmt.Errorf("--debug-pprof %s: want a loopback address (127.0.0.1:PORT or [::1]:PORT)", addr)
	}
	return ln, nil
}

// serveDebugPprof serves net/http/pprof's handlers on ln until ctx ends.
// They are on a mux of their own, never on the default one or the
// --listen server.
func serveDebugPprof(ctx context.Context, ln net.Listener, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("serving leakscope's own profiles", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("debug pprof server stopped", "err", err)
	}
}
