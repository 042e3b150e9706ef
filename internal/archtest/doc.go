// Package archtest holds the architecture test: it reads the whole import
// graph with `go list -deps` and checks what every layer reaches,
// transitively, against deny-lists whose entries each say why (the manner
// of Tailscale's tstest/deptest). A rule that only read direct imports would
// let a domain package reach the database through a helper; this one
// follows every path.
//
// The rules are in arch_test.go; a failure names the package, what it must
// not reach, the import chain that reaches it, and the reason.
package archtest
