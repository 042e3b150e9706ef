package org

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestNormalizeRegions(t *testing.T) {
	tests := []struct {
		in      []string
		want    []string
		wantErr string
	}{
		{nil, []string{}, ""},
		{[]string{" HCM ", "hanoi", "", "hcm"}, []string{"hanoi", "hcm"}, ""},
		{[]string{"hcm-2"}, []string{"hcm-2"}, ""},
		{[]string{"a_b"}, nil, `region "a_b"`},
		{[]string{strings.Repeat("a", 33)}, nil, "region"},
		{[]string{"hà-nội"}, nil, "region"},
		{strings.Split("a b c d e f g h i j k l m n o p q", " "), nil, "at most 16"},
	}
	for _, tt := range tests {
		got, err := NormalizeRegions(tt.in)
		if tt.wantErr != "" {
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NormalizeRegions(%q) = %v, want error with %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NormalizeRegions(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestInheritRoute(t *testing.T) {
	root := Organization{ID: 1}
	mid := Organization{ID: 7, Regions: []string{"hanoi", "hcm"}, CrossCheck: true}
	leaf := Organization{ID: 42}
	own := Organization{ID: 43, Regions: []string{"danang"}}
	tests := []struct {
		name  string
		chain []Organization
		want  Route
	}{
		{"none: platform default", []Organization{root, leaf}, Route{}},
		{"inherited from the parent, with its cross-check", []Organization{root, mid, leaf}, Route{Regions: []string{"hanoi", "hcm"}, CrossCheck: true, FromOrgID: 7}},
		{"own regions win, own cross-check (off)", []Organization{root, mid, own}, Route{Regions: []string{"danang"}, FromOrgID: 43}},
		{"cross-check without regions inherits", []Organization{root, mid, {ID: 44, CrossCheck: false}}, Route{Regions: []string{"hanoi", "hcm"}, CrossCheck: true, FromOrgID: 7}},
		{"empty chain", nil, Route{}},
	}
	for _, tt := range tests {
		if got := InheritRoute(tt.chain); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestPathIDs(t *testing.T) {
	for path, want := range map[string][]int64{"/1/7/42/": {1, 7, 42}, "/3/": {3}, "": nil, "/x/2/": {2}} {
		if got := PathIDs(path); !reflect.DeepEqual(got, want) {
			t.Errorf("PathIDs(%q) = %v, want %v", path, got, want)
		}
	}
}
