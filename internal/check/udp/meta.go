package udp

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

var metaSNMP = meta("svc.snmp-default-community", finding.High,
	"SNMP agent answers a default community", "Tác tử SNMP trả lời chuỗi cộng đồng mặc định",
	"The SNMP agent answers requests in the community \"public\" or \"private\" (SNMP v1/v2c), which travel in clear text and are the first ones any attacker tries. Anyone on the internet can read the device's configuration, interfaces, routes, ARP table and often user names; SNMP also amplifies denial-of-service attacks. \"private\" is the conventional read-write community: when it is accepted, write access (changing the configuration) is likely and the finding is critical. Rampart never sends a SET to confirm it.",
	"Tác tử SNMP trả lời các yêu cầu với chuỗi cộng đồng \"public\" hoặc \"private\" (SNMP v1/v2c), vốn được truyền dưới dạng văn bản rõ và là những chuỗi mà kẻ tấn công thử đầu tiên. Bất kỳ ai trên Internet đều có thể đọc cấu hình, giao diện mạng, bảng định tuyến, bảng ARP và thường cả tên người dùng của thiết bị; SNMP còn bị lợi dụng để khuếch đại tấn công từ chối dịch vụ. \"private\" là chuỗi đọc-ghi theo quy ước: khi chuỗi này được chấp nhận, nhiều khả năng có quyền ghi (thay đổi cấu hình) và phát hiện ở mức nghiêm trọng. Rampart không bao giờ gửi lệnh SET để kiểm chứng.",
	"Turn SNMP off where it is not needed. Otherwise use SNMPv3 with authentication and privacy (authPriv), remove the public and private communities (Net-SNMP: no rocommunity/rwcommunity public or private; network devices: no snmp-server community public), allow SNMP only from the monitoring servers (an ACL on the agent and a firewall on UDP 161), and never grant write access over v1/v2c.",
	"Tắt SNMP nếu không cần dùng. Nếu cần, dùng SNMPv3 có xác thực và mã hóa (authPriv), xóa các chuỗi cộng đồng public và private (Net-SNMP: bỏ rocommunity/rwcommunity public hoặc private; thiết bị mạng: no snmp-server community public), chỉ cho phép SNMP từ các máy chủ giám sát (ACL trên tác tử và tường lửa cho cổng UDP 161), và không bao giờ cấp quyền ghi qua v1/v2c.",
	"CVE-1999-0517", "CVE-1999-0516", "CWE-1392", "https://www.cisa.gov/news-events/alerts/2017/06/05/reducing-risk-snmp-abuse")

var metaNTP = meta("svc.ntp-amplifier", finding.High,
	"NTP server usable for amplification (monlist or mode 6)", "Máy chủ NTP có thể bị lợi dụng để khuếch đại tấn công (monlist hoặc mode 6)",
	"The NTP server answers management queries from anyone: the mode 7 monlist command (the list of its last 600 clients, up to hundreds of times the size of the request, the query of the 2014 NTP amplification attacks, CVE-2013-5211) or mode 6 control queries such as READVAR (several times the request, and the exact software version). An attacker who spoofs a victim's address turns the server into a denial-of-service amplifier. The evidence gives the measured amplification factor: reply bytes per request byte.",
	"Máy chủ NTP trả lời các truy vấn quản trị từ bất kỳ ai: lệnh monlist của mode 7 (danh sách 600 máy khách gần nhất, có thể lớn gấp hàng trăm lần yêu cầu, chính là truy vấn của các cuộc tấn công khuếch đại NTP năm 2014, CVE-2013-5211) hoặc các truy vấn điều khiển mode 6 như READVAR (lớn gấp vài lần yêu cầu và lộ chính xác phiên bản phần mềm). Kẻ tấn công giả mạo địa chỉ của nạn nhân sẽ biến máy chủ thành bộ khuếch đại tấn công từ chối dịch vụ. Bằng chứng ghi hệ số khuếch đại đo được: số byte trả lời trên mỗi byte yêu cầu.",
	"Upgrade ntpd (4.2.7p26 and later have no monlist) or move to chrony or ntpsec; in ntp.conf restrict queries from others: \"restrict default kod limited nomodify notrap nopeer noquery\" (and the same with -6), keeping query rights for localhost only; \"disable monitor\" on old versions. Block UDP 123 from the internet on servers that do not serve time to the public.",
	"Nâng cấp ntpd (từ 4.2.7p26 không còn monlist) hoặc chuyển sang chrony hay ntpsec; trong ntp.conf hạn chế truy vấn từ bên ngoài: \"restrict default kod limited nomodify notrap nopeer noquery\" (và tương tự với -6), chỉ giữ quyền truy vấn cho localhost; dùng \"disable monitor\" trên các phiên bản cũ. Chặn cổng UDP 123 từ Internet với các máy chủ không cung cấp thời gian cho công chúng.",
	"CVE-2013-5211", "CWE-406", "https://www.cisa.gov/news-events/alerts/2014/01/13/ntp-amplification-attacks-using-cve-2013-5211")

