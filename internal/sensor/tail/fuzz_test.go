package tail

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzFeed checks the line splitter against a plain split: whatever the
// chunking, it delivers the complete lines of at most MaxLine bytes (not
// empty, without "\r"), with the offset just after each.
func FuzzFeed(f *testing.F) {
	f.Add([]byte("{\"event_type\":\"dns\"}\n{\"a\":1}\r\n\npartial"), uint16(5))
	f.Add([]byte("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nshort\n"), uint16(20))
	f.Fuzz(func(t *testing.T, data []byte, at uint16) {
		const maxLine = 16
		var got []string
		var offs []int64
		tf := &follower{cfg: Config{MaxLine: maxLine}, st: new(Stats), fn: func(l []byte, off int64) error {
			got = append(got, string(l))
			offs = append(offs, off)
			return nil
		}}
		cut := min(int(at), len(data))
		if err := tf.feed(data[:cut]); err != nil {
			t.Fatal(err)
		}
		if err := tf.feed(data[cut:]); err != nil {
			t.Fatal(err)
		}
		var want []string
		var wantOffs []int64
		pos := int64(0)
		parts := bytes.Split(data, []byte("\n"))
		for _, p := range parts[:len(parts)-1] {
			pos += int64(len(p) + 1)
			if len(p) > maxLine {
				continue
			}
			if l := bytes.TrimSuffix(p, []byte("\r")); len(l) > 0 {
				want = append(want, string(l))
				wantOffs = append(wantOffs, pos)
			}
		}
		if !slices.Equal(got, want) || !slices.Equal(offs, wantOffs) {
			t.Fatalf("got %q %v, want %q %v", got, offs, want, wantOffs)
		}
		if tf.off != int64(len(data)) {
			t.Fatalf("consumed %d of %d", tf.off, len(data))
		}
	})
}
