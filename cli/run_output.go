package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/report"
	"github.com/piv-gate/piv/pkg/runner"
	"github.com/piv-gate/piv/pkg/secret"
	"github.com/piv-gate/piv/pkg/shard"
	"github.com/piv-gate/piv/pkg/target"
)

func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func runID(now time.Time, app string, t target.Target) string {
	return report.RunID(now, app, string(t.Scope), t.Name)
}

// outDir creates the run's report folder. The default never clobbers: two
// runs in the same second get distinct folders.
func outDir(flagValue, app, id string) (string, error) {
	if flagValue != "" {
		if err := os.MkdirAll(flagValue, 0o755); err != nil {
			return "", err
		}
		return flagValue, nil
	}
	return report.Dir("reports", app, id)
}

// harnessFault is the result when piv itself broke: inconclusive, never pass.
func harnessFault(o runner.Options, reason string) *gate.Result {
	res := &gate.Result{Schema: gate.Schema, RunID: o.RunID, App: o.App.App, ExpectedVersion: o.ExpectedVersion,
		Target:    gate.Target{Scope: string(o.Target.Scope), Node: nodeOf(o.Target), Address: o.Target.Address, URL: o.App.Service.URL, Image: o.Image},
		StartedAt: time.Now().UTC(), Checks: []gate.Check{}}
	gate.Decide(res, o.Policy, secret.Redact(reason))
	return res
}

func nodeOf(t target.Target) string {
	if t.Scope == target.ScopeNode {
		return t.Name
	}
	return ""
}

// finishRun writes the reports and prints the summary; the exit code comes
// from the verdict alone. A report that cannot be written makes the run
// inconclusive: a gate whose evidence is lost has not positively passed.
func finishRun(res *gate.Result, o runner.Options, f runFlags, stdout, stderr io.Writer) error {
	writeErr := writeReports(res, o.OutDir, f.summary)
	if writeErr != nil {
		gate.Decide(res, o.Policy, "reports could not be written: "+writeErr.Error())
		_ = writeReports(res, o.OutDir, "")
	}
	if f.format == "json" {
		b, _ := report.JSON(res)
		stdout.Write(b)
	} else {
		io.WriteString(stdout, report.TextWith(res, report.TextOptions{Dir: o.OutDir}))
		fmt.Fprintf(stdout, "report: %s\n", filepath.Join(o.OutDir, "gate.json"))
	}
	return verdictErr(res.Verdict.ExitCode())
}

func writeReports(res *gate.Result, dir, summary string) error {
	j, err := report.JSON(res)
	if err != nil {
		return err
	}
	if err := report.WriteFileAtomic(filepath.Join(dir, "gate.json"), j); err != nil {
		return err
	}
	ju, err := report.JUnitWith(res, report.JUnitOptions{AttachmentDir: dir})
	if err != nil {
		return err
	}
	if err := report.WriteFileAtomic(filepath.Join(dir, "junit.xml"), ju); err != nil {
		return err
	}
	html, err := report.HTML(res, report.AttachmentReader(dir))
	if err != nil {
		return err
	}
	if err := report.WriteFileAtomic(filepath.Join(dir, "report.html"), secret.RedactBytes(html)); err != nil {
		return err
	}
	md := []byte(report.Markdown(res))
	if summary != "" {
		if err := report.WriteFileAtomic(summary, md); err != nil {
			return err
		}
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if fh, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fh.Write(md)
			fh.Close()
		}
	}
	return nil
}

// runAll runs every app of the config folder, each in its own piv process
// (Ginkgo runs once per process), and exits with the worst verdict.
func runAll(ctx context.Context, args []string, f runFlags, stdout, stderr io.Writer) error {
	dir := configDir(f.config)
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
	worst := gate.Pass
	var lines []string
	for _, app := range apps {
		fmt.Fprintf(stderr, "piv: --all: %s\n", app.App)
		cmd := exec.CommandContext(ctx, self, append([]string{"run", app.App}, rest...)...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		err := cmd.Run()
		v := gate.Pass
		if err != nil {
			v = gate.Inconclusive
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == exitFail {
				v = gate.Fail
			}
		}
		if v.Worse(worst) {
			worst = v
		}
		lines = append(lines, fmt.Sprintf("  %-20s %s", app.App, strings.ToUpper(string(v))))
	}
	fmt.Fprintf(stdout, "\nall apps (%d): %s\n%s\n", len(apps), strings.ToUpper(string(worst)), strings.Join(lines, "\n"))
	return verdictErr(worst.ExitCode())
}
