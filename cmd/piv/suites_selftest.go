//go:build pivselftest

package main

import _ "github.com/piv-gate/piv/suites/selftest"
