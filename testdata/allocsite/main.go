// Command allocsite is a test target for exact allocation counts: on each
// SIGUSR1 it allocates exactly -n objects of 48 bytes in main.allocSite,
// keeps them alive, and prints "allocated N" (N: the total so far). It
// prints "ready PID" first.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// object is 48 bytes without pointers: one mallocgc call of size 48 each.
type object [6]uint64

// kept stays reachable so no allocation can be optimised away.
var kept [][]*object

//go:noinline
func allocSite(dst []*object) {
	for i := range dst {
		dst[i] = new(object)
	}
}

func main() {
	n := flag.Int("n", 100000, "objects allocated per SIGUSR1")
	flag.Parse()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	fmt.Println("ready", os.Getpid())
	total := 0
	for range sig {
		dst := make([]*object, *n)
		allocSite(dst)
		kept = append(kept, dst)
		total += *n
		fmt.Println("allocated", total)
	}
}
