// Package merge joins the gate.json files of many runs (the shards of a
// nightly run, one job per app in a CI matrix) into one report grouped by
// the apps' owners: the case study's "clear ownership", where each team sees
// its own applications first and the on-call contact to tell.
//
// Collecting is apart from rendering: Collect reads the folders and the app
// definitions and builds a Report; JSON, Markdown, HTML and JUnit are pure
// functions of it. The merged verdict is the worst of the runs' verdicts, and
// fails closed: a folder with no gate.json, a gate.json that cannot be read,
// an app of the config or of a shard manifest with no result, and a merge of
// nothing are all inconclusive, never pass. Besides:
//
//   - Every run is decided again from its checks (gate.DecideRun) and keeps
//     the worse of the recorded and the re-decided verdict: a gate.json that
//     says pass over a failed blocking check, or over no checks, does not pass.
//   - A narrowed run (selection.narrowed: a label filter or focus left specs
//     out) is marked NARROWED everywhere, and a narrowed pass is
//     inconclusive ("narrowed: not a full gate"): it verified only part of
//     the app, so it cannot make the merge a full PASS.
//   - Node coverage: an app of the config whose results are only node gates
//     must have one for every node of its definition; nodes never gated are
//     named in an inconclusive "nodes …" entry of that app. A --fleet gate,
//     or a service gate, of the app covers it (the service as a whole, every
//     node behind it), so the nightly forms (run --all, run --all --fleet)
//     need nothing more.
//   - Only regular files are read, at most 64 MiB each: a gate.json that is a
//     FIFO, a device or huge is a problem, never a hang.
package merge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/regularfile"
	"github.com/piv-gate/piv/pkg/shard"
)

// Schema identifies the merged index (index.json).
const Schema = "piv.merge/v1"

// Unowned is the team shown for an app without an owner in its definition
// (or with no definition at hand).
const Unowned = "unowned"

// Input is what to merge.
type Input struct {
	Dirs []string
	// Apps are the app definitions (from --config / $PIV_CONFIG), or nil
	// when none are at hand: then owners are "unowned" and completeness is
	// only checked against the shard manifests found in Dirs.
	Apps []*config.App
	// ConfigDir is shown in the report (where the owners came from).
	ConfigDir string
	// OutDir is where the merged report goes: links to each run's own
	// report.html are made relative to it.
	OutDir string
	Now    time.Time
}

// Report is the merged result (index.json).
type Report struct {
	Schema      string       `json:"schema"`
	GeneratedAt time.Time    `json:"generatedAt"`
	Verdict     gate.Verdict `json:"verdict"`
	Reason      string       `json:"reason"`
	Dirs        []string     `json:"dirs"`
	Config      string       `json:"config,omitempty"`
	Shards      []string     `json:"shards"` // "K/N" of the manifests found
	Summary     Summary      `json:"summary"`
	Owners      []Group      `json:"owners"`
	// Problems are inputs that could not be read or held no result; each
	// makes the merge inconclusive.
	Problems []Problem `json:"problems"`
}

// Summary counts runs by verdict; Missing counts apps with no result.
type Summary struct {
	Runs         int `json:"runs"`
	Passed       int `json:"passed"`
	Failed       int `json:"failed"`
	Inconclusive int `json:"inconclusive"`
	Missing      int `json:"missing"`
}

// Owner is a team, as the app definition names it.
type Owner struct {
	Team    string `json:"team"`
	Tribe   string `json:"tribe,omitempty"`
	Contact string `json:"contact,omitempty"`
}

// Group is one owner's runs, worst verdict first in the report order.
type Group struct {
	Owner   Owner        `json:"owner"`
	Verdict gate.Verdict `json:"verdict"`
	Runs    []Run        `json:"runs"`
}

