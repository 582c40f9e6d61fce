// Command ctl-ring is a flight recorder: it keeps the last 4096 events of
// 1 KiB in a ring buffer, each new event replacing the oldest (~100
// KiB/s, so an event lives ~40 s), and allocates nothing else: the heap
// goal is reached about every 40 s. Nothing leaks.
package main

import (
	"fmt"
	"os"
	"time"
)

type event struct {
	seq     int
	payload [1000]byte
}

var ring [4096]*event

// recordEvent overwrites the oldest event.
func recordEvent(seq int) {
	e := &event{seq: seq}
	e.payload[0] = byte(seq)
	ring[seq%len(ring)] = e
}

func main() {
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		recordEvent(n)
		if n%6000 == 0 {
			fmt.Println("events", n)
		}
	}
}
