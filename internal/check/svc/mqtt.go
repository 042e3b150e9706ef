package svc

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

var metaMQTT = meta("svc.mqtt-anonymous", finding.High,
	"MQTT broker accepts anonymous clients", "Máy chủ MQTT chấp nhận máy khách ẩn danh",
	"The MQTT broker accepted a CONNECT without a user name or password (CONNACK return code 0). Anyone can subscribe to every topic the broker allows ('#'), read what sensors, meters and controllers publish, and publish commands to the devices that listen.",
	"Máy chủ MQTT chấp nhận gói CONNECT không có tên người dùng và mật khẩu (CONNACK mã 0). Bất kỳ ai cũng có thể đăng ký mọi chủ đề máy chủ cho phép ('#'), đọc dữ liệu cảm biến, đồng hồ và bộ điều khiển gửi lên, và gửi lệnh tới các thiết bị đang lắng nghe.",
	"Require authentication (Mosquitto: allow_anonymous false with a password_file or an auth plugin; EMQX and HiveMQ: disable anonymous access), restrict topics per user with ACLs, use TLS on 8883, and keep port 1883 off the internet.",
	"Bắt buộc xác thực (Mosquitto: allow_anonymous false kèm password_file hoặc plugin xác thực; EMQX, HiveMQ: tắt truy cập ẩn danh), giới hạn chủ đề theo người dùng bằng ACL, dùng TLS trên cổng 8883 và không để cổng 1883 truy cập được từ Internet.",
	"CWE-306")

// mqttConnect is an MQTT 3.1.1 CONNECT with a clean session, a random
// client identifier (an existing client's identifier would disconnect it)
// and no user name or password.
func mqttConnect() ([]byte, string) {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	id := "rampart-" + hex.EncodeToString(rnd[:])
	vh := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30} // level 4, clean session, keep-alive 30 s
	payload := append([]byte{0, byte(len(id))}, id...)
	body := append(vh, payload...)
	return append([]byte{0x10, byte(len(body))}, body...), id
}

// mqttDisconnect ends the session politely.
var mqttDisconnect = []byte{0xe0, 0x00}

// MQTTConnAck is a parsed CONNACK.
type MQTTConnAck struct {
	SessionPresent bool
	ReturnCode     byte
}

// ErrNotMQTT says a reply is not a CONNACK.
var ErrNotMQTT = errors.New("svc: not an MQTT CONNACK")

// ParseMQTTConnAck reads a CONNACK: type 2, remaining length 2 (MQTT 3.1
// and 3.1.1) or more (an MQTT 5 broker answering with properties), flags
// and return code.
func ParseMQTTConnAck(b []byte) (MQTTConnAck, error) {
	if len(b) < 4 || b[0] != 0x20 {
		return MQTTConnAck{}, ErrNotMQTT
	}
	n, used := 0, 0
	for i := 1; i < len(b) && i <= 4; i++ {
		n |= int(b[i]&0x7f) << (7 * (i - 1))
		used = i
		if b[i]&0x80 == 0 {
			break
		}
	}
	if b[used]&0x80 != 0 || n < 2 || len(b) < 1+used+2 {
		return MQTTConnAck{}, ErrNotMQTT
	}
	flags, rc := b[1+used], b[2+used]
	if flags&^0x01 != 0 {
		return MQTTConnAck{}, ErrNotMQTT
	}
	return MQTTConnAck{SessionPresent: flags == 1, ReturnCode: rc}, nil
}

// mqttReturnCodes names the MQTT 3.1.1 CONNACK codes.
var mqttReturnCodes = []string{"accepted", "unacceptable protocol version", "identifier rejected",
	"server unavailable", "bad user name or password", "not authorized"}

func mqttCodeName(rc byte) string {
	if int(rc) < len(mqttReturnCodes) {
		return mqttReturnCodes[rc]
	}
	return fmt.Sprintf("code %d", rc)
}

// isTLSTarget reports whether t is reached through TLS.
func isTLSTarget(t check.Target) bool {
	switch strings.ToLower(t.Service) {
	case "mqtts", "imaps", "pop3s", "ftps", "smtps", "https":
		return true
	}
	return t.TLS
}

// wrapTLS wraps c in a client TLS session when t needs one.
func wrapTLS(ctx context.Context, c net.Conn, t check.Target) (net.Conn, error) {
	if !isTLSTarget(t) {
		return c, nil
	}
	cfg := insecureTLS()
	if t.Host != "" {
		cfg.ServerName = t.Host
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s: tls: %v", check.ErrUnreachable, t.Addr, err)
	}
	return tc, nil
}

// runMQTTAnonymous connects without credentials and reads the CONNACK; a
// return code 0 proves anonymous access. It subscribes to nothing and
// publishes nothing.
func runMQTTAnonymous(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if c, err = wrapTLS(ctx, c, t); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	req, id := mqttConnect()
	if _, err := c.Write(req); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", check.ErrUnreachable, t.Addr, err)
	}
	reply, _ := readSome(c, 256)
	ack, err := ParseMQTTConnAck(reply)
	if err != nil {
		return nil, nil // not MQTT, or the broker closed: nothing proven
	}
	if ack.ReturnCode != 0 {
		return nil, nil
	}
	_, _ = c.Write(mqttDisconnect)
	what := productOf(t)
	if what == "" || what == "mqtt" {
		what = "MQTT broker"
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("%s on %s accepts clients without credentials", what, t.Addr),
		check.Evidence{Request: "CONNECT (MQTT 3.1.1, clean session, client id " + id + ", no user name or password)",
			Response: fmt.Sprintf("CONNACK return code 0 (%s)", mqttCodeName(ack.ReturnCode)),
			Fields:   map[string]string{"return_code": "0", "product": t.Product, "version": t.Version}})}, nil
}
