package catalog

import "github.com/rampart-cert/rampart/internal/finding"

// Builtin returns a new catalog holding the kinds of every source other
// than the scanner (SourceKinds). Checks register theirs into it.
func Builtin() *Catalog {
	c := New()
	if err := RegisterSources(c); err != nil {
		// The kinds below are tested; this is a programming error.
		panic(err)
	}
	return c
}

// RegisterSources registers SourceKinds into c.
func RegisterSources(c *Catalog) error {
	for _, k := range SourceKinds() {
		if err := c.Register(k); err != nil {
			return err
		}
	}
	return nil
}

// SourceKinds returns the built-in kinds that do not come from checks:
// third-party imports, threat intelligence, sensors, protective DNS
// (pdns.*), discovery, monitoring and manual findings. Each call returns
// fresh values.
//
// The severity of a prefix kind is only a default: imports and feeds carry
// their own severity on each finding.
func SourceKinds() []Kind {
	return append([]Kind{
		// Imports: one family per tool, and one for any tool.
		{
			ID: "import.", Family: "import", Source: finding.SourceImport, Severity: finding.Medium,
			Title: Text{EN: "Result imported from a third-party tool", VI: "Kết quả nhập từ công cụ bên ngoài"},
			Description: Text{
				EN: "A scanner outside Rampart reported this result and it was imported as a finding. The tool's own title, severity and evidence are kept with the finding; Rampart has not verified it itself.",
				VI: "Một công cụ quét bên ngoài Rampart đã báo cáo kết quả này và kết quả được nhập thành phát hiện. Tiêu đề, mức độ và bằng chứng gốc của công cụ được giữ kèm theo; Rampart chưa tự kiểm chứng.",
			},
			Remediation: Text{
				EN: "Read the tool's evidence, confirm the problem on the system and fix it as the tool advises. The finding closes when the next import from the same tool over this target no longer reports it.",
				VI: "Đọc bằng chứng của công cụ, xác nhận vấn đề trên hệ thống và khắc phục theo khuyến nghị của công cụ. Phát hiện sẽ được đóng khi lần nhập tiếp theo từ cùng công cụ trên mục tiêu này không còn báo cáo nó.",
			},
		},
		{
			ID: "import.sarif.", Family: "import", Source: finding.SourceImport, Severity: finding.Medium,
			Title: Text{EN: "Result imported from a SARIF report", VI: "Kết quả nhập từ báo cáo SARIF"},
			Description: Text{
				EN: "An analysis tool that writes SARIF 2.1.0 (a static analyser, a dependency or configuration scanner) reported this result. The rule, its message and the location it points to are in the evidence.",
				VI: "Một công cụ phân tích xuất báo cáo theo định dạng SARIF 2.1.0 (phân tích mã nguồn, rà soát thư viện phụ thuộc hoặc cấu hình) đã báo cáo kết quả này. Quy tắc, thông điệp và vị trí liên quan nằm trong phần bằng chứng.",
			},
			Remediation: Text{
				EN: "Open the location named in the evidence, fix the code or configuration as the rule describes, and import the tool's next report to close the finding.",
				VI: "Mở vị trí được nêu trong bằng chứng, sửa mã nguồn hoặc cấu hình theo mô tả của quy tắc, rồi nhập báo cáo tiếp theo của công cụ để đóng phát hiện.",
			},
			References: []string{"https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html"},
		},
		{
			ID: "import.nuclei.", Family: "import", Source: finding.SourceImport, Severity: finding.Medium,
			Title: Text{EN: "Result imported from Nuclei", VI: "Kết quả nhập từ Nuclei"},
			Description: Text{
				EN: "A Nuclei template matched on this target. The template ID, the request that matched and any CVE the template names are in the evidence.",
				VI: "Một mẫu kiểm tra (template) của Nuclei đã khớp trên mục tiêu này. Mã mẫu, yêu cầu đã khớp và mã CVE mà mẫu nêu (nếu có) nằm trong phần bằng chứng.",
			},
			Remediation: Text{
				EN: "Check the matched request against the system, apply the vendor's fix or configuration change for the weakness the template tests, and import the next Nuclei run over this target to close the finding.",
				VI: "Đối chiếu yêu cầu đã khớp với hệ thống, áp dụng bản vá hoặc thay đổi cấu hình của nhà cung cấp cho điểm yếu mà mẫu kiểm tra, rồi nhập kết quả Nuclei lần sau trên mục tiêu này để đóng phát hiện.",
			},
		},
		{
			ID: "import.nmap.", Family: "import", Source: finding.SourceImport, Severity: finding.Low,
			Title: Text{EN: "Result imported from Nmap", VI: "Kết quả nhập từ Nmap"},
			Description: Text{
				EN: "An Nmap script reported this result about the host or one of its ports. The script's name and output are in the evidence.",
				VI: "Một script của Nmap đã báo cáo kết quả này về máy chủ hoặc một cổng của máy chủ. Tên script và kết quả đầu ra nằm trong phần bằng chứng.",
			},
			Remediation: Text{
				EN: "Read the script output, correct the service or its configuration, and import the next Nmap scan of this target to close the finding.",
				VI: "Đọc kết quả của script, điều chỉnh dịch vụ hoặc cấu hình của dịch vụ, rồi nhập kết quả quét Nmap lần sau của mục tiêu này để đóng phát hiện.",
			},
		},
		{
			ID: "import.nmap.open-port", Family: "import", Source: finding.SourceImport, Severity: finding.Info,
			Title: Text{EN: "Open port reported by Nmap", VI: "Cổng mở do Nmap báo cáo"},
			Description: Text{
				EN: "Nmap found this port open and, when service detection ran, named the service and version listening on it. This is an observation, not a weakness by itself.",
				VI: "Nmap phát hiện cổng này đang mở và, nếu có bật nhận diện dịch vụ, đã xác định dịch vụ cùng phiên bản đang chạy trên cổng. Đây là thông tin ghi nhận, tự nó không phải là điểm yếu.",
			},
			Remediation: Text{
				EN: "Make sure the service is meant to be reachable from the internet; if not, close the port or restrict it at the firewall.",
				VI: "Xác nhận dịch vụ này thực sự cần truy cập được từ Internet; nếu không, hãy đóng cổng hoặc giới hạn truy cập tại tường lửa.",
			},
		},

		// Threat intelligence.
		{
			ID: "intel.", Family: "intel", Source: finding.SourceIntel, Severity: finding.High,
			Title: Text{EN: "Asset named by a threat-intelligence feed", VI: "Tài sản xuất hiện trong nguồn tin tình báo về mối đe dọa"},
			Description: Text{
				EN: "A threat-intelligence feed or partner lists an indicator that matches this asset. The feed, the indicator and its context are in the evidence.",
				VI: "Một nguồn tin tình báo về mối đe dọa hoặc đối tác chia sẻ thông tin có chỉ dấu trùng khớp với tài sản này. Tên nguồn, chỉ dấu và ngữ cảnh đi kèm nằm trong phần bằng chứng.",
			},
			Remediation: Text{
				EN: "Investigate the asset for the activity the feed describes. The finding closes by itself when the feed no longer reports the asset for a while.",
				VI: "Điều tra tài sản để tìm hoạt động mà nguồn tin mô tả. Phát hiện sẽ tự đóng khi nguồn tin không còn báo cáo tài sản này trong một khoảng thời gian.",
			},
		},
		{
			ID: "intel.compromised-host", Family: "intel", Source: finding.SourceIntel, Severity: finding.Critical,
			Title: Text{EN: "Host reported as compromised", VI: "Máy chủ được báo cáo là đã bị xâm nhập"},
			Description: Text{
				EN: "A trusted source reports that this host is under an attacker's control: a sinkhole saw it call a botnet's command server, it is a bot (drone) of a known botnet, it serves as a command-and-control server, or it hosts a web shell.",
				VI: "Một nguồn tin tin cậy báo cáo máy chủ này đang bị kẻ tấn công kiểm soát: hệ thống sinkhole ghi nhận máy kết nối tới máy chủ điều khiển của mạng máy tính ma (botnet), máy là một bot của botnet đã biết, máy đang làm máy chủ điều khiển (C2), hoặc máy chứa web shell.",
			},
			Remediation: Text{
				EN: "Treat it as an incident: isolate the host, preserve its logs and memory, find how the attacker got in, rebuild it from a clean source, change every credential it held, and report to the national CERT.",
				VI: "Xử lý như một sự cố: cô lập máy chủ, lưu giữ nhật ký và bộ nhớ, xác định con đường kẻ tấn công xâm nhập, cài đặt lại từ nguồn sạch, đổi mọi thông tin xác thực lưu trên máy và báo cáo cho cơ quan ứng cứu sự cố quốc gia.",
			},
		},
		{
			ID: "intel.malicious-content", Family: "intel", Source: finding.SourceIntel, Severity: finding.High,
			Title: Text{EN: "Phishing or malware on an owned site", VI: "Trang web của đơn vị chứa nội dung lừa đảo hoặc mã độc"},
			Description: Text{
				EN: "A feed lists a URL or name of this organization for phishing or for distributing malware. Visitors may be deceived or infected, browsers and mail filters may already block the site, and the server that hosts it is likely compromised.",
				VI: "Một nguồn tin liệt kê đường dẫn (URL) hoặc tên miền của cơ quan, tổ chức này vì lừa đảo (phishing) hoặc phát tán mã độc. Người truy cập có thể bị lừa hoặc nhiễm mã độc, trình duyệt và bộ lọc thư có thể đã chặn trang, và máy chủ lưu trữ nhiều khả năng đã bị xâm nhập.",
			},
			Remediation: Text{
				EN: "Take the listed page or file down, look for other pages, scripts and redirections you did not make, find how they were planted (an outdated CMS, a stolen password), fix that, change the site's credentials and ask the list operator to delist the URL.",
				VI: "Gỡ trang hoặc tệp bị liệt kê, rà soát các trang, mã script và chuyển hướng khác không do đơn vị tạo, xác định cách chúng bị cài vào (hệ quản trị nội dung lỗi thời, mật khẩu bị lộ), khắc phục nguyên nhân, đổi thông tin đăng nhập của trang và đề nghị đơn vị quản lý danh sách gỡ đường dẫn.",
			},
		},
		{
			ID: "intel.exposed-service", Family: "intel", Source: finding.SourceIntel, Severity: finding.Medium,
			Title: Text{EN: "Service exposed to the internet, seen by a third party", VI: "Dịch vụ mở ra Internet do bên thứ ba phát hiện"},
			Description: Text{
				EN: "A third party that scans the whole internet (such as Shadowserver) found a service on this address that should not be reachable from it: open SNMP, NTP, memcached, DNS resolvers or other amplifiers used in denial-of-service attacks, remote desktop, databases, or a version with a known weakness. The port, protocol and what the service answered are in the evidence.",
				VI: "Một bên thứ ba rà quét toàn bộ Internet (như Shadowserver) phát hiện trên địa chỉ này một dịch vụ không nên truy cập được từ Internet: SNMP, NTP, memcached, máy chủ phân giải DNS mở hoặc dịch vụ khác có thể bị lợi dụng để khuếch đại tấn công từ chối dịch vụ, truy cập máy tính từ xa, cơ sở dữ liệu, hoặc phiên bản có điểm yếu đã biết. Cổng, giao thức và phản hồi của dịch vụ nằm trong phần bằng chứng.",
			},
			Remediation: Text{
				EN: "Close the port at the firewall or bind the service to the internal network only; if it must stay public, update it, turn off the features attackers abuse (SNMP public community, NTP monlist, UDP on memcached, open recursion) and require authentication. The finding closes when the reports stop naming the address.",
				VI: "Chặn cổng tại tường lửa hoặc chỉ cho dịch vụ lắng nghe trong mạng nội bộ; nếu buộc phải công khai, hãy cập nhật dịch vụ, tắt các tính năng hay bị lợi dụng (community public của SNMP, monlist của NTP, UDP của memcached, phân giải đệ quy mở) và yêu cầu xác thực. Phát hiện sẽ tự đóng khi các báo cáo không còn nêu địa chỉ này.",
			},
		},
		{
			ID: "intel.blocklisted", Family: "intel", Source: finding.SourceIntel, Severity: finding.Medium,
			Title: Text{EN: "Address or name on a blocklist", VI: "Địa chỉ hoặc tên miền nằm trong danh sách chặn"},
			Description: Text{
				EN: "An address, network or name of this organization appears on a blocklist of attacking, scanning or spamming hosts. Others may already refuse its traffic or mail, and it is often a sign that a machine behind it is compromised or misused.",
				VI: "Một địa chỉ, dải mạng hoặc tên miền của cơ quan, tổ chức này nằm trong danh sách chặn các máy tấn công, dò quét hoặc phát tán thư rác. Các hệ thống khác có thể đã từ chối lưu lượng hoặc thư từ địa chỉ này, và đây thường là dấu hiệu một máy phía sau đã bị xâm nhập hoặc bị lạm dụng.",
			},
			Remediation: Text{
				EN: "Find which machine used the address at the time in the evidence (NAT and firewall logs), check it for malware or abuse, clean or rebuild it, then ask the list operator to delist the address.",
				VI: "Xác định máy đã dùng địa chỉ này tại thời điểm ghi trong bằng chứng (nhật ký NAT và tường lửa), kiểm tra mã độc hoặc hành vi lạm dụng, làm sạch hoặc cài đặt lại máy, sau đó đề nghị đơn vị quản lý danh sách gỡ địa chỉ.",
			},
		},
		{
			ID: "intel.leaked-credentials", Family: "intel", Source: finding.SourceIntel, Severity: finding.High,
			Title: Text{EN: "Accounts of an owned mail domain in a leak", VI: "Tài khoản thuộc tên miền thư điện tử của đơn vị bị lộ"},
			Description: Text{
				EN: "Accounts of this organization's mail domain appear in a leak of credentials. The evidence names the accounts and the leak, never the passwords; whoever holds the leak may use them to sign in, send phishing from inside or move further.",
				VI: "Các tài khoản thuộc tên miền thư điện tử của cơ quan, tổ chức này xuất hiện trong một vụ lộ lọt thông tin đăng nhập. Phần bằng chứng nêu tên tài khoản và tên vụ lộ lọt, không bao giờ nêu mật khẩu; kẻ nắm dữ liệu có thể dùng chúng để đăng nhập, gửi thư lừa đảo từ bên trong hoặc xâm nhập sâu hơn.",
			},
			Remediation: Text{
				EN: "Reset the passwords of the listed accounts and of any service where they were reused, end their open sessions, turn on two-factor sign-in, look in the mail and sign-in logs for use by others, and warn the account holders about phishing.",
				VI: "Đặt lại mật khẩu của các tài khoản được liệt kê và của mọi dịch vụ dùng lại mật khẩu đó, kết thúc các phiên đăng nhập đang mở, bật xác thực hai yếu tố, kiểm tra nhật ký thư và đăng nhập để tìm dấu hiệu người khác sử dụng, và cảnh báo chủ tài khoản về thư lừa đảo.",
			},
		},

		// Sensors at member gateways.
		{
			ID: "sensor.", Family: "sensor", Source: finding.SourceSensor, Severity: finding.Medium,
			Title: Text{EN: "Event seen by a sensor", VI: "Sự kiện do cảm biến ghi nhận"},
			Description: Text{
				EN: "A sensor at the organization's gateway (Suricata, Zeek, flow records) saw traffic about this asset that matched a detection. The rule and the traffic are in the evidence.",
				VI: "Cảm biến đặt tại cổng mạng của cơ quan, tổ chức (Suricata, Zeek, dữ liệu luồng) đã ghi nhận lưu lượng liên quan đến tài sản này khớp với một quy tắc phát hiện. Quy tắc và lưu lượng nằm trong phần bằng chứng.",
			},
			Remediation: Text{
				EN: "Review the traffic in the evidence and the asset's own logs. The finding closes by itself when the sensor no longer sees it for a while.",
				VI: "Xem xét lưu lượng trong phần bằng chứng và nhật ký của chính tài sản. Phát hiện sẽ tự đóng khi cảm biến không còn ghi nhận trong một khoảng thời gian.",
			},
		},
		{
			ID: "sensor.attack-seen", Family: "sensor", Source: finding.SourceSensor, Severity: finding.High,
			Title: Text{EN: "Attack against the asset seen by a sensor", VI: "Cảm biến ghi nhận tấn công nhằm vào tài sản"},
			Description: Text{
				EN: "A sensor saw an attack aimed at this asset: an exploit attempt, a brute-force run or a known attack pattern. It does not show whether the attack succeeded.",
				VI: "Cảm biến ghi nhận một cuộc tấn công nhằm vào tài sản này: thử khai thác lỗ hổng, dò mật khẩu hoặc một kiểu tấn công đã biết. Điều này chưa cho biết cuộc tấn công có thành công hay không.",
			},
			Remediation: Text{
				EN: "Check that the asset is patched against what was tried and look in its logs for signs of success; block the attacking addresses at the gateway if the attack goes on.",
				VI: "Kiểm tra tài sản đã được vá trước kiểu tấn công đã thử hay chưa và tìm trong nhật ký dấu hiệu tấn công thành công; chặn các địa chỉ tấn công tại cổng mạng nếu cuộc tấn công còn tiếp diễn.",
			},
		},
		{
			ID: "sensor.c2-contact", Family: "sensor", Source: finding.SourceSensor, Severity: finding.Critical,
			Title: Text{EN: "Connection to a known command-and-control server", VI: "Kết nối tới máy chủ điều khiển (C2) đã biết"},
			Description: Text{
				EN: "A sensor saw this asset connect to an address or name known to control malware. The asset is probably infected.",
				VI: "Cảm biến ghi nhận tài sản này kết nối tới địa chỉ hoặc tên miền được biết là dùng để điều khiển mã độc. Nhiều khả năng tài sản đã bị nhiễm mã độc.",
			},
			Remediation: Text{
				EN: "Isolate the asset, find and remove the malware (or rebuild the machine), change the credentials it held and block the server at the gateway.",
				VI: "Cô lập tài sản, tìm và gỡ bỏ mã độc (hoặc cài đặt lại máy), đổi các thông tin xác thực lưu trên máy và chặn máy chủ điều khiển tại cổng mạng.",
			},
		},

		// Protective DNS: pdns.*, because dns.* are the DNS checks.
		{
			ID: "pdns.", Family: "pdns", Source: finding.SourceDNS, Severity: finding.Medium,
			Title: Text{EN: "Protective DNS event", VI: "Sự kiện từ hệ thống DNS bảo vệ"},
			Description: Text{
				EN: "The protective DNS resolver saw a query from this organization that matched its policy.",
				VI: "Hệ thống phân giải DNS bảo vệ đã ghi nhận một truy vấn từ cơ quan, tổ chức này khớp với chính sách chặn.",
			},
			Remediation: Text{
				EN: "Find the machine that asked (the client address is in the evidence) and check why it did. The finding closes by itself when no such query is seen for a while.",
				VI: "Xác định máy đã gửi truy vấn (địa chỉ máy khách nằm trong phần bằng chứng) và kiểm tra lý do. Phát hiện sẽ tự đóng khi không còn truy vấn như vậy trong một khoảng thời gian.",
			},
		},
		{
			ID: "pdns.blocked-query", Family: "pdns", Source: finding.SourceDNS, Severity: finding.High,
			Title: Text{EN: "Query for a malicious domain blocked", VI: "Đã chặn truy vấn tới tên miền độc hại"},
			Description: Text{
				EN: "A machine of this organization asked the protective resolver for a domain listed as malicious (phishing, malware, command-and-control). The answer was blocked, but the machine may be infected or its user lured.",
				VI: "Một máy của cơ quan, tổ chức này đã truy vấn hệ thống phân giải DNS bảo vệ tới một tên miền bị xếp vào loại độc hại (lừa đảo, mã độc, máy chủ điều khiển). Truy vấn đã bị chặn, nhưng máy có thể đã nhiễm mã độc hoặc người dùng đã bị dụ truy cập.",
			},
			Remediation: Text{
				EN: "Find the machine from the client address and time in the evidence, scan it for malware and ask its user what they opened; repeated queries from one machine point to an infection.",
				VI: "Xác định máy theo địa chỉ máy khách và thời điểm ghi trong bằng chứng, quét mã độc và hỏi người dùng đã mở gì; nếu một máy truy vấn lặp lại nhiều lần thì nhiều khả năng máy đã bị nhiễm.",
			},
		},

		// Discovery of assets nobody registered.
		{
			ID: "discovery.", Family: "discovery", Source: finding.SourceDiscovery, Severity: finding.Low,
			Title: Text{EN: "Asset found by discovery", VI: "Tài sản được phát hiện qua quá trình khám phá"},
			Description: Text{
				EN: "Discovery (certificate transparency, DNS, routing data) found something that seems to belong to this organization.",
				VI: "Quá trình khám phá (nhật ký minh bạch chứng thư số, DNS, dữ liệu định tuyến) tìm thấy một tài sản có vẻ thuộc về cơ quan, tổ chức này.",
			},
			Remediation: Text{
				EN: "Confirm whether the organization owns it and register it, or mark it as not yours.",
				VI: "Xác nhận cơ quan, tổ chức có sở hữu tài sản này hay không, rồi đăng ký tài sản hoặc đánh dấu không thuộc đơn vị.",
			},
		},
		{
			ID: "discovery.unregistered-asset", Family: "discovery", Source: finding.SourceDiscovery, Severity: finding.Low,
			Title: Text{EN: "Internet-facing asset not in the registry", VI: "Tài sản kết nối Internet chưa được đăng ký"},
			Description: Text{
				EN: "A host name, address or certificate linked to this organization is reachable from the internet but is not registered in Rampart, so nobody scans or watches it. Forgotten systems are a common way in.",
				VI: "Một tên máy chủ, địa chỉ hoặc chứng thư số gắn với cơ quan, tổ chức này truy cập được từ Internet nhưng chưa được đăng ký trong Rampart, nên không được quét hay giám sát. Các hệ thống bị bỏ quên là con đường xâm nhập phổ biến.",
			},
			Remediation: Text{
				EN: "If the asset is yours, register it so it is scanned; if it is no longer used, shut it down and remove its DNS records; if it is not yours, say so.",
				VI: "Nếu tài sản thuộc đơn vị, hãy đăng ký để được quét; nếu không còn sử dụng, hãy tắt hệ thống và xóa các bản ghi DNS liên quan; nếu không thuộc đơn vị, hãy phản hồi để loại trừ.",
			},
		},

		// Monitoring of internet resources.
		{
			ID: "monitor.", Family: "monitor", Source: finding.SourceMonitor, Severity: finding.Medium,
			Title: Text{EN: "Monitoring alert", VI: "Cảnh báo giám sát"},
			Description: Text{
				EN: "Continuous monitoring of this asset raised an alert. What was measured and when is in the evidence.",
				VI: "Hoạt động giám sát liên tục tài sản này đã phát sinh cảnh báo. Nội dung đo kiểm và thời điểm nằm trong phần bằng chứng.",
			},
			Remediation: Text{
				EN: "Check the asset. The finding closes by itself once monitoring no longer sees the problem.",
				VI: "Kiểm tra tài sản. Phát hiện sẽ tự đóng khi hoạt động giám sát không còn ghi nhận vấn đề.",
			},
		},
		{
			ID: "monitor.website-down", Family: "monitor", Source: finding.SourceMonitor, Severity: finding.High,
			Title: Text{EN: "Website unreachable", VI: "Trang web không truy cập được"},
			Description: Text{
				EN: "The website did not answer, or answered with an error, on several checks in a row. Citizens and businesses cannot use the service, and an outage can also follow an attack.",
				VI: "Trang web không phản hồi hoặc trả về lỗi qua nhiều lần kiểm tra liên tiếp. Người dân và doanh nghiệp không sử dụng được dịch vụ; sự gián đoạn cũng có thể là hậu quả của một cuộc tấn công.",
			},
			Remediation: Text{
				EN: "Check the web server, its hosting and its DNS records; if the site was taken down by an attack (denial of service, defacement), handle it as an incident.",
				VI: "Kiểm tra máy chủ web, dịch vụ lưu trữ và bản ghi DNS; nếu trang web ngừng hoạt động do bị tấn công (từ chối dịch vụ, thay đổi giao diện), hãy xử lý như một sự cố.",
			},
		},
		{
			ID: "monitor.cert-expiring", Family: "monitor", Source: finding.SourceMonitor, Severity: finding.Medium,
			Title: Text{EN: "Certificate about to expire", VI: "Chứng thư số sắp hết hạn"},
			Description: Text{
				EN: "Monitoring saw that a certificate of this asset expires soon (the date is in the evidence). Once it expires, browsers and mail servers refuse or warn.",
				VI: "Hoạt động giám sát ghi nhận chứng thư số của tài sản này sắp hết hạn (ngày hết hạn nằm trong phần bằng chứng). Khi đã hết hạn, trình duyệt và máy chủ thư điện tử sẽ từ chối kết nối hoặc hiển thị cảnh báo.",
			},
			Remediation: Text{
				EN: "Renew the certificate, install it with its intermediate chain, and automate renewal (for example with ACME).",
				VI: "Gia hạn chứng thư số, cài đặt kèm đầy đủ chuỗi chứng thư trung gian và tự động hóa việc gia hạn (ví dụ bằng ACME).",
			},
		},
		{
			ID: "monitor.domain-expiring", Family: "monitor", Source: finding.SourceMonitor, Severity: finding.Medium,
			Title: Text{EN: "Domain registration about to expire", VI: "Tên miền sắp hết hạn đăng ký"},
			Description: Text{
				EN: "The registration of this domain ends soon. An expired domain stops resolving, and anyone may register it afterwards and receive its mail and visitors.",
				VI: "Tên miền này sắp hết thời hạn đăng ký. Tên miền hết hạn sẽ ngừng phân giải, và sau đó bất kỳ ai cũng có thể đăng ký lại để nhận thư điện tử và lượt truy cập của đơn vị.",
			},
			Remediation: Text{
				EN: "Renew the domain with its registrar for several years and turn on automatic renewal; keep the registrar contact addresses current.",
				VI: "Gia hạn tên miền với nhà đăng ký trong nhiều năm và bật tự động gia hạn; cập nhật đầy đủ thông tin liên hệ với nhà đăng ký.",
			},
		},

		// Entered by a person: manual.finding, and manual.* for any other
		// kind an analyst names.
		manual("manual."),
		manual("manual.finding"),
	}, append(monitorKinds(), sensorKinds()...)...)
}

// manual is the kind of a finding entered by a person, under id.
func manual(id string) Kind {
	return Kind{
		ID: id, Family: "manual", Source: finding.SourceManual, Severity: finding.Medium,
		Title: Text{EN: "Finding entered by an analyst", VI: "Phát hiện do chuyên viên nhập"},
		Description: Text{
			EN: "A security analyst recorded this finding by hand, from a test, an audit or a report. Their description is in the evidence.",
			VI: "Một chuyên viên an toàn thông tin đã ghi nhận phát hiện này thủ công, từ một đợt kiểm thử, đánh giá hoặc báo cáo. Mô tả của chuyên viên nằm trong phần bằng chứng.",
		},
		Remediation: Text{
			EN: "Follow the analyst's advice in the evidence; the analyst closes the finding once the fix is confirmed.",
			VI: "Thực hiện theo khuyến nghị của chuyên viên trong phần bằng chứng; chuyên viên sẽ đóng phát hiện khi việc khắc phục được xác nhận.",
		},
	}
}
