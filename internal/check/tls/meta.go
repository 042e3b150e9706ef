package tls

import (
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// The check IDs of the family.
const (
	IDCertExpired      = "tls.cert-expired"
	IDCertExpiring     = "tls.cert-expiring"
	IDCertSelfSigned   = "tls.cert-self-signed"
	IDCertUntrusted    = "tls.cert-untrusted"
	IDHostnameMismatch = "tls.hostname-mismatch"
	IDLegacyProtocol   = "tls.legacy-protocol"
	IDWeakCipher       = "tls.weak-cipher"
	IDWeakKey          = "tls.weak-key"
)

// Family is the family name of every check here.
const Family = "tls"

// ExpiringWithin is how close to expiry tls.cert-expiring fires.
const ExpiringWithin = 21 * 24 * time.Hour

var metas = sync.OnceValue(func() map[string]check.Meta {
	return map[string]check.Meta{
		IDCertExpired: {
			ID: IDCertExpired, Family: Family, Severity: finding.High,
			Title: check.Text{
				EN: "TLS certificate expired",
				VI: "Chứng thư số TLS đã hết hạn",
			},
			Description: check.Text{
				EN: "The certificate the server presents is past its expiry date, or not valid yet. Browsers and mail clients refuse the connection or warn, and users learn to click through warnings.",
				VI: "Chứng thư số mà máy chủ đưa ra đã quá ngày hết hạn hoặc chưa đến ngày có hiệu lực. Trình duyệt và phần mềm thư điện tử sẽ từ chối kết nối hoặc cảnh báo, khiến người dùng quen với việc bỏ qua cảnh báo.",
			},
			Remediation: check.Text{
				EN: "Renew the certificate and install it with its full intermediate chain; automate renewal (for example with ACME) and monitor expiry dates.",
				VI: "Gia hạn chứng thư số và cài đặt kèm đầy đủ chuỗi chứng thư trung gian; tự động hóa việc gia hạn (ví dụ bằng ACME) và theo dõi ngày hết hạn.",
			},
			References: []string{"CWE-298", "RFC 5280 section 4.1.2.5", "NIST SP 800-52 Rev. 2"},
		},
		IDCertExpiring: {
			ID: IDCertExpiring, Family: Family, Severity: finding.Medium,
			Title: check.Text{
				EN: "TLS certificate expires within 21 days",
				VI: "Chứng thư số TLS sắp hết hạn (dưới 21 ngày)",
			},
			Description: check.Text{
				EN: "The certificate expires in less than 21 days. Unless it is renewed in time, clients that verify certificates will stop connecting to the service.",
				VI: "Chứng thư số sẽ hết hạn trong vòng chưa đầy 21 ngày. Nếu không được gia hạn kịp thời, các máy khách có kiểm tra chứng thư sẽ không kết nối được tới dịch vụ.",
			},
			Remediation: check.Text{
				EN: "Renew and deploy the certificate now, and automate renewal so that it happens at least 30 days before expiry.",
				VI: "Gia hạn và triển khai chứng thư số ngay, đồng thời tự động hóa để việc gia hạn diễn ra trước ngày hết hạn ít nhất 30 ngày.",
			},
			References: []string{"CWE-298", "RFC 5280 section 4.1.2.5"},
		},
		IDCertSelfSigned: {
			ID: IDCertSelfSigned, Family: Family, Severity: finding.Medium,
			Title: check.Text{
				EN: "Self-signed TLS certificate",
				VI: "Chứng thư số TLS tự ký",
			},
			Description: check.Text{
				EN: "The server presents a certificate signed with its own key that no trusted authority vouches for. Clients cannot tell it from an attacker's certificate, and users are trained to accept warnings.",
				VI: "Máy chủ đưa ra chứng thư số do chính khóa của nó ký, không được tổ chức chứng thực tin cậy nào bảo đảm. Máy khách không thể phân biệt nó với chứng thư của kẻ tấn công, và người dùng bị tập thói quen chấp nhận cảnh báo.",
			},
			Remediation: check.Text{
				EN: "Replace it with a certificate issued by a trusted certificate authority: a public CA, or for internal services the government CA whose root is distributed to clients.",
				VI: "Thay bằng chứng thư số do tổ chức chứng thực tin cậy cấp: CA công cộng, hoặc đối với dịch vụ nội bộ là CA của Chính phủ có chứng thư gốc đã được phân phối tới máy khách.",
			},
			References: []string{"CWE-295", "RFC 5280 section 6"},
		},
		IDCertUntrusted: {
			ID: IDCertUntrusted, Family: Family, Severity: finding.Medium,
			Title: check.Text{
				EN: "TLS certificate chain is not trusted",
				VI: "Chuỗi chứng thư số TLS không được tin cậy",
			},
			Description: check.Text{
				EN: "The certificate chain does not verify against the trusted roots: the issuer is unknown, an intermediate certificate is missing or expired, or a signature uses an algorithm clients reject (SHA-1, MD5).",
				VI: "Chuỗi chứng thư số không xác thực được với các chứng thư gốc tin cậy: tổ chức cấp không xác định, chứng thư trung gian bị thiếu hoặc đã hết hạn, hoặc chữ ký dùng thuật toán mà máy khách từ chối (SHA-1, MD5).",
			},
			Remediation: check.Text{
				EN: "Use a certificate from a trusted CA and configure the server to send the full chain: its own certificate first, then the intermediates, without the root.",
				VI: "Sử dụng chứng thư số của CA tin cậy và cấu hình máy chủ gửi đầy đủ chuỗi: chứng thư của máy chủ trước, sau đó là các chứng thư trung gian, không kèm chứng thư gốc.",
			},
			References: []string{"CWE-295", "RFC 5280 section 6", "RFC 5246 section 7.4.2", "RFC 8446 section 4.4.2"},
		},
		IDHostnameMismatch: {
			ID: IDHostnameMismatch, Family: Family, Severity: finding.Medium,
			Title: check.Text{
				EN: "TLS certificate does not match the host name",
				VI: "Chứng thư số TLS không khớp với tên máy chủ",
			},
			Description: check.Text{
				EN: "The certificate's subject alternative names do not cover the name clients use for this service, so clients that check names reject the connection.",
				VI: "Trường tên thay thế (SAN) của chứng thư số không bao gồm tên mà máy khách dùng để truy cập dịch vụ này, vì vậy các máy khách có kiểm tra tên sẽ từ chối kết nối.",
			},
			Remediation: check.Text{
				EN: "Issue a certificate whose subject alternative names list every name the service answers to, or serve the right certificate for each name using SNI.",
				VI: "Cấp chứng thư số có trường tên thay thế (SAN) liệt kê mọi tên mà dịch vụ sử dụng, hoặc dùng SNI để phục vụ đúng chứng thư cho từng tên.",
			},
			References: []string{"CWE-297", "RFC 6125", "RFC 2818 section 3.1"},
		},
		IDLegacyProtocol: {
			ID: IDLegacyProtocol, Family: Family, Severity: finding.High,
			Title: check.Text{
				EN: "Obsolete SSL/TLS protocol version accepted",
				VI: "Máy chủ chấp nhận phiên bản giao thức SSL/TLS lỗi thời",
			},
			Description: check.Text{
				EN: "The server accepts SSLv3, TLS 1.0 or TLS 1.1. SSLv3 is broken (POODLE) and prohibited by RFC 7568; TLS 1.0 and 1.1 are deprecated by RFC 8996 and lack modern cipher suites.",
				VI: "Máy chủ chấp nhận SSLv3, TLS 1.0 hoặc TLS 1.1. SSLv3 đã bị phá vỡ (POODLE) và bị RFC 7568 cấm sử dụng; TLS 1.0 và 1.1 đã bị RFC 8996 loại bỏ và không hỗ trợ các bộ mã hóa hiện đại.",
			},
			Remediation: check.Text{
				EN: "Disable SSLv3, TLS 1.0 and TLS 1.1 and allow only TLS 1.2 and TLS 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3; Apache: SSLProtocol -all +TLSv1.2 +TLSv1.3; IIS: disable the old protocols in the SCHANNEL registry keys).",
				VI: "Tắt SSLv3, TLS 1.0 và TLS 1.1, chỉ cho phép TLS 1.2 và TLS 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3; Apache: SSLProtocol -all +TLSv1.2 +TLSv1.3; IIS: tắt các giao thức cũ trong khóa registry SCHANNEL).",
			},
			References: []string{"CWE-327", "CWE-757", "RFC 8996", "RFC 7568", "CVE-2014-3566", "NIST SP 800-52 Rev. 2"},
		},
		IDWeakCipher: {
			ID: IDWeakCipher, Family: Family, Severity: finding.High,
			Title: check.Text{
				EN: "Weak TLS cipher suite accepted",
				VI: "Máy chủ chấp nhận bộ mã hóa TLS yếu",
			},
			Description: check.Text{
				EN: "The server accepts a cipher suite with RC4, 3DES or DES, no encryption (NULL), export-grade keys, or no server authentication (anonymous). Such suites let an attacker decrypt traffic or sit in the middle.",
				VI: "Máy chủ chấp nhận bộ mã hóa dùng RC4, 3DES hoặc DES, không mã hóa (NULL), khóa cấp xuất khẩu (EXPORT) hoặc không xác thực máy chủ (ẩn danh). Các bộ mã hóa này cho phép kẻ tấn công giải mã lưu lượng hoặc tấn công xen giữa.",
			},
			Remediation: check.Text{
				EN: "For TLS 1.2 allow only AEAD suites with forward secrecy (ECDHE with AES-GCM or ChaCha20-Poly1305), keep the TLS 1.3 defaults, and remove RC4, 3DES, DES, NULL, EXPORT and anonymous (aNULL) suites (OpenSSL: append :!RC4:!3DES:!DES:!eNULL:!aNULL:!EXPORT to the cipher list).",
				VI: "Với TLS 1.2 chỉ cho phép các bộ mã hóa AEAD có tính bí mật chuyển tiếp (ECDHE với AES-GCM hoặc ChaCha20-Poly1305), giữ các bộ mặc định của TLS 1.3, và loại bỏ các bộ RC4, 3DES, DES, NULL, EXPORT và ẩn danh (aNULL) (OpenSSL: thêm :!RC4:!3DES:!DES:!eNULL:!aNULL:!EXPORT vào danh sách bộ mã hóa).",
			},
			References: []string{"CWE-327", "RFC 7465", "CVE-2016-2183", "CVE-2015-0204", "CVE-2015-4000", "NIST SP 800-52 Rev. 2"},
		},
		IDWeakKey: {
			ID: IDWeakKey, Family: Family, Severity: finding.Medium,
			Title: check.Text{
				EN: "Weak key or signature in the TLS certificate chain",
				VI: "Khóa hoặc chữ ký yếu trong chuỗi chứng thư số TLS",
			},
			Description: check.Text{
				EN: "A certificate the server sends has an RSA or DSA key shorter than 2048 bits (or an elliptic-curve key under 224 bits), or a certificate other than a root is signed with SHA-1 or MD5, whose collisions allow forged certificates.",
				VI: "Một chứng thư số máy chủ gửi có khóa RSA hoặc DSA ngắn hơn 2048 bit (hoặc khóa đường cong elliptic dưới 224 bit), hoặc một chứng thư không phải chứng thư gốc được ký bằng SHA-1 hay MD5, vốn có thể bị tạo va chạm để giả mạo chứng thư.",
			},
			Remediation: check.Text{
				EN: "Reissue the certificate with an RSA key of at least 2048 bits (3072 recommended) or an ECDSA P-256 key, signed with SHA-256 or stronger, and replace intermediates signed with SHA-1.",
				VI: "Cấp lại chứng thư số với khóa RSA tối thiểu 2048 bit (khuyến nghị 3072 bit) hoặc khóa ECDSA P-256, ký bằng SHA-256 trở lên, và thay các chứng thư trung gian được ký bằng SHA-1.",
			},
			References: []string{"CWE-326", "CWE-328", "NIST SP 800-131A Rev. 2", "CA/Browser Forum Baseline Requirements section 6.1.5", "RFC 6194"},
		},
	}
})
