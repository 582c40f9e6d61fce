// Command ctl-goroutine-pool is a fixed pool of 64 workers fed from a job
// queue, plus a second pool of 16 started 30 s after launch (after
// leakscope attached): both stay at their size. Control.
package main

import (
	"fmt"
	"os"
	"time"
)

func worker(jobs <-chan []byte, sum *int) {
	for j := range jobs {
		*sum += len(j)
	}
}

func startPool(n int, jobs <-chan []byte) {
	sums := make([]int, n)
	for i := range n {
		go worker(jobs, &sums[i])
	}
}

func main() {
	jobs := make(chan []byte)
	startPool(64, jobs)
	late := make(chan []byte)
	time.AfterFunc(30*time.Second, func() { startPool(16, late) })
	fmt.Println("ready", os.Getpid())
	for range time.Tick(5 * time.Millisecond) {
		jobs <- make([]byte, 1024)
		select {
		case late <- make([]byte, 512):
		default:
		}
	}
}
