// Command ctl-goroutine-burst runs a fan-out batch every 40 s: 400
// goroutines, one per shard, that finish over 1 to 35 s (slow shards make
// some outlive the overdue age), then the batch is merged. Control.
package main

import (
	"fmt"
	"os"
	"sync"
	"time"
)

func fetchShard(wg *sync.WaitGroup, i int, out []int) {
	defer wg.Done()
	time.Sleep(time.Second + time.Duration(i)*85*time.Millisecond)
	out[i] = i
}

func batch() {
	var wg sync.WaitGroup
	out := make([]int, 400)
	for i := range out {
		wg.Add(1)
		go fetchShard(&wg, i, out)
	}
	wg.Wait()
}

func main() {
	fmt.Println("ready", os.Getpid())
	for {
		batch()
		time.Sleep(5 * time.Second)
	}
}
