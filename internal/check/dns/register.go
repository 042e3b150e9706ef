package dns

import (
	"context"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Family is the check family name of this package.
const Family = "dns"

// domainCheck is a check on a TargetDomain run by a function.
type domainCheck struct {
	meta check.Meta
	run  func(ctx context.Context, c *client, env *check.Env, name string) ([]check.Result, error)
}

var _ check.Check = (*domainCheck)(nil)

func (d *domainCheck) Meta() check.Meta { return d.meta }

func (d *domainCheck) Applies(t check.Target) bool { return appliesToDomain(t) }

func (d *domainCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	name, err := domainOf(t)
	if err != nil {
		return nil, err
	}
	return d.run(ctx, newClient(env), env, name)
}

// Checks returns the checks of the family, in ID order.
func Checks() []check.Check {
	return []check.Check{
		&domainCheck{meta: metaDanglingCNAME, run: runDanglingCNAME},
		&domainCheck{meta: metaDMARCMissing, run: runDMARCMissing},
		&domainCheck{meta: metaDMARCPolicyNone, run: runDMARCPolicyNone},
		&domainCheck{meta: metaDNSSECMissing, run: runDNSSECMissing},
		&openResolver{meta: metaOpenResolver},
		&domainCheck{meta: metaSPFMissing, run: runSPFMissing},
		&domainCheck{meta: metaSPFPermissive, run: runSPFPermissive},
		&domainCheck{meta: metaSubdomainTakeover, run: runSubdomainTakeover},
		&domainCheck{meta: metaZoneTransfer, run: runZoneTransfer},
	}
}

// Register adds the family's checks to r.
func Register(r *check.Registry) error { return r.Register(Checks()...) }

var metaSPFMissing = check.Meta{
	ID: "dns.spf-missing", Family: Family, Severity: finding.Medium,
	Title: check.Text{
		EN: "No valid SPF record",
		VI: "Không có bản ghi SPF hợp lệ",
	},
	Description: check.Text{
		EN: "The domain publishes no TXT record starting with v=spf1, publishes more than one, or publishes one that does not parse. Receivers then cannot tell which servers may send mail for the domain, so anyone can forge its addresses.",
		VI: "Tên miền không công bố bản ghi TXT bắt đầu bằng v=spf1, công bố nhiều hơn một bản ghi, hoặc bản ghi sai cú pháp. Khi đó máy chủ nhận thư không biết máy chủ nào được phép gửi thư thay mặt tên miền, nên bất kỳ ai cũng có thể giả mạo địa chỉ thư của tên miền.",
	},
	Remediation: check.Text{
		EN: "Publish exactly one TXT record at the domain listing the servers that send its mail and ending in -all, e.g. \"v=spf1 mx ip4:203.0.113.10 -all\". A domain that sends no mail publishes \"v=spf1 -all\".",
		VI: "Công bố đúng một bản ghi TXT tại tên miền, liệt kê các máy chủ gửi thư của tên miền và kết thúc bằng -all, ví dụ \"v=spf1 mx ip4:203.0.113.10 -all\". Tên miền không gửi thư thì công bố \"v=spf1 -all\".",
	},
	References: []string{"RFC 7208", "CWE-290"},
}

var metaSPFPermissive = check.Meta{
	ID: "dns.spf-permissive", Family: Family, Severity: finding.High,
	Title: check.Text{
		EN: "SPF policy lets forged mail through",
		VI: "Chính sách SPF cho phép thư giả mạo đi qua",
	},
	Description: check.Text{
		EN: "The SPF record ends in +all or ?all, or has neither an all mechanism nor a redirect (so the result for unlisted hosts is neutral), or its chain of redirects is broken: forged mail from any host is not failed. Separately (subject too-many-lookups), a record whose include, a, mx, ptr, exists and redirect terms need more than 10 DNS lookups makes receivers return permerror, which most treat as no SPF at all.",
		VI: "Bản ghi SPF kết thúc bằng +all hoặc ?all, hoặc không có cơ chế all lẫn redirect (nên kết quả cho máy chủ không được liệt kê là trung lập), hoặc chuỗi redirect bị hỏng: thư giả mạo từ bất kỳ máy chủ nào cũng không bị đánh trượt. Ngoài ra (chủ thể too-many-lookups), bản ghi mà các thành phần include, a, mx, ptr, exists và redirect cần hơn 10 lượt truy vấn DNS sẽ khiến máy chủ nhận trả về permerror, và phần lớn coi như không có SPF.",
	},
	Remediation: check.Text{
		EN: "End the record in -all (or ~all while you verify the list of senders). Flatten or remove includes until evaluation needs at most 10 DNS lookups: replace includes of providers you no longer use and list fixed addresses with ip4/ip6.",
		VI: "Kết thúc bản ghi bằng -all (hoặc ~all trong thời gian kiểm tra danh sách máy chủ gửi). Rút gọn hoặc bỏ bớt include để việc đánh giá cần tối đa 10 lượt truy vấn DNS: bỏ include của nhà cung cấp không còn dùng và liệt kê địa chỉ cố định bằng ip4/ip6.",
	},
	References: []string{"RFC 7208 section 4.6.4", "RFC 7208 section 5.1", "CWE-290"},
}

var metaDMARCMissing = check.Meta{
	ID: "dns.dmarc-missing", Family: Family, Severity: finding.Medium,
	Title: check.Text{
		EN: "No valid DMARC record",
		VI: "Không có bản ghi DMARC hợp lệ",
	},
	Description: check.Text{
		EN: "There is no usable TXT record starting with v=DMARC1 at _dmarc.<domain> (none, several, or one that does not parse). Receivers get no policy for mail that fails SPF and DKIM, and the owner receives no reports about forgery of the domain.",
		VI: "Không có bản ghi TXT dùng được bắt đầu bằng v=DMARC1 tại _dmarc.<tên miền> (không có, có nhiều bản ghi, hoặc bản ghi sai cú pháp). Máy chủ nhận không có chính sách cho thư không vượt qua SPF và DKIM, và chủ sở hữu không nhận được báo cáo về việc tên miền bị giả mạo.",
	},
	Remediation: check.Text{
		EN: "Publish one TXT record at _dmarc.<domain>, starting with p=none and a reporting address to learn who sends as the domain, then move to p=quarantine and p=reject: \"v=DMARC1; p=reject; rua=mailto:dmarc@example.gov.vn\".",
		VI: "Công bố một bản ghi TXT tại _dmarc.<tên miền>, bắt đầu với p=none và địa chỉ nhận báo cáo để biết ai đang gửi thư dưới tên miền, sau đó chuyển sang p=quarantine và p=reject: \"v=DMARC1; p=reject; rua=mailto:dmarc@example.gov.vn\".",
	},
	References: []string{"RFC 7489", "CWE-290"},
}

var metaDMARCPolicyNone = check.Meta{
	ID: "dns.dmarc-policy-none", Family: Family, Severity: finding.Low,
	Title: check.Text{
		EN: "DMARC policy is none",
		VI: "Chính sách DMARC là none",
	},
	Description: check.Text{
		EN: "The DMARC record asks receivers to take no action (p=none), or to take none for subdomains (sp=none): forged mail is reported but still delivered.",
		VI: "Bản ghi DMARC yêu cầu máy chủ nhận không xử lý gì (p=none), hoặc không xử lý gì với tên miền con (sp=none): thư giả mạo chỉ được báo cáo nhưng vẫn được chuyển đến người nhận.",
	},
	Remediation: check.Text{
		EN: "Once the aggregate reports show that legitimate mail passes SPF or DKIM, raise the policy to p=quarantine and then p=reject, and drop sp=none.",
		VI: "Khi báo cáo tổng hợp cho thấy thư hợp lệ đã vượt qua SPF hoặc DKIM, nâng chính sách lên p=quarantine rồi p=reject, và bỏ sp=none.",
	},
	References: []string{"RFC 7489 section 6.3"},
}

var metaZoneTransfer = check.Meta{
	ID: "dns.zone-transfer", Family: Family, Severity: finding.High,
	Title: check.Text{
		EN: "Zone transfer (AXFR) allowed to anyone",
		VI: "Cho phép bất kỳ ai chuyển vùng (AXFR)",
	},
	Description: check.Text{
		EN: "An authoritative name server of the zone answers an AXFR request from an arbitrary address with the zone's contents, disclosing every host name (internal systems, test servers, management interfaces) to attackers.",
		VI: "Một máy chủ tên có thẩm quyền của vùng trả lời yêu cầu AXFR từ địa chỉ bất kỳ bằng toàn bộ nội dung vùng, làm lộ mọi tên máy (hệ thống nội bộ, máy chủ thử nghiệm, giao diện quản trị) cho kẻ tấn công.",
	},
	Remediation: check.Text{
		EN: "Allow zone transfers only to the secondary servers, by address and preferably with TSIG (BIND: allow-transfer { key xfr-key; }; Windows DNS: Zone Transfers → Only to the following servers).",
		VI: "Chỉ cho phép chuyển vùng tới các máy chủ phụ, theo địa chỉ và tốt nhất kèm TSIG (BIND: allow-transfer { key xfr-key; }; Windows DNS: Zone Transfers → Only to the following servers).",
	},
	References: []string{"RFC 5936", "CWE-200"},
}

var metaDanglingCNAME = check.Meta{
	ID: "dns.dangling-cname", Family: Family, Severity: finding.High,
	Title: check.Text{
		EN: "CNAME points to a name that does not exist (subdomain takeover)",
		VI: "CNAME trỏ tới tên không tồn tại (nguy cơ chiếm quyền tên miền con)",
	},
	Description: check.Text{
		EN: "The host name is an alias (CNAME) for a name that no longer exists (NXDOMAIN), typically a deleted cloud resource such as an Azure web app, an S3 bucket, a Heroku app or a GitHub Pages site. Whoever creates a resource with that name, or registers the expired domain, serves content under the organization's name: phishing, cookie theft, defacement.",
		VI: "Tên máy là bí danh (CNAME) của một tên không còn tồn tại (NXDOMAIN), thường là tài nguyên đám mây đã bị xoá như ứng dụng web Azure, bucket S3, ứng dụng Heroku hay trang GitHub Pages. Ai tạo được tài nguyên mang tên đó, hoặc đăng ký lại tên miền đã hết hạn, sẽ phát nội dung dưới danh nghĩa tổ chức: lừa đảo, đánh cắp cookie, thay đổi giao diện.",
	},
	Remediation: check.Text{
		EN: "Delete the CNAME record when the resource is gone, or recreate the resource under the organization's account. Remove DNS records before deprovisioning cloud resources, not after.",
		VI: "Xoá bản ghi CNAME khi tài nguyên không còn, hoặc tạo lại tài nguyên dưới tài khoản của tổ chức. Xoá bản ghi DNS trước khi huỷ tài nguyên đám mây, không phải sau.",
	},
	References: []string{"CWE-350", "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/02-Configuration_and_Deployment_Management_Testing/10-Test_for_Subdomain_Takeover"},
}

var metaDNSSECMissing = check.Meta{
	ID: "dns.dnssec-missing", Family: Family, Severity: finding.Low,
	Title: check.Text{
		EN: "Zone not signed with DNSSEC",
		VI: "Vùng chưa được ký DNSSEC",
	},
	Description: check.Text{
		EN: "Asked with the DNSSEC OK bit, the zone returns no DNSKEY, no DS at its parent and no RRSIG signatures: validating resolvers cannot detect forged answers for its names (cache poisoning, spoofed mail routing).",
		VI: "Khi truy vấn với bit DNSSEC OK, vùng không trả về DNSKEY, không có DS ở vùng cha và không có chữ ký RRSIG: máy chủ phân giải có kiểm tra không phát hiện được câu trả lời giả mạo cho các tên trong vùng (đầu độc bộ nhớ đệm, giả mạo định tuyến thư).",
	},
	Remediation: check.Text{
		EN: "Sign the zone (BIND dnssec-policy, PowerDNS pdnsutil secure-zone, Windows DNS zone signing) and publish the DS record at the parent through the registrar or the .vn registry (VNNIC).",
		VI: "Ký vùng (BIND dnssec-policy, PowerDNS pdnsutil secure-zone, ký vùng trên Windows DNS) và công bố bản ghi DS ở vùng cha thông qua nhà đăng ký hoặc cơ quan quản lý tên miền .vn (VNNIC).",
	},
	References: []string{"RFC 4033", "RFC 4034", "RFC 4035", "CWE-345"},
}

var metaOpenResolver = check.Meta{
	ID: "dns.open-resolver", Family: Family, Severity: finding.High,
	Title: check.Text{
		EN: "Open DNS resolver",
		VI: "Máy chủ phân giải DNS mở",
	},
	Description: check.Text{
		EN: "The DNS server resolves names outside its own zones for any client (recursion available and an answer returned). Open resolvers are used to amplify denial-of-service attacks against third parties and are exposed to cache poisoning.",
		VI: "Máy chủ DNS phân giải các tên ngoài vùng của chính nó cho bất kỳ máy khách nào (có hỗ trợ đệ quy và trả về câu trả lời). Máy chủ phân giải mở bị lợi dụng để khuếch đại tấn công từ chối dịch vụ vào bên thứ ba và dễ bị đầu độc bộ nhớ đệm.",
	},
	Remediation: check.Text{
		EN: "Limit recursion to the organization's own networks (BIND: allow-recursion { trusted; }; Unbound: access-control; Windows DNS: disable recursion on internet-facing servers) and keep authoritative and recursive service on separate servers.",
		VI: "Chỉ cho phép đệ quy với mạng của tổ chức (BIND: allow-recursion { trusted; }; Unbound: access-control; Windows DNS: tắt đệ quy trên máy chủ hướng ra internet) và tách dịch vụ có thẩm quyền với dịch vụ phân giải đệ quy ra các máy chủ khác nhau.",
	},
	References: []string{"CWE-406", "https://www.cisa.gov/news-events/alerts/2013/03/29/dns-amplification-attacks"},
}
