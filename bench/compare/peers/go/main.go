// Go peer for the troupe comparison benchmarks. Standard library only.
//
// Usage: go_bench <bench> [scale]   (scale multiplies N, default 1.0)
// Build: go build -o go_bench main.go
//
// An "actor" is a goroutine with its own buffered inbox channel (capacity 1,
// 1024 for the fan-in counter). GOMAXPROCS is Go's default (all cores).
//
//	pingpong  two goroutines, N=1e6 round trips; ponger counts pings (== N).
//	fanin     4 senders x 2.5e6 ints (0..n-1) into one counter's inbox;
//	          check count == 4n and sum == 4 * n(n-1)/2.
//	spawn     root (main) spawns N=1e6 actors; each sends its index to the
//	          root and exits; root sums (== N(N-1)/2). Reports seconds and
//	          peak RSS growth / N.
//	ring      503 actors pass a token 1e7 hops (token = remaining hops);
//	          every actor counts its forwards, the sum must equal 1e7.
//	idle      1e5 actors blocked on their inbox (each acks once started);
//	          RSS growth / 1e5, then stop all and count stop acks.
//
//	skynet    node(num, size): size 1 sends num to its parent's inbox and
//	          exits; otherwise it starts 10 children node(num+i*size/10,
//	          size/10), each with an inbox of its own, sums their 10
//	          replies and sends the sum to its parent. Root node(0, 1e6):
//	          1,111,111 goroutines. Check the sum == 1e6(1e6-1)/2; report
//	          ns per actor and peak RSS.
//	burst     as fanin (4 senders each sending 0..n-1 in one loop into the
//	          receiver's inbox of 1024); also reports peak RSS.
//
// Channel benches (plain goroutines and channels, no actor inboxes):
//
//	chan_pingpong  two goroutines, two unbuffered channels (ping, pong),
//	               N=1e6 round trips; the ponger counts pings (== N) and
//	               echoes each value, which the pinger checks. Then
//	               "@threads": the same with both goroutines locked to
//	               their own OS threads (runtime.LockOSThread), like for
//	               like with troupe's two plain threads (N/50 round trips:
//	               each takes tens of microseconds).
//	chan_buffered  one channel of capacity 1024, 4 producers x 2.5e6 ints
//	               (0..n-1), closed once all producers are done; one
//	               consumer ranges over it. Check count == 4n and
//	               sum == 4 * n(n-1)/2.
//	trace_cost  pingpong with runtime/trace off and on (to io.Discard),
//	          three alternating rounds, medians and their ratio.
//	chan_select    4 channels of capacity 128, one producer per channel
//	               sending 1e6 ints (0..n-1) then closing it; one consumer
//	               selects over the 4 until all are closed and drained
//	               (a closed channel is set to nil to drop its case).
//	               Check count == 4n and sum == 4 * n(n-1)/2.
//
// Output: one JSON line per metric on stdout; on a failed check, a message
// on stderr and exit status 1.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func procStatusBytes(key string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, key+":") {
			f := strings.Fields(line[len(key)+1:])
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v * 1024
			}
		}
	}
	return 0
}

// resetPeakRSS resets VmHWM to the current RSS (Linux >= 4.0); best effort.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func emit(bench, metric string, value float64) {
	fmt.Printf("{\"bench\":%q,\"runtime\":\"go\",\"metric\":%q,\"value\":%s}\n",
		bench, metric, strconv.FormatFloat(value, 'g', 9, 64))
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go: check failed: "+format+"\n", args...)
	os.Exit(1)
}

func pingpong(name string, n int64) {
	t0 := time.Now()
	pingIn := make(chan int64, 1)
	pongIn := make(chan chan int64, 1) // a ping carries the reply-to inbox
	countReq := make(chan int64)
	go func() { // ponger
		var pings int64
		for replyTo := range pongIn {
			pings++
			replyTo <- pings
		}
		countReq <- pings
	}()
	done := make(chan struct{})
	go func() { // pinger
		for i := int64(0); i < n; i++ {
			pongIn <- pingIn
			<-pingIn
		}
		close(done)
	}()
	<-done
	el := time.Since(t0)
	close(pongIn)
	if pings := <-countReq; pings != n {
		fail("ponger counted %d pings, expected %d", pings, n)
	}
	emit(name, "ns_per_roundtrip", float64(el.Nanoseconds())/float64(n))
}

// traceCost: pingpong with Go's execution tracer (runtime/trace) off and
// on, three alternating rounds; the medians, as troupe_compare trace_cost
// reports troupe's. The trace goes to io.Discard: the tracer still records
// and encodes every event.
func traceCost(name string, n int64) {
	var off, on []float64
	for round := 0; round < 3; round++ {
		off = append(off, pingpongNs(n))
		if err := trace.Start(io.Discard); err != nil {
			fail("trace.Start: %v", err)
		}
		on = append(on, pingpongNs(n))
		trace.Stop()
	}
	sort.Float64s(off)
	sort.Float64s(on)
	emit(name, "pingpong_ns@off", off[1])
	emit(name, "pingpong_ns@traced", on[1])
	emit(name, "pingpong_traced_ratio", on[1]/off[1])
}

