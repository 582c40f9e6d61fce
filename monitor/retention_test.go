package monitor

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPruneProfilesKeepsNewest(t *testing.T) {
	dir := t.TempDir()
	names := []string{"leak-20261125T100003Z.pb.gz", "leak-20261125T100001Z.pb.gz", "leak-20261125T100002Z.pb.gz", "other.txt"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := pruneProfiles(dir, 2); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"leak-20261125T100002Z.pb.gz", "leak-20261125T100003Z.pb.gz", "other.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("after pruning: %v, want %v", got, want)
	}
}
