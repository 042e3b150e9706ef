// Package builtin embeds the check templates that ship with Rampart, so the
// binary carries them on an air-gapped machine; an operator's own templates
// live in <data>/templates. check/all loads them with template.LoadFS.
package builtin

import "embed"

// FS holds the shipped *.yaml templates.
//
//go:embed *.yaml
var FS embed.FS
