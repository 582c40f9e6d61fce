package monitor

import (
	"os"
	"path/filepath"
	"sort"
)

// pruneProfiles keeps the newest keep leak profiles in dir (file names
// carry a sortable UTC timestamp) so a long watch does not fill the disk.
func pruneProfiles(dir string, keep int) error {
	files, err := filepath.Glob(filepath.Join(dir, "leak-*.pb.gz"))
	if err != nil || len(files) <= keep {
		return err
	}
	sort.Strings(files)
	for _, f := range files[:len(files)-keep] {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
