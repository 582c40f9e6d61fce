// Command pprofleak is a cross-check target: it serves net/http/pprof,
// leaks at a steady rate at one named function (main.leakRecord) and
// churns short-lived garbage elsewhere (main.churn).
//
// It prints "ready PID ADDR" once listening. With -lo-up it first brings
// up the loopback interface, for a run inside a fresh network namespace
// (`unshare --net pprofleak -lo-up`).
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var (
	records [][]byte // grows forever
	sink    []byte   // keeps the churn from being optimised away
)

//go:noinline
func leakRecord(size int) {
	records = append(records, make([]byte, size))
}

//go:noinline
func churn(size int) {
	sink = make([]byte, size)
}

// loUp sets IFF_UP on "lo", as `ip link set lo up` does.
func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var req [unix.IFNAMSIZ + 24]byte
	copy(req[:], "lo")
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
		return e
	}
	flags := (*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ]))
	*flags |= unix.IFF_UP
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
		return e
	}
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address for net/http/pprof")
	leakRate := flag.Int("leak-rate", 2<<20, "bytes leaked per second")
	churnRate := flag.Int("churn-rate", 16<<20, "bytes of short-lived garbage per second")
	duration := flag.Duration("duration", 0, "exit 0 after this long (0: run until SIGTERM)")
	lo := flag.Bool("lo-up", false, "bring up the loopback interface first (fresh network namespace)")
	rate := flag.Int("memprofilerate", -1, "set runtime.MemProfileRate (0: heap sampling off); -1 keeps the default")
	flag.Parse()
	if *rate >= 0 {
		runtime.MemProfileRate = *rate
	}

	if *lo {
		if err := loUp(); err != nil {
			fmt.Fprintln(os.Stderr, "lo up:", err)
			os.Exit(1)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, nil) // DefaultServeMux holds /debug/pprof/

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	var deadline <-chan time.Time
	if *duration > 0 {
		deadline = time.After(*duration)
	}
	const tick = 10 * time.Millisecond
	const leakSize, churnSize = 1024, 4096
	leaksPerTick := max(1, *leakRate/leakSize/int(time.Second/tick))
	churnPerTick := *churnRate / churnSize / int(time.Second/tick)
	t := time.NewTicker(tick)
	defer t.Stop()
	fmt.Println("ready", os.Getpid(), ln.Addr())
	n := 0
	for {
		select {
		case <-stop:
			fmt.Println("stopping", n)
			return
		case <-deadline:
			fmt.Println("done", n)
			return
		case <-t.C:
		}
		for range churnPerTick {
			churn(churnSize)
		}
		for range leaksPerTick {
			leakRecord(leakSize)
			n++
		}
	}
}
