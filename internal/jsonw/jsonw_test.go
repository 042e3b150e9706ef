package jsonw

import (
	"encoding/json"
	"testing"
)

func TestAppendStringAsMarshal(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "<a&b>", "tab\tnew\nline", "\x00\x1f", "Hà Nội", "\u2028\u2029", "bad \xff utf-8", "\x7f"} {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestFields(t *testing.T) {
	b := append([]byte{'{'}, nil...)
	b = AppendField(b, "a", "x<", true)
	b = AppendInt(b, "n", -7)
	b = AppendStrings(b, "l", []string{"p", "q&"})
	b = AppendStrings(b, "e", nil)
	b = append(b, '}')
	want, _ := json.Marshal(struct {
		A string   `json:"a"`
		N int      `json:"n"`
		L []string `json:"l"`
		E []string `json:"e"`
	}{"x<", -7, []string{"p", "q&"}, []string{}})
	if string(b) != string(want) {
		t.Errorf("%s, want %s", b, want)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "<>&", "\u2028", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}
