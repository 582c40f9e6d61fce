// Package leakypkg is a test package with a leak, for `leakscope run -- go
// test ./testdata/leakypkg`: TestCache fills a package-level cache that is
// never trimmed for $LEAKYPKG_SECONDS seconds (the test skips without it,
// so it never runs by accident). The leak site is leakypkg.(*cache).put.
package leakypkg

import (
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

type cache struct {
	mu    sync.Mutex
	items [][]byte
}

//go:noinline
func (c *cache) put(n int) {
	b := make([]byte, n)
	c.mu.Lock()
	c.items = append(c.items, b)
	c.mu.Unlock()
}

var global cache

func TestCache(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("LEAKYPKG_SECONDS"))
	if secs <= 0 {
		t.Skip("set LEAKYPKG_SECONDS to run the leak")
	}
	end := time.Now().Add(time.Duration(secs) * time.Second)
	var garbage [][]byte
	for i := 0; time.Now().Before(end); i++ {
		global.put(1024)
		// Churn, so the heap collects often as a busy test does.
		garbage = append(garbage, make([]byte, 32<<10))
		if len(garbage) > 64 {
			garbage = garbage[:0]
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("kept %d items", len(global.items))
}
