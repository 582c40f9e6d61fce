package tracer

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestExeKey(t *testing.T) {
	a := unix.Stat_t{Dev: 41, Ino: 7, Size: 100, Ctim: unix.Timespec{Sec: 5}, Mtim: unix.Timespec{Sec: 4}}
	b := a
	b.Dev = 42 // the same real file through another overlay mount
	if exeKey(a, true) != exeKey(b, true) {
		t.Errorf("overlayfs: one real file through two mounts gives two keys")
	}
	if exeKey(a, false) == exeKey(b, false) {
		t.Errorf("two devices, no overlayfs: one key")
	}
	c := a
	c.Ctim.Nsec = 1 // another real file with the same inode number
	if exeKey(a, true) == exeKey(c, true) {
		t.Errorf("overlayfs: two real files give one key")
	}
}
