//go:build !unix

package portscan

import "errors"

// RaiseFDLimit is not supported on this system.
func RaiseFDLimit() (uint64, error) {
	return 0, errors.New("portscan: descriptor limit not available on this system")
}
