package catalog

import "github.com/rampart-cert/rampart/internal/finding"

// sensorKinds are the kinds the sensors at members' gateways report
// (internal/sensor/ingest), one per detection, beside the older sensor.*
// kinds in SourceKinds. Each call returns fresh values.
func sensorKinds() []Kind {
	sen := func(id string, sev finding.Severity, title, desc, fix Text, refs ...string) Kind {
		return Kind{ID: id, Family: "sensor", Source: finding.SourceSensor, Severity: sev,
			Title: title, Description: desc, Remediation: fix, References: refs}
	}
	return []Kind{
		sen("sensor.indicator-hit", finding.High,
			Text{EN: "Internal host talked to a listed address or name", VI: "Máy nội bộ liên lạc với địa chỉ hoặc tên miền trong danh sách đen"},
			Text{
				EN: "The organization's sensor saw a host of its network exchange traffic with an address or name that the threat-intelligence hub lists as malicious (command-and-control, malware, phishing, attackers). The evidence names the internal host, the listed indicator, how often and the first and last time.",
				VI: "Cảm biến của cơ quan, tổ chức ghi nhận một máy trong mạng nội bộ trao đổi lưu lượng với địa chỉ hoặc tên miền mà trung tâm tình báo mối đe dọa xếp vào loại độc hại (máy chủ điều khiển, mã độc, lừa đảo, nguồn tấn công). Phần bằng chứng nêu máy nội bộ, chỉ dấu trong danh sách, số lần cùng thời điểm đầu và cuối.",
			},
			Text{
				EN: "Find the internal host, check it for malware and ask its user what they opened; block the listed indicator at the gateway. The finding closes by itself when the sensor no longer sees the traffic for a while.",
				VI: "Xác định máy nội bộ, kiểm tra mã độc và hỏi người dùng đã mở gì; chặn chỉ dấu trong danh sách tại cổng mạng. Phát hiện sẽ tự đóng khi cảm biến không còn ghi nhận lưu lượng này trong một khoảng thời gian.",
			}),
		sen("sensor.port-scan", finding.Low,
			Text{EN: "Port scan against the organization", VI: "Dò quét cổng nhằm vào cơ quan, tổ chức"},
			Text{
				EN: "One source address touched many ports or many hosts of the organization within a short time: someone is mapping what the network exposes, often the first step of an attack.",
				VI: "Một địa chỉ nguồn đã thử kết nối tới nhiều cổng hoặc nhiều máy của cơ quan, tổ chức trong thời gian ngắn: có đối tượng đang dò tìm các dịch vụ mạng để lộ ra ngoài, thường là bước đầu của một cuộc tấn công.",
			},
			Text{
				EN: "Make sure only the services that must be public answer from the internet; block the source at the gateway if it goes on. Several organizations seeing the same source make it a national decision.",
				VI: "Bảo đảm chỉ những dịch vụ cần công khai mới trả lời từ Internet; chặn địa chỉ nguồn tại cổng mạng nếu việc dò quét tiếp diễn. Khi nhiều cơ quan, tổ chức cùng ghi nhận một nguồn, nguồn đó sẽ thành quyết định chặn cấp quốc gia.",
			}),
		sen("sensor.ssh-bruteforce", finding.Medium,
			Text{EN: "SSH password guessing", VI: "Dò mật khẩu SSH"},
			Text{
				EN: "One source made many failed SSH logins against a host of the organization: it is guessing passwords. A weak or reused password, or a root login allowed with a password, lets it in.",
				VI: "Một nguồn đã đăng nhập SSH thất bại nhiều lần vào một máy của cơ quan, tổ chức: đối tượng đang dò mật khẩu. Mật khẩu yếu, dùng lại, hoặc cho phép tài khoản root đăng nhập bằng mật khẩu sẽ giúp đối tượng vào được.",
			},
			Text{
				EN: "Allow SSH with keys only, disable root login, restrict SSH to known addresses or a VPN, and look in the host's logs for a successful login from the source.",
				VI: "Chỉ cho phép đăng nhập SSH bằng khóa, tắt đăng nhập root, giới hạn SSH cho các địa chỉ đã biết hoặc qua VPN, và kiểm tra nhật ký của máy xem nguồn này đã đăng nhập thành công hay chưa.",
			}),
		sen("sensor.web-bruteforce", finding.Medium,
			Text{EN: "Web login password guessing", VI: "Dò mật khẩu đăng nhập trang web"},
			Text{
				EN: "One source made many failed logins on a web application of the organization (a login form, an admin page or HTTP authentication): it is guessing passwords or trying leaked ones.",
				VI: "Một nguồn đã đăng nhập thất bại nhiều lần vào ứng dụng web của cơ quan, tổ chức (biểu mẫu đăng nhập, trang quản trị hoặc xác thực HTTP): đối tượng đang dò mật khẩu hoặc thử các mật khẩu bị lộ.",
			},
			Text{
				EN: "Limit login attempts per source, turn on two-factor sign-in for administrators, keep admin pages off the internet, and check the application's logs for a successful login from the source.",
				VI: "Giới hạn số lần đăng nhập theo nguồn, bật xác thực hai yếu tố cho quản trị viên, không để trang quản trị truy cập được từ Internet, và kiểm tra nhật ký ứng dụng xem nguồn này đã đăng nhập thành công hay chưa.",
			}),
		sen("sensor.volume-spike", finding.High,
			Text{EN: "Traffic surge towards a member address", VI: "Lưu lượng tăng đột biến tới một địa chỉ của đơn vị"},
			Text{
				EN: "Traffic towards one address of the organization rose far above its usual level: the onset of a denial-of-service attack, or a service suddenly abused. The evidence has the address, the volume and the main sources.",
				VI: "Lưu lượng tới một địa chỉ của cơ quan, tổ chức tăng vượt xa mức thông thường: dấu hiệu bắt đầu một cuộc tấn công từ chối dịch vụ, hoặc một dịch vụ đột ngột bị lạm dụng. Phần bằng chứng nêu địa chỉ, lưu lượng và các nguồn chính.",
			},
			Text{
				EN: "Tell the upstream provider and the national CERT, apply the provider's filtering or a scrubbing service, and block the main sources at the edge while it lasts.",
				VI: "Thông báo cho nhà cung cấp đường truyền và cơ quan ứng cứu sự cố quốc gia, áp dụng biện pháp lọc của nhà cung cấp hoặc dịch vụ làm sạch lưu lượng, và chặn các nguồn chính tại biên mạng trong thời gian tấn công.",
			}),
		sen("sensor.ids-alert", finding.High,
			Text{EN: "Intrusion detection alert", VI: "Cảnh báo của hệ thống phát hiện xâm nhập"},
			Text{
				EN: "The organization's intrusion detection system (Suricata, Zeek) raised a high-severity alert about traffic from this source: an exploit attempt or a known attack pattern. The signature and the counts are in the evidence; it does not show whether the attack succeeded.",
				VI: "Hệ thống phát hiện xâm nhập của cơ quan, tổ chức (Suricata, Zeek) đã đưa ra cảnh báo mức cao về lưu lượng từ nguồn này: thử khai thác lỗ hổng hoặc một kiểu tấn công đã biết. Chữ ký và số lần nằm trong phần bằng chứng; điều này chưa cho biết cuộc tấn công có thành công hay không.",
			},
			Text{
				EN: "Check that the targeted host is patched against what the signature describes, look in its logs for signs of success, and block the source at the gateway if it goes on.",
				VI: "Kiểm tra máy bị nhắm tới đã được vá trước kiểu tấn công mà chữ ký mô tả, tìm trong nhật ký dấu hiệu tấn công thành công, và chặn nguồn tại cổng mạng nếu cuộc tấn công còn tiếp diễn.",
			}),
	}
}
