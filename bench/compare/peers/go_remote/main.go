// The floor of bench/compare/remote.py: plain Go TCP on loopback with
// length-prefixed frames (4-byte big-endian length, 8-byte value), no
// runtime on top. Same modes and output as troupe_remote:
//
//	go_remote serve              prints "listening <port>", serves until stdin closes
//	go_remote pingpong PORT N    N round trips of one frame, one at a time
//	go_remote fanin PORT M       4 goroutines, each on its own connection, M frames each
//
// The server echoes frames on a connection that starts with 'p' and counts
// (and sums) frames on one that starts with 'f', answering the sum when the
// expected count (sent first) has arrived over all fan-in connections.
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

func readFrame(r *bufio.Reader, buf []byte) (uint64, error) {
	if _, err := io.ReadFull(r, buf[:12]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(buf[4:12]), nil
}

func writeFrame(w *bufio.Writer, v uint64) error {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], 8)
	binary.BigEndian.PutUint64(b[4:], v)
	_, err := w.Write(b[:])
	return err
}

type sink struct {
	mu       sync.Mutex
	expected uint64
	count    uint64
	sum      uint64
	report   *bufio.Writer
	reportMu *sync.Mutex
}

func serve() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	s := &sink{}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go handle(c, s)
	}
}

func handle(c net.Conn, s *sink) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 65536)
	w := bufio.NewWriterSize(c, 65536)
	var kind [1]byte
	if _, err := io.ReadFull(r, kind[:]); err != nil {
		return
	}
	buf := make([]byte, 12)
	switch kind[0] {
	case 'p':
		for {
			v, err := readFrame(r, buf)
			if err != nil {
				return
			}
			writeFrame(w, v)
			w.Flush()
		}
	case 'c': // the fan-in controller: the expected count, then wait for the sum
		v, err := readFrame(r, buf)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.expected, s.count, s.sum = v, 0, 0
		s.report, s.reportMu = w, &sync.Mutex{}
		s.mu.Unlock()
		io.Copy(io.Discard, r)
	case 'f':
		for {
			v, err := readFrame(r, buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.count++
			s.sum += v
			if s.count == s.expected {
				writeFrame(s.report, s.sum)
				s.report.Flush()
			}
			s.mu.Unlock()
		}
	}
}

func dial(port string, kind byte) (net.Conn, *bufio.Reader, *bufio.Writer) {
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		panic(err)
	}
	c.(*net.TCPConn).SetNoDelay(true)
	w := bufio.NewWriterSize(c, 65536)
	w.WriteByte(kind)
	return c, bufio.NewReaderSize(c, 65536), w
}

func pingpong(port string, n int) {
	_, r, w := dial(port, 'p')
	buf := make([]byte, 12)
	round := func(i uint64) {
		writeFrame(w, i)
		w.Flush()
		v, err := readFrame(r, buf)
		if err != nil || v != i {
			fmt.Fprintln(os.Stderr, "pingpong: wrong reply")
			os.Exit(1)
		}
	}
	for i := 0; i < 1000; i++ {
		round(uint64(i))
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		round(uint64(i))
	}
	us := float64(time.Since(t0).Microseconds()) / float64(n)
	fmt.Printf("{\"bench\":\"remote_pingpong\",\"runtime\":\"go_tcp\",\"metric\":\"us_per_roundtrip\",\"value\":%.3f}\n", us)
}

func fanin(port string, m int) {
	const senders = 4
	_, cr, cw := dial(port, 'c')
	writeFrame(cw, uint64(senders*m))
	cw.Flush()
	time.Sleep(50 * time.Millisecond) // the expected count is in place before data arrives
	t0 := time.Now()
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, w := dial(port, 'f')
			for i := 1; i <= m; i++ {
				writeFrame(w, uint64(i))
			}
			w.Flush()
			_ = c
		}()
	}
	buf := make([]byte, 12)
	sum, err := readFrame(cr, buf)
	secs := time.Since(t0).Seconds()
	wg.Wait()
	want := uint64(senders) * uint64(m) * uint64(m+1) / 2
	if err != nil || sum != want {
		fmt.Fprintln(os.Stderr, "fanin: wrong sum")
		os.Exit(1)
	}
	fmt.Printf("{\"bench\":\"remote_fanin\",\"runtime\":\"go_tcp\",\"metric\":\"msgs_per_sec\",\"value\":%.0f}\n", float64(senders*m)/secs)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go_remote serve | pingpong PORT N | fanin PORT M")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve()
	case "pingpong":
		n, _ := strconv.Atoi(os.Args[3])
		pingpong(os.Args[2], n)
	case "fanin":
		m, _ := strconv.Atoi(os.Args[3])
		fanin(os.Args[2], m)
	}
}
