package browsertest

import "testing"

// TestLeaksIn pins down what the tenancy test counts as another
// organization's string on a page: whole tokens only, in text or
// attributes, entities decoded, form tokens ignored.
func TestLeaksIn(t *testing.T) {
	needles := []needle{
		{"HN-DEMO", "code"},
		{"hn-demo.gov.vn", "zone"},
		{"127.77.2.1", "address"},
		{"QG", "code of the root"},
		{"Thành phố Hà Nội (demo)", "name"},
		{`Self-signed certificate for "tuyensinh.hn-demo.gov.vn"`, "title"},
	}
	for _, c := range []struct {
		page string
		want int
	}{
		{`<td>Sở Thông tin và Truyền thông Hà Nội (demo) <small>HN-DEMO-STTTT</small></td>`, 0},
		{`<td class="mono">dichvucong.hn-demo.gov.vn</td>`, 0},
		{`<td>127.77.2.10:443</td><td>127.77.2.100</td>`, 0},
		{`<input type="hidden" name="csrf" value="x-QG_QG">`, 0},
		{`<p>HN-DEMO-STTTT, HN-DEMO-SGD</p>`, 0},
		{`<small class="muted">HN-DEMO</small>`, 1},
		{`<a title="hn-demo.gov.vn">zone</a>`, 1},
		{`<td>127.77.2.1:443</td>`, 1},
		{`<small>QG</small>`, 1},
		{`<a href="/orgs/4">Thành phố Hà Nội (demo)</a>`, 1},
		{`<dd>Self-signed certificate for &#34;tuyensinh.hn-demo.gov.vn&#34;</dd>`, 1}, // the title; the zone inside the host name is not a token
		{`<p>Máy chủ ns1.hn-demo.gov.vn.</p>`, 0},
		{`<p>Vùng hn-demo.gov.vn.</p>`, 1},
	} {
		if got := leaksIn(c.page, needles); len(got) != c.want {
			t.Errorf("%s: %d found, want %d: %q", c.page, len(got), c.want, got)
		}
	}
}
