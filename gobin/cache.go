package gobin

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
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
// The Binaries it returns are shared and keep their file open (one
// descriptor per cached executable): do not Close them; Close the Cache
// when done. One dropped from the cache closes its file once nothing uses
// it any more (the file's finalizer).
type Cache struct {
	// Max is the number of binaries kept; 0 means 64.
	Max int

	mu      sync.Mutex
	parsed  int
	entries map[cacheKey]*list.Element // of *cacheEntry
	lru     list.List                  // front: most recently used
}

// cacheKey identifies a file, not a path (callers pass /proc/PID/exe, so
// the path would defeat sharing) and not a build ID: a copy of a binary
// with bytes changed (a patched version string, a rewritten function)
// keeps its build ID, and hooks decoded from one copy are wrong for the
// other. Outside overlayfs it is the device and inode at one size and
// modification time; on overlayfs, where every container started from one
// image shows the same real file under a device of its own mount, it is
// what stat reports of the real file (inode, size, change and modification
// times), the rule tracer.ExecutableOf keys probe sets by.
type cacheKey struct {
	dev, ino       uint64 // dev 0 on overlayfs
	size           int64
	mtime, changed int64 // ns; changed on overlayfs only
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

// Close closes the files of the cached binaries and empties the cache.
// Binaries already handed out still symbolize (Expand works from memory
// once LoadFuncTable has run), but can no longer read code.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for el := c.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*cacheEntry)
		<-e.ready
		if e.bin != nil {
			errs = append(errs, e.bin.Close())
		}
	}
	c.entries = nil
	c.lru.Init()
	return errors.Join(errs...)
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

// overlayfsMagic is OVERLAYFS_SUPER_MAGIC, statfs's f_type of overlayfs.
const overlayfsMagic = 0x794c7630

// fileKey returns the identity of the open file f.
func fileKey(f *os.File, fi os.FileInfo) cacheKey {
	key := cacheKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return key
	}
	key.dev, key.ino = uint64(st.Dev), uint64(st.Ino)
	var fs unix.Statfs_t
	if unix.Fstatfs(int(f.Fd()), &fs) == nil && int64(fs.Type) == overlayfsMagic {
		key.dev, key.changed = 0, st.Ctim.Nano()
	}
	return key
}
