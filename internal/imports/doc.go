// Package imports reads third-party scanner output (SARIF 2.1.0, Nuclei
// JSON lines, Nmap XML) into neutral results that the findings service can
// turn into findings. It is the parsing half of
//
//	rampart import findings --tool sarif|nuclei|nmap FILE
//
// Parse reads one file of one tool:
//
//	results, err := imports.Parse(imports.Nuclei, f, imports.Limits{})
//	if err != nil {
//		// err lists every bad line, one "imports: line N: ..." per line;
//		// refuse the whole file.
//	}
//
// The input is hostile: every read is capped (Limits), every string kept
// in a Result is capped and stripped of control characters, URLs lose
// their user:password part, and a malformed record is reported with its
// line number instead of being skipped in silence.
//
// The package is pure: it imports the standard library and
// internal/finding only, never a database, a queue or the network.
package imports
