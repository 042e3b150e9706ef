package website

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestFold(t *testing.T) {
	tests := map[string]string{
		"NHÀ CÁI":                         "nha cai",
		"nhà  cái!!":                      "nha cai",
		"Cá Độ Bóng Đá":                   "ca do bong da",
		"Lô đề":                           "lo de",
		"NỔ HŨ – tài xỉu":                 "no hu tai xiu",
		"789BET.com":                      "789bet com",
		"  Soi kèo, W88 ":                 "soi keo w88",
		"":                                "",
		"Ðà Nẵng (Đ/đ)":                   "da nang d d",
		"ca\u0301 cu\u031bo\u031b\u0301c": "ca cuoc", // decomposed input
	}
	for in, want := range tests {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCountWord(t *testing.T) {
	if n := countWord("nha cai uy tin nha cai", "nha cai"); n != 2 {
		t.Errorf("count = %d", n)
	}
	if n := countWord("nhacai w88x aw88", "w88"); n != 0 {
		t.Errorf("substring counted: %d", n)
	}
}

func TestHiddenStyle(t *testing.T) {
	hidden := []string{
		"display:none", "DISPLAY: NONE !important", "visibility:hidden", "position:absolute;left:-9999px",
		"position: absolute; top: -5000px", "text-indent:-10000px", "font-size:0", "font-size:1px", "opacity:0",
		"height:0;overflow:hidden", "width:1px; height:1px; overflow:hidden", "color:#fff;background:#fff", "color:transparent",
	}
	for _, s := range hidden {
		if hiddenStyle(s) == "" {
			t.Errorf("hiddenStyle(%q) = visible", s)
		}
	}
	visible := []string{"", "display:block", "left:-10px;position:relative", "font-size:14px", "opacity:0.9",
		"height:0", "color:#000;background:#fff", "margin-left:-20px", "font-size:1.2em"}
	for _, s := range visible {
		if why := hiddenStyle(s); why != "" {
			t.Errorf("hiddenStyle(%q) = %q", s, why)
		}
	}
}

func TestParseDoc(t *testing.T) {
	d := Parse([]byte(`<html><head><title> A  B </title><style>#x{left:-999px;position:absolute} .c, .d{display:none}</style>
<meta name=description content="desc"></head><body><h1>Head</h1><div id=x>hid <a href="http://other.example/p">out</a></div>
<p class="d">cls</p><a href="https://www.site.gov.vn/a">in</a><a href="/b">rel</a><script>var x="nha cai";</script><p>shown</p></body></html>`), "site.gov.vn")
	if d.Title != "A B" || len(d.Meta) != 1 || len(d.H1) != 1 {
		t.Fatalf("doc %+v", d)
	}
	if strings.Contains(d.Visible, "hid") || strings.Contains(d.Visible, "cls") || strings.Contains(d.Visible, "nha cai") || !strings.Contains(d.Visible, "shown") {
		t.Errorf("visible = %q", d.Visible)
	}
	ext := 0
	for _, l := range d.Links {
		if l.External {
			ext++
			if !l.Hidden || l.Text != "out" {
				t.Errorf("external link %+v", l)
			}
		}
	}
	if ext != 1 || len(d.Links) != 3 {
		t.Errorf("links %+v", d.Links)
	}
}

func TestSimHashStableUnderSmallEdits(t *testing.T) {
	base := strings.Repeat("tin tuc van hoa the thao du lich tinh hoa binh le hoi khai mac ", 30)
	a := SimHash(Fold(base))
	b := SimHash(Fold(base + " them mot tin moi ve trien lam anh"))
	c := SimHash(Fold("hacked by someone your security is low greetz"))
	old := Baseline{SimHash: a, Size: len(base)}
	if Compare(old, Baseline{SimHash: b, Size: len(base) + 30}).Distance > 12 {
		t.Error("small edit moved simhash too far")
	}
	if !Compare(old, Baseline{SimHash: c, Size: 40}).Changed() {
		t.Error("replacement not a change")
	}
	_ = time.Now
}

func FuzzGamblingScan(f *testing.F) {
	f.Add([]byte(`<div style="display:none"><a href="https://w88.example">Nhà cái W88</a> cá cược</div>`))
	f.Add([]byte(`<html><head><title>Nhà cái</title><meta name="description" content="tài xỉu"><style>.a{left:-9999px;position:absolute}</style></head><body><p class=a>nổ hũ</p></body></html>`))
	f.Add([]byte(`<a href="//x"><a href=":"><div><span style="font-size:0"><b>lô đề</div></span></b><svg><svg>`))
	f.Add([]byte("<title>Hacked by X</title><h1>HACKED</h1>\xff\xfe"))
	f.Fuzz(func(t *testing.T, body []byte) {
		d := Parse(body, "site.gov.vn")
		if len(d.Segments) > maxSegments+16+1 || len(d.Links) > maxLinks {
			t.Fatalf("limits: %d segments, %d links", len(d.Segments), len(d.Links))
		}
		g := ScanGambling(d)
		if g.Suspicious > g.Total || g.Suspicious < 0 {
			t.Fatalf("scores %d/%d", g.Suspicious, g.Total)
		}
		for _, s := range g.Snippets {
			if !utf8.ValidString(s) && utf8.Valid(body) {
				t.Fatalf("snippet not UTF-8: %q", s)
			}
		}
		b := Fingerprint("http://site.gov.vn/", d, time.Time{})
		v := Judge(b, b, d)
		if v.Defaced || v.Change.Changed() && Fold(d.Title) == b.Title && v.Change.Distance == 0 && v.Change.LinkJacc == 1 && v.Change.SizeRatio == 1 {
			t.Fatalf("a page judged against itself: %+v", v)
		}
	})
}
