// Command typedholders keeps objects alive behind holders whose type the
// Go runtime records from 1.22 (allocation headers above 512 B, large
// objects' spans): a global map of *Session (Session is 640 B), a global
// slice of 5000 *Big (a 40 KB backing array, one large object) and a
// small untyped box. It prints each leaked object's address ("session
// 0x...", "big 0x...", "boxed 0x...") and the box's ("box 0x..."), then
// "ready", and never exits by itself.
package main

import (
	"fmt"
	"runtime"
	"time"
)

// Session is above minSizeForMallocHeader and holds pointers: its
// objects start with a type header.
type Session struct {
	id   int
	name string
	blob [600]byte
	next *Session
}

// Big is a large object: its span records its type.
type Big struct {
	data  [40000]byte
	owner *Session
}

// box is 8 bytes: the runtime records no type for it.
type box struct{ s *Session }

var (
	sessions = map[string]*Session{}
	bigs     []*Big
	boxed    *box
)

//go:noinline
func newBox(s *Session) *box { return &box{s: s} }

func main() {
	for i := 0; i < 64; i++ {
		sessions[fmt.Sprint("s", i)] = &Session{id: i, name: fmt.Sprint("session", i)}
	}
	bigs = make([]*Big, 5000)
	for i := 0; i < 4; i++ {
		bigs[i] = &Big{}
	}
	boxed = newBox(&Session{id: -1})
	runtime.GC()
	fmt.Printf("session %p\n", sessions["s7"])
	fmt.Printf("big %p\n", bigs[3])
	fmt.Printf("boxed %p\n", boxed.s)
	fmt.Printf("box %p\n", boxed)
	fmt.Println("ready")
	for {
		time.Sleep(time.Hour)
	}
}
