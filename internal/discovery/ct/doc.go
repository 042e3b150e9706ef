// Package ct reads Certificate Transparency logs (RFC 6962): a client for
// get-sth and get-entries that reads a log in batches from a remembered
// position (the log's own maximum batch is learnt from its answers), the
// decoding of log entries (MerkleTreeLeaf, TimestampedEntry, x509_entry
// and precert_entry, and the extra_data chains), the names a certificate
// carries, tree-head signatures, the v3 log list, and CT entries saved to
// files for sites without access to the logs.
//
//	c := &ct.Client{URL: "https://ct.example/2026/"}
//	pos, err := c.Scan(ctx, ct.Position{Next: saved}, 0, func(i uint64, e ct.RawEntry) error {
//		leaf, err := ct.ParseLeaf(e.LeafInput)
//		if err != nil { return nil } // a bad entry is skipped, not fatal
//		cert, err := leaf.Certificate()
//		...
//		for _, name := range ct.Names(cert) { ... }
//		return nil
//	})
//	// save pos.Next: the next scan resumes there
//
// Logs are remote and may be hostile or broken: every request has a
// deadline (DefaultTimeout) and a size cap (MaxResponse), a certificate in
// a leaf is at most MaxCert bytes, and a precertificate's TBSCertificate
// is read with its poison extension in place. Package ctlog is a small log
// server over a fixed tree, for tests and the demo lab.
package ct
