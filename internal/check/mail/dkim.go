package mail

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
	"github.com/rampart-cert/rampart/internal/finding"
)

//go:embed data/dkim-selectors.txt
var dkimSelectorsText string

// dkimSelectors is the shipped list of selectors tried on each domain.
func dkimSelectors() []string {
	var out []string
	for line := range strings.SplitSeq(dkimSelectorsText, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// DKIMKey is a parsed DKIM key record (RFC 6376 3.6.1).
type DKIMKey struct {
	KeyType string // "rsa" (default) or "ed25519"
	Revoked bool   // p= is empty
	Bits    int    // RSA modulus size; 0 for other types
}

// ErrDKIM is a DKIM key record that does not parse.
var ErrDKIM = errors.New("mail: invalid DKIM key record")

// ParseDKIM parses a DKIM key record's text.
func ParseDKIM(rec string) (DKIMKey, error) {
	tags, err := tagList(rec)
	if err != nil {
		return DKIMKey{}, fmt.Errorf("%w: %w", ErrDKIM, err)
	}
	if v, ok := tags["v"]; ok && v != "DKIM1" {
		return DKIMKey{}, fmt.Errorf("%w: v=%q", ErrDKIM, v)
	}
	p, ok := tags["p"]
	if !ok {
		return DKIMKey{}, fmt.Errorf("%w: no p= tag", ErrDKIM)
	}
	k := DKIMKey{KeyType: strings.ToLower(tags["k"])}
	if k.KeyType == "" {
		k.KeyType = "rsa"
	}
	p = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, p)
	if p == "" {
		k.Revoked = true
		return k, nil
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return DKIMKey{}, fmt.Errorf("%w: p= is not base64: %w", ErrDKIM, err)
	}
	switch k.KeyType {
	case "rsa":
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			// Some signers publish a bare RSAPublicKey (PKCS #1).
			rk, err2 := x509.ParsePKCS1PublicKey(der)
			if err2 != nil {
				return DKIMKey{}, fmt.Errorf("%w: p= key: %w", ErrDKIM, err)
			}
			pub = rk
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return DKIMKey{}, fmt.Errorf("%w: k=rsa but p= holds a %T", ErrDKIM, pub)
		}
		k.Bits = rk.N.BitLen()
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return DKIMKey{}, fmt.Errorf("%w: ed25519 key of %d bytes", ErrDKIM, len(der))
		}
	default:
		return DKIMKey{}, fmt.Errorf("%w: unknown key type k=%q", ErrDKIM, k.KeyType)
	}
	return k, nil
}

// dkimFound is one selector that answered with a key record.
type dkimFound struct {
	selector string
	record   string
	key      DKIMKey
	err      error
	ev       check.Evidence
}

// probeDKIM asks every shipped selector of d. Selectors that answer with
// no DKIM record are skipped; failures to ask are errors.
func probeDKIM(ctx context.Context, env *check.Env, d mailDomain) ([]dkimFound, []string, error) {
	var found []dkimFound
	var asked []string
	for _, sel := range dkimSelectors() {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("mail: dkim: %w: %w", err, check.ErrUnreachable)
		}
		name := sel + "._domainkey." + d.Name
		asked = append(asked, name)
		txts, ev, err := dns.LookupTXT(ctx, env, name)
		if err != nil {
			return nil, nil, fmt.Errorf("mail: dkim: %w", err)
		}
		for _, txt := range txts {
			t := strings.TrimSpace(txt)
			// A TXT at a selector name that is not a key record (a
			// wildcard SPF, say) is not a DKIM selector.
			if !strings.Contains(t, "p=") && !strings.HasPrefix(t, "v=DKIM1") {
				continue
			}
			k, err := ParseDKIM(t)
			found = append(found, dkimFound{selector: sel, record: t, key: k, err: err, ev: ev})
		}
	}
	return found, asked, nil
}

func runDKIMMissing(ctx context.Context, env *check.Env, d mailDomain) ([]check.Result, error) {
	found, asked, err := probeDKIM(ctx, env, d)
	if err != nil {
		return nil, err
	}
	for _, f := range found {
		if f.err == nil && !f.key.Revoked {
			return nil, nil
		}
	}
	ev := check.Evidence{
		Request:  check.Cap(strings.Join(asked, " IN TXT\n") + " IN TXT"),
		Response: "no usable DKIM key at any of the " + strconv.Itoa(len(asked)) + " common selectors",
		Fields:   map[string]string{"domain": d.Name, "mx": strings.Join(d.MX, " "), "selectors_tried": strconv.Itoa(len(asked))},
	}
	return []check.Result{{
		Check: metaDKIMMissing.ID, Severity: metaDKIMMissing.Severity,
		Title:    fmt.Sprintf("No DKIM key found for %s at %d common selectors (the domain may use another selector)", d.Name, len(asked)),
		Evidence: ev,
	}}, nil
}

