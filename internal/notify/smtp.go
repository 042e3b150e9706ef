package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Sentinel errors.
var (
	ErrSMTPURL = errors.New("notify: bad SMTP URL")
	ErrSend    = errors.New("notify: send failed")
)

// STARTTLS policies.
const (
	StartTLSMandatory     = "mandatory"     // refuse to send without STARTTLS
	StartTLSOpportunistic = "opportunistic" // upgrade when the server offers it
	StartTLSNone          = "none"          // never upgrade (a local relay)
)

// SMTPOptions say how to reach the mail server.
type SMTPOptions struct {
	Host     string
	Port     int
	Username string // empty: no authentication
	Password string
	// StartTLS is StartTLSMandatory (the default), StartTLSOpportunistic
	// or StartTLSNone. ImplicitTLS (smtps://) wraps the whole connection.
	StartTLS    string
	ImplicitTLS bool
	// Auth is the SASL mechanism: "plain", "login", "cram-md5", or the
	// "-noenc" variants of plain and login that also work without TLS;
	// empty picks the best the server offers.
	Auth string
	// HELO is the name given to the server; empty: the host name.
	HELO string
	// TLSConfig overrides the client TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
	Timeout   time.Duration // per connection; 0: 30s
}

// ParseSMTPURL reads smtp://user:pass@host:port?starttls=mandatory|opportunistic|none&auth=plain
// (or smtps:// for implicit TLS, port 465 by default; smtp:// defaults to 587).
func ParseSMTPURL(raw string) (SMTPOptions, error) {
	var o SMTPOptions
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return o, fmt.Errorf("%w: %v", ErrSMTPURL, err)
	}
	switch u.Scheme {
	case "smtp":
		o.Port = 587
	case "smtps":
		o.Port, o.ImplicitTLS = 465, true
	default:
		return o, fmt.Errorf("%w: scheme %q (want smtp or smtps)", ErrSMTPURL, u.Scheme)
	}
	o.Host = u.Hostname()
	if o.Host == "" {
		return o, fmt.Errorf("%w: no host", ErrSMTPURL)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return o, fmt.Errorf("%w: port %q", ErrSMTPURL, p)
		}
		o.Port = n
	}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		if k != "starttls" && k != "auth" && k != "helo" && k != "timeout" {
			return o, fmt.Errorf("%w: unknown parameter %q", ErrSMTPURL, k)
		}
	}
	o.StartTLS = strings.ToLower(q.Get("starttls"))
	switch o.StartTLS {
	case "":
		o.StartTLS = StartTLSMandatory
	case StartTLSMandatory, StartTLSOpportunistic, StartTLSNone:
	default:
		return o, fmt.Errorf("%w: starttls=%q (want mandatory, opportunistic or none)", ErrSMTPURL, o.StartTLS)
	}
	o.Auth = strings.ToLower(q.Get("auth"))
	if _, ok := authTypes()[o.Auth]; !ok && o.Auth != "" {
		return o, fmt.Errorf("%w: auth=%q", ErrSMTPURL, o.Auth)
	}
	o.HELO = q.Get("helo")
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("%w: timeout=%q", ErrSMTPURL, t)
		}
		o.Timeout = d
	}
	return o, nil
}

// String is the URL without the password, for logs.
func (o SMTPOptions) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(o.Host, strconv.Itoa(o.Port))}
	if o.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if o.Username != "" {
		u.User = url.User(o.Username)
	}
	q := url.Values{}
	if !o.ImplicitTLS {
		q.Set("starttls", o.StartTLS)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

var authTypes = sync.OnceValue(func() map[string]mail.SMTPAuthType {
	return map[string]mail.SMTPAuthType{
		"plain": mail.SMTPAuthPlain, "plain-noenc": mail.SMTPAuthPlainNoEnc,
		"login": mail.SMTPAuthLogin, "login-noenc": mail.SMTPAuthLoginNoEnc,
		"cram-md5": mail.SMTPAuthCramMD5,
	}
})

// Mailer sends one rendered mail.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// SMTPMailer sends mail through an SMTP server with go-mail: multipart
// text and HTML, UTF-8, quoted-printable bodies, an encoded subject, and
// base64 attachments (then multipart/mixed).
type SMTPMailer struct {
	opts SMTPOptions
	from string
}

// NewSMTPMailer returns a mailer sending as from ("Name <addr>" or addr).
func NewSMTPMailer(o SMTPOptions, from string) (*SMTPMailer, error) {
	if o.Host == "" || o.Port == 0 {
		return nil, fmt.Errorf("%w: host and port are required", ErrSMTPURL)
	}
	if strings.TrimSpace(from) == "" {
		return nil, fmt.Errorf("notify: a sender address is required (RAMPART_MAIL_FROM)")
	}
	return &SMTPMailer{opts: o, from: from}, nil
}

func (s *SMTPMailer) client() (*mail.Client, error) {
	o := s.opts
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithPort(o.Port), mail.WithTimeout(timeout)}
	switch {
	case o.ImplicitTLS:
		opts = append(opts, mail.WithSSL())
	case o.StartTLS == StartTLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case o.StartTLS == StartTLSOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if o.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(o.TLSConfig))
	}
	if o.HELO != "" {
		opts = append(opts, mail.WithHELO(o.HELO))
	}
	if o.Username != "" {
		at := mail.SMTPAuthAutoDiscover
		if o.Auth != "" {
			at = authTypes()[o.Auth]
		}
		opts = append(opts, mail.WithSMTPAuth(at), mail.WithUsername(o.Username), mail.WithPassword(o.Password))
	}
	return mail.NewClient(o.Host, opts...)
}

// Send delivers m. Errors wrap ErrSend.
func (s *SMTPMailer) Send(ctx context.Context, m Mail) error {
	msg := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP))
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("%w: from %q: %v", ErrSend, s.from, err)
	}
	var err error
	if m.ToName != "" {
		err = msg.AddToFormat(m.ToName, m.To)
	} else {
		err = msg.To(m.To)
	}
	if err != nil {
		return fmt.Errorf("%w: to %q: %v", ErrSend, m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetUserAgent("Rampart")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(ct))); err != nil {
			return fmt.Errorf("%w: attach %q: %v", ErrSend, a.Name, err)
		}
	}
	c, err := s.client()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSend, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("%w: smtp %s: %v", ErrSend, net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port)), err)
	}
	return nil
}
