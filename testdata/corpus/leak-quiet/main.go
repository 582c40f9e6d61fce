// Command leak-quiet is a mostly idle presence service: every 10 ms it
// records a 320-byte visit that it never removes (~31 KiB/s), and it
// allocates nothing else. The heap goal (4 MB) is first reached after
// about two minutes; from then on only the runtime's forced GC (every two
// minutes) collects.
package main

import (
	"fmt"
	"os"
	"time"
)

type visit struct {
	at    int64
	route [304]byte
}

var visits []*visit

// recordVisit keeps every visit, forever.
func recordVisit(at int64) {
	v := &visit{at: at}
	v.route[0] = byte(at)
	visits = append(visits, v)
}

func main() {
	visits = make([]*visit, 0, 1<<17) // allocated once: the visits are the only allocation
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		recordVisit(int64(n))
		if n%30000 == 0 {
			fmt.Println("visits", len(visits))
		}
	}
}
