package goroutines

import (
	"errors"
	"fmt"

	"github.com/leakscope/leakscope/gobin"
)

// ErrUnknownLayout means the table has no runtime.g layout for the
// target's Go release and architecture.
var ErrUnknownLayout = errors.New("no runtime.g layout for this Go release")

// LayoutFor returns the layout of a Go version ("go1.26.8") on arch.
func LayoutFor(version, arch string) (*Layout, error) {
	major, minor, ok := gobin.ParseGoVersion(version)
	if !ok {
		return nil, fmt.Errorf("%w: version %q unknown", ErrUnknownLayout, version)
	}
	release := fmt.Sprintf("go%d.%d", major, minor)
	for i := range layouts {
		if layouts[i].Release == release && layouts[i].Arch == arch {
			return &layouts[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %s/%s", ErrUnknownLayout, release, arch)
}
