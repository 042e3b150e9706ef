package jsonscan

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// members walks b and returns its string members unescaped and the kinds
// of all members (the last of duplicate keys wins, as in encoding/json).
func members(b []byte) (map[string]string, map[string]Kind, error) {
	var s Scanner
	strs, kinds := map[string]string{}, map[string]Kind{}
	err := s.Object(b, func(key []byte, v Value) error {
		k := string(key)
		kinds[k] = v.Kind
		delete(strs, k)
		if v.Kind == String {
			t, err := s.Text(v)
			if err != nil {
				return err
			}
			strs[k] = string(t)
		}
		return nil
	})
	return strs, kinds, err
}

func TestObject(t *testing.T) {
	strs, kinds, err := members([]byte(` {"a" : "x\"y\\\/\u00e9\ud83d\ude00", "b\u0041":[1,{"c":"]}"}], "n":-1.5e3,"t":true,"f":false,"z":null,"o":{}} `))
	if err != nil {
		t.Fatal(err)
	}
	if strs["a"] != "x\"y\\/é😀" || kinds["bA"] != Array || kinds["n"] != Number || kinds["t"] != True ||
		kinds["f"] != False || kinds["z"] != Null || kinds["o"] != Object {
		t.Errorf("%q %v", strs, kinds)
	}
	for _, bad := range []string{``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":[1}`, `{"a":{]}`, `{"a":"\x"}`, `{"a":1}}`, `{"a":tru}`, `[1]`} {
		if _, _, err := members([]byte(bad)); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestUint(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{{"0", 0, true}, {"65535", 65535, true}, {"18446744073709551615", 1<<64 - 1, true}, {"99999999999999999999", 1<<64 - 1, true}, {"-1", 0, false}, {"1.5", 0, false}, {"", 0, false}} {
		if n, ok := Uint([]byte(c.in)); n != c.want || ok != c.ok {
			t.Errorf("Uint(%q) = %d, %v", c.in, n, ok)
		}
	}
}

// FuzzObject compares the scanner with encoding/json: every valid object
// is accepted with the same keys and string values (when valid UTF-8,
// where encoding/json would substitute), and what it accepts that
// encoding/json refuses is only leniency in scalars (numbers, control
// characters), never broken structure.
func FuzzObject(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"x":{"y":[1,2,{"z":"\u00e9"}]},"q":"\"\\"}`, `{"timestamp":"2022-07-10T23:50:05.533101+0000","event_type":"alert","alert":{"signature":"ET \"x\""}}`, `{}`, `{"a":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		strs, kinds, err := members(b)
		var ref map[string]json.RawMessage
		refErr := json.Unmarshal(b, &ref)
		if refErr == nil && ref != nil {
			if err != nil {
				t.Fatalf("refused a valid object: %v", err)
			}
			if !utf8.Valid(b) {
				return // encoding/json substitutes U+FFFD in keys and strings
			}
			if len(kinds) != len(ref) {
				t.Fatalf("%d members, encoding/json %d", len(kinds), len(ref))
			}
			for k, raw := range ref {
				var s string
				if json.Unmarshal(raw, &s) == nil {
					if got, ok := strs[k]; !ok || (utf8.ValidString(got) && got != s) {
						t.Fatalf("member %q = %q, encoding/json %q", k, got, s)
					}
				}
			}
		}
	})
}