// pingpongNs: one pingpong run's time per round trip (checked).
func pingpongNs(n int64) float64 {
	t0 := time.Now()
	pingIn := make(chan int64, 1)
	pongIn := make(chan chan int64, 1)
	countReq := make(chan int64)
	go func() {
		var pings int64
		for replyTo := range pongIn {
			pings++
			replyTo <- pings
		}
		countReq <- pings
	}()
	for i := int64(0); i < n; i++ {
		pongIn <- pingIn
		<-pingIn
	}
	el := time.Since(t0)
	close(pongIn)
	if pings := <-countReq; pings != n {
		fail("ponger counted %d pings, expected %d", pings, n)
	}
	return float64(el.Nanoseconds()) / float64(n)
}

func fanin(name string, n int64) {
	const senders = 4
	total := senders * n
	expected := senders * (n * (n - 1) / 2)
	type result struct{ count, sum int64 }
	t0 := time.Now()
	inbox := make(chan int64, 1024)
	res := make(chan result)
	go func() { // counter
		var r result
		for x := range inbox {
			r.sum += x
			r.count++
			if r.count == total {
				break
			}
		}
		res <- r
	}()
	for s := 0; s < senders; s++ {
		go func() {
			for i := int64(0); i < n; i++ {
				inbox <- i
			}
		}()
	}
	r := <-res
	el := time.Since(t0)
	if r.count != total || r.sum != expected {
		fail("fanin count %d sum %d, expected %d / %d", r.count, r.sum, total, expected)
	}
	emit(name, "msgs_per_sec", float64(total)/el.Seconds())
}

func spawn(name string, n int64) {
	resetPeakRSS()
	rss0 := procStatusBytes("VmRSS")
	t0 := time.Now()
	root := make(chan int64, 1024)
	for i := int64(0); i < n; i++ {
		inbox := make(chan int64, 1) // each actor owns an inbox, unused here
		go func(idx int64, _ chan int64) { root <- idx }(i, inbox)
	}
	var sum int64
	for i := int64(0); i < n; i++ {
		sum += <-root
	}
	el := time.Since(t0)
	peak := procStatusBytes("VmHWM")
	if sum != n*(n-1)/2 {
		fail("spawn sum %d", sum)
	}
	emit(name, "seconds", el.Seconds())
	emit(name, "rss_bytes_per_actor", float64(max64(0, peak-rss0))/float64(n))
}

func ring(name string, hops int64) {
	const size = 503
	inboxes := make([]chan int64, size)
	for i := range inboxes {
		inboxes[i] = make(chan int64, 1)
	}
	done := make(chan struct{})
	counts := make(chan int64, size)
	for i := 0; i < size; i++ {
		go func(in, next chan int64) {
			var forwards int64
			for left := range in {
				if left == 0 {
					done <- struct{}{}
				} else {
					forwards++
					next <- left - 1
				}
			}
			counts <- forwards
		}(inboxes[i], inboxes[(i+1)%size])
	}
	t0 := time.Now()
	inboxes[0] <- hops
	<-done
	el := time.Since(t0)
	var counted int64
	for _, in := range inboxes {
		close(in) // stop message
	}
	for i := 0; i < size; i++ {
		counted += <-counts
	}
	if counted != hops {
		fail("ring counted %d hops", counted)
	}
	emit(name, "ns_per_hop", float64(el.Nanoseconds())/float64(hops))
}

func idle(name string, n int64) {
	rss0 := procStatusBytes("VmRSS")
	acks := make(chan bool, 1024)
	inboxes := make([]chan bool, n)
	for i := range inboxes {
		in := make(chan bool, 1)
		inboxes[i] = in
		go func() {
			acks <- true  // ready
			<-in          // wait for the stop message
			acks <- false // stopped
		}()
	}
	for i := int64(0); i < n; i++ {
		<-acks
	}
	rss1 := procStatusBytes("VmRSS")
	for _, in := range inboxes {
		in <- true
	}
	var stopped int64
	for i := int64(0); i < n; i++ {
		if !<-acks {
			stopped++
		}
	}
	if stopped != n {
		fail("idle stop acks %d, expected %d", stopped, n)
	}
	emit(name, "bytes_per_actor", float64(rss1-rss0)/float64(n))
}

func chanPingpong(name string, n int64) {
	chanPingpongOn(name, n, false)
	// A round trip between locked threads takes tens of microseconds (each
	// hand-off wakes the other thread through the scheduler): 1/50 of the
	// rounds keeps the run short and the mean still stable.
	chanPingpongOn(name, max64(n/50, 1000), true)
}

