package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procIdentity tells a process apart from a later one that reuses its PID:
// the start time (in clock ticks since boot) never repeats for a PID.
type procIdentity struct {
	pid   uint32
	start uint64
}

// identify reads the identity of a live process.
func identify(pid uint32) (procIdentity, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, fs.ErrNotExist) {
		return procIdentity{}, fmt.Errorf("no such process: pid %d", pid)
	}
	if err != nil {
		return procIdentity{}, fmt.Errorf("reading /proc/%d/stat: %w", pid, err)
	}
	start, state, err := parseStat(b)
	if err != nil {
		return procIdentity{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	if state == 'Z' || state == 'X' {
		return procIdentity{}, fmt.Errorf("pid %d has exited (zombie)", pid)
	}
	// /proc also answers for thread ids; the probes filter on the process.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procIdentity{}, fmt.Errorf("reading /proc/%d/status: %w", pid, err)
	}
	if tgid, ok := parseTgid(status); !ok {
		return procIdentity{}, fmt.Errorf("/proc/%d/status: no Tgid line", pid)
	} else if tgid != pid {
		return procIdentity{}, fmt.Errorf("pid %d is a thread of process %d: give the process id", pid, tgid)
	}
	return procIdentity{pid: pid, start: start}, nil
}

// parseTgid returns the thread-group (process) id from /proc/PID/status.
func parseTgid(status []byte) (uint32, bool) {
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			return uint32(n), err == nil
		}
	}
	return 0, false
}

// alive reports whether the process is still the one identified.
func (id procIdentity) alive() bool {
	now, err := identify(id.pid)
	return err == nil && now.start == id.start
}

// parseStat returns the start time and state from /proc/PID/stat. The
// command name may hold spaces and parentheses, so fields are counted from
// the last ')'.
func parseStat(b []byte) (start uint64, state byte, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, errors.New("malformed stat line")
	}
	fields := strings.Fields(string(b[i+2:]))
	// After the name: state is field 3 of the line, starttime field 22.
	if len(fields) < 20 {
		return 0, 0, errors.New("malformed stat line: too few fields")
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed start time: %w", err)
	}
	return start, fields[0][0], nil
}

// exeName is the target's executable name, for display only.
func exeName(pid uint32) string {
	p, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return ""
	}
	return filepath.Base(strings.TrimSuffix(p, " (deleted)"))
}

// parseNSpid returns the process's ID in its innermost PID namespace: the
// last field of the NSpid line of /proc/PID/status (kernels before 4.1
// have no such line: then the host's ID, which is also right outside
// containers).
func parseNSpid(status []byte) (uint32, bool) {
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return 0, false
			}
			n, err := strconv.ParseUint(f[len(f)-1], 10, 32)
			return uint32(n), err == nil
		}
	}
	return 0, false
}

// nsPID reads the in-namespace ID of pid; 0 if it cannot be read.
func nsPID(pid uint32) uint32 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	if n, ok := parseNSpid(b); ok {
		return n
	}
	return pid
}
