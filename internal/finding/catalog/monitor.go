package catalog

import "github.com/rampart-cert/rampart/internal/finding"

// monitorKinds are the kinds the monitoring of internet resources
// (internal/monitor) reports, beside the older monitor.* kinds in
// SourceKinds: DNS changes, look-alike names, certificates, routes and
// new exposures. Each call returns fresh values.
func monitorKinds() []Kind {
	mon := func(id string, sev finding.Severity, title, desc, fix Text, refs ...string) Kind {
		return Kind{ID: id, Family: "monitor", Source: finding.SourceMonitor, Severity: sev,
			Title: title, Description: desc, Remediation: fix, References: refs}
	}
	return []Kind{
		mon("monitor.delegation-changed", finding.High,
			Text{EN: "Domain delegated to new name servers", VI: "Tên miền được ủy quyền sang máy chủ tên miền mới"},
			Text{
				EN: "The NS records of this domain now point to a DNS provider it did not use before (the old and new servers are in the evidence). Moving a domain to attacker-controlled name servers is how domains are hijacked: whoever answers for the zone receives its visitors and its mail and can obtain certificates for it.",
				VI: "Bản ghi NS của tên miền này hiện trỏ tới một nhà cung cấp DNS chưa từng được sử dụng (máy chủ cũ và mới nằm trong phần bằng chứng). Chuyển tên miền sang máy chủ tên miền do kẻ tấn công kiểm soát là cách chiếm đoạt tên miền: bên trả lời cho vùng sẽ nhận lượt truy cập, thư điện tử và có thể xin cấp chứng thư số cho tên miền.",
			},
			Text{
				EN: "Confirm with the team that runs the domain and with the registrar that the change was planned. If it was not, restore the name servers at the registrar at once, change the registrar account's password, turn on registry lock and two-factor authentication, and handle it as an incident.",
				VI: "Xác nhận với bộ phận quản lý tên miền và nhà đăng ký rằng thay đổi đã được lên kế hoạch. Nếu không, khôi phục ngay máy chủ tên miền tại nhà đăng ký, đổi mật khẩu tài khoản quản lý, bật khóa tên miền (registry lock) và xác thực hai yếu tố, đồng thời xử lý như một sự cố.",
			},
			"https://www.cisa.gov/news-events/directives/emergency-directive-19-01"),
		mon("monitor.mx-changed", finding.High,
			Text{EN: "Mail servers of the domain changed", VI: "Máy chủ thư điện tử của tên miền đã thay đổi"},
			Text{
				EN: "The MX records of this domain changed (before and after are in the evidence). When the new mail server belongs to a host outside the organization and outside its previous provider, mail to the organization may now be read by someone else; that case is of high severity, a change within known hosts of low.",
				VI: "Bản ghi MX của tên miền này đã thay đổi (trước và sau nằm trong phần bằng chứng). Khi máy chủ thư mới thuộc một máy chủ bên ngoài cơ quan, tổ chức và ngoài nhà cung cấp trước đây, thư gửi tới đơn vị có thể đang bị bên khác đọc; trường hợp đó có mức độ cao, thay đổi giữa các máy chủ đã biết có mức độ thấp.",
			},
			Text{
				EN: "Confirm that the mail team made the change. If not, restore the MX records, find how the zone was changed (DNS provider account, registrar), and warn the people whose mail may have been exposed.",
				VI: "Xác nhận bộ phận quản trị thư điện tử đã thực hiện thay đổi. Nếu không, khôi phục bản ghi MX, tìm nguyên nhân vùng bị sửa (tài khoản nhà cung cấp DNS, nhà đăng ký) và cảnh báo những người có thư điện tử có thể đã bị lộ.",
			}),
		mon("monitor.dns-changed", finding.Low,
			Text{EN: "DNS records of the domain changed", VI: "Bản ghi DNS của tên miền đã thay đổi"},
			Text{
				EN: "Addresses (A, AAAA), CAA records, or name or mail servers within the same providers changed for this domain; the record type, before and after are in the evidence. Such changes are usually planned, but a change nobody made points to a compromised DNS account.",
				VI: "Địa chỉ (A, AAAA), bản ghi CAA, hoặc máy chủ tên miền, máy chủ thư trong cùng nhà cung cấp của tên miền này đã thay đổi; loại bản ghi, giá trị trước và sau nằm trong phần bằng chứng. Các thay đổi này thường có kế hoạch, nhưng một thay đổi không ai thực hiện cho thấy tài khoản quản trị DNS có thể đã bị xâm phạm.",
			},
			Text{
				EN: "Check that the change was planned; if not, restore the records and secure the DNS provider's account. A loosened CAA record lets more certificate authorities issue certificates for the domain.",
				VI: "Kiểm tra thay đổi có nằm trong kế hoạch hay không; nếu không, khôi phục bản ghi và bảo vệ tài khoản nhà cung cấp DNS. Bản ghi CAA bị nới lỏng cho phép nhiều tổ chức cấp chứng thư hơn cấp chứng thư số cho tên miền.",
			}),
		mon("monitor.lookalike-domain", finding.Medium,
			Text{EN: "Look-alike domain of the organization", VI: "Tên miền giả mạo, na ná tên miền của đơn vị"},
			Text{
				EN: "A domain that imitates this organization's (a swapped, missing or doubled letter, a look-alike or accented character, an added word such as -login, or another top-level domain) appeared in a certificate transparency log or in zone data. Such names are registered for phishing and fake portals; the technique and where it was seen are in the evidence.",
				VI: "Một tên miền bắt chước tên miền của đơn vị (đảo, thiếu hoặc lặp ký tự, ký tự na ná hoặc có dấu tiếng Việt, thêm từ như -login, hoặc đuôi tên miền khác) đã xuất hiện trong nhật ký minh bạch chứng thư số hoặc dữ liệu vùng tên miền. Các tên miền như vậy thường được đăng ký để lừa đảo, giả mạo cổng thông tin; kỹ thuật giả mạo và nơi phát hiện nằm trong phần bằng chứng.",
			},
			Text{
				EN: "Check the site; if it imitates you, ask the registrar or the registry (for .vn, VNNIC) to suspend it, report it to the national CERT for blocking, and warn users. Consider registering the most likely variants yourself.",
				VI: "Kiểm tra trang web; nếu giả mạo đơn vị, đề nghị nhà đăng ký hoặc cơ quan quản lý tên miền (với .vn là VNNIC) tạm ngừng tên miền, báo cho CERT quốc gia để ngăn chặn và cảnh báo người dùng. Cân nhắc tự đăng ký trước các biến thể dễ bị lợi dụng nhất.",
			}),
		mon("monitor.cert-unexpected-issuer", finding.Medium,
			Text{EN: "Certificate issued by a CA the domain does not allow", VI: "Chứng thư số được cấp bởi tổ chức không được tên miền cho phép"},
			Text{
				EN: "A certificate transparency log shows a new certificate for a name of this organization from a certificate authority that the domain's CAA records do not name. Either the CAA records are out of date or someone obtained a certificate they should not have, for example after taking over the DNS or a web server.",
				VI: "Nhật ký minh bạch chứng thư số ghi nhận một chứng thư mới cho tên thuộc đơn vị, do một tổ chức cấp chứng thư không có trong bản ghi CAA của tên miền. Hoặc bản ghi CAA đã lỗi thời, hoặc có người đã xin được chứng thư trái phép, chẳng hạn sau khi chiếm quyền DNS hay máy chủ web.",
			},
			Text{
				EN: "Confirm who requested the certificate. If nobody did, ask the CA to revoke it, find how control of the name was obtained, and keep the CAA records to the CAs you use.",
				VI: "Xác định ai đã yêu cầu cấp chứng thư. Nếu không ai yêu cầu, đề nghị tổ chức cấp chứng thư thu hồi, tìm nguyên nhân tên miền bị kiểm soát, và chỉ giữ trong bản ghi CAA các tổ chức cấp chứng thư đơn vị sử dụng.",
			},
			"RFC 8659"),
		mon("monitor.bgp-hijack", finding.High,
			Text{EN: "Address space announced by another network (BGP hijack)", VI: "Dải địa chỉ bị mạng khác quảng bá (chiếm đoạt định tuyến BGP)"},
			Text{
				EN: "A registered network of this organization, or a more specific part of it, is announced in BGP by an autonomous system that is not the organization's. Traffic to those addresses may go to the other network, which can drop, read or answer it. When the announcement is invalid under the published RPKI route origin authorizations the finding is critical.",
				VI: "Một dải địa chỉ đã đăng ký của đơn vị, hoặc một phần cụ thể hơn của dải, đang được quảng bá trong BGP bởi một hệ thống tự trị (AS) không thuộc đơn vị. Lưu lượng tới các địa chỉ này có thể bị chuyển tới mạng kia, nơi có thể chặn, đọc hoặc giả mạo phản hồi. Khi quảng bá không hợp lệ theo các ROA của RPKI, phát hiện có mức độ nghiêm trọng.",
			},
			Text{
				EN: "Contact your upstream providers and the announcing network to have the route withdrawn; announce your own more specific prefixes if needed; publish ROAs for all your prefixes and ask providers to drop RPKI-invalid routes.",
				VI: "Liên hệ các nhà cung cấp kết nối và mạng đang quảng bá để rút tuyến; nếu cần, quảng bá các tiền tố cụ thể hơn của chính đơn vị; công bố ROA cho mọi tiền tố và đề nghị nhà cung cấp loại bỏ các tuyến không hợp lệ theo RPKI.",
			},
			"RFC 6811", "RFC 7115"),
		mon("monitor.bgp-withdrawn", finding.Medium,
			Text{EN: "Address space no longer announced", VI: "Dải địa chỉ không còn được quảng bá"},
			Text{
				EN: "A registered network of this organization that was announced in BGP has been withdrawn: the platform's route feed no longer carries a route to it, so its services may be unreachable from the internet.",
				VI: "Một dải địa chỉ đã đăng ký của đơn vị từng được quảng bá trong BGP nay đã bị rút: nguồn tuyến của nền tảng không còn tuyến tới dải này, nên các dịch vụ trong dải có thể không truy cập được từ Internet.",
			},
			Text{
				EN: "Check the border routers and the sessions with the upstream providers; if the withdrawal was not planned, restore the announcement.",
				VI: "Kiểm tra các bộ định tuyến biên và phiên BGP với nhà cung cấp kết nối; nếu việc rút tuyến không có kế hoạch, khôi phục quảng bá.",
			}),
		mon("monitor.new-exposure", finding.High,
			Text{EN: "Sensitive service newly exposed to the internet", VI: "Dịch vụ nhạy cảm mới mở ra Internet"},
			Text{
				EN: "A scan found a port open that earlier scans of this asset did not: a remote administration service (RDP, VNC, telnet, WinRM, SSH) or a database. Such services opened by mistake or by an intruder are a main way into networks.",
				VI: "Lần quét gần đây phát hiện một cổng đang mở mà các lần quét trước của tài sản này không thấy: dịch vụ quản trị từ xa (RDP, VNC, telnet, WinRM, SSH) hoặc cơ sở dữ liệu. Các dịch vụ này bị mở do sơ suất hoặc do kẻ xâm nhập là con đường chính để tấn công vào mạng.",
			},
			Text{
				EN: "Find who opened the port and why. Close it to the internet, or put it behind a VPN with multi-factor authentication; if nobody opened it, check the host for compromise.",
				VI: "Xác định ai đã mở cổng và lý do. Đóng cổng với Internet, hoặc chỉ cho phép truy cập qua VPN có xác thực đa yếu tố; nếu không ai mở, kiểm tra máy chủ có bị xâm nhập hay không.",
			}),
		mon("monitor.new-service", finding.Info,
			Text{EN: "New service on the asset", VI: "Dịch vụ mới trên tài sản"},
			Text{
				EN: "A scan found a port open that earlier scans of this asset did not. It is not a sensitive service; this is a record of the change.",
				VI: "Lần quét gần đây phát hiện một cổng đang mở mà các lần quét trước của tài sản này không thấy. Đây không phải dịch vụ nhạy cảm; phát hiện ghi nhận sự thay đổi.",
			},
			Text{
				EN: "Check that the service is meant to be reachable from the internet and is kept up to date.",
				VI: "Kiểm tra dịch vụ có cần truy cập từ Internet hay không và được cập nhật đầy đủ.",
			}),
	}
}
