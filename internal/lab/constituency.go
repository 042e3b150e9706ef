package lab

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/transfer"
)

// orgs is the sample constituency: a national root, a ministry with an
// agency, two provinces with agencies, and an enterprise. Parents come
// before their children, as transfer.ReadOrgs wants.
var orgs = []transfer.OrgRecord{
	{Code: "QG", Name: "Quốc gia (phòng thí nghiệm demo)", NameEN: "National (demo lab)", Kind: "national",
		Contacts: []transfer.ContactRecord{
			{Name: "Trực ban An toàn thông tin", Email: "truc-ban@qg.demo.gov.vn", Phone: "+84 24 0000 0001", Role: "security"},
			{Name: "National duty officer", Email: "duty@qg.demo.gov.vn", Role: "security", Language: "en"},
		}},
	{Code: "BTTTT-DEMO", Name: "Bộ Thông tin và Truyền thông (demo)", NameEN: "Ministry of Information and Communications (demo)",
		Kind: "ministry", ParentCode: "QG",
		Contacts: []transfer.ContactRecord{
			{Name: "Nguyễn Thị Lan", Email: "lan.nt@btttt.demo.gov.vn", Phone: "+84 24 0000 0101", Role: "security"},
			{Name: "Trần Văn Minh", Email: "minh.tv@btttt.demo.gov.vn", Role: "leader"},
		}},
	{Code: "BTTTT-DEMO-CDS", Name: "Cục Chuyển đổi số quốc gia (demo)", NameEN: "National Digital Transformation Agency (demo)",
		Kind: "agency", ParentCode: "BTTTT-DEMO",
		Contacts: []transfer.ContactRecord{
			{Name: "Phạm Quốc Huy", Email: "huy.pq@cds.btttt.demo.gov.vn", Role: "technical"},
		}},
	{Code: "HN-DEMO", Name: "Thành phố Hà Nội (demo)", NameEN: "Ha Noi City (demo)", Kind: "province", ParentCode: "QG",
		Contacts: []transfer.ContactRecord{
			{Name: "Lê Hoàng Nam", Email: "nam.lh@hanoi.demo.gov.vn", Phone: "+84 24 0000 0201", Role: "security"},
		}},
	{Code: "HN-DEMO-STTTT", Name: "Sở Thông tin và Truyền thông Hà Nội (demo)",
		NameEN: "Ha Noi Department of Information and Communications (demo)", Kind: "agency", ParentCode: "HN-DEMO",
		Contacts: []transfer.ContactRecord{
			{Name: "Đỗ Thu Hà", Email: "ha.dt@stttt.hanoi.demo.gov.vn", Role: "technical"},
			{Name: "Vũ Đức Anh", Email: "anh.vd@stttt.hanoi.demo.gov.vn", Role: "leader"},
		}},
	{Code: "HN-DEMO-SGD", Name: "Sở Giáo dục và Đào tạo Hà Nội (demo)",
		NameEN: "Ha Noi Department of Education and Training (demo)", Kind: "agency", ParentCode: "HN-DEMO",
		Contacts: []transfer.ContactRecord{
			{Name: "Bùi Thị Mai", Email: "mai.bt@sgd.hanoi.demo.gov.vn", Role: "technical"},
		}},
	{Code: "HCM-DEMO", Name: "Thành phố Hồ Chí Minh (demo)", NameEN: "Ho Chi Minh City (demo)", Kind: "province", ParentCode: "QG",
		Contacts: []transfer.ContactRecord{
			{Name: "Huỳnh Văn Phúc", Email: "phuc.hv@hochiminhcity.demo.gov.vn", Phone: "+84 28 0000 0301", Role: "security"},
			{Name: "Security desk (English)", Email: "security@hochiminhcity.demo.gov.vn", Role: "security", Language: "en"},
		}},
	{Code: "HCM-DEMO-SYT", Name: "Sở Y tế TP. Hồ Chí Minh (demo)", NameEN: "Ho Chi Minh City Department of Health (demo)",
		Kind: "agency", ParentCode: "HCM-DEMO",
		Contacts: []transfer.ContactRecord{
			{Name: "Ngô Thanh Tâm", Email: "tam.nt@syt.hochiminhcity.demo.gov.vn", Role: "technical"},
		}},
	{Code: "HCM-DEMO-STNMT", Name: "Sở Tài nguyên và Môi trường TP. Hồ Chí Minh (demo)",
		NameEN: "Ho Chi Minh City Department of Natural Resources and Environment (demo)", Kind: "agency", ParentCode: "HCM-DEMO",
		Contacts: []transfer.ContactRecord{
			{Name: "Đặng Minh Khoa", Email: "khoa.dm@stnmt.hochiminhcity.demo.gov.vn", Role: "technical"},
		}},
	{Code: "EPAY-DEMO", Name: "Công ty Cổ phần Thanh toán Điện tử Việt (demo)", NameEN: "Viet e-Payment JSC (demo)",
		Kind: "enterprise", ParentCode: "QG",
		Contacts: []transfer.ContactRecord{
			{Name: "Trương Gia Bảo", Email: "bao.tg@epay.demo.com.vn", Role: "security"},
			{Name: "IT Operations", Email: "itops@epay.demo.com.vn", Role: "technical", Language: "en"},
		}},
}

