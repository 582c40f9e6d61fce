// Command leak-gogcoff is a metrics relay run with GOGC=off and a memory
// limit (GOMEMLIMIT=160MiB), a common tuning: the garbage collector runs
// only when the heap nears the limit. It relays ~3 MB/s of batches
// (garbage once sent) and keeps every failed batch's 2 KiB header for a
// retry that never happens (~200 KiB/s).
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"time"
)

type header struct {
	batch int
	raw   [2040]byte
}

var (
	failed []*header
	sink   []byte
)

// keepFailed keeps a failed batch's header for a retry that never comes.
func keepFailed(batch int) {
	h := &header{batch: batch}
	h.raw[0] = byte(batch)
	failed = append(failed, h)
}

// relay encodes and sends one batch: garbage once sent.
func relay(r *rand.Rand) int {
	b := make([]byte, 16<<10+r.IntN(32<<10))
	b[0] = 1
	sink = b
	return len(b)
}

func main() {
	// Run under the tuning the case is about, as a deployment would set
	// it: re-exec with it in the environment (same pid).
	if os.Getenv("GOGC") != "off" {
		self, err := os.Executable()
		if err == nil {
			err = syscall.Exec(self, os.Args, append(os.Environ(), "GOGC=off", "GOMEMLIMIT=160MiB"))
		}
		fmt.Println("re-exec:", err)
		os.Exit(1)
	}
	r := rand.New(rand.NewPCG(3, 4))
	failed = make([]*header, 0, 1<<17)
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		relay(r)
		keepFailed(n) // ~200 KiB/s
		if n%6000 == 0 {
			fmt.Println("failed", len(failed))
		}
	}
}
