// Command leak-mapcache is a profile service that caches every session it
// has seen in a map keyed by session ID. Session IDs never repeat, and
// nothing ever evicts: the cache grows by ~100 entries of ~2.5 KiB a
// second (~250 KiB/s) while requests churn ~16 MB/s of short-lived garbage.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

type session struct {
	id      int64
	user    string
	profile []byte
	seen    time.Time
}

var (
	sessions = map[int64]*session{}
	sink     []byte
)

// loadSession returns the cached session or loads (and caches) it.
func loadSession(id int64, r *rand.Rand) *session {
	if s, ok := sessions[id]; ok {
		return s
	}
	s := &session{id: id, user: "user-" + strconv.FormatInt(id%9973, 10), profile: make([]byte, 2304), seen: time.Now()}
	s.profile[0] = byte(r.Uint32())
	sessions[id] = s
	return s
}

// handleRequest decodes a request and builds a response, all garbage once
// the response is written.
func handleRequest(r *rand.Rand, s *session) int {
	req := make([]byte, 4<<10+r.IntN(28<<10))
	req[0] = s.profile[0]
	resp := append(make([]byte, 0, 2*len(req)), req...)
	resp = strconv.AppendInt(resp, s.id, 10)
	sink = resp
	return len(resp)
}

func main() {
	r := rand.New(rand.NewPCG(1, 2))
	fmt.Println("ready", os.Getpid())
	next := int64(0)
	served := 0
	tick := time.NewTicker(10 * time.Millisecond)
	for range tick.C {
		next++ // one new session per tick
		for range 3 {
			served += handleRequest(r, loadSession(next-int64(r.IntN(3)), r))
		}
		if next%1000 == 0 {
			fmt.Println("sessions", len(sessions), "served", served)
		}
	}
}
