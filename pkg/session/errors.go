package session

import "fmt"

// UsageError means nothing was run (or what ran does not count) because the
// request itself was wrong: bad options, an unknown node, a missing image,
// a secret the environment lacks. Front ends map it to exit code 2 (or an
// HTTP 400); every other outcome is a gate.Result with a verdict.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }
