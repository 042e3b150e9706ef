package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rec(i int) record {
	return record{Subject: "detections", ID: fmt.Sprintf("r%04d", i), Data: []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("x", 200))), Detections: 3}
}

// drainAll reads and acknowledges every record, in order.
func drainAll(t *testing.T, b *buffer) []string {
	t.Helper()
	var ids []string
	for {
		r, at, ok, err := b.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return ids
		}
		ids = append(ids, r.ID)
		b.ack(at)
	}
}

func TestBufferOrderAndRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := openBuffer(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := b.append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Send three, then restart: the other seven come, in order, once.
	for range 3 {
		_, at, ok, err := b.next()
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		b.ack(at)
	}
	if st := b.Stats(); st.Records != 7 {
		t.Errorf("records pending = %d, want 7", st.Records)
	}
	b.close()
	b, err = openBuffer(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Records != 7 {
		t.Errorf("after a restart, records pending = %d, want 7", st.Records)
	}
	for i := 10; i < 12; i++ {
		if err := b.append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	ids := drainAll(t, b)
	want := []string{"r0003", "r0004", "r0005", "r0006", "r0007", "r0008", "r0009", "r0010", "r0011"}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("read %v, want %v", ids, want)
	}
	if st := b.Stats(); st.Records != 0 || st.Bytes != 0 || st.DroppedReports != 0 {
		t.Errorf("stats after draining: %+v", st)
	}
}

// TestBufferCapDropsOldest: with a tiny cap the oldest reports go, and
// exactly what went is counted.
func TestBufferCapDropsOldest(t *testing.T) {
	dir := t.TempDir()
	const capBytes = 4 << 10
	b, err := openBuffer(dir, capBytes)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		if err := b.append(rec(i)); err != nil {
			t.Fatal(err)
		}
		if total := dirSize(t, dir); total > capBytes+b.segMax+int64(len(mustEncode(t, rec(i)))) {
			t.Fatalf("buffer holds %d bytes, cap %d", total, capBytes)
		}
	}
	st := b.Stats()
	ids := drainAll(t, b)
	if int(st.DroppedReports)+len(ids) != n || st.DroppedDetections != 3*st.DroppedReports || st.DroppedReports == 0 {
		t.Fatalf("dropped %d and kept %d of %d (stats %+v)", st.DroppedReports, len(ids), n, st)
	}
	// What is kept is the newest, in order.
	for k, id := range ids {
		if want := fmt.Sprintf("r%04d", n-len(ids)+k); id != want {
			t.Fatalf("kept[%d] = %s, want %s", k, id, want)
		}
	}
	var want uint64
	for i := range int(st.DroppedReports) {
		want += uint64(len(mustEncode(t, rec(i))))
	}
	if st.DroppedBytes != want {
		t.Errorf("dropped %d bytes for %d reports, want %d", st.DroppedBytes, st.DroppedReports, want)
	}
}

// TestBufferTornRecord: a record cut short by a crash ends its segment;
// the records before it are sent, the tear is counted.
func TestBufferTornRecord(t *testing.T) {
	dir := t.TempDir()
	b, err := openBuffer(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := b.append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	b.close()
	seg := b.segPath(b.segs[0])
	data, _ := os.ReadFile(seg)
	if err := os.WriteFile(seg, data[:len(data)-10], 0o600); err != nil {
		t.Fatal(err)
	}
	b, err = openBuffer(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.append(rec(3)); err != nil {
		t.Fatal(err)
	}
	ids := drainAll(t, b)
	if strings.Join(ids, ",") != "r0000,r0001,r0003" {
		t.Errorf("read %v", ids)
	}
	if st := b.Stats(); st.DroppedReports != 1 {
		t.Errorf("stats %+v, want one dropped", st)
	}
}

func mustEncode(t *testing.T, r record) []byte {
	b, err := encode(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dirSize(t *testing.T, dir string) int64 {
	var n int64
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if strings.HasPrefix(e.Name(), segPrefix) {
			fi, err := os.Stat(filepath.Join(dir, e.Name()))
			if err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

func FuzzDecodeRecord(f *testing.F) {
	r, _ := encode(rec(1))
	f.Add(r)
	f.Add(r[:20])
	f.Fuzz(func(t *testing.T, data []byte) {
		r, n, ok := decodeRecord(data)
		if !ok {
			return
		}
		if n > len(data) {
			t.Fatalf("record of %d bytes from %d", n, len(data))
		}
		again, err := encode(r)
		if err != nil || string(again) != string(data[:n]) {
			t.Fatalf("re-encoded record differs: %v", err)
		}
	})
}
