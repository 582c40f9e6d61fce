package main_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestBadHTTPFlags: HTTP settings that cannot work fail before anything
// is attached, with a clear message and a non-zero exit.
func TestBadHTTPFlags(t *testing.T) {
	dir := t.TempDir()
	bin := buildLeakscope(t, dir)
	// A target that is never reached: every case fails first.
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	pid := strconv.Itoa(sleep.Process.Pid)

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	empty := filepath.Join(dir, "empty-token")
	os.WriteFile(empty, []byte("\n"), 0o600)
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o600)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", busy.Addr().String()}, "address already in use"},
		{[]string{"--listen", "256.0.0.1:80"}, "--listen 256.0.0.1:80"},
		{[]string{"--tls-cert", garbage}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", garbage, "--tls-key", garbage}, "--tls-cert/--tls-key"},
		{[]string{"--auth-token-file", filepath.Join(dir, "missing")}, "--auth-token-file"},
		{[]string{"--auth-token-file", empty}, "want one non-empty line"},
		{[]string{"--listen", "", "--auth-token-file", empty}, "need the HTTP server"},
	} {
		code, out := runLeakscope(t, bin, nil, append([]string{"--pid", pid}, tc.args...)...)
		wantCleanError(t, code, out, tc.want)
	}
}
