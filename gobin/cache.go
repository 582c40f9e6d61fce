package gobin

import (
	"container/list"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// defaultCacheSize is the number of binaries a zero Cache keeps.
const defaultCacheSize = 64

// Cache shares Binaries between processes running the same executable, and
// between the users of one process (hook decoding, symbolization): each
// executable is parsed once. The zero value is ready to use and keeps up to
// 64 binaries, least recently used dropped first; failures are cached too,
// so a process that is not Go is not parsed again and again. Safe for
// concurrent use.
//
// The Binaries it returns are shared and stay open: do not Close them. One
// dropped from the cache closes its file once nothing uses it any more
// (the file's finalizer).
type Cache struct {
	// Max is the number of binaries kept; 0 means 64.
	Max int

	mu      sync.Mutex
	parsed  int
	entries map[cacheKey]*list.Element // of *cacheEntry
	lru     list.List                  // front: most recently used
}

// cacheKey identifies a file's contents. With a build ID that is the ID
// and the size: the path would defeat sharing, since callers pass
// /proc/PID/exe. Without one it is the file itself at one modification
// time: device, inode, size, mtime.
type cacheKey struct {
	buildID      string
	size         int64
	dev, ino     uint64
	mtimeNanosec int64
}

type cacheEntry struct {
	key   cacheKey
	ready chan struct{} // closed once bin and err are set
	bin   *Binary
	err   error
}

// Open returns the Binary for the executable at path (such as
// /proc/PID/exe), parsing it only if no binary with the same identity was
// parsed before.
func (c *Cache) Open(path string) (*Binary, error) {
	// One open file serves both the key and the parse, so they describe
	// the same executable even if the process behind path execs.
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	key := fileKey(f, fi)
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[cacheKey]*list.Element{}
	}
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*cacheEntry)
		c.mu.Unlock()
		f.Close()
		<-e.ready
		return e.bin, e.err
	}
	// Parse outside the lock; concurrent callers for the same key wait
	// for this one.
	e := &cacheEntry{key: key, ready: make(chan struct{})}
	c.entries[key] = c.lru.PushFront(e)
	c.evict()
	c.parsed++
	c.mu.Unlock()

	e.bin, e.err = newBinary(f, fi.Size(), path)
	if e.err != nil {
		f.Close()
		e.err = fmt.Errorf("%s: %w", path, e.err)
	} else {
		e.bin.closer = f
	}
	close(e.ready)
	return e.bin, e.err
}

// Parsed returns how many executables the cache has parsed: one per
// distinct executable opened, unless evicted and opened again.
func (c *Cache) Parsed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.parsed
}

// evict drops the least recently used entries beyond Max. Dropped entries
// still being parsed finish for their waiters.
func (c *Cache) evict() {
	max := c.Max
	if max <= 0 {
		max = defaultCacheSize
	}
	for c.lru.Len() > max {
		el := c.lru.Back()
		c.lru.Remove(el)
		delete(c.entries, el.Value.(*cacheEntry).key)
	}
}

// fileKey returns the identity of the open file f: its build ID note when
// it has one, else its stat data.
func fileKey(f *os.File, fi os.FileInfo) cacheKey {
	key := cacheKey{size: fi.Size()}
	_ = safely("parse ELF", func() error {
		if im, err := newImage(f, fi.Size()); err == nil {
			key.buildID = readBuildID(im)
		}
		return nil
	})
	if key.buildID == "" {
		key.mtimeNanosec = fi.ModTime().UnixNano()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			key.dev, key.ino = uint64(st.Dev), uint64(st.Ino)
		}
	}
	return key
}
