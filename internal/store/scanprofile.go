package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/target"
)

// Bounds of a scan profile.
const (
	// MaxScanRate is the highest probes-per-second a profile may ask for;
	// a worker's own ceiling (worker.PortscanWorker.MaxRate) still applies.
	MaxScanRate = 100000
	// MaxProfilePorts bounds the length of a profile's port list.
	MaxProfilePorts = 4096
	// MaxProfileFamilies bounds how many check families a profile names.
	MaxProfileFamilies = 64
)

// ScanProfile is one asset's overrides of its organization's scan policy.
// A nil field inherits the organization's value; a profile with every
// field nil is no override at all. Inheritance is asset override, then
// organization policy, then the platform's defaults (see ForAsset).
type ScanProfile struct {
	// Ports replaces the TCP port list ("" means the platform's default).
	Ports *string `json:"ports"`
	// Families replaces the check families to run (empty: every family).
	Families *[]string `json:"families"`
	// Rate replaces the probes per second of a job (0: the platform's default).
	Rate *int `json:"rate"`
	// UDP turns the UDP scan on or off for this asset.
	UDP *bool `json:"udp"`
	// Credentials opts this asset in or out of default-password attempts.
	Credentials *bool `json:"credentials"`
}

// IsZero reports whether the profile overrides nothing.
func (pr ScanProfile) IsZero() bool {
	return pr.Ports == nil && pr.Families == nil && pr.Rate == nil && pr.UDP == nil && pr.Credentials == nil
}

// ForAsset returns the policy that applies to an asset whose override is
// pr: each field pr sets replaces the organization's. Fields left at
// their zero value ("" ports, no families, rate 0) fall back to the
// platform's defaults when the job is built.
func (sp ScanPolicy) ForAsset(pr ScanProfile) ScanPolicy {
	if pr.Ports != nil {
		sp.Ports = *pr.Ports
	}
	if pr.Families != nil {
		sp.Families = slices.Clone(*pr.Families)
	}
	if pr.Rate != nil {
		sp.Rate = *pr.Rate
	}
	if pr.UDP != nil {
		sp.UDP = *pr.UDP
	}
	if pr.Credentials != nil {
		sp.Credentials = *pr.Credentials
	}
	return sp
}

// ProfileError is a scan profile field that breaks a rule. It wraps
// ErrInvalid.
type ProfileError struct {
	Field  string // "ports", "families", "rate"
	Reason string
}

func (e *ProfileError) Error() string { return "scan profile: " + e.Field + ": " + e.Reason }

// Unwrap makes a ProfileError an ErrInvalid.
func (e *ProfileError) Unwrap() error { return ErrInvalid }

// NormalizePorts checks a profile's port list (as for --ports: 22,80,
// 1000-2000, top100, top1000, all) and returns it trimmed; "" stays ""
// (the platform's default).
func NormalizePorts(ports string) (string, error) {
	ports = strings.TrimSpace(ports)
	if ports == "" {
		return "", nil
	}
	if len(ports) > MaxProfilePorts {
		return "", &ProfileError{"ports", fmt.Sprintf("longer than %d characters", MaxProfilePorts)}
	}
	if _, err := target.ParsePorts(ports); err != nil {
		return "", &ProfileError{"ports", err.Error()}
	}
	return ports, nil
}

// NormalizeFamilies checks a profile's check family names (lower-case
// letters, digits and '-') and returns them sorted without repeats; an
// empty list means every family, so "all" and "none" are refused.
func NormalizeFamilies(fams []string) ([]string, error) {
	if len(fams) > MaxProfileFamilies {
		return nil, &ProfileError{"families", fmt.Sprintf("at most %d families, not %d", MaxProfileFamilies, len(fams))}
	}
	out := make([]string, 0, len(fams))
	for _, f := range fams {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "all" || f == "none" {
			return nil, &ProfileError{"families", fmt.Sprintf("%q is not a family: an empty list runs every family", f)}
		}
		if !familyName(f) {
			return nil, &ProfileError{"families", fmt.Sprintf("%q is not a check family name", short(f))}
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// CheckRate checks a profile's probes per second: 0 (the platform's
// default) to MaxScanRate.
func CheckRate(rate int) error {
	if rate < 0 || rate > MaxScanRate {
		return &ProfileError{"rate", fmt.Sprintf("%d is not 0 (the platform's default) to %d probes per second", rate, MaxScanRate)}
	}
	return nil
}

// Normalize checks every field pr sets and returns it in canonical form.
func (pr ScanProfile) Normalize() (ScanProfile, error) {
	out := pr
	if pr.Ports != nil {
		v, err := NormalizePorts(*pr.Ports)
		if err != nil {
			return pr, err
		}
		out.Ports = &v
	}
	if pr.Families != nil {
		v, err := NormalizeFamilies(*pr.Families)
		if err != nil {
			return pr, err
		}
		out.Families = &v
	}
	if pr.Rate != nil {
		if err := CheckRate(*pr.Rate); err != nil {
			return pr, err
		}
	}
	return out, nil
}

func familyName(f string) bool {
	if f == "" || len(f) > 32 || f[0] < 'a' || f[0] > 'z' {
		return false
	}
	for _, c := range []byte(f) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ScanProfiles keeps the per-asset overrides of scan policies. Reading
// needs auth.PermReadRegistry or auth.PermReadScope and the asset in the
// principal's subtree; changing needs auth.PermWriteAssets as well, as
// for SetScanPolicy.
type ScanProfiles interface {
	// GetAssetScanProfile returns an asset's override, the zero profile
	// when it has none.
	GetAssetScanProfile(ctx context.Context, p auth.Principal, assetID int64) (ScanProfile, error)
	// SetAssetScanProfile replaces an asset's override after normalizing
	// it (a bad field is a *ProfileError); the zero profile removes it.
	// Audited as "scanprofile.create", ".update" or ".delete" on object
	// type "asset_scan_profile"; setting what is stored writes nothing.
	SetAssetScanProfile(ctx context.Context, p auth.Principal, assetID int64, pr ScanProfile) error
}
