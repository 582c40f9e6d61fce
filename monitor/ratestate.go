package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DefaultStateDir is where leakscope records the MemProfileRate changes it
// made, so that a leakscope killed before it could restore them (kill -9,
// a crash, power loss of the node agent) is found out at the next attach.
const DefaultStateDir = "/run/leakscope"

// rateRecord is one change of a target's runtime.MemProfileRate. It is
// written before the change and removed once the value is restored or the
// target is gone. It names the process by pid and start time, so a record
// never applies to a later process under the same pid.
type rateRecord struct {
	PID       uint32    `json:"pid"`
	Start     uint64    `json:"start_ticks"`
	Exe       string    `json:"exe"`
	Addr      uint64    `json:"addr"`
	Before    int64     `json:"before"`
	Set       int64     `json:"set"`
	By        int       `json:"leakscope_pid"`
	ChangedAt time.Time `json:"changed_at"`
}

// rateState stores rateRecords in a directory only root can write.
type rateState struct{ dir string }

func (s rateState) path(id procIdentity) string {
	return filepath.Join(s.dir, fmt.Sprintf("rate-%d-%d.json", id.pid, id.start))
}

// load returns the record left for id, if any.
func (s rateState) load(id procIdentity) (*rateRecord, error) {
	if s.dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r rateRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", s.path(id), err)
	}
	if r.PID != id.pid || r.Start != id.start {
		return nil, fmt.Errorf("%s: names pid %d started at %d", s.path(id), r.PID, r.Start)
	}
	return &r, nil
}

// save writes r for id (atomically: a reader sees all of it or nothing).
func (s rateState) save(id procIdentity, r rateRecord) error {
	if s.dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".rate-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), s.path(id))
}

// remove forgets the record of id.
func (s rateState) remove(id procIdentity) error {
	if s.dir == "" {
		return nil
	}
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// prune removes the records of processes that are gone.
func (s rateState) prune() {
	if s.dir == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(s.dir, "rate-*.json"))
	for _, f := range files {
		var pid uint32
		var start uint64
		if _, err := fmt.Sscanf(filepath.Base(f), "rate-%d-%d.json", &pid, &start); err != nil {
			continue
		}
		if id, err := identify(pid); err != nil || id.start != start {
			os.Remove(f)
		}
	}
}