var metaSSDP = meta("svc.ssdp-exposed", finding.Medium,
	"SSDP (UPnP discovery) answers from the internet", "SSDP (khám phá UPnP) trả lời từ Internet",
	"The device answers SSDP M-SEARCH requests sent to it from the internet. SSDP belongs on the local network only: exposed, it discloses the device's model and UPnP description URL and is one of the largest sources of reflected denial-of-service traffic (each search brings back one reply per service). The evidence gives the replies and the amplification factor.",
	"Thiết bị trả lời các yêu cầu SSDP M-SEARCH gửi tới từ Internet. SSDP chỉ dành cho mạng nội bộ: khi bị lộ ra ngoài, nó tiết lộ kiểu thiết bị và địa chỉ mô tả UPnP, đồng thời là một trong những nguồn lưu lượng tấn công từ chối dịch vụ phản xạ lớn nhất (mỗi yêu cầu tìm kiếm nhận về một phản hồi cho mỗi dịch vụ). Bằng chứng ghi các phản hồi và hệ số khuếch đại.",
	"Turn UPnP off on the device's WAN side (on home and office routers: disable UPnP, or at least restrict it to the LAN interface), update its firmware, and block UDP 1900 from the internet at the perimeter.",
	"Tắt UPnP ở phía WAN của thiết bị (với bộ định tuyến gia đình và văn phòng: tắt UPnP, hoặc ít nhất chỉ cho phép trên giao diện LAN), cập nhật firmware, và chặn cổng UDP 1900 từ Internet tại biên mạng.",
	"CWE-406", "https://www.cisa.gov/news-events/alerts/2014/01/17/udp-based-amplification-attacks")

var metaMemcached = meta("svc.memcached-udp", finding.High,
	"memcached answers over UDP (amplification)", "memcached trả lời qua UDP (khuếch đại tấn công)",
	"memcached answers commands over UDP from the internet. This is the amplifier of the record 2018 denial-of-service attacks (up to 50,000 times the request); the cache's contents can also be read. The evidence gives the version and the amplification factor of a \"stats\" request.",
	"memcached trả lời lệnh qua UDP từ Internet. Đây là bộ khuếch đại của các cuộc tấn công từ chối dịch vụ kỷ lục năm 2018 (tới 50.000 lần kích thước yêu cầu); nội dung bộ nhớ đệm cũng có thể bị đọc. Bằng chứng ghi phiên bản và hệ số khuếch đại của yêu cầu \"stats\".",
	"Turn UDP off (memcached -U 0, the default since 1.5.6), listen on private addresses only (-l 127.0.0.1 or the application network), and block ports 11211 TCP and UDP at the perimeter.",
	"Tắt UDP (memcached -U 0, mặc định từ phiên bản 1.5.6), chỉ lắng nghe trên địa chỉ nội bộ (-l 127.0.0.1 hoặc mạng ứng dụng), và chặn cổng 11211 cả TCP lẫn UDP tại biên mạng.",
	"CVE-2018-1000115", "CWE-406", "https://www.cisa.gov/news-events/alerts/2018/02/27/memcached-ddos-exploitation")

