package website

import (
	"strings"
)

// marker is a defacer phrase (folded) and its weight.
type marker struct {
	text   string
	weight int
}

// defacerPhrases are what defacement pages say. A weight of 3 is enough
// on its own once the page changed; weaker ones need company.
var defacerPhrases = []marker{
	{"hacked by", 3}, {"h4ck3d", 3}, {"hack3d", 3}, {"h4cked", 3}, {"defaced by", 3}, {"deface by", 3},
	{"was hacked", 3}, {"has been hacked", 3}, {"got hacked", 3}, {"security is low", 3}, {"your security is", 2},
	{"pwned by", 3}, {"owned by", 2}, {"0wned", 3}, {"greetz", 2}, {"greetings to", 1}, {"greets to", 2},
	{"special thanks to", 1}, {"touched by", 1}, {"we are anonymous", 3}, {"expect us", 2}, {"cyber army", 2},
	{"cyber team", 1}, {"hacker", 1}, {"hacked", 2}, {"defaced", 3}, {"bi hack", 1}, {"da bi hack", 2},
	{"hack boi", 3}, {"patch your", 2}, {"fix your security", 3},
}

// markersIn returns the defacer phrases in folded text (padded with
// spaces); the structural marker "tiny page with a big heading" is judged
// in Judge with the baseline.
func markersIn(folded string) []string {
	var found []string
	for _, m := range defacerPhrases {
		if countWord(folded, m.text) > 0 {
			found = append(found, m.text)
		}
	}
	return found
}

// DefacementVerdict is the judgement of a page against its baseline.
type DefacementVerdict struct {
	Change     Change
	NewMarkers []string // defacer phrases not in the baseline
	TinyPage   bool     // little text, few links, a big heading
	Score      int
	Defaced    bool
}

// DefacementThreshold is the score at which a changed page is defaced.
const DefacementThreshold = 5

// Judge compares the page d (fingerprinted as cur) to its baseline.
//
// Score: each defacer phrase the baseline did not have adds its weight,
// doubled when it is in the <title> or an <h1> (where defacers sign); a
// page shrunk to a tiny page with a big heading adds 2; a fourfold loss
// of text adds 1. The page is defaced when it changed (Change.Changed),
// scores DefacementThreshold or more, and at least one phrase weighs 2 or
// more. So "Hacked by X" in the title fires alone (6); a news story that
// mentions "hacker" and "bị hack" in its text (3) does not; a maintenance
// page ("Đang bảo trì") is tiny but says nothing a defacer says.
func Judge(old, cur Baseline, d *Doc) DefacementVerdict {
	v := DefacementVerdict{Change: Compare(old, cur)}
	had := map[string]bool{}
	for _, m := range old.Markers {
		had[m] = true
	}
	now := map[string]bool{}
	for _, m := range cur.Markers {
		now[m] = true
	}
	head := " " + Fold(d.Title+" "+strings.Join(d.H1, " ")) + " "
	strong := false
	for _, m := range defacerPhrases {
		if had[m.text] || !now[m.text] {
			continue
		}
		v.NewMarkers = append(v.NewMarkers, m.text)
		w := m.weight
		if countWord(head, m.text) > 0 {
			w *= 2
		}
		v.Score += w
		strong = strong || m.weight >= 2
	}
	v.TinyPage = len(d.Visible) < 1500 && len(cur.Links) <= 5 && len(d.Headings) > 0
	if v.TinyPage {
		v.Score += 2
	}
	if v.Change.SizeRatio < 0.25 {
		v.Score++
	}
	v.Defaced = v.Change.Changed() && strong && v.Score >= DefacementThreshold
	return v
}
