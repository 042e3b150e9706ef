package natsq

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/rampart-cert/rampart/internal/queue"
)

func TestObjects(t *testing.T) {
	ctx := t.Context()
	q := openEmbedded(t, t.TempDir())
	defer q.Close()
	data := make([]byte, objectPart+3*objectChunk+1234) // two parts
	rand.Read(data)

	if list, err := q.ListObjects(ctx, "RAMPART_TEST"); err != nil || len(list) != 0 {
		t.Fatalf("list of a missing bucket: %v, %v", list, err)
	}
	if _, _, err := q.GetObject(ctx, "RAMPART_TEST", "x"); !errors.Is(err, queue.ErrNoObject) {
		t.Fatalf("get from a missing bucket: %v", err)
	}
	info, err := q.PutObject(ctx, "RAMPART_TEST", "report 1.csv", map[string]string{"format": "csv"}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != uint64(len(data)) || info.Meta["format"] != "csv" {
		t.Fatalf("put %+v", info)
	}
	if _, err := q.PutObject(ctx, "RAMPART_TEST", "small", nil, bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	rc, got, err := q.GetObject(ctx, "RAMPART_TEST", "report 1.csv")
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(back, data) || got.Meta["format"] != "csv" {
		t.Fatalf("read back %d bytes (%v), meta %v", len(back), err, got.Meta)
	}
	list, err := q.ListObjects(ctx, "RAMPART_TEST")
	if err != nil || len(list) != 2 || list[0].Name != "report 1.csv" || list[0].Size != uint64(len(data)) || list[1].Name != "small" {
		t.Fatalf("list %+v, %v", list, err)
	}
	if err := q.DeleteObject(ctx, "RAMPART_TEST", "report 1.csv"); err != nil {
		t.Fatal(err)
	}
	if err := q.DeleteObject(ctx, "RAMPART_TEST", "report 1.csv"); err != nil {
		t.Fatalf("delete twice: %v", err)
	}
	if _, _, err := q.GetObject(ctx, "RAMPART_TEST", "report 1.csv"); !errors.Is(err, queue.ErrNoObject) {
		t.Fatalf("get deleted: %v", err)
	}
	if list, _ := q.ListObjects(ctx, "RAMPART_TEST"); len(list) != 1 || list[0].Size != 1 {
		t.Fatalf("after delete: %+v", list)
	}
	// A put whose input fails leaves nothing behind.
	if _, err := q.PutObject(ctx, "RAMPART_TEST", "broken", nil, io.MultiReader(bytes.NewReader(data), errReader{})); err == nil {
		t.Fatal("a failing input was stored")
	}
	if list, _ := q.ListObjects(ctx, "RAMPART_TEST"); len(list) != 1 {
		t.Fatalf("after a failed put: %+v", list)
	}
	if _, _, err := q.GetObject(ctx, "RAMPART_TEST", "broken"); !errors.Is(err, queue.ErrNoObject) {
		t.Fatalf("get a failed put: %v", err)
	}
	for _, bad := range []string{"", "bad bucket!"} {
		if _, err := q.PutObject(ctx, bad, "x", nil, bytes.NewReader(nil)); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("bucket %q: %v", bad, err)
		}
	}
	for _, bad := range []string{"", "a#part-000001"} {
		if _, err := q.PutObject(ctx, "RAMPART_TEST", bad, nil, bytes.NewReader(nil)); !errors.Is(err, queue.ErrInvalid) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
