package main

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzReadRedisCommand: whatever a client sends, the lab's Redis reader
// returns a bounded command or an error, never panics.
func FuzzReadRedisCommand(f *testing.F) {
	for _, s := range []string{
		"*1\r\n$4\r\nPING\r\n",
		"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n",
		"PING\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"*99\r\n",
		"*1\r\n$-1\r\n",
		"*1\r\n$5000\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := bufio.NewReader(strings.NewReader(s))
		for i := 0; i < 4; i++ {
			args, err := readRedisCommand(r)
			if err != nil {
				return
			}
			if len(args) == 0 || len(args) > 16 {
				t.Fatalf("%d arguments from %q", len(args), s)
			}
		}
	})
}

func TestReadRedisCommand(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\nPING\r\n"))
	args, err := readRedisCommand(r)
	if err != nil || len(args) != 2 || args[0] != "INFO" || args[1] != "server" {
		t.Fatalf("RESP array: %q %v", args, err)
	}
	args, err = readRedisCommand(r)
	if err != nil || len(args) != 1 || args[0] != "PING" {
		t.Fatalf("inline: %q %v", args, err)
	}
	if _, err := readRedisCommand(bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\n"))); err == nil {
		t.Fatal("HTTP read as Redis")
	}
}
