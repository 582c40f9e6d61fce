// Command leak-goroutine-mutex has a reload path that returns early on an
// error without unlocking the configuration lock: every later reader
// blocks on the mutex forever. Readers arrive 5 times a second.
package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

var (
	mu     sync.Mutex
	config = map[string]string{"mode": "a"}
)

func reload() error {
	mu.Lock()
	if len(config) > 0 {
		return errors.New("invalid config") // forgot mu.Unlock()
	}
	mu.Unlock()
	return nil
}

func read(key string) string {
	mu.Lock()
	defer mu.Unlock()
	return config[key]
}

func main() {
	fmt.Println("ready", os.Getpid())
	_ = reload()
	for range time.Tick(200 * time.Millisecond) {
		go read("mode")
	}
}