// Run is one gate.json, or an app that should have one and has none
// (Missing: verdict inconclusive).
type Run struct {
	App             string       `json:"app"`
	RunID           string       `json:"runId,omitempty"`
	Target          string       `json:"target"` // "service", "node app-02", "image x", "fleet"
	Verdict         gate.Verdict `json:"verdict"`
	Reason          string       `json:"reason"`
	ExpectedVersion string       `json:"expectedVersion,omitempty"`
	ObservedVersion string       `json:"observedVersion,omitempty"`
	StartedAt       *time.Time   `json:"startedAt,omitempty"`
	DurationSeconds float64      `json:"durationSeconds"`
	Summary         gate.Summary `json:"summary"`
	Narrowed        bool         `json:"narrowed"`
	Missing         bool         `json:"missing"`
	// GateJSON is the path of the run's gate.json as found; Report the
	// run's report.html relative to the merged report folder, when present.
	GateJSON string `json:"gateJson,omitempty"`
	Report   string `json:"report,omitempty"`

	result *gate.Result
}

// Result is the run's gate.json (nil for a missing run).
func (r *Run) Result() *gate.Result { return r.result }

// Problem is an input that gave no usable result.
type Problem struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Collect reads every gate.json and shard manifest under in.Dirs (any depth)
// and builds the merged report.
func Collect(in Input) *Report {
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := &Report{Schema: Schema, GeneratedAt: now.UTC(), Dirs: in.Dirs, Config: in.ConfigDir,
		Shards: []string{}, Owners: []Group{}, Problems: []Problem{}}
	owners := map[string]Owner{}
	for _, a := range in.Apps {
		owners[a.App] = ownerOf(a)
	}

	var runs []Run
	due := map[string]string{} // app -> the shard manifest that lists it
	seenShard := map[string]bool{}
	for _, dir := range in.Dirs {
		found, manifests, probs := scan(dir)
		rep.Problems = append(rep.Problems, probs...)
		for _, m := range manifests {
			if !seenShard[m.Shard] {
				seenShard[m.Shard] = true
				rep.Shards = append(rep.Shards, m.Shard)
			}
			for _, a := range m.Apps {
				due[a] = "shard " + m.Shard
			}
		}
		if len(found) == 0 && len(probs) == 0 && !emptyShards(manifests) {
			rep.Problems = append(rep.Problems, Problem{Path: dir, Reason: noResult(manifests)})
		}
		for _, p := range found {
			runs = append(runs, readRun(p, in.OutDir, &rep.Problems))
		}
	}
	sort.Strings(rep.Shards)
	// Every shard of a split must have reported: a shard that could not even
	// start (bad flags, no image, a node that never ran it) leaves no manifest.
	for nn, ks := range shardsOf(rep.Shards) {
		for k := 1; k <= nn; k++ {
			if !ks[k] {
				rep.Problems = append(rep.Problems, Problem{Path: strings.Join(in.Dirs, ", "),
					Reason: fmt.Sprintf("shard %d/%d left no manifest: it never ran or its reports were lost", k, nn)})
			}
		}
	}

	have := map[string]bool{}
	for _, r := range runs {
		have[r.App] = true
	}
	runs = append(runs, uncovered(in.Apps, runs)...)
	missing := map[string]string{}
	for _, a := range in.Apps {
		if !have[a.App] {
			missing[a.App] = "no gate.json for this app in " + strings.Join(in.Dirs, ", ") + " (it is in " + in.ConfigDir + ")"
		}
	}
	for a, by := range due {
		if !have[a] {
			missing[a] = by + " was due to run it but left no gate.json (crashed, killed or its reports were lost)"
		}
	}
	for a, why := range missing {
		runs = append(runs, Run{App: a, Target: "-", Verdict: gate.Inconclusive, Reason: why, Missing: true})
	}

	groups := map[string]*Group{}
	for _, r := range runs {
		o, ok := owners[r.App]
		if !ok {
			o = Owner{Team: Unowned}
		}
		key := o.Team + "\x00" + o.Tribe + "\x00" + o.Contact
		g := groups[key]
		if g == nil {
			g = &Group{Owner: o, Verdict: gate.Pass}
			groups[key] = g
		}
		g.Runs = append(g.Runs, r)
		if r.Verdict.Worse(g.Verdict) {
			g.Verdict = r.Verdict
		}
		rep.Summary.Runs++
		switch {
		case r.Missing:
			rep.Summary.Missing++
		case r.Verdict == gate.Pass:
			rep.Summary.Passed++
		case r.Verdict == gate.Fail:
			rep.Summary.Failed++
		default:
			rep.Summary.Inconclusive++
		}
	}
	for _, g := range groups {
		sort.SliceStable(g.Runs, func(i, j int) bool {
			a, b := g.Runs[i], g.Runs[j]
			if a.App != b.App {
				return a.App < b.App
			}
			if a.Target != b.Target {
				return a.Target < b.Target
			}
			return a.RunID < b.RunID
		})
		rep.Owners = append(rep.Owners, *g)
	}
	sort.Slice(rep.Owners, func(i, j int) bool {
		a, b := rep.Owners[i].Owner, rep.Owners[j].Owner
		if (a.Team == Unowned) != (b.Team == Unowned) {
			return b.Team == Unowned
		}
		if a.Team != b.Team {
			return a.Team < b.Team
		}
		return a.Tribe+a.Contact < b.Tribe+b.Contact
	})
	rep.Verdict, rep.Reason = verdict(rep)
	return rep
}

