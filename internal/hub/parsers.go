package hub

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/feedcsv"
	"github.com/rampart-cert/rampart/internal/intel/misp"
	"github.com/rampart-cert/rampart/internal/intel/shadowserver"
	"github.com/rampart-cert/rampart/internal/intel/stix"
	"github.com/rampart-cert/rampart/internal/store"
)

// ImportRequest says how to read one input.
type ImportRequest struct {
	// Format is one of store.FeedFormats but taxii: stix, misp, csv,
	// shadowserver.
	Format string `json:"format"`
	// Feed names the source; "" takes the format's default: the preset
	// for CSV, "shadowserver:<report type>", "stix", "misp".
	Feed string `json:"feed,omitempty"`
	// Preset is the CSV preset (feedcsv.Presets) or the Shadowserver
	// report type; for a Shadowserver report it may come from Name.
	Preset string `json:"preset,omitempty"`
	// Options is a CSV format (feedcsv.Format as JSON) for a feed no
	// preset describes.
	Options string `json:"options,omitempty"`
	// Name is the input's file name, for messages and the report type.
	Name string `json:"name,omitempty"`
	// TLP marks the records the source leaves unmarked (STIX, MISP, CSV
	// without a marking of its own); "" leaves AMBER.
	TLP intel.TLP `json:"tlp,omitempty"`
}

// Formats the hub imports (TAXII is polled, not imported).
var importFormats = []string{store.FeedSTIX, store.FeedMISP, store.FeedCSV, store.FeedShadowserver}

// check validates a request and fills the feed's name.
func (h *Hub) check(req *ImportRequest) error {
	req.Format = strings.ToLower(strings.TrimSpace(req.Format))
	req.Feed = strings.TrimSpace(req.Feed)
	switch req.Format {
	case store.FeedSTIX, store.FeedMISP:
	case store.FeedCSV:
		if req.Preset == "" && req.Options == "" {
			return fmt.Errorf("%w: a CSV feed needs a preset (%s) or a format", ErrFormat, strings.Join(feedcsv.Presets(), ", "))
		}
		if _, err := h.csvFormat(req); err != nil {
			return err
		}
	case store.FeedShadowserver:
		rep, err := h.report(req)
		if err != nil {
			return err
		}
		if req.Feed == "" {
			req.Feed = "shadowserver:" + rep
		}
	default:
		return fmt.Errorf("%w %q: want one of %s", ErrFormat, req.Format, strings.Join(importFormats, ", "))
	}
	if req.TLP != "" {
		t, err := intel.ParseTLP(string(req.TLP))
		if err != nil {
			return fmt.Errorf("hub: %w", err)
		}
		req.TLP = t
	}
	if req.Feed == "" {
		req.Feed = req.Format
		if req.Format == store.FeedCSV && req.Preset != "" {
			req.Feed = req.Preset
		}
	}
	if len(req.Feed) > 200 {
		return fmt.Errorf("%w: feed name longer than 200 bytes", store.ErrInvalid)
	}
	return nil
}

func (h *Hub) csvFormat(req *ImportRequest) (feedcsv.Format, error) {
	var (
		f   feedcsv.Format
		err error
	)
	if req.Options != "" {
		f, err = feedcsv.ParseFormat([]byte(req.Options))
	} else {
		f, err = feedcsv.Preset(req.Preset)
	}
	if err != nil {
		return f, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if req.TLP != "" && f.TLP == "" {
		f.TLP = string(req.TLP)
	}
	return f, nil
}

func (h *Hub) schema() (*shadowserver.Schema, error) {
	if h.d.Schema != nil {
		return h.d.Schema, nil
	}
	return shadowserver.DefaultSchema()
}

// report is the Shadowserver report type of a request: its preset, else
// its file name's.
func (h *Hub) report(req *ImportRequest) (string, error) {
	s, err := h.schema()
	if err != nil {
		return "", err
	}
	name := req.Preset
	if name == "" {
		name = req.Name
	}
	if name == "" {
		return "", fmt.Errorf("%w: name the Shadowserver report type (--preset scan_snmp) or keep the report's file name", ErrFormat)
	}
	rep, err := s.Report(name)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return rep.FileName, nil
}

// parse reads r in req's format. A STIX bundle that cannot seek is first
// written to a temporary file: its parser reads a file twice so that
// memory does not grow with the indicators.
func (h *Hub) parse(ctx context.Context, req ImportRequest, r io.Reader, emit intel.Emit) (*intel.Rejections, error) {
	switch req.Format {
	case store.FeedSTIX:
		if _, ok := r.(io.ReadSeeker); !ok {
			f, err := os.CreateTemp(h.d.TempDir, "rampart-stix-*.json")
			if err != nil {
				return nil, fmt.Errorf("hub: spool STIX bundle: %w", err)
			}
			defer func() {
				f.Close()
				os.Remove(f.Name())
			}()
			if _, err := io.Copy(f, r); err != nil {
				return nil, fmt.Errorf("hub: spool STIX bundle: %w", err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return nil, fmt.Errorf("hub: spool STIX bundle: %w", err)
			}
			r = f
		}
		res, err := stix.ParseWith(ctx, r, req.Feed, emit, stix.Options{DefaultTLP: req.TLP})
		if res == nil {
			return nil, err
		}
		return &res.Rejections, err
	case store.FeedMISP:
		res, err := misp.ParseEventWith(ctx, r, req.Feed, emit, misp.Options{DefaultTLP: req.TLP})
		if res == nil {
			return nil, err
		}
		return &res.Rejections, err
	case store.FeedCSV:
		f, err := h.csvFormat(&req)
		if err != nil {
			return nil, err
		}
		return feedcsv.Parse(ctx, r, f, req.Feed, emit)
	case store.FeedShadowserver:
		s, err := h.schema()
		if err != nil {
			return nil, err
		}
		name := req.Preset
		if name == "" {
			name = req.Name
		}
		return shadowserver.Parse(ctx, r, s, name, emit)
	}
	return nil, fmt.Errorf("%w %q", ErrFormat, req.Format)
}

// parseDir reads a MISP feed directory (manifest.json and its events).
func (h *Hub) parseDir(ctx context.Context, req ImportRequest, fsys fs.FS, emit intel.Emit) (*intel.Rejections, error) {
	if req.Format != store.FeedMISP {
		return nil, fmt.Errorf("%w: only a MISP feed is read from a directory, not %s", ErrFormat, req.Format)
	}
	res, err := misp.ReadFeedWith(ctx, fsys, req.Feed, emit, misp.Options{DefaultTLP: req.TLP})
	if res == nil {
		return nil, err
	}
	return &res.Rejections, err
}
