// Command leak-fewgc is an order tracker with a 12 MB price table built at
// start-up and a light request load (~0.5 MB/s of garbage), so that it
// collects only a few times a minute; it keeps a 1 KiB audit record per
// order forever (~170 KiB/s).
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

type order struct {
	id    int
	audit [1000]byte
}

var (
	prices []*[512]byte
	orders []*order
	sink   []byte
)

// trackOrder keeps an audit record of every order, forever.
func trackOrder(id int) {
	o := &order{id: id}
	o.audit[0] = byte(id)
	orders = append(orders, o)
}

// quote builds a response: garbage once written.
func quote(r *rand.Rand) int {
	p := prices[r.IntN(len(prices))]
	resp := make([]byte, 2<<10+r.IntN(4<<10))
	resp[0] = p[0]
	sink = resp
	return len(resp)
}

func main() {
	r := rand.New(rand.NewPCG(7, 8))
	prices = make([]*[512]byte, 24_000)
	for i := range prices {
		prices[i] = new([512]byte)
	}
	orders = make([]*order, 0, 1<<17)
	fmt.Println("ready", os.Getpid())
	tick := time.NewTicker(10 * time.Millisecond)
	for n := 0; ; n++ {
		<-tick.C
		trackOrder(n) // 100 a second: ~100 KiB/s
		if n%4 != 3 {
			trackOrder(n) // and 75 more a second: ~170 KiB/s in all
		}
		quote(r)
		if n%6000 == 0 {
			fmt.Println("orders", len(orders))
		}
	}
}
