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
	"syscall"
	"time"
)

// procIdentity tells a process apart from a later one that reuses its PID
// (the start time, in clock ticks since boot, never repeats for a PID)
// and from the same process after it executed another program (the
// executable's device and inode; the stack's start address, which each
// exec places anew when addresses are randomized, for an exec of the
// same binary).
type procIdentity struct {
	pid        uint32
	start      uint64
	exeDev     uint64
	exeIno     uint64
	startStack uint64
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
	st, err := parseStat(b)
	if err != nil {
		return procIdentity{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	if st.state == 'Z' || st.state == 'X' {
		return procIdentity{}, fmt.Errorf("pid %d has exited (zombie)", pid)
	}
	if st.flags&pfKthread != 0 {
		return procIdentity{}, fmt.Errorf("pid %d is a kernel thread, not a Go program", pid)
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
	// Stat follows the kernel's own link to the running file, whatever
	// mount namespace the process is in.
	fi, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return procIdentity{}, fmt.Errorf("pid %d: its executable cannot be opened through /proc/%d/exe: %w", pid, pid, err)
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return procIdentity{}, fmt.Errorf("pid %d: no inode for its executable", pid)
	}
	return procIdentity{pid: pid, start: st.start, exeDev: uint64(sys.Dev), exeIno: sys.Ino, startStack: st.startStack}, nil
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
	now, err := id.settled()
	return err == nil && now == id
}

// replaced reports whether the pid now names another program: the process
// executed one, or the pid was reused.
func (id procIdentity) replaced() bool {
	now, err := id.settled()
	return err == nil && now != id
}

// settled identifies the pid again. While the process is in the middle of
// an exec its /proc entries can fail to read for a moment: as long as the
// same process (same start time) still runs, it retries briefly rather
// than take that for an exit.
func (id procIdentity) settled() (procIdentity, error) {
	for try := 0; ; try++ {
		now, err := identify(id.pid)
		if err == nil || try == 10 {
			return now, err
		}
		b, rerr := os.ReadFile(fmt.Sprintf("/proc/%d/stat", id.pid))
		if rerr != nil {
			return now, err
		}
		st, perr := parseStat(b)
		if perr != nil || st.start != id.start || st.state == 'Z' || st.state == 'X' {
			return now, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pfKthread is PF_KTHREAD in the flags of /proc/PID/stat.
const pfKthread = 0x00200000

// statFields are what leakscope reads from /proc/PID/stat.
type statFields struct {
	state      byte
	flags      uint64
	start      uint64 // clock ticks since boot
	startStack uint64 // 0 when not shown (no ptrace access)
}

// parseStat reads /proc/PID/stat. The command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (statFields, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return statFields{}, errors.New("malformed stat line")
	}
	fields := strings.Fields(string(b[i+2:]))
	// fields[n] is field n+3 of the line (man 5 proc): state is 3,
	// flags 9, starttime 22, startstack 28.
	if len(fields) < 20 || len(fields[0]) != 1 {
		return statFields{}, errors.New("malformed stat line: too few fields")
	}
	st := statFields{state: fields[0][0]}
	if !('A' <= st.state && st.state <= 'Z' || 'a' <= st.state && st.state <= 'z') {
		return statFields{}, fmt.Errorf("malformed state %q", fields[0])
	}
	var err error
	if st.flags, err = strconv.ParseUint(fields[6], 10, 64); err != nil {
		return statFields{}, fmt.Errorf("malformed flags: %w", err)
	}
	if st.start, err = strconv.ParseUint(fields[19], 10, 64); err != nil {
		return statFields{}, fmt.Errorf("malformed start time: %w", err)
	}
	if len(fields) > 25 {
		if st.startStack, err = strconv.ParseUint(fields[25], 10, 64); err != nil {
			return statFields{}, fmt.Errorf("malformed start of stack: %w", err)
		}
	}
	return st, nil
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
