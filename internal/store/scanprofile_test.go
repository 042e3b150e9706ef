package store

import (
	"errors"
	"reflect"
	"testing"
)

func ptr[T any](v T) *T { return &v }

// An asset's override wins field by field; what it leaves nil comes from
// the organization's policy.
func TestScanPolicyForAsset(t *testing.T) {
	org := ScanPolicy{Exclusions: []string{"192.0.2.1"}, Ports: "top100", Families: []string{"http", "tls"}, Rate: 200, UDP: true}
	for _, c := range []struct {
		name string
		pr   ScanProfile
		want ScanPolicy
	}{
		{"none", ScanProfile{}, org},
		{"ports", ScanProfile{Ports: ptr("443")},
			ScanPolicy{Exclusions: org.Exclusions, Ports: "443", Families: org.Families, Rate: 200, UDP: true}},
		{"every family", ScanProfile{Families: ptr([]string{})},
			ScanPolicy{Exclusions: org.Exclusions, Ports: "top100", Families: []string{}, Rate: 200, UDP: true}},
		{"udp off, credentials on, platform rate", ScanProfile{UDP: ptr(false), Credentials: ptr(true), Rate: ptr(0)},
			ScanPolicy{Exclusions: org.Exclusions, Ports: "top100", Families: org.Families, Credentials: true}},
	} {
		if got := org.ForAsset(c.pr); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestScanProfileNormalize(t *testing.T) {
	for _, c := range []struct {
		in    ScanProfile
		want  ScanProfile
		field string // the field refused; "" when valid
	}{
		{ScanProfile{}, ScanProfile{}, ""},
		{ScanProfile{Ports: ptr(" 22, 80 "), Families: ptr([]string{"TLS", "http", "tls"}), Rate: ptr(5)},
			ScanProfile{Ports: ptr("22, 80"), Families: ptr([]string{"http", "tls"}), Rate: ptr(5)}, ""},
		{ScanProfile{Ports: ptr("")}, ScanProfile{Ports: ptr("")}, ""},
		{ScanProfile{Ports: ptr("1-0")}, ScanProfile{}, "ports"},
		{ScanProfile{Ports: ptr("65536")}, ScanProfile{}, "ports"},
		{ScanProfile{Families: ptr([]string{"none"})}, ScanProfile{}, "families"},
		{ScanProfile{Families: ptr([]string{"../x"})}, ScanProfile{}, "families"},
		{ScanProfile{Families: ptr(make([]string, MaxProfileFamilies+1))}, ScanProfile{}, "families"},
		{ScanProfile{Rate: ptr(MaxScanRate + 1)}, ScanProfile{}, "rate"},
	} {
		got, err := c.in.Normalize()
		var pe *ProfileError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v: %v", c.in, err)
		case c.field == "" && !reflect.DeepEqual(got, c.want):
			t.Errorf("%+v: got %+v, want %+v", c.in, got, c.want)
		case c.field != "" && (!errors.As(err, &pe) || pe.Field != c.field || !errors.Is(err, ErrInvalid)):
			t.Errorf("%+v: got %v, want a refused %s", c.in, err, c.field)
		}
	}
}
