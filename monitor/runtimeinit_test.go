package monitor

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRuntimeInit: a process named as runc names its init stage is the
// runtime's; any other is not. (TestDocker meets the real one.)
func TestRuntimeInit(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Skip(err)
	}
	for name, want := range map[string]bool{"runc:[2:INIT]": true, "sleep": false, "runc": false} {
		bin := filepath.Join(dir, name)
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		got := runtimeInit(uint32(cmd.Process.Pid))
		cmd.Process.Kill()
		cmd.Wait()
		if got != want {
			t.Errorf("process named %q: runtimeInit %v, want %v", name, got, want)
		}
	}
}
