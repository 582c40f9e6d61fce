package monitor

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	// The command name may hold spaces and ')' itself.
	line := []byte("4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 7 0 123456 1000 200 18446744073709551615")
	start, state, err := parseStat(line)
	if err != nil || start != 123456 || state != 'S' {
		t.Errorf("parseStat = %d, %q, %v; want 123456, 'S', nil", start, state, err)
	}
	for _, bad := range []string{"", "4242 (x", "4242 (x) S 1 2", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 notanumber"} {
		if _, _, err := parseStat([]byte(bad)); err == nil {
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
