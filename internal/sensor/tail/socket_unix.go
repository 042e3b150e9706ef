package tail

import (
	"io/fs"
	"os"
)

// removeIfSocket removes path if it is a socket file (never a regular
// file someone pointed the sensor at by mistake).
func removeIfSocket(path string) error {
	info, err := os.Lstat(path)
	if err != nil || info.Mode().Type() != fs.ModeSocket {
		return err
	}
	return os.Remove(path)
}
