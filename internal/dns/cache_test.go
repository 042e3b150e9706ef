package dns

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestCacheBoundedWithSecondChance(t *testing.T) {
	c := newCache(64)
	now := time.Now().UnixNano()
	put := func(k string) {
		c.put(&cacheEntry{key: k, msg: []byte(k), storedAt: now, expires: now + int64(time.Hour)})
	}
	for i := 0; i < 64; i++ {
		put(fmt.Sprint("hot", i))
	}
	for i := 0; i < 1000; i++ {
		for j := 0; j < 64; j++ { // the hot keys are read between inserts
			c.get([]byte(fmt.Sprint("hot", j)), now)
		}
		put(fmt.Sprint("cold", i))
	}
	if n := c.len(); n > 64 {
		t.Fatalf("cache holds %d entries, bound 64", n)
	}
	hot := 0
	for j := 0; j < 64; j++ {
		if c.get([]byte(fmt.Sprint("hot", j)), now) != nil {
			hot++
		}
	}
	if hot < 32 {
		t.Fatalf("only %d of 64 hot entries survived 1000 cold inserts", hot)
	}
	if e := c.get([]byte("hot1"), now+int64(2*time.Hour)); e != nil {
		t.Fatal("expired entry returned")
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := newCache(1000)
	now := time.Now().UnixNano()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				k := fmt.Sprint(i % 3000)
				if c.get([]byte(k), now) == nil {
					c.put(&cacheEntry{key: k, storedAt: now, expires: now + int64(time.Minute)})
				}
			}
		}()
	}
	wg.Wait()
	if n := c.len(); n > 1000 || n == 0 {
		t.Fatalf("len %d", n)
	}
}
