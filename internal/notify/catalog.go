package notify

import "fmt"

// catalogs holds every text a notification shows, by language. Keys are
// the same in each; a key missing from a language falls back to English.
var catalogs = map[string]map[string]string{
	"vi": {
		"digest.subject":     "[Rampart] Bản tổng hợp an toàn thông tin %s – %s",
		"digest.title":       "Bản tổng hợp an toàn thông tin",
		"digest.intro":       "Dưới đây là tình hình các phát hiện của %s và các đơn vị trực thuộc trong kỳ %s.",
		"alert.subject":      "[Rampart] Cảnh báo khẩn: %d phát hiện nghiêm trọng tại %s",
		"alert.title":        "Cảnh báo khẩn",
		"alert.intro":        "Rampart vừa phát hiện các vấn đề sau tại %s. Đề nghị xử lý ngay.",
		"escalation.subject": "[Rampart] Báo cáo vượt cấp: %d phát hiện quá hạn tại đơn vị trực thuộc %s",
		"escalation.title":   "Báo cáo vượt cấp",
		"escalation.intro":   "Các phát hiện sau của đơn vị trực thuộc %s đã quá hạn khắc phục và chưa được xử lý. Đề nghị đôn đốc đơn vị khắc phục.",
		"greeting":           "Kính gửi %s,",
		"section.new":        "Phát hiện mới",
		"section.reopened":   "Tái xuất hiện",
		"section.overdue":    "Quá hạn khắc phục",
		"section.due-soon":   "Sắp đến hạn (trong 7 ngày)",
		"section.fixed":      "Đã khắc phục",
		"more":               "… và %d phát hiện khác",
		"due":                "hạn xử lý %s",
		"overdue.days":       "quá hạn %d ngày",
		"kev":                "đang bị khai thác (KEV)",
		"org":                "đơn vị",
		"severity.critical":  "Nghiêm trọng",
		"severity.high":      "Cao",
		"severity.medium":    "Trung bình",
		"severity.low":       "Thấp",
		"severity.info":      "Thông tin",
		"footer":             "Thư này do hệ thống Rampart gửi tự động. Vui lòng không trả lời thư này.",
		"footer.link":        "Xem chi tiết trên cổng Rampart: %s",
		"period.week":        "tuần %d/%d",
		"summary.counts":     "Tổng cộng: %d phát hiện cần chú ý.",
	},
	"en": {
		"digest.subject":     "[Rampart] Security digest %s – %s",
		"digest.title":       "Security digest",
		"digest.intro":       "Here is where the findings of %s and the organizations below it stand for %s.",
		"alert.subject":      "[Rampart] Urgent: %d critical findings at %s",
		"alert.title":        "Urgent alert",
		"alert.intro":        "Rampart has just found the following problems at %s. Please act at once.",
		"escalation.subject": "[Rampart] Escalation: %d overdue findings below %s",
		"escalation.title":   "Escalation",
		"escalation.intro":   "The following findings of organizations below %s are past their due date and still open. Please follow up with them.",
		"greeting":           "Dear %s,",
		"section.new":        "New findings",
		"section.reopened":   "Reopened",
		"section.overdue":    "Overdue",
		"section.due-soon":   "Due within 7 days",
		"section.fixed":      "Fixed",
		"more":               "… and %d more",
		"due":                "due %s",
		"overdue.days":       "%d days overdue",
		"kev":                "known exploited (KEV)",
		"org":                "organization",
		"severity.critical":  "Critical",
		"severity.high":      "High",
		"severity.medium":    "Medium",
		"severity.low":       "Low",
		"severity.info":      "Info",
		"footer":             "This message was sent by Rampart. Please do not reply to it.",
		"footer.link":        "Details in the Rampart console: %s",
		"period.week":        "week %d of %d",
		"summary.counts":     "In all: %d findings need attention.",
	},
}

// lang returns a supported language for l, Vietnamese by default.
func lang(l string) string {
	if _, ok := catalogs[l]; ok {
		return l
	}
	return "vi"
}

// tr formats the text key of language l with args.
func tr(l, key string, args ...any) string {
	s, ok := catalogs[lang(l)][key]
	if !ok {
		s, ok = catalogs["en"][key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}
