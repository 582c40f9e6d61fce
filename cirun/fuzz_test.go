package cirun

import (
	"strings"
	"testing"
)

// FuzzParseReady: any --ready value parses or is refused; what parses is
// exactly one kind of condition.
func FuzzParseReady(f *testing.F) {
	for _, s := range []string{"log:^listening", "tcp:8080", "tcp:[::1]:80", "delay:5s", "tcp:", "log:(", "delay:-1s", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReady(s)
		if err != nil {
			return
		}
		kinds := 0
		if r.Log != nil {
			kinds++
		}
		if r.Addr != "" {
			kinds++
		}
		if r.Delay > 0 {
			kinds++
		}
		if kinds > 1 || (s != "" && !strings.HasPrefix(s, "delay:") && kinds != 1) || r.Delay < 0 {
			t.Errorf("ParseReady(%q) = %+v", s, r)
		}
	})
}

// FuzzPattern: any --ignore pattern compiles or is refused, and matches
// the function it names literally.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"main.leak", "*.(*LRU).Put", "net/http.*", "lru.go:42", "[", `\`, "**"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		if !p.Match(Site{Kind: KindHeap, Function: s}) {
			t.Errorf("pattern %q does not match the function %q", s, s)
		}
	})
}