var metaIPMI = meta("svc.ipmi-exposed", finding.High,
	"IPMI management controller (BMC) reachable from the internet", "Bộ điều khiển quản trị IPMI (BMC) truy cập được từ Internet",
	"A server's baseboard management controller answers IPMI over UDP 623 from the internet. The BMC controls power, console and firmware below the operating system; IPMI 2.0 lets anyone fetch a crackable password hash of any user name (RAKP), and many BMCs accept cipher suite 0, which logs in with any password. Critical when cipher zero or anonymous login is accepted.",
	"Bộ điều khiển quản trị bo mạch chủ (BMC) của máy chủ trả lời IPMI qua cổng UDP 623 từ Internet. BMC điều khiển nguồn điện, màn hình điều khiển và firmware ở tầng thấp hơn hệ điều hành; IPMI 2.0 cho phép bất kỳ ai lấy được giá trị băm mật khẩu có thể bẻ khóa của mọi tên người dùng (RAKP), và nhiều BMC chấp nhận bộ mã hóa 0 (cipher zero), cho phép đăng nhập với mật khẩu bất kỳ. Ở mức nghiêm trọng khi cipher zero hoặc đăng nhập ẩn danh được chấp nhận.",
	"Put BMCs on a dedicated management network or VPN and block UDP 623 from everywhere else; disable cipher suite 0 and anonymous or null users (ipmitool lan set <ch> cipher_privs, vendor settings), use long unique passwords, and update the BMC firmware.",
	"Đặt BMC trong mạng quản trị riêng hoặc sau VPN và chặn cổng UDP 623 từ mọi nơi khác; tắt bộ mã hóa 0 và người dùng ẩn danh hoặc rỗng (ipmitool lan set <ch> cipher_privs, cấu hình của nhà sản xuất), dùng mật khẩu dài và riêng biệt, và cập nhật firmware BMC.",
	"CVE-2013-4786", "CVE-2013-4782", "CWE-287", "https://www.cisa.gov/news-events/alerts/2013/07/26/risks-using-intelligent-platform-management-interface-ipmi")

var metaTFTP = meta("svc.tftp-exposed", finding.Medium,
	"TFTP server reachable from the internet", "Máy chủ TFTP truy cập được từ Internet",
	"A TFTP server answers read requests from the internet. TFTP has no authentication: anyone who guesses a file name can download it (router and phone configurations, boot images with credentials), and a server that allows writes accepts anyone's files. TFTP also reflects denial-of-service traffic.",
	"Máy chủ TFTP trả lời các yêu cầu đọc từ Internet. TFTP không có xác thực: ai đoán được tên tệp đều có thể tải về (cấu hình bộ định tuyến, điện thoại IP, ảnh khởi động chứa thông tin đăng nhập), và máy chủ cho phép ghi sẽ nhận tệp của bất kỳ ai. TFTP cũng bị lợi dụng để phản xạ lưu lượng tấn công từ chối dịch vụ.",
	"Serve TFTP only on the provisioning network (bind tftpd to an internal address, e.g. tftpd-hpa TFTP_ADDRESS), block UDP 69 at the perimeter, keep the served directory free of secrets and read-only.",
	"Chỉ cung cấp TFTP trong mạng cấp phát thiết bị (gắn tftpd vào địa chỉ nội bộ, ví dụ TFTP_ADDRESS của tftpd-hpa), chặn cổng UDP 69 tại biên mạng, không để dữ liệu bí mật trong thư mục phục vụ và chỉ cho phép đọc.",
	"CWE-306", "CWE-200")
