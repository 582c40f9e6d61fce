// Command leak-goroutine-ctx starts, per job, a watcher goroutine that
// cleans up when the job's context is cancelled; the cancel function is
// kept but never called, so every watcher waits forever. 5 jobs a second.
package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

type job struct {
	cancel context.CancelFunc
	buf    []byte
}

var jobs []*job

func watch(ctx context.Context, j *job) {
	<-ctx.Done()
	j.buf = nil
}

func start() {
	ctx, cancel := context.WithCancel(context.Background())
	j := &job{cancel: cancel, buf: make([]byte, 256)}
	jobs = append(jobs, j)
	go watch(ctx, j)
}

func main() {
	fmt.Println("ready", os.Getpid())
	for range time.Tick(200 * time.Millisecond) {
		start()
	}
}
