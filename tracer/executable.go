package tracer

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/leakscope/leakscope/gobin"
)

// ExeKey identifies an executable file as the kernel's uprobes do: the
// real inode under any overlayfs. Outside overlayfs that is stat's device
// and inode. On overlayfs (every container started from one image) stat
// shows a device per mount over the shared real file: keying on it would
// attach twice to one inode and every hit would run twice. There the key
// is what stat reports of the real file (inode number, size, change and
// modification times), which tells two real files apart unless they agree
// on all four to the nanosecond.
type ExeKey struct {
	Dev     uint64 // 0 on overlayfs
	Inode   uint64
	Size    int64
	Changed int64 // ctime, ns; overlayfs only
	Mod     int64 // mtime, ns; overlayfs only
}

func (k ExeKey) String() string {
	if k.Dev == 0 {
		return fmt.Sprintf("overlay:%d", k.Inode)
	}
	return fmt.Sprintf("%d:%d", k.Dev, k.Inode)
}

// overlayfsMagic is OVERLAYFS_SUPER_MAGIC, statfs's f_type of overlayfs.
const overlayfsMagic = 0x794c7630

// ExecutableOf returns the key of the executable pid runs.
func ExecutableOf(pid uint32) (ExeKey, error) {
	path := fmt.Sprintf("/proc/%d/exe", pid)
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return ExeKey{}, fmt.Errorf("reading the executable of pid %d: %w", pid, err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return ExeKey{}, fmt.Errorf("reading the executable of pid %d: %w", pid, err)
	}
	return exeKey(st, int64(fs.Type) == overlayfsMagic), nil
}

func exeKey(st unix.Stat_t, overlay bool) ExeKey {
	if !overlay {
		return ExeKey{Dev: st.Dev, Inode: st.Ino}
	}
	return ExeKey{Inode: st.Ino, Size: st.Size, Changed: st.Ctim.Nano(), Mod: st.Mtim.Nano()}
}

// probeSet is the uprobes on one executable. They fire in every process
// running it; the programs ignore processes not in the targets map, so a
// probe set serves any number of watched processes.
type probeSet struct {
	key   ExeKey
	links []link.Link
	users int // attachments sharing it
}

// probe is one program at one hook.
type probe struct {
	hook gobin.Hook
	prog *ebpf.Program
}

// probes lists what attaches to an executable's hooks.
func (t *Tracer) probes(hooks *gobin.Hooks) []probe {
	return []probe{
		{hooks.SetProfileBucket, t.objs.Setprofilebucket},
		{hooks.FreeSpecial, t.objs.FreeSpecial},
		{hooks.GCMarkTermination, t.objs.GcMarkTermination},
	}
}

// acquireProbes returns the probe set of the executable pid runs, attaching
// it if no other watched process runs that executable. Called with t.mu
// held: two attachments of one executable must not both attach.
func (t *Tracer) acquireProbes(pid uint32, hooks *gobin.Hooks) (*probeSet, error) {
	key, err := ExecutableOf(pid)
	if err != nil {
		return nil, err
	}
	if ps := t.execs[key]; ps != nil {
		ps.users++
		return ps, nil
	}
	// Through /proc/PID/exe: the kernel resolves the inode the process runs,
	// whatever mount namespace it lives in and whatever paths it controls.
	exe, err := link.OpenExecutable(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return nil, fmt.Errorf("opening executable of pid %d: %w", pid, err)
	}
	ps := &probeSet{key: key, users: 1}
	for _, p := range t.probes(hooks) {
		// Address is a file offset; a plain uprobe, never a uretprobe:
		// return probes corrupt Go stacks when they move. No PID filter:
		// the programs filter on the targets map.
		l, err := exe.Uprobe(p.hook.Name, p.prog, &link.UprobeOptions{Address: p.hook.FileOffset})
		if err != nil {
			closeLinks(ps.links)
			if errors.Is(err, ebpf.ErrNotSupported) {
				return nil, fmt.Errorf("attaching uprobe to %s in pid %d: this kernel lacks uprobe support (CONFIG_UPROBE_EVENTS): %w", p.hook.Name, pid, err)
			}
			return nil, withPermissionHint(fmt.Errorf("attaching uprobe to %s in pid %d: %w", p.hook.Name, pid, err))
		}
		ps.links = append(ps.links, l)
	}
	t.execs[key] = ps
	return ps, nil
}

// releaseProbes drops one user of ps and detaches it after the last one.
// Called with t.mu held.
func (t *Tracer) releaseProbes(ps *probeSet) error {
	ps.users--
	if ps.users > 0 {
		return nil
	}
	delete(t.execs, ps.key)
	return closeLinks(ps.links)
}

func closeLinks(ls []link.Link) error {
	var errs []error
	for _, l := range ls {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}

// ProbeSets returns how many executables have probes attached: one per
// distinct executable among the watched processes, however many run it.
func (t *Tracer) ProbeSets() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.execs)
}