func runDKIMWeakKey(ctx context.Context, env *check.Env, d mailDomain) ([]check.Result, error) {
	found, _, err := probeDKIM(ctx, env, d)
	if err != nil {
		return nil, err
	}
	var out []check.Result
	for _, f := range found {
		if f.err != nil || f.key.Revoked || f.key.KeyType != "rsa" || f.key.Bits > 1024 {
			continue
		}
		sev := finding.Medium
		if f.key.Bits < 1024 {
			sev = finding.High
		}
		ev := f.ev
		ev.Fields = map[string]string{"selector": f.selector, "domain": d.Name, "key_type": "rsa", "bits": strconv.Itoa(f.key.Bits)}
		out = append(out, check.Result{
			Check: metaDKIMWeakKey.ID, Severity: sev, Subject: f.selector,
			Title:    fmt.Sprintf("DKIM key %s._domainkey.%s is RSA %d bits", f.selector, d.Name, f.key.Bits),
			Evidence: ev,
		})
	}
	return out, nil
}

var metaDKIMMissing = check.Meta{
	ID: "mail.dkim-missing", Family: Family, Severity: finding.Info,
	Title: check.Text{
		EN: "No DKIM key found at common selectors",
		VI: "Không tìm thấy khoá DKIM tại các selector phổ biến",
	},
	Description: check.Text{
		EN: "The domain receives mail (it has MX records) but none of the commonly used DKIM selectors (default, selector1, selector2, google, k1, mail, dkim, s1, ...) publishes a usable key at <selector>._domainkey.<domain>. Without DKIM, receivers cannot verify that mail really comes from the domain and DMARC rests on SPF alone, which breaks on forwarding. Selectors cannot be listed from DNS, so a domain that signs with a selector outside the shipped list is reported too: confirm with a signed message's DKIM-Signature header (s= tag) before acting.",
		VI: "Tên miền có nhận thư (có bản ghi MX) nhưng không selector DKIM phổ biến nào (default, selector1, selector2, google, k1, mail, dkim, s1, ...) công bố khoá dùng được tại <selector>._domainkey.<tên miền>. Không có DKIM, máy chủ nhận không xác minh được thư thực sự đến từ tên miền và DMARC chỉ dựa vào SPF, vốn hỏng khi thư được chuyển tiếp. Không thể liệt kê selector từ DNS, nên tên miền ký bằng selector ngoài danh sách đi kèm cũng bị báo: hãy kiểm tra tiêu đề DKIM-Signature (thẻ s=) của một thư đã ký trước khi xử lý.",
	},
	Remediation: check.Text{
		EN: "Sign outgoing mail with DKIM (a 2048-bit RSA or Ed25519 key) on the mail server or the mail provider, and publish the public key as a TXT record at <selector>._domainkey.<domain>, e.g. \"v=DKIM1; k=rsa; p=MIIBIjAN...\". If the domain already signs with another selector, record that selector so scans check it.",
		VI: "Ký DKIM cho thư gửi đi (khoá RSA 2048 bit hoặc Ed25519) trên máy chủ thư hoặc nhà cung cấp dịch vụ thư, và công bố khoá công khai bằng bản ghi TXT tại <selector>._domainkey.<tên miền>, ví dụ \"v=DKIM1; k=rsa; p=MIIBIjAN...\". Nếu tên miền đã ký bằng selector khác, hãy ghi nhận selector đó để lần quét sau kiểm tra.",
	},
	References: []string{"RFC 6376", "RFC 7489", "CWE-290"},
}

var metaDKIMWeakKey = check.Meta{
	ID: "mail.dkim-weak-key", Family: Family, Severity: finding.High,
	Title: check.Text{
		EN: "DKIM key too short",
		VI: "Khoá DKIM quá ngắn",
	},
	Description: check.Text{
		EN: "A DKIM selector of the domain publishes an RSA key of 1024 bits or fewer. Keys under 1024 bits (high) can be factored with modest resources, letting anyone sign mail as the domain; 1024-bit keys (medium) are below current guidance (RFC 8301 asks for at least 1024 and recommends 2048). Revoked selectors (empty p=) are ignored.",
		VI: "Một selector DKIM của tên miền công bố khoá RSA từ 1024 bit trở xuống. Khoá dưới 1024 bit (mức cao) có thể bị phân tích thừa số với chi phí vừa phải, cho phép bất kỳ ai ký thư dưới danh nghĩa tên miền; khoá 1024 bit (mức trung bình) thấp hơn khuyến nghị hiện hành (RFC 8301 yêu cầu tối thiểu 1024 và khuyến nghị 2048). Selector đã thu hồi (p= rỗng) được bỏ qua.",
	},
	Remediation: check.Text{
		EN: "Generate a 2048-bit RSA (or Ed25519) key, publish it under a new selector, switch signing to it, then revoke the old selector by publishing it with an empty p= and remove it later.",
		VI: "Tạo khoá RSA 2048 bit (hoặc Ed25519), công bố dưới một selector mới, chuyển sang ký bằng khoá mới, sau đó thu hồi selector cũ bằng cách công bố với p= rỗng và xoá sau.",
	},
	References: []string{"RFC 6376 section 3.3.3", "RFC 8301", "CWE-326"},
}