// verdict: worst of the runs; inconclusive when any input was a problem or
// nothing at all was merged.
func verdict(rep *Report) (gate.Verdict, string) {
	v := gate.Pass
	var fails, incs []string
	for _, g := range rep.Owners {
		for _, r := range g.Runs {
			if r.Verdict.Worse(v) {
				v = r.Verdict
			}
			line := r.App
			if r.Target != "-" && r.Target != "" {
				line += " (" + r.Target + ")"
			}
			if r.Narrowed {
				line += " NARROWED"
			}
			line += ": " + firstLine(r.Reason)
			switch r.Verdict {
			case gate.Pass:
			case gate.Fail:
				fails = append(fails, line)
			default:
				incs = append(incs, line)
			}
		}
	}
	for _, p := range rep.Problems {
		v = gate.Inconclusive
		incs = append(incs, p.Path+": "+p.Reason)
	}
	if rep.Summary.Runs == 0 && len(rep.Problems) == 0 {
		return gate.Inconclusive, "nothing to merge: no gate.json and no app due in " + strings.Join(rep.Dirs, ", ")
	}
	var parts []string
	if len(fails) > 0 {
		parts = append(parts, fmt.Sprintf("%d failed: %s", len(fails), strings.Join(fails, "; ")))
	}
	if len(incs) > 0 {
		parts = append(parts, fmt.Sprintf("%d inconclusive: %s", len(incs), strings.Join(incs, "; ")))
	}
	return v, strings.Join(parts, "; ")
}

// uncovered returns, per app of the config that has results but only node
// gates, an inconclusive entry naming the nodes of its definition that no
// node gate verified. A fleet or service gate of the app covers every node;
// an app with no result at all is already missing.
func uncovered(apps []*config.App, runs []Run) []Run {
	type cover struct {
		whole bool
		nodes map[string]bool
		any   bool
	}
	by := map[string]*cover{}
	for _, r := range runs {
		c := by[r.App]
		if c == nil {
			c = &cover{nodes: map[string]bool{}}
			by[r.App] = c
		}
		res := r.Result()
		if res == nil {
			continue // unreadable: already inconclusive
		}
		c.any = true
		switch res.Target.Scope {
		case "node":
			c.nodes[res.Target.Node] = true
		case "service", "fleet":
			c.whole = true
		default: // an image gate verifies an artefact, not a deployed node
			c.whole = true
		}
	}
	var out []Run
	for _, a := range apps {
		c := by[a.App]
		if c == nil || !c.any || c.whole {
			continue
		}
		var never, seen []string
		for _, n := range a.Nodes {
			if c.nodes[n.Name] {
				seen = append(seen, n.Name)
			} else {
				never = append(never, n.Name)
			}
		}
		if len(never) == 0 {
			continue
		}
		out = append(out, Run{App: a.App, Target: "nodes " + strings.Join(never, ", "), Verdict: gate.Inconclusive, Missing: true,
			Reason: fmt.Sprintf("node(s) %s never verified: only node gates of %s were merged (%s), and no --fleet or service gate covers the rest",
				strings.Join(never, ", "), a.App, strings.Join(seen, ", "))})
	}
	return out
}

