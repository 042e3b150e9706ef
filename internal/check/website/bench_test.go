package website

import (
	"strings"
	"testing"
	"time"
)

// A 300 KB portal page with a hidden spam block: parse, score, fingerprint.
func BenchmarkScanPage(b *testing.B) {
	article := `<article><h2>Tin tức văn hóa</h2><p>Sở Văn hóa, Thể thao và Du lịch tổ chức lễ hội, hội nghị và các hoạt động du lịch trong tỉnh; <a href="/tin/1">xem thêm</a></p></article>`
	body := []byte(`<html><head><title>Sở Văn hóa</title><style>.x{left:-9999px;position:absolute}</style></head><body>` +
		strings.Repeat(article, 1500) + `<div class="x"><a href="https://w88.example">nhà cái W88</a> cá cược</div></body></html>`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		d := Parse(body, "sovhtt.gov.vn")
		if !ScanGambling(d).Fires() {
			b.Fatal("no fire")
		}
		Fingerprint("http://sovhtt.gov.vn/", d, time.Time{})
	}
}
