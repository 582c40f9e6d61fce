// Command leaky is a test target: it leaks at a steady rate through the
// path chosen by -leak while churning short-lived garbage, and reports its
// own health on stdout so tests can tell it kept running.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

var (
	cache  = map[int][]byte{} // grows forever with -leak=map
	global [][]byte           // grows forever with -leak=slice
	sink   []byte             // keeps the churn from being optimised away
)

//go:noinline
func leakMap(i int, size int) {
	cache[i] = make([]byte, size)
}

//go:noinline
func leakSlice(size int) {
	global = append(global, make([]byte, size))
}

//go:noinline
func churn(size int) {
	sink = make([]byte, size)
}

func main() {
	leak := flag.String("leak", "map", "leak path: map, slice or none")
	leakRate := flag.Int("leak-rate", 2<<20, "bytes leaked per second")
	churnRate := flag.Int("churn-rate", 64<<20, "bytes of short-lived garbage per second")
	duration := flag.Duration("duration", 0, "exit 0 after this long (0: run until SIGTERM)")
	burstAfter := flag.Duration("burst-after", 0, "after this long, or on SIGUSR1, churn at -burst-rate instead (0: on SIGUSR1 only); SIGUSR2 ends the burst")
	burstRate := flag.Int("burst-rate", 0, "bytes of short-lived garbage per second after -burst-after or SIGUSR1")
	execAfter := flag.Duration("exec-after", 0, "after this long, replace this program by -exec (same pid)")
	execPath := flag.String("exec", "", "program to execute with -exec-after (args follow the flags)")
	flag.Parse()
	var burstAt <-chan time.Time
	if *burstAfter > 0 {
		burstAt = time.After(*burstAfter)
	}
	var execAt <-chan time.Time
	if *execAfter > 0 {
		execAt = time.After(*execAfter)
	}

	// SIGUSR1 starts the burst, SIGUSR2 ends it: a test times them.
	burstNow, calmNow := make(chan os.Signal, 1), make(chan os.Signal, 1)
	signal.Notify(burstNow, syscall.SIGUSR1)
	signal.Notify(calmNow, syscall.SIGUSR2)

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
	burst := func() {
		churnPerTick = *burstRate / churnSize / int(time.Second/tick)
		fmt.Println("burst", *burstRate)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	fmt.Println("ready", os.Getpid())
	n := 0
	for ticks := 0; ; ticks++ {
		select {
		case <-stop:
			fmt.Println("stopping", n)
			return
		case <-deadline:
			fmt.Println("done", n)
			return
		case <-burstAt:
			burst()
		case <-burstNow:
			burst()
		case <-calmNow:
			churnPerTick = *churnRate / churnSize / int(time.Second/tick)
			fmt.Println("calm", *churnRate)
		case <-execAt:
			fmt.Println("exec", *execPath)
			argv := append([]string{*execPath}, flag.Args()...)
			if err := syscall.Exec(*execPath, argv, os.Environ()); err != nil {
				fmt.Println("exec failed:", err)
				os.Exit(1)
			}
		case <-t.C:
		}
		for range churnPerTick {
			churn(churnSize)
		}
		for range leaksPerTick {
			switch *leak {
			case "map":
				leakMap(n, leakSize)
			case "slice":
				leakSlice(leakSize)
			}
			n++
		}
		if ticks%100 == 0 {
			fmt.Println("alive", n)
		}
	}
}
