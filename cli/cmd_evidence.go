package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/evidence"
	"github.com/piv-gate/piv/pkg/remediation"
)

const evidenceUsage = `Usage: piv evidence REMEDIATION.yaml [--reports DIR]... [--out DIR] [--format markdown|json|html]

Answers, from the gate.json files the gates wrote, whether the record's fix is
live on every node of every affected app: per node, verified since when and
by which run (a link to its report folder), still unverified, or verified and
later seen failing again; and the SLA clock (detected -> every node of every
affected app verified: 5 days external, 30 internal, or the record's sla) as
met, running (time left) or breached. The nodes come from the app definitions
(--config, else $PIV_CONFIG, else ./fixtures/apps).

Only a gate whose verdict is pass verifies a node (in a --fleet gate that
failed, the node's own part); a gate that failed or was inconclusive counts
as the node seen failing, whatever the record's checks said. A runId that two
reports claim for different nodes (a copied gate.json) verifies nothing.

Exit codes: 0 met, 1 breached (or a node unverified past its deadline),
2 usage or configuration error, 3 still running.

Examples:
  piv evidence fixtures/remediation/CHG-2026-0412.yaml
  piv evidence rec.yaml --reports /srv/piv/reports --reports nightly/ --out evidence/ --format json
`

func init() {
	register(command{name: "evidence", summary: "is a remediation live on every node, within its SLA? (evidence from gate.json)", run: runEvidence})
}

// dirList is a repeatable string flag.
type dirList []string

func (d *dirList) String() string     { return strings.Join(*d, ",") }
func (d *dirList) Set(v string) error { *d = append(*d, v); return nil }

func runEvidence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("evidence", evidenceUsage, stderr)
	var reports dirList
	fs.Var(&reports, "reports", "folder of gate reports, walked for gate.json (repeatable; default reports)")
	out := fs.String("out", "", "also write evidence.json, evidence.md and evidence.html here")
	format := fs.String("format", "markdown", "stdout format: markdown, json or html")
	cfg := fs.String("config", "", "app definitions folder (default $PIV_CONFIG, else ./fixtures/apps)")
	nowFlag := fs.String("now", "", "answer as of this time (RFC 3339); default now")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageErr("evidence needs exactly one remediation record (got %d arguments)", len(pos))
	}
	switch *format {
	case "markdown", "json", "html":
	default:
		return usageErr("--format %q: want markdown, json or html", *format)
	}
	now := time.Now()
	if *nowFlag != "" {
		if now, err = time.Parse(time.RFC3339, *nowFlag); err != nil {
			return usageErr("--now %q: want RFC 3339, e.g. 2026-12-01T09:00:00Z", *nowFlag)
		}
	}
	if len(reports) == 0 {
		reports = dirList{"reports"}
	}
	rec, err := remediation.Load(pos[0])
	if err != nil {
		return usageErr("%v", err)
	}
	dir := configDir(*cfg)
	var apps []evidence.App
	for i, name := range rec.Apps {
		app, err := config.Find(dir, name)
		if err != nil {
			return usageErr("%s: apps[%d]: %v", rec.Where("apps", fmt.Sprint(i)), i, err)
		}
		if _, _, err := rec.SLAFor(app.Exposure); err != nil {
			return usageErr("%v (app %s: %s)", err, name, app.Where("app"))
		}
		a := evidence.App{Name: name, Exposure: app.Exposure}
		for _, n := range app.Nodes {
			a.Nodes = append(a.Nodes, n.Name)
		}
		apps = append(apps, a)
	}
	o := evidence.Options{Record: rec, Apps: apps, Dirs: reports, Now: now}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return usageErr("--out: %v", err)
		}
		o.LinkBase = *out
	}
	rep, err := evidence.Build(o)
	if err != nil {
		return usageErr("%v", err)
	}
	j, err := evidence.JSON(rep)
	if err != nil {
		return inconclusiveErr("evidence: %v", err)
	}
	h, err := evidence.HTML(rep)
	if err != nil {
		return inconclusiveErr("evidence: %v", err)
	}
	md := evidence.Markdown(rep)
	if *out != "" {
		for name, b := range map[string][]byte{"evidence.json": j, "evidence.md": []byte(md), "evidence.html": h} {
			if err := writeEvidenceFile(filepath.Join(*out, name), b); err != nil {
				// Evidence that cannot be kept is not an answer.
				return inconclusiveErr("writing %s: %v", name, err)
			}
		}
	}
	switch *format {
	case "json":
		stdout.Write(j)
	case "html":
		stdout.Write(h)
	default:
		io.WriteString(stdout, md)
		if *out != "" {
			fmt.Fprintf(stdout, "\nevidence: %s\n", filepath.Join(*out, "evidence.html"))
		}
	}
	return verdictErr(rep.ExitCode())
}

func writeEvidenceFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// loadRemediation loads and validates piv run's --remediation record for
// app: a bad record, or one that does not name the app, is a usage error
// with file:line (nothing has run).
func loadRemediation(path string, app *config.App) (*remediation.Record, error) {
	if path == "" {
		return nil, nil
	}
	rec, err := remediation.Load(path)
	if err != nil {
		return nil, usageErr("--remediation: %v", err)
	}
	if !rec.HasApp(app.App) {
		return nil, usageErr("--remediation: %s: record %s does not name app %q (apps: %s)", rec.Where("apps"), rec.ID, app.App, strings.Join(rec.Apps, ", "))
	}
	return rec, nil
}
