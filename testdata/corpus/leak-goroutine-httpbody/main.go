// Command leak-goroutine-httpbody polls a local HTTP service and forgets to
// close the response bodies: no connection is reused, and each keeps its
// client transport's read and write loops (and the server's connection
// goroutine) forever. 4 requests a second against a real loopback server.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// status reads the first byte of the status page and returns, leaving the
// body open.
func status(client *http.Client, url string) {
	resp, err := client.Get(url)
	if err != nil {
		return
	}
	var b [1]byte
	_, _ = resp.Body.Read(b[:])
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, strings.Repeat("ok\n", 4096))
	}))
	// No Client.Timeout: with one, the body's read deadline would close
	// the connection and end its goroutines (that is not a leak).
	client := &http.Client{}
	url := "http://" + ln.Addr().String() + "/status"
	fmt.Println("ready", os.Getpid())
	for range time.Tick(250 * time.Millisecond) {
		status(client, url)
	}
}
