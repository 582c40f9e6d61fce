// Command leak-goroutine-chansend is a scatter-gather handler: each request
// asks a backend in a goroutine that sends its answer on an unbuffered
// channel; when the request times out first, nobody receives and the
// goroutine blocks on the send forever. 50 requests a second, a quarter
// of which time out: ~12 goroutines leaked a second.
package main

import (
	"fmt"
	"os"
	"time"
)

func askBackend(reply chan<- int, n int) {
	time.Sleep(time.Duration(n%20) * time.Millisecond) // the backend's latency
	reply <- n
}

// handle waits up to 15 ms for the answer.
func handle(n int) {
	reply := make(chan int)
	go askBackend(reply, n)
	select {
	case <-reply:
	case <-time.After(15 * time.Millisecond):
	}
}

func main() {
	fmt.Println("ready", os.Getpid())
	for n := 0; ; n++ {
		go handle(n) // backend latencies 0-19 ms: those over 15 ms leak
		time.Sleep(20 * time.Millisecond)
	}
}
