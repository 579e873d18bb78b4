package main

import (
	"context"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/piv"
)

// newBrowserProvider is replaced when pkg/browser lands.
func newBrowserProvider(ctx context.Context, app *config.App, url string, closers *[]func(*gate.Result)) piv.BrowserProvider {
	return nil
}
