// Command leak-globalslice is an API gateway that appends an audit entry
// for every request to a global slice "to be shipped later" and never
// ships or trims it: ~200 entries of ~1.1 KiB a second (~220 KiB/s) under
// ~16 MB/s of request churn.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

type auditEntry struct {
	at     time.Time
	method string
	path   string
	detail []byte
}

var (
	auditLog []*auditEntry
	sink     []byte
)

// recordAudit remembers what a request did.
func recordAudit(req []byte, path string) {
	e := &auditEntry{at: time.Now(), method: "POST", path: path, detail: make([]byte, 1024)}
	copy(e.detail, req)
	auditLog = append(auditLog, e)
}

// handleRequest decodes a request and builds a response, all garbage once
// the response is written.
func handleRequest(r *rand.Rand) []byte {
	req := make([]byte, 4<<10+r.IntN(28<<10))
	req[0] = byte(r.Uint32())
	resp := append(make([]byte, 0, 2*len(req)), req...)
	resp = strconv.AppendInt(resp, int64(len(req)), 10)
	sink = resp
	return req
}

func main() {
	r := rand.New(rand.NewPCG(3, 4))
	fmt.Println("ready", os.Getpid())
	paths := []string{"/v1/orders", "/v1/users", "/v1/carts"}
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		for i := range 3 {
			req := handleRequest(r)
			if i < 2 {
				recordAudit(req, paths[r.IntN(len(paths))])
			}
		}
		if n%1000 == 0 {
			fmt.Println("audit entries", len(auditLog))
		}
	}
}
