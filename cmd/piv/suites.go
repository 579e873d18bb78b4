package main

// The suites compiled into piv. A new app's functional suite is one folder
// under suites/ and one line here (see suites/README.md).
import (
	_ "github.com/piv-gate/piv/suites/quote"
	_ "github.com/piv-gate/piv/suites/technical"
)
