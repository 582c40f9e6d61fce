package tracer

import (
	"encoding/binary"
	"fmt"
	"os"
)

// maxPlausibleRate bounds what runtime.MemProfileRate can hold before a
// write: anything else means the address is not that variable, and writing
// would corrupt the target.
const maxPlausibleRate = 1 << 30

// ProfileRate is runtime.MemProfileRate of one process, at its runtime
// address (link-time address plus the PIE load bias).
type ProfileRate struct {
	PID  uint32
	Addr uint64
}

// Read returns the current value of runtime.MemProfileRate.
func (r ProfileRate) Read() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", r.PID))
	if err != nil {
		return 0, fmt.Errorf("opening memory of pid %d: %w", r.PID, err)
	}
	defer f.Close()
	return readInt64(f, r.Addr)
}

// Set writes runtime.MemProfileRate = v and returns the previous value. It
// refuses when the current value is implausible (the address would not be
// the variable), and verifies the write by reading it back.
func (r ProfileRate) Set(v int64) (old int64, err error) {
	if v < 0 || v > maxPlausibleRate {
		return 0, fmt.Errorf("memprofilerate %d out of range [0, %d]", v, maxPlausibleRate)
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", r.PID), os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("opening memory of pid %d: %w", r.PID, err)
	}
	defer f.Close()
	old, err = readInt64(f, r.Addr)
	if err != nil {
		return 0, err
	}
	if old < 0 || old > maxPlausibleRate {
		return old, fmt.Errorf("runtime.MemProfileRate at %#x of pid %d holds %d, not a plausible rate: refusing to write", r.Addr, r.PID, old)
	}
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(v))
	// One aligned 8-byte write: the runtime sees the old or the new value.
	if _, err := f.WriteAt(buf[:], int64(r.Addr)); err != nil {
		return old, fmt.Errorf("writing runtime.MemProfileRate of pid %d: %w", r.PID, err)
	}
	got, err := readInt64(f, r.Addr)
	if err != nil {
		return old, err
	}
	if got != v {
		return old, fmt.Errorf("runtime.MemProfileRate of pid %d reads %d after writing %d", r.PID, got, v)
	}
	return old, nil
}

func readInt64(f *os.File, addr uint64) (int64, error) {
	if addr%8 != 0 {
		return 0, fmt.Errorf("address %#x of runtime.MemProfileRate is not 8-byte aligned", addr)
	}
	var buf [8]byte
	if _, err := f.ReadAt(buf[:], int64(addr)); err != nil {
		return 0, fmt.Errorf("reading runtime.MemProfileRate at %#x: %w", addr, err)
	}
	return int64(binary.LittleEndian.Uint64(buf[:])), nil
}
