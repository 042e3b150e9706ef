package report

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// labels holds every fixed text of a report in one language.
type labels map[string]string

// texts is built on first use, not at package init.
var texts = sync.OnceValue(func() map[string]labels {
	return map[string]labels{
		"vi": {
			"title": "Báo cáo an toàn thông tin", "subtitle": "Hệ thống kết nối Internet và tự đánh giá",
			"level.national": "Báo cáo toàn quốc", "level.ministry": "Báo cáo cấp bộ", "level.sector": "Báo cáo cấp ngành",
			"level.province": "Báo cáo cấp tỉnh", "level.organization": "Báo cáo cấp tổ chức",
			"generated": "Ngày lập", "score": "Điểm", "grade": "Xếp loại", "active": "Lỗ hổng đang mở", "overdue": "Quá hạn",
			"kev": "Đang bị khai thác (KEV)", "debt": "Nợ tuân thủ", "mttr": "Thời gian khắc phục TB (ngày)", "fixed": "Đã khắc phục (90 ngày)",
			"rank": "Xếp hạng trong nhóm", "percentile": "Phân vị", "assets": "Tài sản", "orgs": "Tổ chức", "units": "Tổ chức có tài sản",
			"summary": "Tóm tắt", "by_severity": "Lỗ hổng theo mức độ", "severity": "Mức độ", "top": "Vấn đề hàng đầu",
			"per_org": "Kết quả theo tổ chức", "worst": "Tổ chức có điểm thấp nhất", "assessment": "Tổng hợp tự đánh giá",
			"code": "Mã", "name": "Tên", "kind": "Loại", "parent": "Đơn vị cấp trên", "check": "Kiểm tra", "problem": "Vấn đề", "findings": "Số lỗ hổng",
			"affected": "Số tổ chức", "deadline": "Hạn chót", "framework": "Bộ tiêu chí", "targets": "Đơn vị được yêu cầu", "started": "Đã bắt đầu",
			"submitted": "Đã nộp", "late": "Nộp muộn", "compliance": "Mức tuân thủ", "control": "Tiêu chí",
			"implemented": "Đã thực hiện", "partial": "Một phần", "not_implemented": "Chưa thực hiện", "not_applicable": "Không áp dụng",
			"unanswered": "Chưa trả lời", "state": "Trạng thái", "target": "Đối tượng", "first_seen": "Phát hiện lần đầu", "due": "Hạn xử lý",
			"days_overdue": "Số ngày quá hạn", "id": "ID", "penalty": "Điểm trừ", "depth": "Cấp", "none": "Không có",
			"formula":       "Điểm = 100 × exp(−P / (40 × U)); P = tổng trọng số lỗ hổng đang mở (nghiêm trọng 10, cao 5, trung bình 2, thấp 1) + 10 cho mỗi lỗ hổng KEV + nợ quá hạn; U = số tổ chức có tài sản. Xếp loại: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, F.",
			"more_findings": "Còn %d lỗ hổng không liệt kê.", "of": "trên", "not_started": "Chưa bắt đầu", "draft": "Đang soạn",
			"page": "Trang", "sheet.scorecards": "Điểm số", "sheet.findings": "Lỗ hổng", "sheet.orgs": "Tổ chức", "sheet.assessment": "Tự đánh giá",
			"sev.critical": "Nghiêm trọng", "sev.high": "Cao", "sev.medium": "Trung bình", "sev.low": "Thấp", "sev.info": "Thông tin",
			"total":    "Tổng",
			"s.active": "Đang mở", "s.overdue": "Quá hạn", "s.kev": "KEV", "s.mttr": "MTTR (ngày)", "s.rank": "Thứ hạng", "s.grade": "Loại",
			"s.implemented": "Đạt", "s.partial": "Một phần", "s.not_implemented": "Chưa đạt", "s.not_applicable": "Không AD", "s.unanswered": "Trống",
			"s.compliance": "Tuân thủ", "s.affected": "Tổ chức", "s.findings": "Số lượng",
		},
		"en": {
			"title": "Security report", "subtitle": "Internet-facing systems and self-assessment",
			"level.national": "National report", "level.ministry": "Ministry report", "level.sector": "Sector report",
			"level.province": "Provincial report", "level.organization": "Organization report",
			"generated": "Generated", "score": "Score", "grade": "Grade", "active": "Open findings", "overdue": "Overdue",
			"kev": "Exploited (KEV)", "debt": "Compliance debt", "mttr": "Mean time to remediate (days)", "fixed": "Fixed (90 days)",
			"rank": "Rank among peers", "percentile": "Percentile", "assets": "Assets", "orgs": "Organizations", "units": "Organizations with assets",
			"summary": "Summary", "by_severity": "Findings by severity", "severity": "Severity", "top": "Top problems",
			"per_org": "Results by organization", "worst": "Lowest-scoring organizations", "assessment": "Self-assessment synthesis",
			"code": "Code", "name": "Name", "kind": "Kind", "parent": "Parent", "check": "Check", "problem": "Problem", "findings": "Findings",
			"affected": "Organizations", "deadline": "Deadline", "framework": "Framework", "targets": "Targets", "started": "Started",
			"submitted": "Submitted", "late": "Late", "compliance": "Compliance", "control": "Control",
			"implemented": "Implemented", "partial": "Partial", "not_implemented": "Not implemented", "not_applicable": "Not applicable",
			"unanswered": "Unanswered", "state": "State", "target": "Target", "first_seen": "First seen", "due": "Due",
			"days_overdue": "Days overdue", "id": "ID", "penalty": "Penalty", "depth": "Level", "none": "None",
			"formula":       "Score = 100 × exp(−P / (40 × U)); P = weights of open findings (critical 10, high 5, medium 2, low 1) + 10 per KEV-listed finding + overdue debt; U = organizations with assets. Grades: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, F.",
			"more_findings": "%d more findings are not listed.", "of": "of", "not_started": "Not started", "draft": "Draft",
			"page": "Page", "sheet.scorecards": "Scorecards", "sheet.findings": "Findings", "sheet.orgs": "Organizations", "sheet.assessment": "Assessment",
			"sev.critical": "Critical", "sev.high": "High", "sev.medium": "Medium", "sev.low": "Low", "sev.info": "Info",
			"total":    "Total",
			"s.active": "Open", "s.overdue": "Overdue", "s.kev": "KEV", "s.mttr": "MTTR (d)", "s.rank": "Rank", "s.grade": "Grade",
			"s.implemented": "Yes", "s.partial": "Partial", "s.not_implemented": "No", "s.not_applicable": "N/A", "s.unanswered": "Blank",
			"s.compliance": "Compliance", "s.affected": "Orgs", "s.findings": "Findings",
		},
	}
})

