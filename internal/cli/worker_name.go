package cli

import (
	"crypto/rand"
	"encoding/hex"
	"os"
)

// defaultWorkerName is the host name and a short random suffix, so two
// workers on one host are told apart in jobs and the console (F6); pass
// --name for a stable one.
func defaultWorkerName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}
