// Command leak-goroutine-netconn opens a loopback connection per event to
// a peer that accepts but never answers or closes, and reads the reply
// with no deadline: each reader blocks in network I/O forever (which Go's
// own goroutineleak profile cannot see). 4 events a second.
package main

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

var (
	mu    sync.Mutex
	peers []net.Conn // the silent peer's side, held open
)

func readAck(c net.Conn) {
	buf := make([]byte, 64)
	_, _ = c.Read(buf)
	c.Close()
}

func notify(addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	go readAck(c)
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			peers = append(peers, c)
			mu.Unlock()
		}
	}()
	fmt.Println("ready", os.Getpid())
	for range time.Tick(250 * time.Millisecond) {
		notify(ln.Addr().String())
	}
}
