package mail

import (
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Texts of the mail-domain checks (MTA-STS, TLS-RPT); DKIM's are in dkim.go.

var metaSTSMissing = check.Meta{
	ID: "mail.mta-sts-missing", Family: Family, Severity: finding.Low,
	Title: check.Text{
		EN: "No MTA-STS policy",
		VI: "Không có chính sách MTA-STS",
	},
	Description: check.Text{
		EN: "The domain receives mail but publishes no v=STSv1 TXT record at _mta-sts.<domain>. Sending servers then fall back to opportunistic STARTTLS, which an attacker on the path can strip or redirect to a server of their own, reading mail addressed to the domain.",
		VI: "Tên miền có nhận thư nhưng không công bố bản ghi TXT v=STSv1 tại _mta-sts.<tên miền>. Khi đó máy chủ gửi chỉ dùng STARTTLS tuỳ chọn, mà kẻ tấn công trên đường truyền có thể gỡ bỏ hoặc chuyển hướng tới máy chủ của chúng để đọc thư gửi đến tên miền.",
	},
	Remediation: check.Text{
		EN: "Serve a policy at https://mta-sts.<domain>/.well-known/mta-sts.txt (valid certificate, text/plain) listing the MX hosts, e.g. \"version: STSv1\\nmode: testing\\nmx: mail.example.gov.vn\\nmax_age: 86400\", publish \"v=STSv1; id=20260101\" at _mta-sts.<domain>, watch TLS-RPT reports, then switch to mode: enforce.",
		VI: "Phục vụ chính sách tại https://mta-sts.<tên miền>/.well-known/mta-sts.txt (chứng chỉ hợp lệ, text/plain) liệt kê các máy chủ MX, ví dụ \"version: STSv1\\nmode: testing\\nmx: mail.example.gov.vn\\nmax_age: 86400\", công bố \"v=STSv1; id=20260101\" tại _mta-sts.<tên miền>, theo dõi báo cáo TLS-RPT rồi chuyển sang mode: enforce.",
	},
	References: []string{"RFC 8461", "CWE-319"},
}

var metaSTSInvalid = check.Meta{
	ID: "mail.mta-sts-invalid", Family: Family, Severity: finding.Medium,
	Title: check.Text{
		EN: "MTA-STS record or policy is broken or not enforced",
		VI: "Bản ghi hoặc chính sách MTA-STS bị lỗi hoặc chưa được thực thi",
	},
	Description: check.Text{
		EN: "The domain publishes an MTA-STS record, but senders cannot use it: the TXT record is malformed or duplicated (subject record); the policy cannot be fetched over HTTPS with a valid certificate, without redirects, as text/plain, or does not parse (subject policy); or an MX host is not matched by the policy's mx lines (subject mx-mismatch), so senders that enforce the policy refuse to deliver to it. A policy in mode testing or none (subjects mode-testing, mode-none, informational) protects nothing yet.",
		VI: "Tên miền có công bố bản ghi MTA-STS nhưng máy chủ gửi không dùng được: bản ghi TXT sai cú pháp hoặc bị trùng (chủ thể record); không tải được chính sách qua HTTPS với chứng chỉ hợp lệ, không chuyển hướng, kiểu text/plain, hoặc chính sách sai cú pháp (chủ thể policy); hoặc có máy chủ MX không khớp dòng mx nào của chính sách (chủ thể mx-mismatch), nên máy chủ gửi thực thi chính sách sẽ từ chối chuyển thư tới đó. Chính sách ở mode testing hoặc none (chủ thể mode-testing, mode-none, mức thông tin) chưa bảo vệ gì.",
	},
	Remediation: check.Text{
		EN: "Publish exactly one \"v=STSv1; id=<1-32 letters or digits>\" record and change the id whenever the policy changes. Serve the policy from mta-sts.<domain> with a certificate valid for that name, status 200, Content-Type text/plain and no redirect; list every MX host (or a *.<domain> pattern) in mx lines; after a period in testing with clean TLS-RPT reports, set mode: enforce.",
		VI: "Công bố đúng một bản ghi \"v=STSv1; id=<1-32 chữ cái hoặc chữ số>\" và đổi id mỗi khi chính sách thay đổi. Phục vụ chính sách từ mta-sts.<tên miền> với chứng chỉ hợp lệ cho tên đó, mã 200, Content-Type text/plain và không chuyển hướng; liệt kê mọi máy chủ MX (hoặc mẫu *.<tên miền>) trong các dòng mx; sau một thời gian chạy mode testing với báo cáo TLS-RPT sạch, đặt mode: enforce.",
	},
	References: []string{"RFC 8461 section 3", "RFC 8461 section 4.1", "CWE-319"},
}

var metaTLSRPTMissing = check.Meta{
	ID: "mail.tls-rpt-missing", Family: Family, Severity: finding.Info,
	Title: check.Text{
		EN: "No TLS-RPT reporting address",
		VI: "Không có địa chỉ nhận báo cáo TLS-RPT",
	},
	Description: check.Text{
		EN: "The domain receives mail but publishes no usable v=TLSRPTv1 record at _smtp._tls.<domain> (none, several, or one without a mailto: or https: rua). Sending servers cannot report failed or downgraded TLS deliveries, so attacks on mail transport and broken MTA-STS policies go unnoticed.",
		VI: "Tên miền có nhận thư nhưng không công bố bản ghi v=TLSRPTv1 dùng được tại _smtp._tls.<tên miền> (không có, có nhiều bản ghi, hoặc thiếu rua dạng mailto: hay https:). Máy chủ gửi không báo cáo được các lần chuyển thư TLS thất bại hoặc bị hạ cấp, nên tấn công vào đường truyền thư và chính sách MTA-STS hỏng không được phát hiện.",
	},
	Remediation: check.Text{
		EN: "Publish one TXT record at _smtp._tls.<domain>: \"v=TLSRPTv1; rua=mailto:tlsrpt@example.gov.vn\", and have someone read the daily reports.",
		VI: "Công bố một bản ghi TXT tại _smtp._tls.<tên miền>: \"v=TLSRPTv1; rua=mailto:tlsrpt@example.gov.vn\", và phân công người đọc báo cáo hằng ngày.",
	},
	References: []string{"RFC 8460"},
}
