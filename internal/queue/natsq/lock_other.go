//go:build !unix

package natsq

// lockDataDir does nothing where flock is missing; one process per data
// dir is then up to the operator.
func lockDataDir(string) (func(), error) { return func() {}, nil }

// lockFile does nothing where flock is missing.
func lockFile(string) (func(), error) { return func() {}, nil }
