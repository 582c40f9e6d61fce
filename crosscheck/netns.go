package crosscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// DialFunc dials like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// sameNetNS reports whether pid shares leakscope's network namespace.
func sameNetNS(pid int) (bool, error) {
	var self, other unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &self); err != nil {
		return false, fmt.Errorf("reading our network namespace: %w", err)
	}
	p := fmt.Sprintf("/proc/%d/ns/net", pid)
	if err := unix.Stat(p, &other); err != nil {
		return false, fmt.Errorf("reading %s: %w", p, err)
	}
	return self.Dev == other.Dev && self.Ino == other.Ino, nil
}

// TargetDialer returns a DialFunc that reaches addresses as pid sees them:
// a plain dialer when pid shares our network namespace, else one whose
// sockets are created inside pid's namespace.
func TargetDialer(pid int) (DialFunc, error) {
	same, err := sameNetNS(pid)
	if err != nil {
		return nil, err
	}
	if same {
		var d net.Dialer
		return d.DialContext, nil
	}
	path := fmt.Sprintf("/proc/%d/ns/net", pid)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialInNetNS(ctx, path, network, addr)
	}, nil
}

// dialInNetNS dials from a socket created inside the network namespace at
// nsPath. A socket keeps the namespace it was created in, so the
// connection is then used from any thread. The namespace is entered on a
// dedicated, locked OS thread that is restored before it is released; if
// restoring fails the thread stays locked, and the runtime ends it with
// the goroutine, so no goroutine ever runs in a foreign namespace.
func dialInNetNS(ctx context.Context, nsPath, network, addr string) (net.Conn, error) {
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, fmt.Errorf("opening the target's network namespace: %w", err)
	}
	defer target.Close()
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("opening our network namespace: %w", err)}
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread() // still in our own namespace
			done <- result{err: fmt.Errorf("entering the target's network namespace: %w", err)}
			return
		}
		var d net.Dialer
		c, derr := d.DialContext(ctx, network, addr)
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			// Keep the thread locked: it exits with this goroutine.
			if c != nil {
				c.Close()
			}
			done <- result{err: errors.Join(derr, fmt.Errorf("leaving the target's network namespace: %w", err))}
			return
		}
		runtime.UnlockOSThread()
		done <- result{c: c, err: derr}
	}()
	r := <-done // DialContext itself honours ctx
	return r.c, r.err
}
