package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/piv-gate/piv/pkg/config"
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
	fleet := fs.Bool("fleet", false, "the matrix a 'piv run --fleet' would run: every check against every node and the service")
	format := fs.String("format", "text", "text (a table) or json (the selected checks with their labels)")
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
	if *format != "text" && *format != "json" {
		return usageErr("--format %q: want text or json", *format)
	}
	if *fleet {
		if *node != "" {
			return usageErr("--fleet lists every node: --node does not apply")
		}
		var pass []string
		fs.Visit(func(fl *flag.Flag) {
			if fl.Name != "fleet" && fl.Name != "format" && fl.Name != "node" {
				pass = append(pass, "--"+fl.Name+"="+fl.Value.String())
			}
		})
		return listFleet(ctx, app, pass, stdout, stderr)
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
	if *format == "json" {
		type item struct {
			Name   string   `json:"name"`
			Labels []string `json:"labels"`
		}
		items := []item{}
		for _, c := range res.Checks {
			if c.State == gate.Skipped && c.Failure != nil {
				continue
			}
			items = append(items, item{c.Name, c.Labels})
		}
		b, _ := json.MarshalIndent(items, "", "  ")
		stdout.Write(append(b, '\n'))
		if len(items) == 0 {
			return inconclusiveErr("no checks selected: a run with these flags would be inconclusive")
		}
		return nil
	}
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

// listFleet shows the matrix of a --fleet run: which check runs against
// which target. Ginkgo builds the spec tree once per process, so each
// target's list comes from a child process (a dry run: nothing is sent).
func listFleet(ctx context.Context, app *config.App, rest []string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return inconclusiveErr("cannot find piv's own executable: %v", err)
	}
	targets := []string{}
	for _, n := range app.Nodes {
		targets = append(targets, n.Name)
	}
	targets = append(targets, "service")
	type item struct {
		Name   string   `json:"name"`
		Labels []string `json:"labels"`
	}
	lists := make([][]item, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := append([]string{"list", app.App, "--format", "json"}, rest...)
			if t != "service" {
				a = append(a, "--node", t)
			}
			cmd := exec.CommandContext(ctx, exe, a...)
			var se bytes.Buffer
			cmd.Stderr = &se
			out, err := cmd.Output()
			if err == nil {
				err = json.Unmarshal(out, &lists[i])
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %v %s", t, err, strings.TrimSpace(se.String()))
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return inconclusiveErr("%v", err)
		}
	}
	var names []string
	labels := map[string][]string{}
	in := map[string]map[string]bool{}
	for i, l := range lists {
		for _, it := range l {
			if in[it.Name] == nil {
				in[it.Name] = map[string]bool{}
				names = append(names, it.Name)
				labels[it.Name] = it.Labels
			}
			in[it.Name][targets[i]] = true
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "check\t%s\tlabels\n", strings.Join(targets, "\t"))
	cells := 0
	for _, n := range names {
		row := []string{n}
		for _, t := range targets {
			mark := "-"
			if in[n][t] {
				mark = "x"
				cells++
			}
			row = append(row, mark)
		}
		row = append(row, "["+strings.Join(labels[n], ", ")+"]")
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d check(s) × %d target(s): %d runs in a --fleet gate of %s\n", len(names), len(targets), cells, app.App)
	if cells == 0 {
		return inconclusiveErr("no checks selected: a run with these flags would be inconclusive")
	}
	return nil
}
