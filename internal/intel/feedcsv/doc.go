// Package feedcsv reads CSV feeds and plain lists of indicators (URLhaus,
// Feodo Tracker, Spamhaus DROP and ASN-DROP, blocklist.de, OpenPhish, any
// list of addresses, names or URLs) into intel records, by a declared
// column map rather than code per feed.
//
// A Format says how lines split (a delimiter, quotes, or one value a line),
// which lines are comments, where the column names are (a header line, or
// the last comment line before the rows as URLhaus writes it), which
// column holds the value and of which kind ("auto" tells it from the
// value), and what else a row carries: first and last seen, category
// (constant or a column through a map), labels ("malware:dridex"),
// confidence, TLP, an ID, detail columns, and a comment after the value
// ("1.4.0.0/17 ; SBL256893" gives detail sbl=SBL256893). Columns are named
// by index or by header name; a list of names lets one format read two
// layouts of the same feed.
//
// The shipped presets (Presets, Preset) are JSON files embedded in the
// binary, not Go code: a feed that changes its columns is a data update.
// ParseFormat decodes an operator's own format strictly: an unknown field
// is an error, not a silently ignored mapping.
//
//	f, _ := feedcsv.Preset("spamhaus-drop")
//	rej, err := feedcsv.Parse(ctx, body, f, "spamhaus-drop", emit)
//
// Parse streams: it reads one line at a time with a bound on the line
// length, so memory does not grow with the feed. A bad row (a value that
// does not normalize, a time that does not match the layout, a line over
// the bound) is rejected as "line N" with the reason, and the parse goes
// on; every emitted record has passed intel.Record.Normalize.
//
// LineReader and SplitFields are the bounded line reader and the
// quote-tolerant field splitter underneath, shared with the Shadowserver
// parser.
//
// The package is a domain package: standard library and internal/intel.
package feedcsv
