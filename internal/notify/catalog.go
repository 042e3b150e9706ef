package notify

import (
	"fmt"
	"sync"
)

// catalogs holds every text a notification shows, by language. Keys are
// the same in each; a key missing from a language falls back to English.
var catalogs = sync.OnceValue(func() map[string]map[string]string {
	return map[string]map[string]string{
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
			"summary.none":       "Trong kỳ này không có phát hiện nào cần chú ý.",
			"report.attached":    "Kèm theo thư này là báo cáo an toàn thông tin (điểm, xếp hạng, so sánh với các đơn vị cùng loại) của %s: tệp %s.",

			"reminder.subject":        "[Rampart] Nhắc nộp bản tự đánh giá: %s – hạn %s",
			"reminder.title":          "Nhắc nộp bản tự đánh giá",
			"reminder.intro":          "%s chưa nộp bản tự đánh giá trong đợt đánh giá “%s”.",
			"reminder.campaign":       "Đợt đánh giá: %s",
			"reminder.deadline":       "Hạn nộp: %s (giờ Việt Nam)",
			"reminder.left":           "Còn %d ngày.",
			"reminder.today":          "Hạn nộp là hôm nay.",
			"reminder.overdue":        "Đã quá hạn %d ngày.",
			"reminder.todo":           "Việc cần làm:",
			"reminder.step.open.link": "Đăng nhập cổng Rampart và mở đợt đánh giá: %s",
			"reminder.step.open":      "Đăng nhập cổng Rampart và mở đợt đánh giá.",
			"reminder.step.answer":    "Trả lời từng biện pháp kiểm soát (đã triển khai, triển khai một phần, chưa triển khai, không áp dụng), kèm ghi chú và tài liệu minh chứng.",
			"reminder.step.submit":    "Nộp bản tự đánh giá trước ngày %s.",
			"reminder.ignore":         "Nếu đơn vị đã nộp, xin vui lòng bỏ qua thư này.",
			"reminder.link":           "Đợt đánh giá trên cổng Rampart: %s",
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
			"summary.none":       "Nothing needs attention this period.",
			"report.attached":    "Attached is the security report of %s (score, grade, comparison with its peers): %s.",

			"reminder.subject":        "[Rampart] Reminder: submit your self-assessment for %s by %s",
			"reminder.title":          "Self-assessment reminder",
			"reminder.intro":          "%s has not yet submitted its self-assessment for the campaign “%s”.",
			"reminder.campaign":       "Campaign: %s",
			"reminder.deadline":       "Deadline: %s (Vietnam time)",
			"reminder.left":           "%d days left.",
			"reminder.today":          "The deadline is today.",
			"reminder.overdue":        "%d days past the deadline.",
			"reminder.todo":           "What to do:",
			"reminder.step.open.link": "Sign in to the Rampart console and open the campaign: %s",
			"reminder.step.open":      "Sign in to the Rampart console and open the campaign.",
			"reminder.step.answer":    "Answer every control (implemented, partial, not implemented, not applicable) with a comment and evidence files.",
			"reminder.step.submit":    "Submit the self-assessment by %s.",
			"reminder.ignore":         "If your organization has already submitted, please ignore this message.",
			"reminder.link":           "The campaign in the Rampart console: %s",
		},
	}
})

// lang returns a supported language for l, Vietnamese by default.
func lang(l string) string {
	if _, ok := catalogs()[l]; ok {
		return l
	}
	return "vi"
}

// tr formats the text key of language l with args.
func tr(l, key string, args ...any) string {
	s, ok := catalogs()[lang(l)][key]
	if !ok {
		s, ok = catalogs()["en"][key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}