func ownerOf(a *config.App) Owner {
	if a.Owner == nil || a.Owner.Team == "" {
		o := Owner{Team: Unowned}
		if a.Owner != nil {
			o.Tribe, o.Contact = a.Owner.Tribe, a.Owner.Contact
		}
		return o
	}
	return Owner{Team: a.Owner.Team, Tribe: a.Owner.Tribe, Contact: a.Owner.Contact}
}

// scan finds gate.json files and shard manifests under dir. A missing or
// unreadable dir is a problem, not a usage error: in CI it is the artefact of
// a job that never ran.
func scan(dir string) (gates []string, manifests []shard.Manifest, probs []Problem) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, []Problem{{Path: dir, Reason: "cannot read: " + unwrap(err)}}
	}
	if !st.IsDir() {
		if filepath.Base(dir) == "gate.json" {
			return []string{dir}, nil, nil
		}
		return nil, nil, []Problem{{Path: dir, Reason: "not a folder or a gate.json"}}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			probs = append(probs, Problem{Path: p, Reason: "cannot read: " + unwrap(err)})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		switch {
		case name == "gate.json":
			// Read through regularfile: a FIFO or a symlink to a device is
			// a problem there, not a hang here.
			gates = append(gates, p)
		case strings.HasPrefix(name, "shard-") && strings.HasSuffix(name, ".json"):
			m, ok, err := shard.ReadManifest(p)
			if err != nil {
				probs = append(probs, Problem{Path: p, Reason: "unreadable shard manifest: " + unwrap(err)})
			} else if ok {
				manifests = append(manifests, m)
			}
		}
		return nil
	})
	if err != nil {
		probs = append(probs, Problem{Path: dir, Reason: unwrap(err)})
	}
	sort.Strings(gates)
	return gates, manifests, probs
}

// shardsOf groups "K/N" strings by N.
func shardsOf(specs []string) map[int]map[int]bool {
	out := map[int]map[int]bool{}
	for _, sp := range specs {
		s, err := shard.Parse(sp)
		if err != nil {
			continue
		}
		if out[s.N] == nil {
			out[s.N] = map[int]bool{}
		}
		out[s.N][s.K] = true
	}
	return out
}

// emptyShards: the folder holds only manifests of shards that had no app.
func emptyShards(ms []shard.Manifest) bool {
	if len(ms) == 0 {
		return false
	}
	for _, m := range ms {
		if len(m.Apps) > 0 {
			return false
		}
	}
	return true
}

func noResult(ms []shard.Manifest) string {
	if len(ms) == 0 {
		return "no gate.json here: the run it stands for left no result"
	}
	return "no gate.json here although its shard manifest lists apps"
}

// maxGateJSON bounds one gate.json read, as pkg/evidence does: a gate.json
// is kilobytes; attachments are files beside it.
const maxGateJSON = 64 << 20

