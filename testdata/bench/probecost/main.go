// Command probecost is a benchmark target for the cost of one uprobe hit.
// It serves loops over stdin so that one process serves every interleaved
// round of a benchmark: for each line "run MS" it calls main.hit (a
// //go:noinline function with a normal Go prologue: stack check, then
// PUSHQ BP) in a tight loop for about MS milliseconds and prints
// "ran CALLS NS" (calls made, wall time in nanoseconds).
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

var sink int

// hit is the probed function. It calls leaf so that it is not a frameless
// leaf: it keeps the stack-bound check and the frame-pointer prologue that
// every ordinary Go function (and every runtime hook) has.
//
//go:noinline
func hit(x int) int { return leaf(x) ^ x }

//go:noinline
func leaf(x int) int { return x + 1 }

// loop calls hit for about d and returns the calls made and the time taken.
// The clock is read once per chunk, so its cost is spread over chunk calls.
func loop(d time.Duration) (int, time.Duration) {
	const chunk = 256
	s, n := 0, 0
	start := time.Now()
	for {
		for i := 0; i < chunk; i++ {
			s += hit(i)
		}
		n += chunk
		if el := time.Since(start); el >= d {
			sink = s
			return n, el
		}
	}
}

func main() {
	fmt.Println("ready", os.Getpid())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || f[0] != "run" {
			fmt.Println("error: want \"run MS\", got", sc.Text())
			continue
		}
		ms, err := strconv.Atoi(f[1])
		if err != nil || ms <= 0 {
			fmt.Println("error: bad duration", f[1])
			continue
		}
		n, el := loop(time.Duration(ms) * time.Millisecond)
		fmt.Println("ran", n, el.Nanoseconds())
	}
}
