package svc

import (
	"context"
	"errors"
	"fmt"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

var metaAJP = meta("svc.ajp-exposed", finding.High,
	"AJP connector reachable (Ghostcat class)", "Cổng AJP truy cập được (lớp lỗ hổng Ghostcat)",
	"The Apache JServ Protocol connector of a Java application server (Tomcat, JBoss/WildFly, Jetty) answers from outside. AJP trusts whoever speaks it as the front web server: through it an attacker sets request attributes the web server would never pass, and on unpatched or misconfigured Tomcat reads any file of the web application or runs code (Ghostcat, CVE-2020-1938, on the KEV list). A connector that refuses a forwarded request without its shared secret (Tomcat's secretRequired) is reported as low: it is guarded, but still should not be reachable.",
	"Cổng kết nối Apache JServ Protocol (AJP) của máy chủ ứng dụng Java (Tomcat, JBoss/WildFly, Jetty) trả lời từ bên ngoài. AJP tin tưởng bất kỳ ai nói giao thức này như thể đó là máy chủ web phía trước: qua nó kẻ tấn công đặt các thuộc tính yêu cầu mà máy chủ web không bao giờ chuyển tiếp, và trên Tomcat chưa vá hoặc cấu hình sai có thể đọc mọi tệp của ứng dụng web hoặc thực thi mã (Ghostcat, CVE-2020-1938, thuộc danh sách KEV). Cổng từ chối yêu cầu chuyển tiếp không kèm khóa bí mật dùng chung (secretRequired của Tomcat) được báo ở mức thấp: nó đã được bảo vệ, nhưng vẫn không nên truy cập được từ bên ngoài.",
	"Disable the AJP connector when no front web server uses it (Tomcat: comment out <Connector protocol=\"AJP/1.3\">); otherwise bind it to localhost (address=\"127.0.0.1\"), set secretRequired=\"true\" with a secret, upgrade Tomcat (9.0.31, 8.5.51, 7.0.100 or later) and block port 8009 at the firewall.",
	"Tắt cổng AJP khi không có máy chủ web phía trước dùng đến (Tomcat: bỏ <Connector protocol=\"AJP/1.3\">); nếu cần, chỉ lắng nghe trên localhost (address=\"127.0.0.1\"), đặt secretRequired=\"true\" kèm secret, nâng cấp Tomcat (9.0.31, 8.5.51, 7.0.100 trở lên) và chặn cổng 8009 tại tường lửa.",
	"CVE-2020-1938", "CWE-749")

// ajpCPing is an AJP13 CPing: the web server's magic 0x1234, length 1,
// type 10. A servlet container answers CPong ("AB", length 1, type 9).
var ajpCPing = []byte{0x12, 0x34, 0x00, 0x01, 0x0a}

// ErrNotAJP says a reply is not an AJP13 CPong.
var ErrNotAJP = errors.New("svc: not an AJP13 CPong")

// ParseAJPCPong reads a container-to-server AJP13 packet and reports
// whether it is a CPong; any other AJP13 packet type is returned as an
// error naming it.
func ParseAJPCPong(b []byte) error {
	if len(b) < 5 || b[0] != 'A' || b[1] != 'B' {
		return ErrNotAJP
	}
	n := int(b[2])<<8 | int(b[3])
	if n < 1 || n > 8192 {
		return ErrNotAJP
	}
	if b[4] != 0x09 {
		return fmt.Errorf("%w: packet type %d", ErrNotAJP, b[4])
	}
	return nil
}

// ajpForward is an AJP13 FORWARD_REQUEST of GET / for host: what a front
// web server sends for a visitor's plain request, without any request
// attribute (and so without the shared secret).
func ajpForward(host string, port uint16) []byte {
	str := func(b []byte, v string) []byte {
		b = append(b, byte(len(v)>>8), byte(len(v)))
		return append(append(b, v...), 0)
	}
	p := []byte{0x02, 0x02} // FORWARD_REQUEST, GET
	p = str(p, "HTTP/1.1")
	p = str(p, "/")
	p = str(p, "127.0.0.1")   // remote address
	p = append(p, 0xff, 0xff) // remote host: none
	p = str(p, host)
	p = append(p, byte(port>>8), byte(port), 0) // server port, not TLS
	p = append(p, 0, 1, 0xa0, 0x0b)             // one header: Host
	p = str(p, host)
	p = append(p, 0xff) // no attributes
	return append([]byte{0x12, 0x34, byte(len(p) >> 8), byte(len(p))}, p...)
}

// ParseAJPStatus reads the HTTP status of the first packet a container
// sends back for a forwarded request: SEND_HEADERS (type 4).
func ParseAJPStatus(b []byte) (int, error) {
	if len(b) < 7 || b[0] != 'A' || b[1] != 'B' {
		return 0, ErrNotAJP
	}
	if n := int(b[2])<<8 | int(b[3]); n < 3 || n > 8192 {
		return 0, ErrNotAJP
	}
	if b[4] != 0x04 {
		return 0, fmt.Errorf("%w: packet type %d, not SEND_HEADERS", ErrNotAJP, b[4])
	}
	status := int(b[5])<<8 | int(b[6])
	if status < 100 || status > 999 {
		return 0, fmt.Errorf("%w: status %d", ErrNotAJP, status)
	}
	return status, nil
}

// runAJP sends a CPing; a CPong proves an AJP13 connector. Then it
// forwards a plain GET / as a front web server would, without request
// attributes: a container that requires the connector's shared secret
// (Tomcat's secretRequired, the fix of Ghostcat's configuration class)
// refuses it with 403, and the connector is reported as reachable but
// guarded (low); one that serves it trusts whoever connects (high).
func runAJP(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	reply, err := exchange(ctx, env, t, ajpCPing, 64)
	if err != nil {
		return nil, err
	}
	if ParseAJPCPong(reply) != nil {
		return nil, nil
	}
	fields := map[string]string{"port": fmt.Sprint(t.Addr.Port()), "product": t.Product, "version": t.Version}
	host := t.Host
	if host == "" {
		host = t.Addr.Addr().String()
	}
	sev, title := m.Severity, fmt.Sprintf("AJP13 connector answers on %s", t.Addr)
	fwd, _ := exchange(ctx, env, t, ajpForward(host, 80), 512)
	if status, err := ParseAJPStatus(fwd); err == nil {
		fields["forwarded_status"] = fmt.Sprint(status)
		if status == 403 {
			sev = finding.Low
			title = fmt.Sprintf("AJP13 connector answers on %s but refuses requests without its shared secret", t.Addr)
			fields["secret_required"] = "likely (a plain forwarded GET / was refused with 403)"
		}
	}
	return []check.Result{result(m, sev, title,
		check.Evidence{Request: "AJP13 CPing (12 34 00 01 0a), then a forwarded GET / without request attributes",
			Response: fmt.Sprintf("CPong (% x)", reply[:5]), Fields: fields})}, nil
}
