package queue

import (
	"strings"
	"testing"
)

func TestValidKey(t *testing.T) {
	for key, want := range map[string]bool{
		"a": true, "web/defacement/0f": true, "A-b_c=d.e/f": true, strings.Repeat("k", 256): true,
		"": false, ".a": false, "a.": false, "a..b": false, "a b": false, "a*": false, "a>": false,
		"trang-chủ": false, "a\x00": false, strings.Repeat("k", 257): false,
	} {
		if got := ValidKey(key); got != want {
			t.Errorf("ValidKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestValidBucket(t *testing.T) {
	for bucket, want := range map[string]bool{
		"RAMPART_WEB_BASELINES": true, "qt1-kv": true,
		"": false, "a.b": false, "a/b": false, "a b": false, strings.Repeat("b", 65): false,
	} {
		if got := ValidBucket(bucket); got != want {
			t.Errorf("ValidBucket(%q) = %v, want %v", bucket, got, want)
		}
	}
}
