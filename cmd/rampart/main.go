// Command rampart is the national outer-ring defense platform. It only
// wires; everything lives in internal/cli.
package main

import (
	"os"

	"github.com/rampart-cert/rampart/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin}))
}
