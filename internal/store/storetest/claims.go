package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// testClaims covers store.Claims: who registers a claim and who a verified
// asset, the request behind a claim, decisions, automatic proofs, the
// claims the loop checks again, and that the scheduler never sees a claim.
func testClaims(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	member := as(auth.RoleOrgMember, f.a1)
	adminA1 := as(auth.RoleOrgAdmin, f.a1)
	adminA := as(auth.RoleOrgAdmin, f.a)
	adminB := as(auth.RoleOrgAdmin, f.b)
	platform := auth.Principal{Name: "cert", Role: auth.RolePlatformAdmin}

	// The national level registers verified assets; anyone else claims.
	nat := f.asset(t, platform, f.a1, asset.KindHostname, "nat.example.vn")
	if nat.State != asset.StateVerified || nat.VerifiedBy != "national:cert" || nat.VerifiedAt == nil || nat.VerifyToken != "" {
		t.Fatalf("platform admin's asset: %+v", nat)
	}
	sysA := f.asset(t, sys, f.a1, asset.KindHostname, "sys.example.vn")
	if sysA.State != asset.StateVerified {
		t.Fatalf("system's asset: %+v", sysA)
	}
	c := f.asset(t, member, f.a1, asset.KindHostname, "claim.example.vn")
	if c.State != asset.StateClaimed || !asset.ValidToken(c.VerifyToken) || c.VerifiedAt != nil {
		t.Fatalf("member's asset: %+v", c)
	}
	got, err := s.GetAsset(ctx, sys, c.ID)
	must(t, err, "get claim asset")
	if got.State != asset.StateClaimed || got.VerifyToken != c.VerifyToken {
		t.Fatalf("stored claim: %+v", got)
	}
	v, err := s.GetClaim(ctx, adminA, c.ID)
	must(t, err, "get claim")
	if v.Claim.RequestedBy != member.Name || v.Claim.RequestedAt.IsZero() || v.OrgCode != "A1" || v.Asset.ID != c.ID {
		t.Fatalf("claim view: %+v", v)
	}
	_, err = s.GetClaim(ctx, adminB, c.ID)
	wantErr(t, err, store.ErrNotFound, "claim of another subtree")
	_, err = s.GetClaim(ctx, sys, nat.ID)
	wantErr(t, err, store.ErrNotFound, "a verified asset has no pending claim")

	// Evidence.
	must(t, s.SetClaimEvidence(ctx, member, c.ID, " RIR allocation VNNIC-2026-1 "), "evidence")
	v, _ = s.GetClaim(ctx, sys, c.ID)
	if v.Claim.Evidence != "RIR allocation VNNIC-2026-1" {
		t.Fatalf("evidence %q", v.Claim.Evidence)
	}
	wantErr(t, s.SetClaimEvidence(ctx, member, c.ID, strings.Repeat("x", asset.MaxEvidence+1)), store.ErrInvalid, "long evidence")
	wantErr(t, s.SetClaimEvidence(ctx, as(auth.RoleViewer, f.a1), c.ID, "x"), store.ErrForbidden, "viewer evidence")
	wantErr(t, s.SetClaimEvidence(ctx, member, nat.ID, "x"), store.ErrConflict, "evidence on a verified asset")

	// Listing: the subtree, and what each may decide.
	c2 := f.asset(t, adminA, f.a, asset.KindHostname, "own.example.vn")
	ids := func(p auth.Principal, fl store.ClaimFilter) []int64 {
		t.Helper()
		page, err := s.ListClaims(ctx, p, fl)
		must(t, err, "list claims")
		out := []int64{}
		for _, v := range page.Items {
			out = append(out, v.Asset.ID)
		}
		return out
	}
	if got := ids(adminA, store.ClaimFilter{}); !slices.Equal(got, []int64{c.ID, c2.ID}) {
		t.Fatalf("A's admin lists %v", got)
	}
	if got := ids(adminA, store.ClaimFilter{Decidable: true}); !slices.Equal(got, []int64{c.ID}) {
		t.Fatalf("A's admin may decide %v, want only A1's claim (never its own)", got)
	}
	if got := ids(member, store.ClaimFilter{Decidable: true}); len(got) != 0 {
		t.Fatalf("a member may decide %v", got)
	}
	if got := ids(platform, store.ClaimFilter{Decidable: true}); !slices.Equal(got, []int64{c.ID, c2.ID}) {
		t.Fatalf("national decides %v", got)
	}
	if got := ids(adminB, store.ClaimFilter{}); len(got) != 0 {
		t.Fatalf("B's admin sees A's claims %v", got)
	}
	if got := ids(adminA, store.ClaimFilter{OrgID: f.a1.ID}); !slices.Equal(got, []int64{c.ID}) {
		t.Fatalf("A1 subtree claims %v", got)
	}

	// The scheduler never sees a claim.
	due, err := s.DueAssets(ctx, time.Now().Add(time.Hour), store.MaxLimit)
	must(t, err, "due assets")
	for _, d := range due {
		if d.AssetID == c.ID || d.AssetID == c2.ID {
			t.Fatalf("claim %d is due for a scan", d.AssetID)
		}
	}

	// Decisions: never by the claimant's own organization.
	_, err = s.DecideClaim(ctx, adminA1, c.ID, true, "approval:x", "")
	wantErr(t, err, store.ErrForbidden, "own organization's admin approves")
	_, err = s.DecideClaim(ctx, member, c.ID, true, "approval:x", "")
	wantErr(t, err, store.ErrForbidden, "member approves")
	_, err = s.DecideClaim(ctx, adminB, c.ID, true, "approval:x", "")
	wantErr(t, err, store.ErrNotFound, "foreign admin approves")
	a, err := s.DecideClaim(ctx, adminA, c.ID, true, "approval:"+adminA.Name, "")
	must(t, err, "parent admin approves")
	if a.State != asset.StateVerified || a.VerifiedBy != "approval:"+adminA.Name || a.VerifiedAt == nil {
		t.Fatalf("approved: %+v", a)
	}
	_, err = s.DecideClaim(ctx, adminA, c.ID, false, "", "again")
	wantErr(t, err, store.ErrConflict, "decide a verified asset")
	r, err := s.DecideClaim(ctx, platform, c2.ID, false, "", " not yours ")
	must(t, err, "national rejects")
	if r.State != asset.StateRejected || r.VerifiedBy != "cert" {
		t.Fatalf("rejected: %+v", r)
	}
	v, err = s.GetClaim(ctx, adminA, c2.ID)
	must(t, err, "get rejected claim")
	if v.Claim.Reason != "not yours" || v.Asset.State != asset.StateRejected {
		t.Fatalf("rejected claim view %+v", v)
	}
	if got := ids(adminA, store.ClaimFilter{State: asset.StateRejected}); !slices.Equal(got, []int64{c2.ID}) {
		t.Fatalf("rejected list %v", got)
	}

	// Changing what a verified asset is makes it a claim again; the
	// national level may change it freely.
	a.Value = "other.example.vn"
	must(t, s.UpdateAsset(ctx, member, &a), "member changes the value")
	if a.State != asset.StateClaimed || a.VerifyToken == c.VerifyToken || a.VerifiedAt != nil {
		t.Fatalf("changed value stays verified: %+v", a)
	}
	a.Notes = "just a note"
	tok := a.VerifyToken
	must(t, s.UpdateAsset(ctx, member, &a), "member edits a note")
	if a.State != asset.StateClaimed || a.VerifyToken != tok {
		t.Fatalf("a note changed the claim: %+v", a)
	}
	nat.Value = "nat2.example.vn"
	must(t, s.UpdateAsset(ctx, platform, &nat), "national changes the value")
	if nat.State != asset.StateVerified {
		t.Fatalf("national change made a claim: %+v", nat)
	}

	// Automatic proofs, and the claims due for a check.
	before := time.Now().Add(time.Minute)
	dueClaims, err := s.DueClaims(ctx, before, store.MaxLimit)
	must(t, err, "due claims")
	if !slices.ContainsFunc(dueClaims, func(x asset.Asset) bool { return x.ID == a.ID }) {
		t.Fatalf("claim %d not due: %+v", a.ID, dueClaims)
	}
	at := time.Now().UTC().Truncate(time.Second)
	got, err = s.RecordProof(ctx, a.ID, a.VerifyToken, asset.VerifiedByDNS, false, "no TXT record", at)
	must(t, err, "record failed proof")
	if got.State != asset.StateClaimed {
		t.Fatalf("failed proof verified %+v", got)
	}
	v, _ = s.GetClaim(ctx, sys, a.ID)
	if v.Claim.CheckResult != "no TXT record" || v.Claim.CheckedAt == nil || !v.Claim.CheckedAt.Equal(at) {
		t.Fatalf("check not recorded: %+v", v.Claim)
	}
	dueClaims, _ = s.DueClaims(ctx, at, store.MaxLimit)
	if slices.ContainsFunc(dueClaims, func(x asset.Asset) bool { return x.ID == a.ID }) {
		t.Fatal("a claim just checked is due again")
	}
	got, err = s.RecordProof(ctx, a.ID, "0123456789abcdef0123456789abcdef", asset.VerifiedByDNS, true, "", at)
	must(t, err, "proof of an old token")
	if got.State != asset.StateClaimed {
		t.Fatal("a proof of another token verified the claim")
	}
	got, err = s.RecordProof(ctx, a.ID, a.VerifyToken, asset.VerifiedByHTTP, true, "", at)
	must(t, err, "record proof")
	if got.State != asset.StateVerified || got.VerifiedBy != asset.VerifiedByHTTP {
		t.Fatalf("proof did not verify: %+v", got)
	}
	_, err = s.RecordProof(ctx, a.ID, a.VerifyToken, asset.VerifiedByHTTP, true, "", at)
	wantErr(t, err, store.ErrConflict, "prove a verified asset")

	// Imports follow the same rule.
	rows := []store.ImportRow{{Line: 2, Asset: asset.Asset{OrgID: f.a1.ID, Kind: asset.KindHostname, Value: "imp.example.vn"}}}
	_, err = s.ImportAssets(ctx, adminA, rows)
	must(t, err, "import")
	if got := ids(adminA, store.ClaimFilter{OrgID: f.a1.ID}); len(got) != 1 {
		t.Fatalf("imported claim not listed: %v", got)
	}
	rows[0].Asset.Value = "imp2.example.vn"
	_, err = s.ImportAssets(ctx, platform, rows)
	must(t, err, "national import")
	page, err := s.ListAssets(ctx, sys, store.AssetFilter{Query: "imp2.example.vn"})
	must(t, err, "list")
	if len(page.Items) != 1 || page.Items[0].State != asset.StateVerified {
		t.Fatalf("national import: %+v", page.Items)
	}

	// Deleting a claim removes its request.
	must(t, s.DeleteAsset(ctx, adminA, c2.ID), "delete rejected claim")
	_, err = s.GetClaim(ctx, sys, c2.ID)
	wantErr(t, err, store.ErrNotFound, "claim of a deleted asset")
}
