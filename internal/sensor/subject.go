package sensor

import (
	"strings"
)

// SubjectPrefix starts every subject a sensor publishes on:
//
//	rampart.sensor.<org>.<name>.detections   batches of detections
//	rampart.sensor.<org>.<name>.stats        heartbeats and input counters
//
// The queue's server lets a sensor's credential publish under its own
// "rampart.sensor.<org>.<name>." only, so the platform takes a message's
// organization and sensor from its subject, never from its payload.
const SubjectPrefix = "rampart.sensor"

// The last token of a sensor subject: what the message holds.
const (
	SubjectDetections = "detections"
	SubjectStats      = "stats"
)

// ValidName reports whether name may name a sensor (or a resolver): 1 to
// 64 of a-z, 0-9, '_' and '-', starting with a letter or digit. It is
// one subject token: no dots.
func ValidName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validOrg reports whether code is an organization code as package org
// allows it (letters, digits, '.', '_', '-'; 1 to 64), upper case as
// org.Normalize leaves it.
func validOrg(code string) bool {
	if code == "" || len(code) > 64 {
		return false
	}
	for i, c := range []byte(code) {
		switch {
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// OrgToken is an organization code as one subject token: an organization
// code may hold dots, which separate subject tokens, so they become '~'
// (never part of a code). Without it sensor "HN" of organization "MOH"
// could publish as sensor "s1" of organization "MOH.HN". It returns ""
// for a code that is not valid.
func OrgToken(code string) string {
	if !validOrg(code) {
		return ""
	}
	return strings.ReplaceAll(code, ".", "~")
}

// Subject is the prefix under which sensor name of organization org
// publishes, "rampart.sensor.<org token>.<name>"; "" when either is not
// valid.
func Subject(org, name string) string {
	tok := OrgToken(org)
	if tok == "" || !ValidName(name) {
		return ""
	}
	return SubjectPrefix + "." + tok + "." + name
}

// ParseSubject splits a sensor subject into the organization code, the
// sensor's name and what follows ("detections", "stats"). ok is false
// for anything that Subject could not have made.
func ParseSubject(subject string) (org, name, rest string, ok bool) {
	s, found := strings.CutPrefix(subject, SubjectPrefix+".")
	if !found {
		return "", "", "", false
	}
	tok, s, found := strings.Cut(s, ".")
	if !found {
		return "", "", "", false
	}
	name, rest, found = strings.Cut(s, ".")
	if !found || rest == "" || !ValidName(name) || strings.Contains(tok, ".") {
		return "", "", "", false
	}
	org = strings.ReplaceAll(tok, "~", ".")
	if tok == "" || OrgToken(org) != tok {
		return "", "", "", false
	}
	return org, name, rest, true
}