func chanPingpongOn(name string, n int64, threads bool) {
	ping := make(chan int64)
	pong := make(chan int64)
	count := make(chan int64)
	done := make(chan struct{})
	t0 := time.Now()
	go func() { // ponger
		if threads {
			runtime.LockOSThread()
		}
		var pings int64
		for v := range ping {
			pings++
			pong <- v
		}
		count <- pings
	}()
	go func() { // pinger
		if threads {
			runtime.LockOSThread()
		}
		for i := int64(0); i < n; i++ {
			ping <- i
			if v := <-pong; v != i {
				fail("chan_pingpong echo %d, expected %d", v, i)
			}
		}
		close(done)
	}()
	<-done
	el := time.Since(t0)
	close(ping)
	if pings := <-count; pings != n {
		fail("ponger counted %d pings, expected %d", pings, n)
	}
	metric := "ns_per_roundtrip"
	if threads {
		metric += "@threads"
	}
	emit(name, metric, float64(el.Nanoseconds())/float64(n))
}

func chanBuffered(name string, n int64) {
	const producers = 4
	total := producers * n
	expected := producers * (n * (n - 1) / 2)
	t0 := time.Now()
	ch := make(chan int64, 1024)
	var wg sync.WaitGroup
	wg.Add(producers)
	for p := 0; p < producers; p++ {
		go func() {
			defer wg.Done()
			for i := int64(0); i < n; i++ {
				ch <- i
			}
		}()
	}
	go func() { wg.Wait(); close(ch) }()
	var count, sum int64
	for x := range ch { // the consumer is the main goroutine
		sum += x
		count++
	}
	el := time.Since(t0)
	if count != total || sum != expected {
		fail("chan_buffered count %d sum %d, expected %d / %d", count, sum, total, expected)
	}
	emit(name, "msgs_per_sec", float64(total)/el.Seconds())
}

func chanSelect(name string, n int64) {
	const producers = 4
	total := producers * n
	expected := producers * (n * (n - 1) / 2)
	t0 := time.Now()
	var chs [producers]chan int64
	for p := range chs {
		chs[p] = make(chan int64, 128)
		go func(c chan int64) {
			for i := int64(0); i < n; i++ {
				c <- i
			}
			close(c)
		}(chs[p])
	}
	c0, c1, c2, c3 := chs[0], chs[1], chs[2], chs[3]
	var count, sum int64
	for open := producers; open > 0; { // the consumer is the main goroutine
		var x int64
		var ok bool
		select {
		case x, ok = <-c0:
			if !ok {
				c0 = nil
			}
		case x, ok = <-c1:
			if !ok {
				c1 = nil
			}
		case x, ok = <-c2:
			if !ok {
				c2 = nil
			}
		case x, ok = <-c3:
			if !ok {
				c3 = nil
			}
		}
		if !ok {
			open--
			continue
		}
		sum += x
		count++
	}
	el := time.Since(t0)
	if count != total || sum != expected {
		fail("chan_select count %d sum %d, expected %d / %d", count, sum, total, expected)
	}
	emit(name, "msgs_per_sec", float64(total)/el.Seconds())
}

func skynetNode(num, size int64, parent chan<- int64) {
	if size == 1 {
		parent <- num
		return
	}
	inbox := make(chan int64, 10)
	for i := int64(0); i < 10; i++ {
		go skynetNode(num+i*(size/10), size/10, inbox)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-inbox
	}
	parent <- sum
}

func skynet(name string, n int64) {
	size := int64(1)
	for size*10 <= n {
		size *= 10
	}
	actors := int64(0)
	for s := size; s >= 1; s /= 10 {
		actors += size / s
	}
	resetPeakRSS()
	t0 := time.Now()
	root := make(chan int64, 1)
	go skynetNode(0, size, root)
	sum := <-root
	el := time.Since(t0)
	if sum != size*(size-1)/2 {
		fail("skynet sum %d, expected %d", sum, size*(size-1)/2)
	}
	emit(name, "ns_per_actor", float64(el.Nanoseconds())/float64(actors))
	emit(name, "peak_rss_mb", float64(procStatusBytes("VmHWM"))/(1<<20))
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go_bench pingpong|fanin|spawn|ring|idle|skynet|burst|chan_pingpong|chan_buffered|chan_select [scale]")
		os.Exit(2)
	}
	scale := 1.0
	if len(os.Args) > 2 {
		s, err := strconv.ParseFloat(os.Args[2], 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad scale:", os.Args[2])
			os.Exit(2)
		}
		scale = s
	}
	scaled := func(n int64) int64 { return max64(1, int64(float64(n)*scale)) }
	switch name := os.Args[1]; name {
	case "pingpong":
		pingpong(name, scaled(1000000))
	case "fanin":
		fanin(name, scaled(2500000))
	case "spawn":
		spawn(name, scaled(1000000))
	case "ring":
		ring(name, scaled(10000000))
	case "idle":
		idle(name, scaled(100000))
	case "skynet":
		skynet(name, scaled(1000000))
	case "burst":
		resetPeakRSS()
		fanin(name, scaled(2500000))
		emit(name, "peak_rss_mb", float64(procStatusBytes("VmHWM"))/(1<<20))
	case "chan_pingpong":
		chanPingpong(name, scaled(1000000))
	case "chan_buffered":
		chanBuffered(name, scaled(2500000))
	case "chan_select":
		chanSelect(name, scaled(1000000))
	case "trace_cost":
		traceCost(name, scaled(1000000))
	default:
		fmt.Fprintln(os.Stderr, "unknown bench:", name)
		os.Exit(2)
	}
}