// assets lists what each organization owns: every host's address and
// name, the portals' URLs, the zones and the mail domain.
func (l *Lab) assets() []transfer.AssetRecord {
	var out []transfer.AssetRecord
	add := func(org, kind, value, crit string, level int, notes string) {
		out = append(out, transfer.AssetRecord{OrgCode: org, Kind: kind, Value: value, Criticality: crit,
			SecurityLevel: level, Tags: []string{"demo", "lab"}, Notes: notes})
	}
	for _, d := range l.domains {
		kind := "hostname" // a name inside a zone, such as the dangling CNAME
		if l.zoneNames[d.Name] {
			kind = "domain"
		}
		add(d.OrgCode, kind, d.Name, "important", 3, d.Weakness.EN)
	}
	add("HCM-DEMO", "mail_domain", "hcm-demo.gov.vn", "important", 3, "MX mail.hcm-demo.gov.vn")
	for _, h := range l.hosts {
		crit, level := "normal", 2
		if h.OrgCode == "BTTTT-DEMO" || strings.HasPrefix(h.Hostname, "congthongtin.") || strings.HasPrefix(h.Hostname, "www.") {
			crit, level = "important", 3
		}
		add(h.OrgCode, "ipv4", h.Addr.String(), crit, level, h.Weakness.EN)
		add(h.OrgCode, "hostname", h.Hostname, crit, level, h.Role.EN)
		for _, s := range h.Services {
			switch s.Name {
			case "http", "https":
				u := s.Name + "://" + h.Hostname
				if (s.Name == "http" && s.Port != 80) || (s.Name == "https" && s.Port != 443) {
					u += ":" + strconv.Itoa(int(s.Port))
				}
				add(h.OrgCode, "url", u+"/", crit, level, h.Role.EN)
			}
		}
	}
	return out
}

// Constituency returns the sample constituency in the JSON formats of
// internal/transfer: organizations with their contacts ({"orgs": [...]})
// and assets ({"assets": [...]}), ready for transfer.ReadOrgs and
// transfer.ReadAssets (or `rampart import orgs|assets`). Import the
// organizations first.
func (l *Lab) Constituency() (orgsJSON, assetsJSON []byte) {
	o, _ := json.MarshalIndent(map[string]any{"orgs": orgs}, "", "  ")
	a, _ := json.MarshalIndent(map[string]any{"assets": l.assets()}, "", "  ")
	return append(o, '\n'), append(a, '\n')
}

// ConstituencyCSV is Constituency as CSV; the CSV format has no place for
// contacts, so they are left out.
func (l *Lab) ConstituencyCSV() (orgsCSV, assetsCSV []byte) {
	var ob, ab bytes.Buffer
	w := csv.NewWriter(&ob)
	_ = w.Write([]string{"code", "name", "name_en", "kind", "parent_code"})
	for _, o := range orgs {
		_ = w.Write([]string{o.Code, o.Name, o.NameEN, o.Kind, o.ParentCode})
	}
	w.Flush()
	w = csv.NewWriter(&ab)
	_ = w.Write([]string{"org_code", "kind", "value", "criticality", "security_level", "tags", "notes"})
	for _, a := range l.assets() {
		_ = w.Write([]string{a.OrgCode, a.Kind, a.Value, a.Criticality, strconv.Itoa(a.SecurityLevel),
			strings.Join(a.Tags, ";"), a.Notes})
	}
	w.Flush()
	return ob.Bytes(), ab.Bytes()
}
