package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeFileAtomic writes path through write, so that readers see either
// the old file or the complete new one: it writes a temporary file in the
// same directory (a rename is atomic only within one file system), syncs
// it, renames it over path and syncs the directory so the rename survives
// a crash.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriter(f)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		// Best effort: some file systems cannot sync directories.
		d.Sync()
		d.Close()
	}
	return nil
}

// errorf wraps err with the path it concerns.
func errorf(path string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("report: write %s: %w", path, err)
}
