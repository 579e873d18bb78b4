package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/runner"
	"github.com/piv-gate/piv/pkg/target"
)

const listUsage = `Usage: piv list APP [--label-filter EXPR] [--allow-mutating] [--node NAME]

Prints the checks a 'piv run' with the same flags would select, with their
labels, without running anything. Mutating specs are left out unless
--allow-mutating, exactly as in a run.

Example:
  piv list quote --label-filter 'functional && !browser'
`

func init() {
	register(command{name: "list", summary: "show the checks a run would select, with labels", run: runList})
}

func runList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("list", listUsage, stderr)
	filter := fs.String("label-filter", "", "Ginkgo label filter")
	cfg := fs.String("config", "", "app definitions folder")
	node := fs.String("node", "", "list as for this node (service-only checks disappear)")
	allow := fs.Bool("allow-mutating", false, "include specs labelled mutating")
	focus := fs.String("focus", "", "only checks whose full name matches this regexp")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageErr("list needs exactly one APP")
	}
	app, err := loadApp(configDir(*cfg), pos[0])
	if err != nil {
		return err
	}
	if err := runner.ValidateFilter(*filter); err != nil {
		return usageErr("%v", err)
	}
	if _, err := regexp.Compile(*focus); err != nil {
		return usageErr("--focus %q: %v", *focus, err)
	}
	o := runner.Options{App: app, LabelFilter: *filter, Focus: *focus, AllowMutating: *allow, DryRun: true, Target: target.ForService(app)}
	if *node != "" {
		n, ok := app.NodeByName(*node)
		if !ok {
			return usageErr("%s: unknown node %q (nodes: %s)", app.Where("nodes"), *node, nodeNames(app))
		}
		o.Target = target.ForNode(app, n)
	} else {
		for _, n := range app.Nodes {
			o.Nodes = append(o.Nodes, target.ForNode(app, n))
		}
	}
	res := runner.Run(ctx, o)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	n := 0
	for _, c := range res.Checks {
		if c.State == gate.Skipped && c.Failure != nil {
			continue
		}
		n++
		fmt.Fprintf(tw, "%s\t[%s]\n", c.Name, strings.Join(c.Labels, ", "))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d check(s) selected for %s (filter: %s)\n", n, app.App, runner.EffectiveFilter(*filter, *allow))
	if n == 0 {
		return inconclusiveErr("no checks selected: a run with these flags would be inconclusive")
	}
	return nil
}
