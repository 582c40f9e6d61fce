// Command leak-goroutine-ticker starts a refresher per subscription: a
// ticker loop with no way to stop it, so unsubscribing leaves it running.
// 4 subscriptions a second, each unsubscribed 100 ms later.
package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

var refreshes atomic.Int64

func refresh(every time.Duration) {
	t := time.NewTicker(every)
	for range t.C {
		refreshes.Add(1)
	}
}

func subscribe() {
	go refresh(time.Minute)
}

func main() {
	fmt.Println("ready", os.Getpid())
	for range time.Tick(250 * time.Millisecond) {
		subscribe()
	}
}
