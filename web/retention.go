package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leakscope/leakscope/analysis"
)

// SearchRetention searches, on demand, what holds the objects of the
// suspect at function in target pid. It returns ErrNotFound (wrapped) for
// an unknown target or suspect, and a *RetryAfterError when the target was
// searched too recently.
type SearchRetention func(ctx context.Context, pid uint32, function string) (*analysis.Retention, error)

// ErrNotFound: no such target or suspect.
var ErrNotFound = errors.New("not found")

// RetryAfterError asks the client to come back later.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// searchTimeout bounds one on-demand request: the watch serves it between
// intervals, and the search has its own budget.
const searchTimeout = 2 * time.Minute

// retention serves POST /retention/{pid} (form or query value function):
// JSON when the client asks for it (Accept: application/json), else a
// page with the paths and a link back.
func (s *Server) retention(w http.ResponseWriter, r *http.Request) {
	pid, err := strconv.ParseUint(r.PathValue("pid"), 10, 32)
	function := r.FormValue("function")
	if err != nil || function == "" {
		http.Error(w, "want POST /retention/PID with function=FUNCTION", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), searchTimeout)
	defer cancel()
	res, err := s.opts.SearchRetention(ctx, uint32(pid), function)
	var retry *RetryAfterError
	switch {
	case errors.As(err, &retry):
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.After.Seconds()+0.999)))
		http.Error(w, err.Error(), http.StatusTooManyRequests)
		return
	case errors.Is(err, ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(res); err != nil {
			s.opts.Log.Debug("writing a retention result", "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	v := retentionView{PID: uint32(pid), Function: function, R: res}
	if err := retentionTemplate.Execute(w, v); err != nil {
		s.opts.Log.Debug("rendering a retention result", "err", err)
	}
}

type retentionView struct {
	PID      uint32
	Function string
	R        *analysis.Retention
}

var retentionTemplate = template.Must(template.New("retention").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>what holds {{.Function}}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5em}code{font-size:90%}</style></head><body>
<h1>What holds <code>{{.Function}}</code> (pid {{.PID}})</h1>
{{with .R}}<p>{{.Status}}{{if .Reason}}: {{.Reason}}{{end}} · {{.Searched}} sampled objects searched in {{printf "%.2f" .SearchSeconds}} s{{if .Cut}} · cut by the budget{{end}}{{if .Unreached}} · unreached {{.Unreached}}{{end}}</p>
{{range .Paths}}<h2><code>{{.Root}}</code>: {{.Samples}} samples, {{.Confidence}} confidence</h2><p>{{.Summary}}</p>
<ol class="retention-path">{{range .Hops}}<li>{{.Kind}} <code>{{.Name}}</code>{{if .Size}} {{.Size}} B{{end}}{{if .File}} {{.File}}:{{.Line}}{{end}}{{if .CreatedBy}}, goroutine {{.Goroutine}} created by {{.CreatedBy}}{{end}}{{if ne .Kind "leaked"}} (pointer at +{{.FieldOffset}}){{end}}</li>{{end}}</ol>
{{end}}{{end}}
<p><a href="/#pid-{{.PID}}">back</a> (the result also shows in the next report)</p>
</body></html>
`))

// searchForm is the button a suspect row gets when searches can be asked for.
func searchForm(pid uint32, function string) template.HTML {
	return template.HTML(fmt.Sprintf(`<form class="search-retention" method="post" action="/retention/%d"><input type="hidden" name="function" value="%s"><button type="submit">find what holds it</button></form>`,
		pid, template.HTMLEscapeString(function)))
}
