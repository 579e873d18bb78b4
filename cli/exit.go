package cli

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes are the deployers' contract (DESIGN.md). They are carried by
// typed errors so that no code path picks a number ad hoc.
const (
	exitPass         = 0
	exitFail         = 1
	exitUsage        = 2
	exitInconclusive = 3
)

// exitError carries an exit code out of run. msg is printed to stderr unless
// empty (a verdict's own summary has already been printed).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageErr: bad flags, bad config, unknown node: nothing was run.
func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, a...)}
}

// inconclusiveErr: piv could not decide (for example the sampler could not start).
func inconclusiveErr(format string, a ...any) error {
	return &exitError{code: exitInconclusive, msg: fmt.Sprintf(format, a...)}
}

// verdictErr carries a verdict's exit code; the summary is already printed.
func verdictErr(code int) error {
	if code == exitPass {
		return nil
	}
	return &exitError{code: code}
}

// exitCodeOf is the code exitCode will return for err, without printing.
func exitCodeOf(err error) int {
	if err == nil {
		return exitPass
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitInconclusive
}

// exitCode maps run's error to the process exit code. An error that is not an
// exitError is a harness fault: inconclusive, never 0.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitPass
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "piv:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "piv:", err)
	return exitInconclusive
}
