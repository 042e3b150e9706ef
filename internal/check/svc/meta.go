package svc

import (
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

func meta(id string, sev finding.Severity, titleEN, titleVI, descEN, descVI, fixEN, fixVI string, refs ...string) check.Meta {
	return check.Meta{ID: id, Family: Family, Severity: sev,
		Title:       check.Text{EN: titleEN, VI: titleVI},
		Description: check.Text{EN: descEN, VI: descVI},
		Remediation: check.Text{EN: fixEN, VI: fixVI},
		References:  refs}
}

var metaRedis = meta("svc.redis-unauthenticated", finding.Critical,
	"Redis without authentication", "Redis không yêu cầu xác thực",
	"The Redis server answers commands from the internet without a password. Anyone can read and change the data, and Redis's CONFIG and MODULE commands are a well-known path to running code on the host.",
	"Máy chủ Redis trả lời lệnh từ Internet mà không cần mật khẩu. Bất kỳ ai cũng có thể đọc và sửa dữ liệu; các lệnh CONFIG và MODULE của Redis là con đường quen thuộc để chạy mã trên máy chủ.",
	"Bind Redis to localhost or a private network (bind 127.0.0.1, protected-mode yes), block port 6379 at the firewall, and require authentication with ACL users or requirepass.",
	"Chỉ cho Redis lắng nghe trên localhost hoặc mạng nội bộ (bind 127.0.0.1, protected-mode yes), chặn cổng 6379 tại tường lửa, và bắt buộc xác thực bằng người dùng ACL hoặc requirepass.",
	"CWE-306")

var metaElastic = meta("svc.elasticsearch-unauthenticated", finding.High,
	"Elasticsearch without authentication", "Elasticsearch không yêu cầu xác thực",
	"The Elasticsearch cluster answers HTTP requests without credentials: its indices can be read, changed or deleted by anyone. Exposed clusters are a leading cause of mass data leaks.",
	"Cụm Elasticsearch trả lời yêu cầu HTTP mà không cần thông tin xác thực: bất kỳ ai cũng có thể đọc, sửa hoặc xóa các chỉ mục. Cụm bị lộ là nguyên nhân hàng đầu của các vụ lộ lọt dữ liệu lớn.",
	"Enable security (xpack.security.enabled: true) with TLS and passwords, and keep ports 9200 and 9300 off the internet.",
	"Bật tính năng bảo mật (xpack.security.enabled: true) với TLS và mật khẩu, và không để cổng 9200, 9300 truy cập được từ Internet.",
	"CWE-306")

var metaMongo = meta("svc.mongodb-unauthenticated", finding.High,
	"MongoDB without authentication", "MongoDB không yêu cầu xác thực",
	"The MongoDB server lists its databases to an unauthenticated client from the internet: every collection can be read or wiped, as in the ransom campaigns against open MongoDB servers.",
	"Máy chủ MongoDB liệt kê cơ sở dữ liệu cho máy khách chưa xác thực từ Internet: mọi collection đều có thể bị đọc hoặc xóa, như trong các chiến dịch tống tiền nhắm vào máy chủ MongoDB mở.",
	"Enable access control (security.authorization: enabled), create users with least privilege, bind to private addresses (net.bindIp) and block port 27017 at the firewall.",
	"Bật kiểm soát truy cập (security.authorization: enabled), tạo người dùng với quyền tối thiểu, chỉ lắng nghe trên địa chỉ nội bộ (net.bindIp) và chặn cổng 27017 tại tường lửa.",
	"CWE-306")

var metaMemcached = meta("svc.memcached-exposed", finding.Medium,
	"memcached reachable from the internet", "memcached truy cập được từ Internet",
	"memcached has no authentication in its text protocol: anyone can read and flush cached data (often sessions), and an exposed UDP port is abused for huge reflection attacks.",
	"Giao thức văn bản của memcached không có xác thực: bất kỳ ai cũng có thể đọc và xóa dữ liệu đệm (thường là phiên đăng nhập), và cổng UDP bị lộ bị lợi dụng cho các cuộc tấn công phản xạ lưu lượng rất lớn.",
	"Listen on localhost or a private network only (-l 127.0.0.1), disable UDP (-U 0), and block port 11211 at the firewall.",
	"Chỉ lắng nghe trên localhost hoặc mạng nội bộ (-l 127.0.0.1), tắt UDP (-U 0) và chặn cổng 11211 tại tường lửa.",
	"CWE-306", "CVE-2018-1000115")

var metaDatabase = meta("svc.database-exposed", finding.Medium,
	"Database server reachable from the internet", "Máy chủ cơ sở dữ liệu truy cập được từ Internet",
	"A MySQL, PostgreSQL or Microsoft SQL Server listener answers from the internet. Even with passwords it invites brute force and exploitation of the server's own vulnerabilities; databases belong behind the application.",
	"Cổng MySQL, PostgreSQL hoặc Microsoft SQL Server trả lời từ Internet. Dù có mật khẩu, điều này vẫn tạo điều kiện dò mật khẩu và khai thác lỗ hổng của chính máy chủ; cơ sở dữ liệu cần nằm sau ứng dụng.",
	"Allow the database port only from the application servers and administrators' VPN; bind the server to private addresses.",
	"Chỉ cho phép cổng cơ sở dữ liệu từ máy chủ ứng dụng và VPN của quản trị viên; cho máy chủ lắng nghe trên địa chỉ nội bộ.",
	"CWE-668")

var metaFTP = meta("svc.ftp-anonymous", finding.Medium,
	"FTP server allows anonymous login", "Máy chủ FTP cho phép đăng nhập ẩn danh",
	"The FTP server accepts the user anonymous with any password. Files it serves are public, and a writable directory becomes a drop box for malware and illegal content.",
	"Máy chủ FTP chấp nhận người dùng anonymous với mật khẩu bất kỳ. Các tệp được chia sẻ trở nên công khai, và thư mục ghi được sẽ bị dùng làm nơi chứa mã độc và nội dung bất hợp pháp.",
	"Disable anonymous access (vsftpd: anonymous_enable=NO), or serve public files over HTTPS instead; prefer SFTP for transfers that need accounts.",
	"Tắt truy cập ẩn danh (vsftpd: anonymous_enable=NO), hoặc cung cấp tệp công khai qua HTTPS; ưu tiên SFTP cho việc truyền tệp cần tài khoản.",
	"CWE-284")

var metaTelnet = meta("svc.telnet-exposed", finding.High,
	"Telnet reachable from the internet", "Dịch vụ Telnet truy cập được từ Internet",
	"Telnet sends passwords and sessions in clear text and is a favourite target of botnets that try default credentials on routers and cameras.",
	"Telnet truyền mật khẩu và phiên làm việc dưới dạng văn bản rõ, và là mục tiêu ưa thích của các botnet thử mật khẩu mặc định trên router và camera.",
	"Turn Telnet off and manage the device over SSH from a management network only.",
	"Tắt Telnet và quản trị thiết bị qua SSH, chỉ từ mạng quản trị.",
	"CWE-319")

var metaRDP = meta("svc.rdp-exposed", finding.High,
	"Remote Desktop reachable from the internet", "Remote Desktop truy cập được từ Internet",
	"Windows Remote Desktop answers from the internet. Exposed RDP is the most common entry point of ransomware operators, through password guessing and vulnerabilities such as BlueKeep.",
	"Remote Desktop của Windows trả lời từ Internet. RDP bị lộ là cửa ngõ phổ biến nhất của các nhóm mã độc tống tiền, qua dò mật khẩu và các lỗ hổng như BlueKeep.",
	"Put RDP behind a VPN or a Remote Desktop Gateway with multi-factor authentication, require Network Level Authentication, and block port 3389 at the firewall.",
	"Đặt RDP sau VPN hoặc Remote Desktop Gateway có xác thực đa yếu tố, bắt buộc Network Level Authentication và chặn cổng 3389 tại tường lửa.",
	"CWE-668", "CVE-2019-0708")

var metaSMB = meta("svc.smb-exposed", finding.High,
	"SMB file sharing reachable from the internet", "Chia sẻ tệp SMB truy cập được từ Internet",
	"Windows file sharing (SMB) answers from the internet. SMB was never meant to cross the internet; worms such as WannaCry spread through it (EternalBlue).",
	"Dịch vụ chia sẻ tệp Windows (SMB) trả lời từ Internet. SMB không được thiết kế để đi qua Internet; các sâu mã độc như WannaCry đã lây lan qua nó (EternalBlue).",
	"Block ports 445 and 139 at the perimeter; reach file shares over a VPN.",
	"Chặn cổng 445 và 139 tại biên mạng; truy cập thư mục chia sẻ qua VPN.",
	"CWE-668", "CVE-2017-0144")

var metaVNC = meta("svc.vnc-exposed", finding.High,
	"VNC remote screen reachable from the internet", "VNC điều khiển màn hình từ xa truy cập được từ Internet",
	"A VNC server answers from the internet. VNC passwords are short and often weak; a server offering the \"None\" security type gives anyone the screen and keyboard.",
	"Máy chủ VNC trả lời từ Internet. Mật khẩu VNC ngắn và thường yếu; máy chủ cho phép kiểu bảo mật \"None\" trao màn hình và bàn phím cho bất kỳ ai.",
	"Remove VNC from the internet: reach it through SSH tunnels or a VPN, and require a strong password.",
	"Không để VNC truy cập từ Internet: dùng qua đường hầm SSH hoặc VPN, và đặt mật khẩu mạnh.",
	"CWE-306")

var metaDocker = meta("svc.docker-api-exposed", finding.Critical,
	"Docker Engine API open to the internet", "API Docker Engine mở ra Internet",
	"The Docker Engine API answers without TLS client authentication. Whoever reaches it can start a privileged container and take over the host; exposed Docker APIs are mass-exploited for cryptomining.",
	"API Docker Engine trả lời mà không cần xác thực máy khách bằng TLS. Ai truy cập được đều có thể chạy container đặc quyền và chiếm quyền máy chủ; API Docker bị lộ đang bị khai thác hàng loạt để đào tiền ảo.",
	"Do not expose the Docker socket over TCP; if remote access is needed, use TLS with client certificates (tlsverify) on port 2376 from a management network only.",
	"Không mở Docker socket qua TCP; nếu cần truy cập từ xa, dùng TLS với chứng thư máy khách (tlsverify) trên cổng 2376 và chỉ từ mạng quản trị.",
	"CWE-306")

var metaEOL = meta("svc.end-of-life", finding.High,
	"Software past its end of life", "Phần mềm đã hết hạn hỗ trợ",
	"The service runs a product version whose vendor no longer ships security fixes. Every vulnerability found from now on stays open.",
	"Dịch vụ đang chạy phiên bản sản phẩm mà nhà cung cấp đã ngừng phát hành bản vá bảo mật. Mọi lỗ hổng phát hiện từ nay về sau sẽ không được khắc phục.",
	"Upgrade to a supported release of the product (see the vendor's lifecycle page), or replace it.",
	"Nâng cấp lên phiên bản còn được hỗ trợ của sản phẩm (xem trang vòng đời của nhà cung cấp), hoặc thay thế sản phẩm.",
	"CWE-1104")
