package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/report"
	"github.com/piv-gate/piv/pkg/session"
	"github.com/piv-gate/piv/pkg/shard"
)

func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// printResult writes the summary (text) or gate.json (json) to stdout.
func printResult(res *gate.Result, outDir, format string, stdout io.Writer) {
	if format == "json" {
		b, _ := report.JSON(res)
		stdout.Write(b)
		return
	}
	io.WriteString(stdout, report.TextWith(res, report.TextOptions{Dir: outDir}))
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(outDir, "gate.json"))
}

// runAll runs every app of the config folder (or one shard of them), each in
// its own piv process, and exits with the worst verdict.
func runAll(ctx context.Context, args []string, f runFlags, stdout, stderr io.Writer) error {
	dir := configDir(f.config)
	if err := checkConfigDir(dir); err != nil {
		return err
	}
	apps, err := config.LoadDir(dir)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.node != "" || f.image != "" {
		return usageErr("--all runs each app against its service: --node and --image do not apply")
	}
	if f.out != "" {
		return usageErr("--all writes each app's reports to its own folder: --out does not apply")
	}
	total := len(apps)
	shardText := ""
	if f.shard != "" {
		spec, err := shard.Parse(f.shard)
		if err != nil {
			return usageErr("%v", err)
		}
		apps = shard.Select(apps, func(a *config.App) string { return a.App }, spec)
		args = shard.StripFlag(args)
		names := []string{}
		for _, a := range apps {
			names = append(names, a.App)
		}
		if _, err := shard.WriteManifest("reports", spec, names, total, time.Now()); err != nil {
			return inconclusiveErr("shard manifest: %v", err)
		}
		fmt.Fprintf(stderr, "piv: --shard %s: %d of %d apps: %s\n", spec, len(apps), total, strings.Join(names, " "))
		shardText = fmt.Sprintf("--shard %s holds none of the %d app(s) of %s", spec, total, dir)
	}
	// Zero apps selected is nothing verified, never a pass. The manifest
	// above is already written, so piv merge still tells this empty shard
	// (fine for the split) from a lost one.
	if len(apps) == 0 {
		if shardText == "" {
			shardText = "no app definitions in " + dir
		}
		fmt.Fprintf(stdout, "\nall apps (0): INCONCLUSIVE\n  %s: nothing was verified\n", shardText)
		return inconclusiveErr("%s: nothing was verified", shardText)
	}
	self, err := os.Executable()
	if err != nil {
		return inconclusiveErr("cannot find piv's own executable: %v", err)
	}
	var rest []string
	for _, a := range args {
		if a != "--all" && a != "-all" && !strings.HasPrefix(a, "--all=") {
			rest = append(rest, a)
		}
	}
	worst, verdicts := session.RunAll(ctx, self, apps, rest, stdout, stderr)
	var lines []string
	for _, v := range verdicts {
		lines = append(lines, fmt.Sprintf("  %-20s %s", v.App, strings.ToUpper(string(v.Verdict))))
	}
	fmt.Fprintf(stdout, "\nall apps (%d): %s\n%s\n", len(apps), strings.ToUpper(string(worst)), strings.Join(lines, "\n"))
	return verdictErr(worst.ExitCode())
}
