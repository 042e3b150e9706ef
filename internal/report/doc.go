// Package report builds scorecards and security reports for one
// organization or rolled up a ministry, sector, province or the whole
// constituency, and renders them as HTML (the console), PDF (DejaVu fonts
// embedded, so Vietnamese diacritics survive printing and text
// extraction), CSV and XLSX.
//
// Build reads the store as the given principal sees it (tenancy stays in
// the store); Render turns the Report into a format and language. The
// score formula lives in one function, Score, documented in
// docs/scoring.md; every view of a score (console, report, API) must call
// it rather than compute its own.
//
// It imports the store contracts and the assess package; it must not
// import an adapter (sqlstore, web, api) outside tests.
package report
