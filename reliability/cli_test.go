package reliability

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/leakscope/leakscope/internal/testutil"
)

// doc is the part of suspects.json these tests read.
type doc struct {
	Targets []struct {
		PID        int               `json:"pid"`
		Status     string            `json:"status"`
		Lost       map[string]uint64 `json:"lost"`
		Incomplete []string          `json:"incomplete"`
		Notes      []string          `json:"notes"`
		Suspects   []struct {
			Function string `json:"function"`
			Verdict  string `json:"verdict"`
		} `json:"suspects"`
	} `json:"targets"`
}

func readDoc(t *testing.T, path string) doc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

func buildCLI(t *testing.T) string {
	return testutil.Build(t, t.TempDir(), "leakscope", "./cmd/leakscope")
}

// runCLI runs leakscope to its end and returns its exit code and output.
func runCLI(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	return testutil.Run(t, bin, nil, args...)
}