// loc formats values in one language.
type loc struct {
	lang string
	t    labels
}

func newLoc(lang string) (loc, error) {
	t, ok := texts()[lang]
	if !ok {
		return loc{}, fmt.Errorf("report: language %q is not vi or en", lang)
	}
	return loc{lang: lang, t: t}, nil
}

func (l loc) T(key string) string {
	if s, ok := l.t[key]; ok {
		return s
	}
	return key
}

func (l loc) Name(o org.Organization) string {
	if l.lang == "en" && o.NameEN != "" || o.Name == "" {
		return o.NameEN
	}
	return o.Name
}

func (l loc) Sev(s finding.Severity) string { return l.T("sev." + string(s)) }

func (l loc) Level(level string) string { return l.T("level." + level) }

// Num formats a decimal number with one decimal: "87,5" in Vietnamese.
func (l loc) Num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if l.lang == "vi" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Int formats an integer with thousands separators ("12.345" in Vietnamese).
func (l loc) Int(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := ","
	if l.lang == "vi" {
		sep = "."
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func (l loc) Pct(v float64) string { return l.Num(v) + " %" }

func (l loc) Date(t time.Time) string {
	if l.lang == "vi" {
		return t.Format("02/01/2006")
	}
	return t.Format("2006-01-02")
}

func (l loc) Rank(c Scorecard) string {
	if c.PeerCount == 0 {
		return "–"
	}
	return strconv.Itoa(c.Rank) + "/" + strconv.Itoa(c.PeerCount)
}

func (l loc) MTTR(c Scorecard) string {
	if c.Fixed == 0 {
		return "–"
	}
	return l.Num(c.MTTRDays)
}

func (l loc) State(s store.AssessmentState) string {
	switch s {
	case "":
		return l.T("not_started")
	case store.AssessmentDraft:
		return l.T("draft")
	}
	return l.T("submitted")
}

func (l loc) Lang() string { return l.lang }