func readRun(path, outDir string, probs *[]Problem) Run {
	b, err := regularfile.Read(path, maxGateJSON, nil)
	if err != nil {
		*probs = append(*probs, Problem{Path: path, Reason: "cannot read: " + unwrap(err)})
		return Run{App: appFromPath(path), Target: "-", Verdict: gate.Inconclusive, Reason: "gate.json unreadable: " + unwrap(err), GateJSON: path}
	}
	var res gate.Result
	if err := json.Unmarshal(b, &res); err != nil || res.App == "" {
		why := "not a gate.json (no app)"
		if err != nil {
			why = "malformed gate.json: " + err.Error()
		}
		return Run{App: appFromPath(path), Target: "-", Verdict: gate.Inconclusive, Reason: why, GateJSON: path}
	}
	r := Run{App: res.App, RunID: res.RunID, Target: targetText(res.Target), Verdict: res.Verdict, Reason: res.Reason,
		ExpectedVersion: res.ExpectedVersion, ObservedVersion: res.ObservedVersion, DurationSeconds: res.DurationSeconds,
		Summary: res.Summary, Narrowed: res.Selection.Narrowed, GateJSON: path, result: &res}
	if !res.StartedAt.IsZero() {
		t := res.StartedAt.UTC()
		r.StartedAt = &t
	}
	switch {
	case res.Schema != gate.Schema:
		r.Verdict, r.Reason = gate.Inconclusive, fmt.Sprintf("gate.json schema %q, this piv reads %q", res.Schema, gate.Schema)
	case res.Verdict != gate.Pass && res.Verdict != gate.Fail && res.Verdict != gate.Inconclusive:
		r.Verdict, r.Reason = gate.Inconclusive, fmt.Sprintf("unknown verdict %q in gate.json", res.Verdict)
	case res.Verdict != gate.Pass && res.Reason == "":
		r.Reason = string(res.Verdict) + " (gate.json gives no reason)"
	}
	// Decide again from the checks, as the gate did: a gate.json edited to
	// pass (or written by a broken tool) over a failed blocking check, or
	// with no checks at all, does not pass here. The worse verdict wins.
	again := res
	gate.DecideRun(&again, gate.Policy{}, gate.Facts{SpecsSelected: -1})
	if again.Verdict.Worse(r.Verdict) {
		r.Verdict = again.Verdict
		r.Reason = fmt.Sprintf("gate.json says %s, but its checks say %s: %s", res.Verdict, again.Verdict, again.Reason)
		r.Summary = again.Summary
	}
	if r.Narrowed && r.Verdict == gate.Pass {
		r.Verdict = gate.Inconclusive
		r.Reason = "narrowed: not a full gate (" + narrowing(res.Selection) + "): a pass of part of the app is not a pass of the app"
	}
	html := filepath.Join(filepath.Dir(path), "report.html")
	if _, err := os.Stat(html); err == nil {
		r.Report = html
		if outDir != "" {
			if ao, err1 := filepath.Abs(outDir); err1 == nil {
				if ah, err2 := filepath.Abs(html); err2 == nil {
					if rel, err3 := filepath.Rel(ao, ah); err3 == nil {
						r.Report = filepath.ToSlash(rel)
					}
				}
			}
		}
	}
	return r
}

// appFromPath guesses the app of an unreadable gate.json from the default
// layout reports/APP/RUN-ID/gate.json, so it is still listed by name.
func appFromPath(p string) string {
	d := filepath.Dir(filepath.Dir(p))
	if b := filepath.Base(d); b != "." && b != string(filepath.Separator) {
		return b
	}
	return "?"
}

func narrowing(s gate.Selection) string {
	var parts []string
	if s.LabelFilter != "" {
		parts = append(parts, fmt.Sprintf("label filter %q", s.LabelFilter))
	}
	if s.Focus != "" {
		parts = append(parts, fmt.Sprintf("focus %q", s.Focus))
	}
	if s.LeftOut > 0 {
		parts = append(parts, fmt.Sprintf("%d spec(s) left out", s.LeftOut))
	}
	if len(parts) == 0 {
		return "selection narrowed"
	}
	return strings.Join(parts, ", ")
}

func targetText(t gate.Target) string {
	switch t.Scope {
	case "node":
		return "node " + t.Node
	case "image":
		return "image " + t.Image
	case "":
		return "-"
	}
	return t.Scope
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func unwrap(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
