package main

// The suites compiled into the generic piv binary besides the technical PIV
// (which cli always registers). The demo app's suite is here so that
// `make demo` gates the demo fleet with the generic binary; a real app's
// suites live in its own repository and its own gate binary.
import _ "github.com/piv-gate/piv/suites/quote"
