package crosscheck

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// Limits bound what one fetch may cost. Zero fields take the defaults.
type Limits struct {
	// Timeout covers the whole fetch, body included (default 10s).
	Timeout time.Duration
	// MaxBody caps the bytes read off the wire (default 32 MiB).
	MaxBody int64
	// MaxDecompressed caps the gunzipped profile (default 128 MiB): a
	// small gzip body may inflate a thousandfold.
	MaxDecompressed int64
	// MaxSites caps the distinct stacks kept per profile (default 50000).
	MaxSites int
}

// Defaults.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultMaxBody         = 32 << 20
	DefaultMaxDecompressed = 128 << 20
	DefaultMaxSites        = 50000
	// maxRedirects on the same host (net/http/pprof itself redirects
	// nothing; a proxy in front may add a slash).
	maxRedirects = 3
)

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	if l.MaxDecompressed <= 0 {
		l.MaxDecompressed = DefaultMaxDecompressed
	}
	if l.MaxSites <= 0 {
		l.MaxSites = DefaultMaxSites
	}
	return l
}

// Fetcher fetches heap profiles from one target.
type Fetcher struct {
	client *http.Client
	limits Limits
	gc     bool
}

// NewFetcher returns a Fetcher that dials with dial (nil: the host's
// network) and, only with gc, asks the target to collect first (?gc=1).
func NewFetcher(dial DialFunc, l Limits, gc bool) *Fetcher {
	l = l.withDefaults()
	if dial == nil {
		d := net.Dialer{Timeout: l.Timeout}
		dial = d.DialContext
	}
	tr := &http.Transport{
		DialContext:            dial,
		Proxy:                  nil,  // the target is local: never through a proxy
		DisableCompression:     true, // we gunzip, with a cap
		DisableKeepAlives:      true, // one request per interval: no idle sockets
		ResponseHeaderTimeout:  l.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	f := &Fetcher{limits: l, gc: gc}
	f.client = &http.Client{
		Transport: tr,
		Timeout:   l.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			first := via[0].URL
			if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
				return fmt.Errorf("redirect off the target to %s refused", req.URL.Redacted())
			}
			if len(via) >= maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if !gc && req.URL.Query().Has("gc") {
				return errors.New("redirect asks for a forced GC (?gc), which this fetch does not allow")
			}
			return nil
		},
	}
	return f
}

// HeapURL normalizes a user's URL: a bare host or "/" gets
// /debug/pprof/heap; the gc parameter is set with gc and removed without.
func HeapURL(raw string, gc bool) (string, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("pprof url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("pprof url %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("pprof url %q: no host", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/debug/pprof/heap"
	}
	q := u.Query()
	q.Del("gc")
	q.Del("debug") // the proto format only
	if gc {
		q.Set("gc", "1")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Fetch gets and summarizes the heap profile at rawURL (see HeapURL).
// Every failure is an error naming the reason; memory stays within the
// Limits whatever the endpoint sends.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Heap, error) {
	u, err := HeapURL(rawURL, f.gc)
	if err != nil {
		return nil, err
	}
	body, at, err := f.get(ctx, u)
	if err != nil {
		return nil, err
	}
	h, err := parseHeap(body, f.limits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	h.FetchedAt = at
	return h, nil
}

// get fetches a binary profile at u within the Limits, and says when the
// response headers came.
func (f *Fetcher) get(ctx context.Context, u string) ([]byte, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, f.limits.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	req.Header.Set("Accept", "application/octet-stream")
	req.Header.Set("User-Agent", "leakscope")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("fetching %s: %w", u, unwrapURLError(err))
	}
	// The headers come once the handler has read the profile: the moment
	// the profile describes.
	at := time.Now()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, at, fmt.Errorf("fetching %s: HTTP %s", u, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !profileContentType(ct) {
		return nil, at, fmt.Errorf("fetching %s: content type %q is not a profile", u, ct)
	}
	body, err := readCapped(resp.Body, f.limits.MaxBody)
	if err != nil {
		return nil, at, fmt.Errorf("fetching %s: %w", u, err)
	}
	return body, at, nil
}

// unwrapURLError drops net/http's "Get <url>:" prefix; we say the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if errors.Is(ue.Err, context.DeadlineExceeded) || ue.Timeout() {
			return errors.New("timed out")
		}
		return ue.Err
	}
	return err
}

// profileContentType accepts what net/http/pprof and proxies send for a
// binary profile, and no type at all.
func profileContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/octet-stream", "application/x-gzip", "application/gzip",
		"application/vnd.google.protobuf", "application/x-protobuf", "application/protobuf":
		return true
	}
	return false
}

// readCapped reads r whole, failing once it exceeds limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, errors.New("timed out reading the body")
		}
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if n > limit {
		return nil, fmt.Errorf("body larger than %d bytes", limit)
	}
	return buf.Bytes(), nil
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// parseHeap decompresses (capped) and parses a proto heap profile.
func parseHeap(body []byte, l Limits) (*Heap, error) {
	l = l.withDefaults()
	p, err := parseProfile(body, l)
	if err != nil {
		return nil, err
	}
	return summarize(p, l.MaxSites)
}

// parseProfile decompresses (capped) and parses a proto profile.
func parseProfile(body []byte, l Limits) (*profile.Profile, error) {
	if len(body) == 0 {
		return nil, errors.New("empty profile")
	}
	data := body
	if isGzip(body) {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("not a profile: bad gzip: %w", err)
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(zr, l.MaxDecompressed+1))
		if err != nil {
			return nil, fmt.Errorf("not a profile: bad gzip: %w", err)
		}
		if n > l.MaxDecompressed {
			return nil, fmt.Errorf("profile decompresses to more than %d bytes (gzip bomb?)", l.MaxDecompressed)
		}
		data = buf.Bytes()
		if isGzip(data) {
			return nil, errors.New("not a profile: gzip inside gzip")
		}
	}
	// Only the proto format: the legacy text parsers accept too much.
	p, err := profile.ParseUncompressed(data)
	if err != nil {
		return nil, fmt.Errorf("not a profile: %w", err)
	}
	if err := p.CheckValid(); err != nil {
		return nil, fmt.Errorf("malformed profile: %w", err)
	}
	return p, nil
}
