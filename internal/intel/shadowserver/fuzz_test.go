package shadowserver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// FuzzParse reads hostile reports as each sample's type: no panic, errors
// prefixed, every record normalized (again: unchanged), within the detail
// bounds, and rejections naming their lines.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.csv")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("timestamp,ip,port,url,http_host\n\"2010-02-10 00:00:00\",192.0.2.1,80,\"GET /x\",a..b\n\"x\n"))
	types := []string{"scan_snmp", "event4_sinkhole", "compromised_website", "blocklist", "scan_http_vulnerable"}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		for _, ty := range types {
			n := 0
			rej, err := Parse(context.Background(), strings.NewReader(string(data)), nil, ty, func(r intel.Record) error {
				n++
				again := r
				again.Labels = append([]string(nil), r.Labels...)
				if err := again.Normalize(time.Now()); err != nil || again.Value != r.Value || again.Kind != r.Kind {
					t.Fatalf("%s: %+v does not normalize to itself: %v", ty, r, err)
				}
				if len(r.Detail) > maxDetailKeys+2 || len(r.Raw) > intel.MaxRaw || r.Feed != "shadowserver:"+ty {
					t.Fatalf("%s: record out of bounds: %d detail keys, raw %d", ty, len(r.Detail), len(r.Raw))
				}
				for k, v := range r.Detail {
					if len(v) > maxDetailValue && k != "invalid" && k != "cves" {
						t.Fatalf("%s: detail %s is %d bytes", ty, k, len(v))
					}
				}
				return nil
			})
			if err != nil && !strings.HasPrefix(err.Error(), "shadowserver:") {
				t.Fatalf("%s: error without prefix: %v", ty, err)
			}
			if n+rej.Count > lines {
				t.Fatalf("%s: %d records and %d rejections from %d lines", ty, n, rej.Count, lines)
			}
			for _, r := range rej.List {
				if !strings.HasPrefix(r.Where, "line") || r.Reason == "" {
					t.Fatalf("%s: rejection %+v", ty, r)
				}
			}
		}
	})
}

// FuzzLoadSchema reads hostile schema files: no panic, errors prefixed,
// and an accepted schema's reports parse a small report without panicking.
func FuzzLoadSchema(f *testing.F) {
	for _, name := range []string{"testdata/intelmq_schema.json.test", "schema.json"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"r": {"file_name": "r", "required_fields": [["source.url", "u", "convert_http_host_and_url", true]], "rampart": {"detail": ["x"]}}}`))
	const report = "timestamp,ip,port,src_ip,url,http_host,network,tag,u\n2010-02-10 00:00:00,192.0.2.1,80,192.0.2.2,/x,a.example,10.0.0.0/8,cve-2020-0001,http://b.example/\n"
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadSchema(strings.NewReader(string(data)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "shadowserver:") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		for _, ty := range s.Types() {
			_, err := Parse(context.Background(), strings.NewReader(report), s, ty, func(intel.Record) error { return nil })
			if err != nil && !strings.HasPrefix(err.Error(), "shadowserver:") {
				t.Fatalf("%s: error without prefix: %v", ty, err)
			}
		}
	})
}
