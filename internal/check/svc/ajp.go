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
	"The Apache JServ Protocol connector of a Java application server (Tomcat, JBoss/WildFly, Jetty) answers from outside. AJP trusts whoever speaks it as the front web server: through it an attacker sets request attributes the web server would never pass, and on unpatched or misconfigured Tomcat reads any file of the web application or runs code (Ghostcat, CVE-2020-1938, on the KEV list).",
	"Cổng kết nối Apache JServ Protocol (AJP) của máy chủ ứng dụng Java (Tomcat, JBoss/WildFly, Jetty) trả lời từ bên ngoài. AJP tin tưởng bất kỳ ai nói giao thức này như thể đó là máy chủ web phía trước: qua nó kẻ tấn công đặt các thuộc tính yêu cầu mà máy chủ web không bao giờ chuyển tiếp, và trên Tomcat chưa vá hoặc cấu hình sai có thể đọc mọi tệp của ứng dụng web hoặc thực thi mã (Ghostcat, CVE-2020-1938, thuộc danh sách KEV).",
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

// runAJP sends a CPing; a CPong proves an AJP13 connector. Nothing else is
// sent: no forwarded request, no attributes.
func runAJP(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	reply, err := exchange(ctx, env, t, ajpCPing, 64)
	if err != nil {
		return nil, err
	}
	if ParseAJPCPong(reply) != nil {
		return nil, nil
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("AJP13 connector answers on %s", t.Addr),
		check.Evidence{Request: "AJP13 CPing (12 34 00 01 0a)", Response: fmt.Sprintf("CPong (% x)", reply[:5]),
			Fields: map[string]string{"port": fmt.Sprint(t.Addr.Port()), "product": t.Product, "version": t.Version}})}, nil
}
