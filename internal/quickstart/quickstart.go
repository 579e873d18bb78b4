// Package quickstart takes a fixed cost out of every piv process start.
//
// testcontainers-go (linked in for --image) computes a session id in a
// package init by listing every process on the machine through gopsutil:
// measured here at 20-100 ms per process start, depending on the machine's
// load and process count, before any of piv's own code runs — paid by every
// gate, twice with the supervising parent, and once per target under
// --fleet. gopsutil reads /proc from $HOST_PROC at call time. This init,
// which Go's initialization order runs before testcontainers' (it imports
// only os), points HOST_PROC at nothing, so the listing fails at once and
// testcontainers falls back to a random session id (piv labels its
// containers with its own run id, see pkg/ephemeral). Restore puts the
// environment back as the user gave it, so children and suites see it
// unchanged; nothing else in piv uses gopsutil.
package quickstart

import "os"

const none = "/nonexistent/piv-quickstart"

var (
	had  bool
	orig string
)

func init() {
	orig, had = os.LookupEnv("HOST_PROC")
	if !had {
		os.Setenv("HOST_PROC", none)
	}
}

// Restore undoes init's change to the environment.
func Restore() {
	if !had && os.Getenv("HOST_PROC") == none {
		os.Unsetenv("HOST_PROC")
	}
}
