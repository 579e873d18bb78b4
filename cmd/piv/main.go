// Command piv is the post-implementation verification gate. main stays tiny:
// everything happens in run, which tests call directly.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(exitCode(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}
