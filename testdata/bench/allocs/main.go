// Command allocs is a benchmark target for throughput under leakscope. Worker
// goroutines allocate a mix of object sizes as fast as they can, or at a
// throttled total rate, each keeping its most recent objects alive for a
// while so the garbage collector has real work.
//
// Commands on stdin, one per line:
//
//	rate BYTES_PER_SECOND   throttle all workers together (0: unlimited)
//	work ITERS_PER_KIB      after each allocation, compute this many
//	                        iterations per KiB allocated: the CPU work a
//	                        service does between allocations (0: none)
//	measure MS              prints "measured BYTES NS CPU_NS GCS PAUSES
//	                        MEAN_NS P99_NS MAX_NS STOP_P99_NS": bytes allocated
//	                        by the workers, wall time, CPU time of the whole
//	                        process, GC cycles, and the GC stop-the-world
//	                        pauses (runtime/metrics /sched/pauses/total/gc and
//	                        /sched/pauses/stopping/gc; bucket upper bounds) in
//	                        a window of MS milliseconds
//	ballast MIB             keeps MIB MiB more of pointer-bearing heap (lists
//	                        of 64-byte nodes held by a global) and prints
//	                        "ballast ADDR": the address of the last list's
//	                        second node (global -> the lists' array -> head
//	                        -> it), for a retention-path search to find
//	pprof on|off            prints "pprof"; the in-process alternative to
//	                        leakscope: turn on the runtime's heap sampling
//	                        (MemProfileRate 512 KiB) and GET our own
//	                        /debug/pprof/heap 1 s after "on", then every
//	                        10 s; "off" stops both
//
// With -park N it also starts N goroutines blocked for good, before it is
// ready. The first line it prints is "ready PID". It links net/http/pprof for
// "pprof on" but sets runtime.MemProfileRate to 0 first thing, so that it
// starts without heap sampling, like a program without pprof.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// node is a small pointer-carrying object, like a list or tree element.
type node struct {
	next *node
	val  int64
	name string
}

// record is a mid-sized object with pointers, like a decoded request.
type record struct {
	id     int64
	tags   []string
	parent *record
	body   []byte
	extra  [8]int64
}

const (
	nodeSize   = int(unsafe.Sizeof(node{}))
	recordSize = int(unsafe.Sizeof(record{}))
	tagsSize   = 2 * int(unsafe.Sizeof(""))
)

// worker is one allocating goroutine's state, its counter padded so the
// counters of different workers do not share a cache line.
type worker struct {
	bytes atomic.Int64
	_     [56]byte
	// keep holds the worker's most recent objects. It must be reachable
	// from a global: a local slice that is only written is optimised away.
	keep []any
}

var (
	workers   []worker
	rateBps   atomic.Int64 // total throttle; 0 = unlimited
	rateEpoch atomic.Int64 // bumped on every rate change
	work      atomic.Int64 // iterations of spin per KiB allocated
	spinSink  atomic.Uint64
)

// spin does n iterations of dependent integer arithmetic (about 1 ns each)
// that the compiler cannot drop.
func spin(n int64) {
	x := uint64(n)
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	if x == 42 {
		spinSink.Store(x)
	}
}

// allocOne allocates one object of the mix and returns it with its size.
// By count most allocations are small; by bytes the 1-4 KiB buffers and the
// rare large ones dominate, as in typical services.
func allocOne(r *rand.Rand) (any, int) {
	switch p := r.IntN(100); {
	case p < 30: // small pointer-carrying structs
		return &node{val: int64(p)}, nodeSize
	case p < 50: // small noscan byte slices and strings
		n := 8 + r.IntN(57)
		return make([]byte, n), n
	case p < 65: // records with pointers
		return &record{id: int64(p), tags: make([]string, 2)}, recordSize + tagsSize
	case p < 85: // 128-1023 byte buffers
		n := 128 + r.IntN(896)
		return make([]byte, n), n
	case p < 95: // 1-4 KiB buffers
		n := 1024 + r.IntN(3072)
		return make([]byte, n), n
	case p < 99: // 4-32 KiB buffers
		n := 4096 + r.IntN(28672)
		return make([]byte, n), n
	default: // 32-256 KiB large objects
		n := 32768 + r.IntN(229376)
		return make([]byte, n), n
	}
}

