package report

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/leakscope/leakscope/analysis"
)

// GCRegime is a target's GC regime (analysis.GCRegime) with the GC
// settings of its environment.
type GCRegime struct {
	analysis.GCRegime
	// GOGC and GOMEMLIMIT as the process's environment set them at exec
	// (/proc/PID/environ); empty when unset. A program that calls
	// debug.SetGCPercent or debug.SetMemoryLimit, or changes its
	// environment later, is not seen here.
	GOGC       string `json:"gogc,omitempty"`
	GOMEMLIMIT string `json:"gomemlimit,omitempty"`
	// Settings says which were read, e.g. "GOGC=off GOMEMLIMIT=512MiB
	// (environment)", or why none could be.
	Settings string `json:"settings"`
}

// NewGCRegime completes r with the GC settings of process pid's
// environment.
func NewGCRegime(r analysis.GCRegime, pid uint32) *GCRegime {
	g := &GCRegime{GCRegime: r}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		g.Settings = "environment not readable: " + err.Error()
		return g
	}
	g.GOGC, g.GOMEMLIMIT = gcEnv(env)
	g.Settings = gcSettings(g.GOGC, g.GOMEMLIMIT)
	return g
}

// gcEnv returns GOGC and GOMEMLIMIT from a NUL-separated environment.
func gcEnv(env []byte) (gogc, limit string) {
	for _, kv := range bytes.Split(env, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		switch k {
		case "GOGC":
			gogc = v
		case "GOMEMLIMIT":
			limit = v
		}
	}
	return gogc, limit
}

func gcSettings(gogc, limit string) string {
	var parts []string
	if gogc != "" {
		parts = append(parts, "GOGC="+gogc)
	}
	if limit != "" {
		parts = append(parts, "GOMEMLIMIT="+limit)
	}
	if len(parts) == 0 {
		return "GOGC and GOMEMLIMIT not in the environment (defaults: GOGC=100, no limit, unless the program sets them)"
	}
	return strings.Join(parts, " ") + " (environment at exec)"
}
