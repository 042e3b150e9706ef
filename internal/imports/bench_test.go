package imports

import (
	"bytes"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct {
		tool Tool
		file string
	}{{SARIF, "dast.sarif"}, {Nuclei, "nuclei.jsonl"}, {Nmap, "nmap.xml"}} {
		data := readTestdata(b, tc.file)
		b.Run(string(tc.tool), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(tc.tool, bytes.NewReader(data), Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
