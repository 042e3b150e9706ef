package assess

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/check/all"
)

func TestBaselineValidatesAgainstCatalog(t *testing.T) {
	reg, errs := all.Registry("")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := NewCatalog("", reg.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	f, ok := c.Get("baseline")
	if !ok {
		t.Fatal("baseline not shipped")
	}
	var auto, manual int
	for _, ctl := range f.Controls {
		if ctl.Line == 0 {
			t.Errorf("%s has no line", ctl.ID)
		}
		if ctl.Automatic() {
			auto++
		} else {
			manual++
		}
	}
	if auto < 8 || manual < 8 {
		t.Errorf("baseline has %d automatic and %d manual controls", auto, manual)
	}
	// Every check of the catalog gives evidence to some control.
	for _, ch := range reg.All() {
		id := ch.Meta().ID
		found := false
		for _, ctl := range f.Controls {
			found = found || ctl.Evidences(id)
		}
		if !found {
			t.Errorf("check %s evidences no baseline control", id)
		}
	}
	// The controls a national assessment asks about are there.
	for _, want := range []string{"đào tạo", "ứng phó sự cố", "Diễn tập", "Sao lưu", "cơ sở dữ liệu quốc gia", "bản vá", "tài sản", "Nhật ký", "xác thực đa yếu tố"} {
		found := false
		for _, ctl := range f.Controls {
			found = found || strings.Contains(strings.ToLower(ctl.Title.VI), strings.ToLower(want))
		}
		if !found {
			t.Errorf("no baseline control about %q", want)
		}
	}
	if n := len(f.ControlsAt(1)); n == 0 || n >= len(f.Controls) {
		t.Errorf("level 1 has %d of %d controls", n, len(f.Controls))
	}
}

const national = `id: vn-national
version: "1"
title: {vi: Bộ tiêu chí quốc gia, en: National framework}
controls:
  - id: N-1
    title: {vi: Một, en: One}
    levels: [1, 2, 3]
  - id: N-2
    title: {vi: Hai, en: Two}
    guidance: {vi: Hướng dẫn, en: Guidance}
    levels: [3]
    checks: [tls.cert-expired]
`

func TestLoadFrameworksBesideBaseline(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "national.yaml", national)
	write(t, dir, "README.txt", "not a framework")
	reg, _ := all.Registry("")
	c, err := NewCatalog(dir, reg.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.All()) != 2 {
		t.Fatalf("frameworks = %d", len(c.All()))
	}
	f, ok := c.Get("vn-national")
	if !ok || len(f.Controls) != 2 || f.Controls[1].Line != 8 || !f.Controls[1].AppliesAt(3) || f.Controls[1].AppliesAt(1) {
		t.Fatalf("national = %+v", f)
	}
	write(t, dir, "again.yml", strings.Replace(national, "vn-national", "baseline", 1))
	if _, err := NewCatalog(dir, reg.Catalog()); err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Fatalf("duplicate framework ID: %v", err)
	}
}

func TestFrameworkErrors(t *testing.T) {
	reg, _ := all.Registry("")
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown key", strings.Replace(national, "    levels: [3]\n", "    levels: [3]\n    weight: 2\n", 1), "f.yaml:12: field weight not found"},
		{"duplicate control", strings.Replace(national, "id: N-2", "id: N-1", 1), "f.yaml:8: control N-1 is defined twice (first at line 5)"},
		{"missing vi", strings.Replace(national, "{vi: Hai, en: Two}", "{en: Two}", 1), "f.yaml:8: control N-2: title needs vi and en"},
		{"half guidance", strings.Replace(national, "{vi: Hướng dẫn, en: Guidance}", "{en: Guidance}", 1), "f.yaml:8: control N-2: guidance needs vi and en"},
		{"bad level", strings.Replace(national, "levels: [3]", "levels: [6]", 1), "f.yaml:8: control N-2: level 6"},
		{"no levels", strings.Replace(national, "    levels: [3]\n", "", 1), "control N-2: levels are required"},
		{"unknown check", strings.Replace(national, "tls.cert-expired", "tls.nope", 1), "f.yaml:8: control N-2: unknown check tls.nope"},
		{"bad id", strings.Replace(national, "vn-national", "VN National", 1), "f.yaml: id"},
		{"empty", "", "empty file"},
		{"no controls", "id: x\ntitle: {vi: x, en: x}\n", "no controls"},
	}
	for _, c := range cases {
		f, err := ParseFramework("f.yaml", []byte(c.yaml))
		if err == nil {
			err = f.Validate(reg.Catalog())
		}
		if err == nil || !errors.Is(err, ErrFramework) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
