// Command ctl-goroutine-boot starts its long-lived background goroutines
// at boot: 200 cache refreshers, metrics flushers and listeners waiting
// on tickers and channels for the life of the process. Control.
package main

import (
	"fmt"
	"os"
	"time"
)

func refresher(every time.Duration, out chan<- int) {
	for range time.Tick(every) {
		select {
		case out <- 1:
		default:
		}
	}
}

func listener(in <-chan int) {
	for range in {
	}
}

func main() {
	events := make(chan int)
	for i := range 100 {
		go refresher(time.Duration(1+i%7)*time.Second, events)
		go listener(events)
	}
	fmt.Println("ready", os.Getpid())
	select {}
}
