package cirun

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Ready says when the command is up and the load may start: a line of its
// output matching a regular expression, a TCP port accepting connections,
// or a fixed delay. The zero Ready is ready at once.
type Ready struct {
	Log   *regexp.Regexp
	Addr  string // host:port to dial
	Delay time.Duration
}

// ParseReady reads log:REGEXP, tcp:[HOST:]PORT (HOST defaults to
// 127.0.0.1) or delay:DURATION; "" is ready at once.
func ParseReady(s string) (Ready, error) {
	if s == "" {
		return Ready{}, nil
	}
	kind, arg, _ := strings.Cut(s, ":")
	switch kind {
	case "log":
		re, err := regexp.Compile(arg)
		if err != nil {
			return Ready{}, fmt.Errorf("%q: %w", s, err)
		}
		if arg == "" {
			return Ready{}, fmt.Errorf("%q: empty regular expression", s)
		}
		return Ready{Log: re}, nil
	case "tcp":
		addr := arg
		if _, err := strconv.ParseUint(arg, 10, 16); err == nil {
			addr = net.JoinHostPort("127.0.0.1", arg)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return Ready{}, fmt.Errorf("%q: want tcp:PORT or tcp:HOST:PORT", s)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return Ready{}, fmt.Errorf("%q: bad port %q", s, port)
		}
		return Ready{Addr: addr}, nil
	case "delay":
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return Ready{}, fmt.Errorf("%q: want delay:DURATION such as delay:5s", s)
		}
		return Ready{Delay: d}, nil
	}
	return Ready{}, fmt.Errorf("%q: want log:REGEXP, tcp:[HOST:]PORT or delay:DURATION", s)
}

func (r Ready) String() string {
	switch {
	case r.Log != nil:
		return "a line matching " + strconv.Quote(r.Log.String())
	case r.Addr != "":
		return "TCP " + r.Addr + " accepting"
	case r.Delay > 0:
		return "a delay of " + r.Delay.String()
	}
	return "nothing (ready at once)"
}

// wait closes the returned channel once r is met; a log line is reported
// through matched (closed by the output watcher).
func (r Ready) wait(ctx context.Context, matched <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		switch {
		case r.Log != nil:
			select {
			case <-matched:
			case <-ctx.Done():
				return
			}
		case r.Addr != "":
			for {
				c, err := net.DialTimeout("tcp", r.Addr, time.Second)
				if err == nil {
					c.Close()
					break
				}
				select {
				case <-time.After(100 * time.Millisecond):
				case <-ctx.Done():
					return
				}
			}
		case r.Delay > 0:
			select {
			case <-time.After(r.Delay):
			case <-ctx.Done():
				return
			}
		}
		close(done)
	}()
	return done
}

// lineMatcher is written the command's output and closes matched the
// first time a line matches re.
type lineMatcher struct {
	re      *regexp.Regexp
	mu      sync.Mutex
	partial map[int][]byte // per stream, the line so far
	once    sync.Once
	matched chan struct{}
}

// maxLine bounds the part of a line kept for matching.
const maxLine = 64 << 10

func newLineMatcher(re *regexp.Regexp) *lineMatcher {
	return &lineMatcher{re: re, partial: map[int][]byte{}, matched: make(chan struct{})}
}

// feed adds a chunk of stream's output.
func (m *lineMatcher) feed(stream int, b []byte) {
	if m.re == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	line := m.partial[stream]
	for len(b) > 0 {
		i := strings.IndexByte(string(b), '\n')
		if i < 0 {
			line = append(line, b...)
			if len(line) > maxLine {
				line = line[len(line)-maxLine:]
			}
			break
		}
		line = append(line, b[:i]...)
		if m.re.Match(line) {
			m.once.Do(func() { close(m.matched) })
		}
		line, b = line[:0], b[i+1:]
	}
	m.partial[stream] = line
}
