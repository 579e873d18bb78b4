package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A token file must hold at least 16 bytes: a short bearer token is guessed.
func TestServeShortTokenFileIsAUsageError(t *testing.T) {
	f, _ := serveFleet(t)
	tf := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tf, []byte("fifteen-bytes!!\n"), 0o600)
	r := pivRun(t, f, nil, "serve", "--listen", "127.0.0.1:0", "--token-file", tf)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "holds 15 bytes: a token must have at least 16") || strings.Contains(r.stderr, "fifteen-bytes") {
		t.Fatalf("short token: %s", r.stderr)
	}
}
