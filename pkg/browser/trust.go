package browser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoCertutil is returned by Launch when CAs must be trusted but NSS's
// certutil is missing. It wraps ErrNoBrowser: the browser cannot be used as
// the run needs it, so the run is inconclusive rather than failed.
var ErrNoCertutil = fmt.Errorf("%w: certutil not found (needed to trust the app's CA in Chromium); install it with: apt-get install -y libnss3-tools", ErrNoBrowser)

// certutilBin is the NSS tool; a variable for tests.
var certutilBin = "certutil"

type caEntry struct {
	cert *x509.Certificate
	pem  []byte
	sum  [32]byte
}

// parseCAs splits PEM bundles into certificates, de-duplicated.
func parseCAs(bundles [][]byte) ([]caEntry, error) {
	var out []caEntry
	seen := map[[32]byte]bool{}
	for i, b := range bundles {
		certs, err := parsePEMCerts(b)
		if err != nil {
			return nil, fmt.Errorf("browser: CA bundle %d: %w", i+1, err)
		}
		for _, c := range certs {
			sum := sha256.Sum256(c.Raw)
			if seen[sum] {
				continue
			}
			seen[sum] = true
			out = append(out, caEntry{cert: c, sum: sum,
				pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})})
		}
	}
	return out, nil
}

func parsePEMCerts(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := bytes.TrimSpace(b)
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return certs, nil
}

// trustCAs creates $home/.pki/nssdb, where Chromium on Linux reads locally
// trusted roots, and adds every CA as trusted for TLS servers ("C,,"). The
// database belongs to this browser's temporary HOME only: nothing on the
// machine and no other process trusts these CAs because of piv.
func trustCAs(ctx context.Context, home string, cas []caEntry) error {
	bin, err := exec.LookPath(certutilBin)
	if err != nil {
		return ErrNoCertutil
	}
	dir := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("browser: %w", err)
	}
	db := "sql:" + dir
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, bin, args...)
		// Like the browser's, certutil's files (SQLite's temporary ones
		// included) stay inside the browser's folder, removed with it.
		cmd.Env = append(withoutEnv(os.Environ(), "HOME", "TMPDIR"), "HOME="+home, "TMPDIR="+browserTmp(filepath.Dir(home)))
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("browser: certutil %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return nil
	}
	// "certutil -A" creates the database when there is none (saving a
	// separate "-N", which costs as much again).
	for i, ca := range cas {
		f := filepath.Join(home, fmt.Sprintf("ca-%d.pem", i))
		if err := os.WriteFile(f, ca.pem, 0o600); err != nil {
			return fmt.Errorf("browser: %w", err)
		}
		nick := fmt.Sprintf("piv-ca-%d %s", i, ca.cert.Subject.CommonName)
		if err := run("-A", "-d", db, "-n", nick, "-t", "C,,", "-i", f); err != nil {
			return err
		}
	}
	return nil
}

// checkTrusted returns an error unless every certificate in caPEM was
// trusted at launch. Adding a CA to the running browser's NSS database is
// not reliable: measured with Debian's Chromium 156, a CA added after the
// browser has once failed to find an issuer is never seen by that process.
// A false "certificate invalid" would roll back a good deployment, so all
// CAs go in before the browser starts (Options.CAs).
func (b *Browser) checkTrusted(caPEM []byte) error {
	certs, err := parseCAs([][]byte{caPEM})
	if err != nil {
		return err
	}
	for _, c := range certs {
		if !slices.ContainsFunc(b.cas, func(t caEntry) bool { return t.sum == c.sum }) {
			return fmt.Errorf("CA %q was not trusted at launch: pass every CA of the run in browser.Options.CAs", c.cert.Subject.CommonName)
		}
	}
	return nil
}
