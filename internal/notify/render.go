package notify

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

//go:embed templates
var templateFS embed.FS

// The templates only lay out; every word comes from the catalogs.
// They are parsed on first use, not at package init.
var (
	textTmpl = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.New("message.txt.tmpl").Funcs(texttemplate.FuncMap{"inc": func(i int) int { return i + 1 }}).
			ParseFS(templateFS, "templates/message.txt.tmpl"))
	})
	htmlTmpl = sync.OnceValue(func() *htmltemplate.Template {
		return htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/message.html.tmpl"))
	})
)

// view is what the templates render: already translated.
type view struct {
	Lang     string
	Title    string
	Greeting string
	Intro    string
	Details  []string // lines under the introduction (a reminder's campaign and deadline, an attached report)
	// StepsTitle and Steps are what the reader is asked to do, in order.
	StepsTitle string
	Steps      []string
	Sections   []viewSection
	Summary    string
	Footer     string
	Link       string
}

type viewSection struct {
	Title string
	Count int
	Items []viewItem
	More  string
}

type viewItem struct {
	Severity      string
	SeverityLabel string
	Title         string
	Target        string
	Org           string
	Notes         []string
}

// Mail is one rendered message; it is also the payload of an e-mail
// delivery (To is the delivery's recipient).
type Mail struct {
	To        string `json:"to,omitempty"`
	ToName    string `json:"to_name,omitempty"`
	Subject   string `json:"subject"`
	Text      string `json:"text"`
	HTML      string `json:"html"`
	MessageID string `json:"message_id,omitempty"`
	// Attachments are sent after the text and HTML parts (multipart/mixed).
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is a file sent with a mail.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"` // empty: application/octet-stream
	Data        []byte `json:"data"`
}

func render(subject string, v view) (Mail, error) {
	var t, h bytes.Buffer
	if err := textTmpl().Execute(&t, v); err != nil {
		return Mail{}, fmt.Errorf("notify: render text: %w", err)
	}
	if err := htmlTmpl().Execute(&h, v); err != nil {
		return Mail{}, fmt.Errorf("notify: render html: %w", err)
	}
	return Mail{Subject: subject, Text: t.String(), HTML: h.String()}, nil
}

// orgName is the organization's name in language l.
func orgName(o org.Organization, l string) string {
	if l == "en" && o.NameEN != "" {
		return o.NameEN
	}
	if o.Name != "" {
		return o.Name
	}
	return o.NameEN
}

// item translates one finding; orgs names its organization when it is not
// the recipient's own.
func item(l string, f store.Finding, now time.Time, orgLabel string) viewItem {
	it := viewItem{Severity: string(f.Severity), SeverityLabel: tr(l, "severity."+string(f.Severity)), Title: f.Title, Target: f.Target, Org: orgLabel}
	if it.Title == "" {
		it.Title = f.Check
	}
	if f.KEV {
		it.Notes = append(it.Notes, tr(l, "kev"))
	}
	if f.DueAt != nil && f.State.Active() {
		if now.After(*f.DueAt) {
			it.Notes = append(it.Notes, tr(l, "overdue.days", int(now.Sub(*f.DueAt).Hours()/24)))
		} else {
			it.Notes = append(it.Notes, tr(l, "due", f.DueAt.In(vietnam).Format("02/01/2006")))
		}
	}
	return it
}

// severityFirst orders findings most severe first, then by ID.
func severityFirst(a, b store.Finding) int {
	if d := b.Severity.Rank() - a.Severity.Rank(); d != 0 {
		return d
	}
	return int(a.ID - b.ID)
}

func footer(l, consoleURL string) (string, string) {
	link := ""
	if consoleURL != "" {
		link = tr(l, "footer.link", strings.TrimRight(consoleURL, "/")+"/findings")
	}
	return tr(l, "footer"), link
}

// severityCount is how many of fs are critical, for the alert subject.
func alertCount(fs []store.Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity == finding.Critical || f.KEV {
			n++
		}
	}
	if n == 0 {
		n = len(fs)
	}
	return n
}
