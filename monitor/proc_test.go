package monitor

import (
	"os"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	// The command name may hold spaces and ')' itself.
	line := []byte("4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 7 0 123456 1000 200 18446744073709551615")
	st, err := parseStat(line)
	if err != nil || st.start != 123456 || st.state != 'S' || st.flags != 4194560 || st.startStack != 0 {
		t.Errorf("parseStat = %+v, %v; want start 123456, state 'S', flags 4194560", st, err)
	}
	full := []byte("77 (kworker/0:1) I 2 0 0 0 -1 69238880 0 0 0 0 0 9 0 0 20 0 1 0 42 0 0 18446744073709551615 0 0 140731 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0")
	if st, err := parseStat(full); err != nil || st.flags&pfKthread == 0 || st.start != 42 || st.startStack != 140731 {
		t.Errorf("parseStat(kernel thread) = %+v, %v; want PF_KTHREAD, start 42, stack 140731", st, err)
	}
	for _, bad := range []string{"", "4242 (x", "4242 (x) S 1 2", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 notanumber", "4242 (x) S 1 2 3 4 5 x 7 8 9 10 11 12 13 14 15 16 17 18 19"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): want an error", bad)
		}
	}
}

func TestIdentifySelf(t *testing.T) {
	id, err := identify(uint32(os.Getpid()))
	if err != nil || id.start == 0 || !id.alive() {
		t.Fatalf("identify(self) = %+v, %v", id, err)
	}
	if _, err := identify(1 << 30); err == nil {
		t.Error("identify of a pid that cannot exist: want an error")
	}
	// A later process under the same pid, or this one after an exec.
	for _, other := range []procIdentity{
		{pid: id.pid, start: id.start + 1, exeDev: id.exeDev, exeIno: id.exeIno, startStack: id.startStack},
		{pid: id.pid, start: id.start, exeDev: id.exeDev, exeIno: id.exeIno + 1, startStack: id.startStack},
		{pid: id.pid, start: id.start, exeDev: id.exeDev, exeIno: id.exeIno, startStack: id.startStack + 4096},
	} {
		if other.alive() || !other.replaced() {
			t.Errorf("%+v: alive %v, replaced %v; want false, true (the pid names %+v)", other, other.alive(), other.replaced(), id)
		}
	}
	if _, err := identify(2); err == nil || !strings.Contains(err.Error(), "kernel thread") {
		t.Errorf("identify(2) (kthreadd) = %v; want a kernel thread error", err)
	}
}

func TestParseTgid(t *testing.T) {
	if got, ok := parseTgid([]byte("Name:\tx\nUmask:\t0022\nState:\tS\nTgid:\t4242\nNgid:\t0\nPid:\t4250\n")); !ok || got != 4242 {
		t.Errorf("parseTgid = %d, %v; want 4242", got, ok)
	}
	for _, bad := range []string{"", "Pid: 1\n", "Tgid:\tx\n", "Tgid:\t99999999999\n"} {
		if _, ok := parseTgid([]byte(bad)); ok {
			t.Errorf("parseTgid(%q): want not ok", bad)
		}
	}
}

func TestParseNSpid(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   uint32
		ok     bool
	}{
		{"Tgid:\t4242\nNSpid:\t4242\t17\t1\nPPid:\t1\n", 1, true},
		{"NSpid:\t4242\n", 4242, true},
		{"NSpid:\n", 0, false},
		{"NSpid:\t1\tx\n", 0, false},
		{"Tgid:\t1\n", 0, false},
	} {
		if got, ok := parseNSpid([]byte(tc.status)); got != tc.want || ok != tc.ok {
			t.Errorf("parseNSpid(%q) = %d, %v; want %d, %v", tc.status, got, ok, tc.want, tc.ok)
		}
	}
}
