// Command leak-onlylinked is an event logger that appends every event,
// a small struct with a map of tags and a formatted message, to a linked
// list nothing ever trims (~1 MB/s), and allocates little else.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

type event struct {
	next *event
	seq  int
	msg  string
	tags map[string]string
}

var head *event

// logEvent records one event forever: the struct, its tag map and its
// strings (built by strconv, named after logEvent).
func logEvent(seq int, user string) {
	e := &event{next: head, seq: seq}
	e.msg = "event " + strconv.Itoa(seq) + " from " + user
	e.tags = map[string]string{"user": user, "seq": strconv.Itoa(seq)}
	head = e
}

func main() {
	users := []string{"alice", "bob", "carol", "dave"}
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; {
		<-tick.C
		for range 30 { // ~3000 events a second
			logEvent(n, users[n%len(users)])
			n++
		}
	}
}
