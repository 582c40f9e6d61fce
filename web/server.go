package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/leakscope/leakscope/report"
)

// Options configures a Server.
type Options struct {
	Store   *Store
	Metrics http.Handler // serves /metrics
	// OutDir is the watch's --out directory, whose older profiles are
	// listed and served too; "" serves only the latest, from memory.
	OutDir string
	// Token, if set, must come with every request, as a bearer token or
	// as the password of HTTP basic auth (which `go tool pprof` sends
	// from http://user:TOKEN@host/...).
	Token string
	// SourcePath is the directory the pprof UI's source view may read.
	SourcePath string
	Log        *slog.Logger
	// SearchRetention, if set, serves on-demand retention-path searches
	// (POST /retention/{pid}) and gives each suspect a button for one.
	SearchRetention SearchRetention
}

// Server is leakscope's HTTP interface.
type Server struct {
	opts Options
	ui   *pprofUI
	mux  *http.ServeMux
}

// NewServer returns a Server; Handler serves it.
func NewServer(opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, ui: &pprofUI{log: opts.Log, sourcePath: opts.SourcePath}, mux: http.NewServeMux()}
	s.mux.Handle("GET /metrics", opts.Metrics)
	s.mux.HandleFunc("GET /suspects.json", s.suspects)
	s.mux.HandleFunc("GET /profiles/{$}", s.profileTargets)
	s.mux.HandleFunc("GET /profiles/{pid}/{$}", s.profileList)
	s.mux.HandleFunc("GET /profiles/{pid}/{name}", s.profile)
	s.mux.HandleFunc("GET /ui/{pid}/", s.pprofUI)
	s.mux.HandleFunc("POST /ui/{pid}/", s.pprofUI)
	if opts.SearchRetention != nil {
		s.mux.HandleFunc("POST /retention/{pid}", s.retention)
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	s.mux.HandleFunc("GET /{$}", s.index)
	return s
}

// Handler serves every route, behind the token check when there is one.
func (s *Server) Handler() http.Handler {
	if s.opts.Token == "" {
		return s.mux
	}
	return requireToken(s.opts.Token, s.mux)
}

// Serve serves on ln until ctx ends, with TLS when certFile and keyFile
// are set, then shuts down, giving requests in flight a second.
func (s *Server) Serve(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // a pprof UI page on a big profile
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.opts.Log.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
	}()
	var err error
	if certFile != "" {
		err = srv.ServeTLS(ln, certFile, keyFile)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return err
}

// requireToken answers 401 unless the request carries token.
func requireToken(token string, next http.Handler) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			_, got, ok = r.BasicAuth()
		}
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="leakscope"`)
			http.Error(w, "unauthorized: leakscope needs its token (Authorization: Bearer TOKEN, or TOKEN as the basic-auth password)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) suspects(w http.ResponseWriter, _ *http.Request) {
	doc := &report.Document{}
	if u := s.opts.Store.Latest(); u != nil && u.Doc != nil {
		doc = u.Doc
	}
	data, err := report.MarshalDocument(doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}

// savedProfile matches the names report.ProfilePath gives; nothing else
// is ever served from OutDir.
var savedProfile = regexp.MustCompile(`^leak-[0-9]{8}T[0-9]{6}Z\.pb\.gz$`)

// latestName is the route of a target's latest leak profile.
const latestName = "leak.pb.gz"

func (s *Server) profileTargets(w http.ResponseWriter, _ *http.Request) {
	var pids []uint32
	if u := s.opts.Store.Latest(); u != nil {
		for pid := range u.Profiles {
			pids = append(pids, pid)
		}
	}
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, pid := range pids {
		fmt.Fprintf(w, "%d/\n", pid)
	}
}

func (s *Server) profileList(w http.ResponseWriter, r *http.Request) {
	pid, ok := s.knownPID(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, latestName)
	for _, name := range s.savedProfiles(pid) {
		fmt.Fprintln(w, name)
	}
}

// savedProfiles lists pid's profiles in OutDir, newest first.
func (s *Server) savedProfiles(pid uint32) []string {
	if s.opts.OutDir == "" {
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(s.opts.OutDir, strconv.FormatUint(uint64(pid), 10)))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && savedProfile.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	return names
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	pid, ok := s.knownPID(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	w.Header().Set("Content-Type", "application/vnd.google.protobuf+gzip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=leak-%d.pb.gz", pid))
	if name == latestName {
		if err := s.opts.Store.Latest().Profiles[pid].Write(w); err != nil {
			s.opts.Log.Debug("serving a profile", "pid", pid, "err", err)
		}
		return
	}
	if s.opts.OutDir == "" || !savedProfile.MatchString(name) {
		http.NotFound(w, r)
		return
	}
	// The name is checked against savedProfile: no separators, no "..".
	http.ServeFile(w, r, filepath.Join(s.opts.OutDir, strconv.FormatUint(uint64(pid), 10), name))
}

// knownPID reads the {pid} of the route and checks that the latest
// results have a profile for it, answering 404 otherwise.
func (s *Server) knownPID(w http.ResponseWriter, r *http.Request) (uint32, bool) {
	n, err := strconv.ParseUint(r.PathValue("pid"), 10, 32)
	u := s.opts.Store.Latest()
	if err != nil || u == nil || u.Profiles[uint32(n)] == nil {
		http.Error(w, "no leak profile for this pid (yet)", http.StatusNotFound)
		return 0, false
	}
	return uint32(n), true
}

func (s *Server) pprofUI(w http.ResponseWriter, r *http.Request) {
	pid, ok := s.knownPID(w, r)
	if !ok {
		return
	}
	prefix := "/ui/" + r.PathValue("pid")
	latest := s.opts.Store.Latest()
	s.ui.forget(func(pid uint32) bool { return latest.Profiles[pid] != nil })
	p := latest.Profiles[pid]
	h, err := s.ui.handler(pid, p, strings.TrimPrefix(r.URL.Path, prefix))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.StripPrefix(prefix, h).ServeHTTP(w, r)
}
