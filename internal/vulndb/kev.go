package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// KEVCatalog describes a KEV catalog file.
type KEVCatalog struct {
	Version  string    `json:"catalogVersion"` // "2025.08.25"
	Released time.Time `json:"dateReleased,omitzero"`
	Count    int       `json:"count"` // the count the file claims
}

// ReadKEV reads the CISA KEV catalog JSON (plain or gzip'd) and calls fn
// with each valid entry, its Catalog set to the catalog version. Invalid
// entries (bad cveID, dates, wrong types) go to bad, or end the read when
// bad is nil. Entries are delivered after the whole catalog is read (it is
// small, about 1,400 entries), so that each carries the catalog version
// wherever the file puts it.
func ReadKEV(r io.Reader, name string, fn func(KEVEntry) error, bad func(*RecordError)) (KEVCatalog, error) {
	var cat KEVCatalog
	br, cr, err := decompress(r, name)
	if err != nil {
		return cat, err
	}
	dec := json.NewDecoder(br)
	syntax := func(err error) error {
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%w: %s: byte %d: %v", ErrFormat, name, dec.InputOffset(), err)
	}
	if tok, err := dec.Token(); err != nil {
		return cat, syntax(err)
	} else if tok != json.Delim('{') {
		return cat, fmt.Errorf("%w: %s: a KEV catalog is a JSON object", ErrFormat, name)
	}
	var entries []KEVEntry
	var released string
	seenList := false
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return cat, syntax(err)
		}
		cr.startRecord()
		switch key, _ := tok.(string); key {
		case "catalogVersion":
			err = dec.Decode(&cat.Version)
		case "dateReleased":
			err = dec.Decode(&released)
		case "count":
			err = dec.Decode(&cat.Count)
		case "vulnerabilities":
			seenList = true
			if tok, err := dec.Token(); err != nil {
				return cat, syntax(err)
			} else if tok != json.Delim('[') {
				return cat, fmt.Errorf("%w: %s: \"vulnerabilities\" is not an array", ErrFormat, name)
			}
			for dec.More() {
				cr.startRecord()
				n++
				if n > maxKEVEntries {
					return cat, fmt.Errorf("%w: %s: more than %d KEV entries", ErrTooLarge, name, maxKEVEntries)
				}
				var raw kevRaw
				err := dec.Decode(&raw)
				if err != nil && !isTypeError(err) {
					return cat, syntax(err)
				}
				var e KEVEntry
				if err == nil {
					e, err = raw.convert()
				}
				if err != nil {
					if err := reject(bad, &RecordError{File: name, Record: n, Offset: dec.InputOffset(), ID: raw.CVEID, Err: err}); err != nil {
						return cat, err
					}
					continue
				}
				entries = append(entries, e)
			}
			if _, err := dec.Token(); err != nil {
				return cat, syntax(err)
			}
			continue
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			if isTypeError(err) {
				return cat, fmt.Errorf("%w: %s: catalog header: %v", ErrFormat, name, err)
			}
			return cat, syntax(err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return cat, syntax(err)
	}
	if _, err := dec.Token(); err == nil {
		return cat, fmt.Errorf("%w: %s: data after the end of the catalog", ErrFormat, name)
	} else if err != io.EOF {
		return cat, syntax(err)
	}
	if !seenList {
		return cat, fmt.Errorf("%w: %s: no \"vulnerabilities\" list: not a KEV catalog", ErrFormat, name)
	}
	if released != "" {
		t, err := nvdTime(released)
		if err != nil {
			return cat, fmt.Errorf("%w: %s: dateReleased: %v", ErrFormat, name, err)
		}
		cat.Released = t
	}
	if cat.Version == "" && !cat.Released.IsZero() {
		cat.Version = cat.Released.Format("2006.01.02")
	}
	for _, e := range entries {
		e.Catalog = cat.Version
		if fn != nil {
			if err := fn(e); err != nil {
				return cat, err
			}
		}
	}
	return cat, nil
}

type kevRaw struct {
	CVEID                      string   `json:"cveID"`
	VendorProject              string   `json:"vendorProject"`
	Product                    string   `json:"product"`
	VulnerabilityName          string   `json:"vulnerabilityName"`
	DateAdded                  string   `json:"dateAdded"`
	ShortDescription           string   `json:"shortDescription"`
	RequiredAction             string   `json:"requiredAction"`
	DueDate                    string   `json:"dueDate"`
	KnownRansomwareCampaignUse string   `json:"knownRansomwareCampaignUse"`
	Notes                      string   `json:"notes"`
	CWEs                       []string `json:"cwes"`
	CVE                        any      `json:"cve"` // present only in NVD data
}

func (r *kevRaw) convert() (KEVEntry, error) {
	if r.CVE != nil {
		return KEVEntry{}, errors.New("this looks like an NVD record, not a KEV entry")
	}
	id := strings.TrimSpace(r.CVEID)
	if !ValidCVEID(id) {
		return KEVEntry{}, fmt.Errorf("cveID %q is not a CVE ID", clip(r.CVEID))
	}
	e := KEVEntry{
		CVEID: id, VendorProject: r.VendorProject, Product: r.Product,
		VulnerabilityName: r.VulnerabilityName, ShortDescription: r.ShortDescription,
		RequiredAction: r.RequiredAction, KnownRansomwareCampaignUse: r.KnownRansomwareCampaignUse,
		Notes: r.Notes, CWEs: r.CWEs,
	}
	var err error
	if e.DateAdded, err = time.Parse(time.DateOnly, r.DateAdded); err != nil {
		return KEVEntry{}, fmt.Errorf("dateAdded %q is not YYYY-MM-DD", clip(r.DateAdded))
	}
	if r.DueDate != "" {
		if e.DueDate, err = time.Parse(time.DateOnly, r.DueDate); err != nil {
			return KEVEntry{}, fmt.Errorf("dueDate %q is not YYYY-MM-DD", clip(r.DueDate))
		}
	}
	return e, nil
}
