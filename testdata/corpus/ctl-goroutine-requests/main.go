// Command ctl-goroutine-requests serves requests in goroutines that all
// finish: 100 a second taking up to 200 ms, and long polls, 2 a second,
// that hold on for 20 to 40 s before answering. Control.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

func serve(d time.Duration) {
	buf := make([]byte, 4096)
	time.Sleep(d)
	buf[0] = 1
}

func longPoll(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}

func main() {
	fmt.Println("ready", os.Getpid())
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; ; n++ {
		go serve(time.Duration(r.IntN(200)) * time.Millisecond)
		if n%50 == 0 {
			go longPoll(20*time.Second + time.Duration(r.IntN(20_000))*time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
