package web

import (
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/leakscope/leakscope/analysis"
	"github.com/leakscope/leakscope/report"
)

// index is the web view: every target, its GC regime, its losses (and,
// apart, the expected frees of objects sampled before attach), its
// suspects in their ranked order with the reason a watch is not a leak
// and a chart of their live bytes, and links to its profile and pprof UI.
// ?namespace=NS shows only the targets in that Kubernetes namespace.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	u := s.opts.Store.Latest()
	v := pageView{Generated: "no results yet: the first interval has not ended", Namespace: r.URL.Query().Get("namespace")}
	if u != nil && u.Doc != nil {
		v.Generated = u.Doc.GeneratedAt.Format(time.RFC3339)
		v.ProbeSets, v.Skipped = u.Doc.ProbeSets, u.Doc.Skipped
		v.Namespaces = namespaces(u.Doc.Targets)
		for _, t := range u.Doc.Targets {
			if v.Namespace == "" || t.Namespace == v.Namespace {
				v.Targets = append(v.Targets, s.targetView(u, t))
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, v); err != nil {
		s.opts.Log.Debug("rendering the page", "err", err)
	}
}

type pageView struct {
	Generated  string
	ProbeSets  int
	Namespace  string   // the filter, "" for all
	Namespaces []string // the Kubernetes namespaces of the targets
	Targets    []targetView
	Skipped    []report.Skipped
}

type targetView struct {
	report.Target
	HasProfile bool
	Losses     []string // "reason: n", only the non-zero ones
	Suspects   []suspectView
}

type suspectView struct {
	analysis.Suspect
	Live, Growth string
	Chart        template.HTML
	Search       template.HTML // the on-demand search button, if any
}

func (s *Server) targetView(u *report.Update, t report.Target) targetView {
	tv := targetView{Target: t, HasProfile: u.Profiles[t.PID] != nil}
	for _, r := range slices.Sorted(maps.Keys(t.Lost)) {
		if n := t.Lost[r]; n > 0 {
			tv.Losses = append(tv.Losses, fmt.Sprintf("%s: %d", r, n))
		}
	}
	for _, sp := range t.Suspects {
		tv.Suspects = append(tv.Suspects, suspectView{
			Suspect: sp,
			Live:    report.HumanBytes(float64(sp.LiveBytes)),
			Growth:  report.HumanBytes(sp.GrowthBytesPerSecond) + "/s",
			Chart:   chart(s.opts.Store.History(t.PID, sp.Stack, sp.Function)),
			Search:  s.searchButton(t, sp),
		})
	}
	return tv
}

// searchButton offers an on-demand search for a suspect of a target being
// watched, when searches can be asked for and the target's heap can be
// searched.
func (s *Server) searchButton(t report.Target, sp analysis.Suspect) template.HTML {
	if s.opts.SearchRetention == nil || t.Status != report.StatusWatching || sp.Function == "" ||
		t.Retention == nil || t.Retention.Status == report.RetentionUnavailable || t.Retention.Status == report.RetentionOff {
		return ""
	}
	return searchForm(t.PID, sp.Function)
}

// chart draws live bytes (and, dashed, old bytes) over time as an inline
// SVG, so the page needs no script and no other request.
func chart(points []Point) template.HTML {
	const w, h, pad = 240.0, 56.0, 2.0
	var top int64 = 1
	for _, p := range points {
		top = max(top, p.LiveBytes, p.OldBytes)
	}
	line := func(value func(Point) int64) string {
		var b strings.Builder
		for i, p := range points {
			x := pad
			if len(points) > 1 {
				x += float64(i) * (w - 2*pad) / float64(len(points)-1)
			}
			y := h - pad - float64(value(p))*(h-2*pad)/float64(top)
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		return b.String()
	}
	span := "one interval"
	if len(points) > 1 {
		span = points[len(points)-1].Time.Sub(points[0].Time).Round(time.Second).String()
	}
	return template.HTML(fmt.Sprintf(
		`<svg class="chart" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="live bytes over %s, up to %s">`+
			`<title>live bytes (solid) and old bytes (dashed) over %s; top %s</title>`+
			`<rect width="100%%" height="100%%" fill="#f6f8fa"/>`+
			`<text x="4" y="11" font-size="10" fill="#555">%s</text>`+
			`<polyline fill="none" stroke="#c0392b" stroke-width="1.5" points="%s"/>`+
			`<polyline fill="none" stroke="#7f8c8d" stroke-width="1" stroke-dasharray="3,2" points="%s"/></svg>`,
		w, h, w, h, span, report.HumanBytes(float64(top)), span, report.HumanBytes(float64(top)), report.HumanBytes(float64(top)),
		line(func(p Point) int64 { return p.LiveBytes }), line(func(p Point) int64 { return p.OldBytes })))
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"add":    func(a, b int) int { return a + b },
	"bytes":  func(n int64) string { return report.HumanBytes(float64(n)) },
	"ubytes": func(n uint64) string { return report.HumanBytes(float64(n)) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="10">
<title>leakscope</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}
.leak{color:#fff;background:#c0392b;padding:.1em .4em;border-radius:3px}
.watch{color:#222;background:#f1c40f;padding:.1em .4em;border-radius:3px}
.lost{color:#c0392b}
.expected,.gc{color:#555}
.pprof-agrees{color:#1e8449}.pprof-disagrees{color:#c0392b;font-weight:bold}.pprof-unavailable{color:#777}
code{font-size:90%}
</style></head><body>
<h1>leakscope</h1>
<p>Results of {{.Generated}}{{if .ProbeSets}} · {{.ProbeSets}} probe set(s){{end}} · <a href="/metrics">metrics</a> · <a href="/suspects.json">suspects.json</a> · <a href="/profiles/">profiles</a></p>
{{if .Namespaces}}<p class="namespaces">namespace: {{if .Namespace}}<a href="/">all</a>{{else}}<b>all</b>{{end}}{{range .Namespaces}} · {{if eq . $.Namespace}}<b>{{.}}</b>{{else}}<a href="/?namespace={{.}}">{{.}}</a>{{end}}{{end}}</p>{{end}}
{{range .Targets}}
<section class="target" id="pid-{{.PID}}">
<h2>pid {{.PID}}{{if and .NSPID (ne .NSPID .PID)}} (pid {{.NSPID}} in its namespace){{end}} · {{.Exe}}{{if .Pod}} · pod <span class="pod">{{.Namespace}}/{{.Pod}}</span>{{end}}{{if .ContainerID}} · container {{if .ContainerName}}<span class="container-name">{{.ContainerName}}</span> <small class="container-id">{{.ContainerID}}</small>{{else}}{{.ContainerID}}{{end}}{{end}}</h2>
<p>{{.GoVersion}} · {{.Status}} · MemProfileRate {{.MemProfileRate}}{{if .MemProfileRateSetByLeakscope}} (set by leakscope){{end}} · {{.GCCycles}} GC cycles · {{.SampledAllocs}} sampled allocations, {{.SampledFrees}} frees
{{if .HasProfile}}· <a href="/profiles/{{.PID}}/leak.pb.gz">leak profile</a> · pprof UI: <a href="/ui/{{.PID}}/flamegraph">flame graph</a>, <a href="/ui/{{.PID}}/top">top</a>, <a href="/ui/{{.PID}}/source">source</a>{{end}}</p>
{{with .Cost}}<p class="cost">{{.Summary}}</p>{{end}}
{{with .Retention}}{{with .Summary}}<p class="retention">retention paths: {{.}}</p>{{end}}{{end}}
{{if .Error}}<p class="lost">error: {{.Error}}</p>{{end}}
{{with .GC}}<p class="gc">GC: {{.Summary}} · {{.Settings}}</p>{{end}}
{{if .Losses}}<p class="lost">data lost: {{range .Losses}}{{.}} {{end}}</p>{{end}}
{{if .PreAttachFrees}}<p class="expected">{{.PreAttachFrees}} frees of objects sampled before leakscope attached (expected: not a loss)</p>{{end}}
{{with .Pprof}}{{if ne .Status "off"}}<p class="pprof">own heap profile{{if .URL}} (<code>{{.URL}}</code>{{if .Discovered}}, discovered{{end}}){{end}}: {{.Status}}{{if .AgreementScore}} · agrees on {{.Agreed}} of {{add .Agreed .Disagreed}} suspects{{end}}{{if .LastError}} · <span class="lost">last error: {{.LastError}}</span>{{end}}{{if .Note}} · <small>{{.Note}}</small>{{end}}</p>{{end}}{{end}}
{{if .Suspects}}
<table><tr><th>#</th><th>verdict</th><th>leak site</th><th>live</th><th>growth</th><th>score</th><th>why</th><th>live bytes over time</th><th>target's own profile</th></tr>
{{range $i, $s := .Suspects}}{{with $s}}<tr class="suspect">
<td>{{add $i 1}}</td>
<td><span class="{{.Verdict}}">{{.Verdict}}</span></td>
<td><code class="site">{{.Function}}</code><br><small>{{.File}}:{{.Line}}</small>{{if .AllocatedIn}}<br><small class="allocated-in">allocated in {{range $j, $f := .AllocatedIn}}{{if $j}}, {{end}}<code>{{$f}}</code>{{end}}</small>{{end}}{{if .GoroutineCreatedBy}}<br><small class="goroutine-created-by">descriptors (g) of the goroutines created by {{range $j, $f := .GoroutineCreatedBy}}{{if $j}}, {{end}}<code>{{$f}}</code>{{end}}</small>{{end}}{{with $r := .RetainedBy}}<br><small class="retained-by">{{if .Paths}}{{with index .Paths 0}}held by <code>{{.Summary}}</code> ({{.Samples}} of {{$r.Searched}} samples, {{.Confidence}} confidence){{end}}{{range .Paths}}<details><summary><code>{{.Root}}</code>: {{.Samples}} samples</summary><ol class="retention-path">{{range .Hops}}<li>{{.Kind}} <code>{{.Name}}</code>{{if .Size}} {{.Size}} B{{end}}{{if .File}} {{.File}}:{{.Line}}{{end}}{{if .CreatedBy}}, goroutine {{.Goroutine}} created by {{.CreatedBy}}{{end}}{{if ne .Kind "leaked"}} (pointer at +{{.FieldOffset}}){{end}}</li>{{end}}</ol></details>{{end}}{{else}}holder {{.Status}}{{if .Reason}}: {{.Reason}}{{end}}{{if .Unreached}} {{.Unreached}}{{end}}{{end}}</small>{{end}}{{.Search}}</td>
<td>{{.Live}}</td><td>{{.Growth}}</td><td>{{printf "%.2f" .Score}}</td>
<td class="reason"><small>{{if eq .Verdict "watch"}}not a leak yet: {{end}}{{.Reason}}</small></td>
<td>{{.Chart}}</td>
<td>{{with .Pprof}}<span class="pprof-{{.Status}}" title="{{.Reason}}">{{.Status}}</span>{{if ne .Status "unavailable"}}<br><small>in use {{bytes .InuseBytes}}</small>{{end}}{{else}}–{{end}}</td></tr>
{{end}}{{end}}</table>
{{else}}<p>No suspects.</p>{{end}}
{{with .Goroutines}}<h3>goroutines</h3>
{{if ne .Status "watching"}}<p class="lost">goroutines {{.Status}}{{if .Reason}}: {{.Reason}}{{end}}</p>
{{else}}<p>{{range $state, $n := .Summary.Live}}{{$n}} {{$state}} · {{end}}layout {{.Layout}} · runtime.allgs from {{.Roots}}{{if .Summary.Skipped}} · <span class="lost">{{.Summary.Skipped}} not read (cap)</span>{{end}}</p>
{{with .Pprof}}{{if ne .Status "off"}}<p class="pprof">own goroutine profile{{if .URL}} (<code>{{.URL}}</code>){{end}}: {{.Status}}{{if add .Agreed .Disagreed}} · agrees on {{.Agreed}} of {{add .Agreed .Disagreed}} groups{{end}}{{if ne .TotalStatus "unavailable"}} · totals {{.TotalStatus}} (runtime {{.RuntimeUser}}, leakscope {{.LeakscopeUser}} outside the runtime){{end}}{{if eq .LeakProfile "ok"}} · runtime's leak profile: {{.RuntimeLeaked}} leaked{{end}}{{if .LastError}} · <span class="lost">last error: {{.LastError}}</span>{{end}}</p>{{end}}{{end}}
{{if .Suspects}}<table><tr><th>verdict</th><th>created by</th><th>goroutines</th><th>growth</th><th>median age</th><th>stacks</th><th>where they wait</th><th>target's own profile</th></tr>
{{range .Suspects}}<tr class="goroutine-suspect">
<td>{{if .Verdict}}<span class="{{.Verdict}}">{{.Verdict}}</span>{{else}}–{{end}}</td>
<td><code class="site">{{.CreatedBy.Function}}</code><br><small>{{.CreatedBy.File}}:{{.CreatedBy.Line}}</small></td>
<td>{{.Count}}{{if .PreAttach}}<br><small>{{.PreAttach}} before attach</small>{{end}}</td><td>{{printf "%.2f" .GrowthPerSecond}}/s</td><td>{{printf "%.0f" .MedianAgeSeconds}} s</td><td>{{ubytes .StackBytes}}</td>
<td>{{.WaitReason}}{{range .Blocked}}<br><small><code>{{.Function}}</code> {{.File}}:{{.Line}}</small>{{end}}</td>
<td>{{with .Pprof}}<span class="pprof-{{.Status}}" title="{{.Reason}}">{{.Status}}</span>{{if ne .Status "unavailable"}}<br><small>runtime {{.RuntimeCount}}, leakscope {{.LeakscopeCount}}{{with .RuntimeLeaked}}, {{.}} leaked per the runtime{{end}}</small>{{end}}{{else}}–{{end}}</td></tr>
{{end}}</table>{{end}}{{end}}{{end}}
</section>
{{else}}<p>No targets yet.</p>{{end}}
{{if .Skipped}}<section id="skipped"><h2>Not watched</h2><table><tr><th>pid</th><th>exe</th><th>container</th><th>why</th></tr>
{{range .Skipped}}<tr><td>{{.PID}}</td><td>{{.Exe}}</td><td>{{.ContainerID}}</td><td>{{.Reason}}</td></tr>
{{end}}</table></section>{{end}}
</body></html>
`))

// namespaces lists the targets' Kubernetes namespaces, sorted, once each.
func namespaces(ts []report.Target) []string {
	var out []string
	for _, t := range ts {
		if t.Namespace != "" && !slices.Contains(out, t.Namespace) {
			out = append(out, t.Namespace)
		}
	}
	slices.Sort(out)
	return out
}
