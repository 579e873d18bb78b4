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
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/merge"
	"github.com/piv-gate/piv/pkg/report"
)

const mergeUsage = `Usage: piv merge DIR... [--out DIR] [--config DIR] [--format text|json]

Joins the gate.json files found under the folders (any depth: the shards of a
nightly run, the jobs of a CI matrix) into one report grouped by the apps'
owners (owner: team, tribe, contact in the app definitions), and exits with
the worst verdict: 0 pass, 1 fail, 3 inconclusive. A folder with no gate.json,
an unreadable gate.json, or an app of the config (or of a shard manifest) with
no result is inconclusive, never pass.

Every gate.json is decided again from its checks; the worse verdict counts.
A narrowed run (a label filter or focus left specs out) says NARROWED, and
its pass is inconclusive: not a full gate. An app of --config whose results
are only node gates needs one for every node; a --fleet or service gate of
the app covers all of them.

Owners come from --config, else $PIV_CONFIG; without either every app is
"unowned" and completeness is checked against the shard manifests only.

Writes index.json, index.html, summary.md and junit.xml to --out (default
reports/merge/RUN-ID/); summary.md is also appended to $GITHUB_STEP_SUMMARY.

Examples:
  # a nightly run split in four, each shard's reports downloaded to shard-K/
  piv merge shard-1 shard-2 shard-3 shard-4 --config apps --out nightly
`

func init() {
	register(command{name: "merge", summary: "join many runs' gate.json files into one report by owner", run: runMerge})
}

func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", mergeUsage, stderr)
	out := fs.String("out", "", "merged report folder (default reports/merge/RUN-ID/)")
	cfg := fs.String("config", "", "app definitions folder, for owners and completeness (default $PIV_CONFIG; none: every app unowned)")
	format := fs.String("format", "text", "stdout format: text (summary) or json (index.json)")
	dirs, err := parseInterleaved(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(dirs) == 0 {
		fs.Usage()
		return usageErr("merge needs at least one DIR")
	}
	if *format != "text" && *format != "json" {
		return usageErr("--format %q: want text or json", *format)
	}
	in := merge.Input{Dirs: dirs, Now: time.Now()}
	if dir := *cfg; dir != "" || os.Getenv("PIV_CONFIG") != "" {
		if dir == "" {
			dir = os.Getenv("PIV_CONFIG")
		}
		apps, err := config.LoadDir(dir)
		if err != nil {
			return usageErr("%v", err)
		}
		in.Apps, in.ConfigDir = apps, dir
	}
	dir := *out
	if dir == "" {
		dir, err = report.Dir("reports", "merge", in.Now.UTC().Format("20060102T150405Z")+"-merge")
	} else {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return usageErr("--out: %v", err)
	}
	in.OutDir = dir
	rep := merge.Collect(in)
	if err := merge.Write(rep, dir); err != nil {
		// The evidence is lost: whatever the runs said, the merge did not pass.
		fmt.Fprintf(stderr, "piv: merged report could not be written: %v\n", err)
		rep.Verdict = gate.Inconclusive
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if fh, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			io.WriteString(fh, merge.Markdown(rep))
			fh.Close()
		}
	}
	if *format == "json" {
		b, _ := merge.JSON(rep)
		stdout.Write(b)
	} else {
		io.WriteString(stdout, mergeText(rep))
		fmt.Fprintf(stdout, "report: %s\n", filepath.Join(dir, "index.html"))
	}
	return verdictErr(rep.Verdict.ExitCode())
}

func mergeText(r *merge.Report) string {
	var b strings.Builder
	s := r.Summary
	fmt.Fprintf(&b, "merge: %s (%d runs: %d passed, %d failed, %d inconclusive, %d missing)\n", strings.ToUpper(string(r.Verdict)), s.Runs, s.Passed, s.Failed, s.Inconclusive, s.Missing)
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  problem %s: %s\n", p.Path, p.Reason)
	}
	for _, g := range r.Owners {
		o := g.Owner.Team
		if g.Owner.Contact != "" {
			o += " " + g.Owner.Contact
		}
		fmt.Fprintf(&b, "%s: %s\n", o, strings.ToUpper(string(g.Verdict)))
		for _, run := range g.Runs {
			line := fmt.Sprintf("  %-20s %-14s %s", run.App, run.Target, strings.ToUpper(string(run.Verdict)))
			if run.Narrowed {
				line += " NARROWED"
			}
			if run.Verdict != gate.Pass {
				line += "  " + strings.SplitN(run.Reason, "\n", 2)[0]
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
