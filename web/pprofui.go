package web

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/driver"
	"github.com/google/pprof/profile"
)

// pprofUI serves google/pprof's web UI for each target's latest leak
// profile, built lazily on the first request after the profile changed.
type pprofUI struct {
	log *slog.Logger
	// sourcePath is the only directory the source view may read; "" lets
	// it read none (it still lists the lines with their figures).
	sourcePath string

	mu    sync.Mutex // the driver keeps package state: build one at a time
	cache map[uint32]uiEntry
}

type uiEntry struct {
	from     *profile.Profile // the profile the handlers were built from
	handlers map[string]http.Handler
}

// disabledViews could make the server write or read host files: saving
// configs writes under the user's config dir, disassembly runs objdump on
// a path named inside the profile, which a watched binary controls.
var disabledViews = map[string]string{
	"/saveconfig":   "saving configurations is disabled in leakscope",
	"/deleteconfig": "saving configurations is disabled in leakscope",
	"/disasm":       "disassembly is disabled in leakscope: it would read a binary by a path the target names",
}

// handler returns the UI handler for path (relative to the target's UI
// root, starting with "/") on profile p of pid.
func (u *pprofUI) handler(pid uint32, p *profile.Profile, path string) (http.Handler, error) {
	if msg, ok := disabledViews[path]; ok {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, msg, http.StatusForbidden)
		}), nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	e, ok := u.cache[pid]
	if !ok || e.from != p {
		hs, err := u.build(p)
		if err != nil {
			return nil, err
		}
		if u.cache == nil {
			u.cache = map[uint32]uiEntry{}
		}
		e = uiEntry{from: p, handlers: hs}
		u.cache[pid] = e
	}
	h, ok := e.handlers[path]
	if !ok {
		return http.NotFoundHandler(), nil
	}
	return h, nil
}

// forget drops the UIs of targets no longer reported.
func (u *pprofUI) forget(keep func(pid uint32) bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for pid := range u.cache {
		if !keep(pid) {
			delete(u.cache, pid)
		}
	}
}

// build runs the pprof driver on a sanitized copy of p and captures the
// handlers it would serve, instead of letting it listen.
func (u *pprofUI) build(p *profile.Profile) (map[string]http.Handler, error) {
	const src = "leak.pb.gz"
	var handlers map[string]http.Handler
	err := driver.PProf(&driver.Options{
		Flagset: &driverFlags{args: []string{
			"-http=127.0.0.1:1", // never listened on: HTTPServer below takes the handlers
			"-no_browser",
			"-symbolize=none",
			// Source files are resolved by sanitized (absolute names only);
			// these keep pprof from searching or guessing any other path.
			"-source_path=" + noSource,
			"-trim_path=/nonexistent/leakscope-no-trim", // a prefix no name has
			src,
		}},
		Fetch: fetcher{p: u.sanitized(p), src: src},
		Obj:   noObjects{},
		UI:    driverUI{log: u.log},
		HTTPServer: func(args *driver.HTTPServerArgs) error {
			handlers = args.Handlers
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("pprof UI: %w", err)
	}
	if handlers == nil {
		return nil, errors.New("pprof UI: the driver served nothing")
	}
	return handlers, nil
}

// noSource is a directory that does not exist.
const noSource = "/nonexistent/leakscope-no-source"

// sanitized returns a copy of p whose source file names are absolute
// paths inside the source path, or under noSource when no such file
// exists. A watched binary names its own source files, and pprof's source
// view would otherwise read any path on the host, as root, searching
// every parent directory of its search path.
func (u *pprofUI) sanitized(p *profile.Profile) *profile.Profile {
	c := p.Copy()
	for _, f := range c.Function {
		f.Filename = u.sourceFile(f.Filename)
	}
	return c
}

// sourceFile finds name under the source path: the longest trailing part
// of name that exists there and, symlinks resolved, stays inside it.
func (u *pprofUI) sourceFile(name string) string {
	rel := strings.TrimLeft(filepath.Clean("/"+name), "/") // no "..", no leading "/"
	if u.sourcePath != "" {
		root, err := filepath.EvalSymlinks(u.sourcePath)
		parts := strings.Split(rel, "/")
		for i := 0; err == nil && i < len(parts); i++ {
			real, err := filepath.EvalSymlinks(filepath.Join(root, filepath.Join(parts[i:]...)))
			if err == nil && strings.HasPrefix(real, root+string(filepath.Separator)) {
				return real
			}
		}
	}
	return filepath.Join(noSource, rel)
}

type fetcher struct {
	p   *profile.Profile
	src string
}

func (f fetcher) Fetch(src string, _, _ time.Duration) (*profile.Profile, string, error) {
	if src != f.src {
		return nil, "", fmt.Errorf("unknown profile %q", src)
	}
	return f.p, src, nil
}

// noObjects refuses to open binaries: see disabledViews.
type noObjects struct{}

func (noObjects) Open(file string, _, _, _ uint64, _ string) (driver.ObjFile, error) {
	return nil, fmt.Errorf("%s: leakscope's pprof UI reads no binaries", file)
}

func (noObjects) Disasm(file string, _, _ uint64, _ bool) ([]driver.Inst, error) {
	return nil, fmt.Errorf("%s: leakscope's pprof UI reads no binaries", file)
}

// driverUI sends the driver's messages to the log.
type driverUI struct{ log *slog.Logger }

func (driverUI) ReadLine(string) (string, error)     { return "", io.EOF }
func (u driverUI) Print(args ...any)                 { u.log.Debug("pprof", "msg", fmt.Sprint(args...)) }
func (u driverUI) PrintErr(args ...any)              { u.log.Debug("pprof", "msg", fmt.Sprint(args...)) }
func (driverUI) IsTerminal() bool                    { return false }
func (driverUI) WantBrowser() bool                   { return false }
func (driverUI) SetAutoComplete(func(string) string) {}

// driverFlags is the driver's command line, parsed from fixed args.
type driverFlags struct {
	fs   flag.FlagSet
	args []string
}

func (f *driverFlags) Bool(n string, d bool, u string) *bool          { return f.fs.Bool(n, d, u) }
func (f *driverFlags) Int(n string, d int, u string) *int             { return f.fs.Int(n, d, u) }
func (f *driverFlags) Float64(n string, d float64, u string) *float64 { return f.fs.Float64(n, d, u) }
func (f *driverFlags) String(n string, d string, u string) *string    { return f.fs.String(n, d, u) }
func (f *driverFlags) StringList(n string, d string, u string) *[]*string {
	return &[]*string{f.fs.String(n, d, u)}
}
func (f *driverFlags) ExtraUsage() string   { return "" }
func (f *driverFlags) AddExtraUsage(string) {}
func (f *driverFlags) Parse(usage func()) []string {
	f.fs.Init("pprof", flag.ContinueOnError)
	f.fs.SetOutput(io.Discard)
	f.fs.Usage = usage
	if err := f.fs.Parse(f.args); err != nil {
		return nil
	}
	return f.fs.Args()
}