func run(w *worker, seed uint64, nworkers int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// Each object stays reachable for the next len(keep) allocations.
	w.keep = make([]any, 4096)
	keep := w.keep
	var done int64  // bytes since the throttle's reference point
	var local int64 // bytes not yet published to w.bytes
	var epoch int64 // rate epoch the reference point belongs to
	start := time.Now()
	for i := 0; ; i++ {
		obj, n := allocOne(r)
		keep[i&(len(keep)-1)] = obj
		local += int64(n)
		if w := work.Load(); w > 0 {
			spin(w * int64(n) >> 10)
		}
		if i&63 != 63 {
			continue
		}
		w.bytes.Add(local)
		done += local
		local = 0
		total := rateBps.Load()
		if e := rateEpoch.Load(); e != epoch {
			epoch, done, start = e, 0, time.Now()
		}
		if total <= 0 {
			continue
		}
		// Sleep until this worker is back on its share of the rate.
		due := start.Add(time.Duration(float64(done) / float64(total) * float64(nworkers) * 1e9))
		if d := time.Until(due); d > 200*time.Microsecond {
			time.Sleep(d)
		}
	}
}

func parkForever(c <-chan int) { <-c }

// ballastNode is 64 bytes with a pointer: the ballast's lists.
type ballastNode struct {
	next *ballastNode
	pad  [7]int64
}

// ballast holds the lists of "ballast MIB", 1 MiB each.
var ballast []*ballastNode

// addBallast adds mib lists of 1 MiB and returns the address of the last
// list's second node: three levels from the global, so that a backward
// search, one level per read of the heap, can reach it in a large heap.
func addBallast(mib int64) uintptr {
	var second *ballastNode
	for range mib {
		head := &ballastNode{}
		tail := head
		for range (1<<20)/64 - 1 {
			tail.next = &ballastNode{}
			tail = tail.next
		}
		ballast = append(ballast, head)
		second = head.next
	}
	return uintptr(unsafe.Pointer(second))
}

func total() int64 {
	var s int64
	for i := range workers {
		s += workers[i].bytes.Load()
	}
	return s
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func gcs() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

func main() {
	// Before anything allocates much: the program starts as one without
	// pprof would (linking runtime/pprof sets the rate to 512 KiB).
	runtime.MemProfileRate = 0
	n := flag.Int("workers", 4, "allocating goroutines")
	park := flag.Int("park", 0, "also start this many goroutines blocked for good (goroutine-read benchmarks)")
	flag.Parse()
	parked := make(chan int)
	for range *park {
		go parkForever(parked)
	}
	workers = make([]worker, *n)
	for i := range workers {
		go run(&workers[i], uint64(i+1), *n)
	}
	fmt.Println("ready", os.Getpid())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "pprof" {
			if err := pprofPolling(f[1] == "on"); err != nil {
				fmt.Println("error:", err)
				continue
			}
			fmt.Println("pprof")
			continue
		}
		if len(f) != 2 {
			fmt.Println("error: want \"rate BPS\", \"work ITERS\", \"measure MS\" or \"pprof on|off\", got", sc.Text())
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || v < 0 {
			fmt.Println("error: bad number", f[1])
			continue
		}
		switch f[0] {
		case "rate":
			rateBps.Store(v)
			rateEpoch.Add(1)
			fmt.Println("rate", v)
		case "work":
			work.Store(v)
			fmt.Println("work", v)
		case "ballast":
			fmt.Println("ballast", addBallast(v))
		case "measure":
			p0 := readPauses()
			b0, c0, g0, t0 := total(), cpuNanos(), gcs(), time.Now()
			time.Sleep(time.Duration(v) * time.Millisecond)
			b1, c1, g1, el := total(), cpuNanos(), gcs(), time.Since(t0)
			p := readPauses().since(p0)
			fmt.Println("measured", b1-b0, el.Nanoseconds(), c1-c0, g1-g0,
				p.total.count(), p.total.meanNs(), p.total.quantileNs(0.99), p.total.quantileNs(1), p.stopping.quantileNs(0.99))
		default:
			fmt.Println("error: unknown command", f[0])
		}
	}
}
