package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rampart-cert/rampart/internal/discovery/ct/ctlog"
)

// The lab's Certificate Transparency log serves, over plain HTTP on its
// own address, the certificates the lab CA issued: those of the HTTPS
// hosts, a precertificate for a name that exists in the hn-demo.gov.vn
// zone and nowhere else a scanner would look (neither transferable, nor a
// common label), and one for a name outside the constituency.

// ctNames are the certificates the lab log holds, in log order.
var ctNames = []struct {
	names   []string
	precert bool
}{
	{names: []string{"www.btttt-demo.gov.vn", "btttt-demo.gov.vn"}},
	{names: []string{"dichvucong.hn-demo.gov.vn"}},
	{names: []string{"yte.hcm-demo.gov.vn"}},
	{names: []string{"hoso-truc-tuyen.hn-demo.gov.vn"}, precert: true},
	{names: []string{"cds-cu.btttt-demo.gov.vn"}},
	{names: []string{"shop.thuongmai-demo.vn", "www.thuongmai-demo.vn"}},
	{names: []string{"hoso-truc-tuyen.hn-demo.gov.vn"}},
}

// startCT builds the lab log and serves it at http://<base+0.80>:port/ct/.
func (l *Lab) startCT(context.Context) error {
	log, err := ctlog.New(4, l.now)
	if err != nil {
		return fmt.Errorf("lab: ct log: %w", err)
	}
	now := l.now()
	for _, c := range ctNames {
		cert, err := l.ca.issue(leaf{names: c.names, precert: c.precert, notBefore: now.Add(-24 * time.Hour), notAfter: now.Add(90 * 24 * time.Hour)})
		if err != nil {
			return err
		}
		if c.precert {
			err = log.AddPrecert(cert.Certificate[0], l.ca.cert.Raw)
		} else {
			err = log.AddCert(cert.Certificate[0], l.ca.cert.Raw)
		}
		if err != nil {
			return fmt.Errorf("lab: ct log: %w", err)
		}
	}
	ip := l.addr(offCT)
	svc, err := l.startHTTP(ip, "http", 80, http.StripPrefix("/ct", log), (*tls.Config)(nil))
	if err != nil {
		return err
	}
	l.ctURL = "http://" + net.JoinHostPort(ip.String(), fmt.Sprint(svc.Port)) + "/ct/"
	l.ctKey = log.KeyBase64()
	return nil
}

// CTLogURL is the base URL of the lab's CT log ("http://127.77.0.80/ct/"):
// get-sth and get-entries are under it, as RFC 6962 says.
func (l *Lab) CTLogURL() string { return l.ctURL }

// CTLogKey is the lab log's public key, base64 DER as a log list gives it.
func (l *Lab) CTLogKey() string { return l.ctKey }
