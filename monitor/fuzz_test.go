package monitor

import "testing"

// FuzzParseStat: any /proc/PID/stat content parses or fails cleanly.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 7 0 123456 1000 200 18446744073709551615"))
	f.Add([]byte("1 (x) Z"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStat(b)
		if err == nil && st.state == 0 {
			t.Errorf("parseStat(%q) accepted it with no state", b)
		}
	})
}

// FuzzParseTgid: any /proc/PID/status content parses or fails cleanly.
func FuzzParseTgid(f *testing.F) {
	f.Add([]byte("Name:\tx\nUmask:\t0022\nState:\tS\nTgid:\t4242\nNgid:\t0\nPid:\t4250\n"))
	f.Add([]byte("Tgid:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseTgid(b)
	})
}
