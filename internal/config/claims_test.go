package config

import (
	"errors"
	"testing"
)

func TestInternalDeploymentAndClaimLimits(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := Load(nil, nil, env(map[string]string{EnvInternalDeployment: "true"}))
	if err != nil || !c.InternalDeployment {
		t.Fatalf("internal deployment from the environment: %v %+v", err, c)
	}
	if _, err := Load(nil, nil, env(map[string]string{EnvInternalDeployment: "maybe"})); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad value: %v", err)
	}
	d := Default()
	d.Claims.MaxIPv4Prefix = 4
	if err := d.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a /4 claim limit: %v", err)
	}
}
