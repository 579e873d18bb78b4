// Package evidence answers, from the gate.json files gates wrote, whether a
// remediation record's fix is live on every node of every affected app and
// whether its SLA clock was met: per node, verified when and by which run,
// still unverified, or verified and later seen failing again. It reads
// reports as a stream, keeping a few timestamps per node and never the
// reports themselves, so an auditor's question over years of nightly runs
// costs memory in the number of nodes, not of files.
//
// It judges only what gates recorded: a check of the record's items that
// passed on that node in that run. A run that did not check every item (an
// older record, a narrowed filter) is neither a pass nor a failure.
//
// Only a gate whose own verdict is pass verifies: a gate that failed (the
// pipeline rolled that node back) or was inconclusive (timed out, aborted)
// did not let the deploy go on, whatever its record checks say, so it counts
// as the node seen failing ("verdict fail" among the failed items). A runId
// that two reports claim for different nodes or apps (a copied gate.json)
// verifies nothing: runIds are unique per run, so one of them is not what it
// says, and evidence cannot tell which.
package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/regularfile"
	"github.com/piv-gate/piv/pkg/remediation"
)

// Schema identifies the evidence JSON format (schema/evidence.schema.json).
const Schema = "piv.evidence/v1"

// Node statuses.
const (
	Verified   = "verified"   // every item passed in its latest runs, since VerifiedAt
	Unverified = "unverified" // never passed every item (never gated, or failing)
	Regressed  = "regressed"  // passed once, then seen failing again, not passed since
)

// SLA statuses.
const (
	Met      = "met"
	Running  = "running"
	Breached = "breached"
)

// App is what the app definitions say about one affected app.
type App struct {
	Name     string
	Nodes    []string
	Exposure string // external, internal or ""
}

// Options are one evidence question.
type Options struct {
	Record *remediation.Record
	Apps   []App     // every app the record names, with its nodes
	Dirs   []string  // report folders, walked for gate.json
	Now    time.Time // "as of"; zero means time.Now()
	// LinkBase, when set, makes run links relative to it (the folder the
	// rendered evidence is written to), so they open from there.
	LinkBase string
}

// Run identifies one gate run.
type Run struct {
	ID      string    `json:"runId"`
	At      time.Time `json:"at"`
	Report  string    `json:"report"` // the run's report folder (gate.json, report.html)
	Verdict string    `json:"verdict"`
	Scope   string    `json:"scope"`
}

// NodeResult is one node's answer.
type NodeResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// VerifiedAt and VerifiedBy: the first run of the current passing
	// streak (after the last failure): since when the fix is live here.
	VerifiedAt *time.Time `json:"verifiedAt,omitempty"`
	VerifiedBy *Run       `json:"verifiedBy,omitempty"`
	// FirstVerifiedAt is the first pass ever (before a regression, if any).
	FirstVerifiedAt *time.Time `json:"firstVerifiedAt,omitempty"`
	// LastFailure is the latest run in which an item failed on this node.
	LastFailure *Run     `json:"lastFailure,omitempty"`
	FailedItems []string `json:"failedItems,omitempty"` // in LastFailure
	// LastSeen is the latest run that checked every item here.
	LastSeen *Run `json:"lastSeen,omitempty"`
	Runs     int  `json:"runs"`     // runs that checked every item on this node
	Partial  int  `json:"partial"`  // runs that checked only some items
	Failures int  `json:"failures"` // runs in which an item failed
}

// AppResult is one app's answer.
type AppResult struct {
	Name      string       `json:"name"`
	Exposure  string       `json:"exposure"`
	SLA       string       `json:"sla"` // what set the clock: "external (5 days)", "sla 72h"
	Deadline  time.Time    `json:"deadline"`
	Status    string       `json:"status"` // met, running, breached
	Completed *time.Time   `json:"completedAt,omitempty"`
	Reason    string       `json:"reason"`
	Nodes     []NodeResult `json:"nodes"`
}

// SLAResult is the whole record's clock: detected until every node of
// every affected app is verified.
type SLAResult struct {
	Status    string     `json:"status"`
	Deadline  time.Time  `json:"deadline"` // the earliest app deadline
	Completed *time.Time `json:"completedAt,omitempty"`
	// TimeLeftSeconds while running; LateBySeconds when breached.
	TimeLeftSeconds float64 `json:"timeLeftSeconds,omitempty"`
	LateBySeconds   float64 `json:"lateBySeconds,omitempty"`
	Reason          string  `json:"reason"`
}

// Event is one point on the timeline.
type Event struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // detected, verified, first-verified, failed, deadline, completed, now
	App  string    `json:"app,omitempty"`
	Node string    `json:"node,omitempty"`
	Run  *Run      `json:"run,omitempty"`
	Text string    `json:"text"`
}

// Scan says what was read.
type Scan struct {
	Dirs       []string `json:"dirs"`
	Files      int      `json:"files"`      // gate.json files read
	Matching   int      `json:"matching"`   // runs of this record for an affected app
	Unreadable int      `json:"unreadable"` // files that could not be read or parsed
	// Reread counts files read a second time (reports out of time order
	// around a node's failure; only the affected apps' folders).
	Reread   int      `json:"reread,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// Report is the answer (evidence.json).
type Report struct {
	Schema      string      `json:"schema"`
	Remediation string      `json:"remediation"`
	CVEs        []string    `json:"cves"`
	Record      string      `json:"record"`
	Detected    time.Time   `json:"detected"`
	AsOf        time.Time   `json:"asOf"`
	Items       []string    `json:"items"`
	SLA         SLAResult   `json:"sla"`
	Apps        []AppResult `json:"apps"`
	Timeline    []Event     `json:"timeline"`
	Scan        Scan        `json:"scan"`
}

// ExitCode: 0 met, 1 breached (or a node unverified past its deadline),
// 3 still running.
func (r *Report) ExitCode() int {
	switch r.SLA.Status {
	case Met:
		return 0
	case Breached:
		return 1
	}
	return 3
}

// obs is one run's outcome on one node.
type obs struct {
	at     time.Time
	run    Run
	failed []string
	// suspicious: the run's runId is claimed by another report for other
	// nodes (scanner.dup); it counts for nothing.
	suspicious bool
}

// nodeState is all that is kept per node while streaming: a few runs.
type nodeState struct {
	firstPass, lastPass, lastFail *obs
	// passAfterFail is the first pass after lastFail (the first pass at all
	// when nothing failed): since when the fix is live. inexact says that
	// reports came in an order that lost it, and a second look is needed.
	passAfterFail           *obs
	inexact                 bool
	lastSeen                *obs
	runs, partial, failures int
	// suspicious: runs that claimed this node under a runId another
	// report claims for other nodes (see scanner.claims); they verify nothing.
	suspicious []string
}

func earlier(a, b *obs) bool {
	return a == nil || b.at.Before(a.at) || b.at.Equal(a.at) && b.run.ID < a.run.ID
}
func later(a, b *obs) bool {
	return a == nil || b.at.After(a.at) || b.at.Equal(a.at) && b.run.ID > a.run.ID
}

// Build answers the question in o.
func Build(o Options) (*Report, error) {
	rec := o.Record
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	items := rec.Items()
	rep := &Report{Schema: Schema, Remediation: rec.ID, CVEs: append([]string{}, rec.CVEs...), Record: rec.File,
		Detected: rec.DetectedAt, AsOf: now, Scan: Scan{Dirs: append([]string{}, o.Dirs...)}}
	for _, it := range items {
		rep.Items = append(rep.Items, it.Key)
	}
	var states map[string]map[string]*nodeState
	s := &scanner{rec: rec, items: items, linkBase: o.LinkBase, until: now}

	// Pass 1: per node, first and last pass, last failure, counts, and the
	// first pass after the last failure while it can be kept exactly (see
	// nodeState.after).
	pass1 := func(scan *Scan) error {
		states = map[string]map[string]*nodeState{}
		for _, a := range o.Apps {
			states[a.Name] = map[string]*nodeState{}
			for _, n := range a.Nodes {
				states[a.Name][n] = &nodeState{}
			}
		}
		return s.walk(o.Dirs, scan, pass1obs(states))
	}
	err := pass1(&rep.Scan)
	if err != nil {
		return nil, err
	}
	// A runId claimed by two reports for different nodes was already
	// counted where it was seen first: count everything again, with those
	// runs set aside. Only a copied or forged report costs this second walk.
	if len(s.dup) > 0 {
		files := rep.Scan.Files
		rep.Scan = Scan{Dirs: rep.Scan.Dirs}
		if err := pass1(&rep.Scan); err != nil {
			return nil, err
		}
		rep.Scan.Reread += files
		ids := make([]string, 0, len(s.dup))
		for id := range s.dup {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if len(rep.Scan.Problems) < maxProblems {
				rep.Scan.Problems = append(rep.Scan.Problems, fmt.Sprintf("runId %q is claimed by more than one report for different nodes or apps (a copied gate.json?): none of them counts", id))
			}
		}
	}
	// Pass 2, only when reports came out of time order around a failure
	// (a node that failed, and passed both before and after, seen in an
	// order that hid which pass came first after it), and only over the
	// folders that held the affected apps' reports. Streaming twice keeps
	// memory flat where keeping every run's outcome would grow with the
	// reports.
	var again []string
	seenDir := map[string]bool{}
	for app, ns := range states {
		for _, st := range ns {
			if !st.inexact {
				continue
			}
			st.passAfterFail = nil
			for d := range s.appDirs[app] {
				if !seenDir[d] {
					seenDir[d] = true
					again = append(again, d)
				}
			}
		}
	}
	if len(again) > 0 {
		sort.Strings(again)
		var scan2 Scan
		if err := s.walk(again, &scan2, func(app, node string, ob obs, complete bool) {
			st := states[app][node]
			if st == nil || !st.inexact || !complete || len(ob.failed) > 0 || !ob.at.After(st.lastFail.at) {
				return
			}
			if earlier(st.passAfterFail, &ob) {
				c := ob
				st.passAfterFail = &c
			}
		}); err != nil {
			return nil, err
		}
		rep.Scan.Reread += scan2.Files
	}
	return finish(rec, o, rep, states, now), nil
}

// pass1obs folds one run's outcome on one node into states.
func pass1obs(states map[string]map[string]*nodeState) func(app, node string, ob obs, complete bool) {
	return func(app, node string, ob obs, complete bool) {
		st := states[app][node]
		if st == nil {
			return
		}
		if ob.suspicious {
			if len(st.suspicious) < 3 {
				st.suspicious = append(st.suspicious, ob.run.ID)
			}
			return
		}
		switch {
		case len(ob.failed) > 0:
			st.failures++
			st.runs++
			if later(st.lastFail, &ob) {
				c := ob
				st.lastFail = &c
				// The first pass after the old last failure is still the
				// first after this one if it is later than this one;
				// otherwise passes later than this one may have been seen
				// and dropped: only a second look can tell which is first.
				if st.passAfterFail != nil && !st.passAfterFail.at.After(c.at) {
					st.passAfterFail = nil
				}
				if st.passAfterFail == nil && st.lastPass != nil && st.lastPass.at.After(c.at) {
					st.inexact = true
				}
			}
		case complete:
			st.runs++
			if earlier(st.firstPass, &ob) {
				c := ob
				st.firstPass = &c
			}
			if later(st.lastPass, &ob) {
				c := ob
				st.lastPass = &c
			}
			if (st.lastFail == nil || ob.at.After(st.lastFail.at)) && earlier(st.passAfterFail, &ob) {
				c := ob
				st.passAfterFail = &c
			}
		default:
			st.partial++
			return
		}
		if later(st.lastSeen, &ob) {
			c := ob
			st.lastSeen = &c
		}
	}
}

// finish judges every app from the nodes' states and fills the SLA and the
// timeline.
func finish(rec *remediation.Record, o Options, rep *Report, states map[string]map[string]*nodeState, now time.Time) *Report {
	rep.Timeline = append(rep.Timeline, Event{At: rec.DetectedAt, Kind: "detected", Text: fmt.Sprintf("%s detected (%s)", rec.ID, joinOr(rec.CVEs, "no CVE listed"))})
	var overall SLAResult
	overall.Status = Met
	allComplete := true
	var completed time.Time
	for _, a := range o.Apps {
		ar := judgeApp(rec, a, states[a.Name], now, &rep.Timeline)
		rep.Apps = append(rep.Apps, ar)
		if overall.Deadline.IsZero() || ar.Deadline.Before(overall.Deadline) {
			overall.Deadline = ar.Deadline
		}
		if ar.Completed == nil {
			allComplete = false
		} else if ar.Completed.After(completed) {
			completed = *ar.Completed
		}
		if rank(ar.Status) > rank(overall.Status) {
			overall.Status = ar.Status
		}
	}
	var reasons []string
	for _, ar := range rep.Apps {
		if ar.Status != Met {
			reasons = append(reasons, ar.Name+": "+ar.Reason)
		}
	}
	switch overall.Status {
	case Met:
		c := completed
		overall.Completed = &c
		overall.Reason = fmt.Sprintf("every node of %d app(s) verified by %s, within the SLA", len(rep.Apps), c.Format(time.RFC3339))
	case Running:
		left := overall.Deadline.Sub(now)
		for _, ar := range rep.Apps {
			if ar.Status == Running && ar.Deadline.Sub(now) < left {
				left = ar.Deadline.Sub(now)
			}
		}
		overall.TimeLeftSeconds = left.Seconds()
		overall.Reason = fmt.Sprintf("%s left: %s", human(left), joinOr(reasons, ""))
	case Breached:
		late := time.Duration(0)
		for _, ar := range rep.Apps {
			if ar.Status != Breached {
				continue
			}
			end := now
			if ar.Completed != nil {
				end = *ar.Completed
			}
			if d := end.Sub(ar.Deadline); d > late {
				late = d
			}
		}
		overall.LateBySeconds = late.Seconds()
		overall.Reason = fmt.Sprintf("late by %s: %s", human(late), joinOr(reasons, ""))
	}
	if allComplete {
		c := completed
		overall.Completed = &c
		rep.Timeline = append(rep.Timeline, Event{At: c, Kind: "completed", Text: "every node of every affected app verified"})
	}
	rep.SLA = overall
	rep.Timeline = append(rep.Timeline, Event{At: overall.Deadline, Kind: "deadline", Text: "SLA deadline"})
	if overall.Status != Met {
		rep.Timeline = append(rep.Timeline, Event{At: now, Kind: "now", Text: "as of"})
	}
	sort.SliceStable(rep.Timeline, func(i, j int) bool { return rep.Timeline[i].At.Before(rep.Timeline[j].At) })
	return rep
}

func rank(s string) int {
	switch s {
	case Met:
		return 0
	case Running:
		return 1
	}
	return 2
}

func judgeApp(rec *remediation.Record, a App, states map[string]*nodeState, now time.Time, tl *[]Event) AppResult {
	ar := AppResult{Name: a.Name, Exposure: a.Exposure, Nodes: []NodeResult{}}
	if rec.Exposure != "" {
		ar.Exposure = rec.Exposure
	}
	sla, why, _ := rec.SLAFor(a.Exposure) // the caller checked every app has a clock
	ar.SLA = why
	ar.Deadline = rec.DetectedAt.Add(sla)
	var pending []string
	var completed time.Time
	for _, n := range a.Nodes {
		st := states[n]
		nr := NodeResult{Name: n, Runs: st.runs, Partial: st.partial, Failures: st.failures}
		if st.lastSeen != nil {
			r := st.lastSeen.run
			nr.LastSeen = &r
		}
		if st.lastFail != nil {
			r := st.lastFail.run
			nr.LastFailure, nr.FailedItems = &r, st.lastFail.failed
		}
		if st.firstPass != nil {
			t := st.firstPass.at
			nr.FirstVerifiedAt = &t
		}
		current := st.passAfterFail
		switch {
		case current != nil:
			nr.Status = Verified
			t, r := current.at, current.run
			nr.VerifiedAt, nr.VerifiedBy = &t, &r
			if t.After(completed) {
				completed = t
			}
			*tl = append(*tl, Event{At: t, Kind: "verified", App: a.Name, Node: n, Run: &r, Text: fmt.Sprintf("%s %s verified by %s", a.Name, n, r.ID)})
			if st.lastFail != nil && !st.firstPass.at.Before(st.lastFail.at) {
				// Failing before its first pass: the finding, then the fix.
				*tl = append(*tl, Event{At: st.lastFail.at, Kind: "failed", App: a.Name, Node: n, Run: nr.LastFailure, Text: fmt.Sprintf("%s %s not fixed yet: %s", a.Name, n, joinOr(st.lastFail.failed, ""))})
			}
			if st.lastFail != nil && st.firstPass.at.Before(st.lastFail.at) {
				*tl = append(*tl, Event{At: st.firstPass.at, Kind: "first-verified", App: a.Name, Node: n, Run: &st.firstPass.run, Text: fmt.Sprintf("%s %s first verified (later failed, verified again)", a.Name, n)})
				*tl = append(*tl, Event{At: st.lastFail.at, Kind: "failed", App: a.Name, Node: n, Run: nr.LastFailure, Text: fmt.Sprintf("%s %s failing: %s", a.Name, n, joinOr(st.lastFail.failed, ""))})
			}
		case st.firstPass != nil:
			nr.Status = Regressed
			pending = append(pending, n+" regressed (verified "+st.firstPass.at.Format(time.RFC3339)+", failing since "+st.lastFail.at.Format(time.RFC3339)+")")
			*tl = append(*tl, Event{At: st.firstPass.at, Kind: "first-verified", App: a.Name, Node: n, Run: &st.firstPass.run, Text: fmt.Sprintf("%s %s verified by %s", a.Name, n, st.firstPass.run.ID)})
			*tl = append(*tl, Event{At: st.lastFail.at, Kind: "failed", App: a.Name, Node: n, Run: nr.LastFailure, Text: fmt.Sprintf("%s %s failing again: %s", a.Name, n, joinOr(st.lastFail.failed, ""))})
		case st.lastFail != nil:
			nr.Status = Unverified
			pending = append(pending, n+" failing ("+joinOr(st.lastFail.failed, "")+")")
			*tl = append(*tl, Event{At: st.lastFail.at, Kind: "failed", App: a.Name, Node: n, Run: nr.LastFailure, Text: fmt.Sprintf("%s %s not fixed: %s", a.Name, n, joinOr(st.lastFail.failed, ""))})
		default:
			nr.Status = Unverified
			if len(st.suspicious) > 0 {
				pending = append(pending, fmt.Sprintf("%s claimed only by run(s) %s whose runId another report claims for a different node or app (a copied gate.json?)", n, strings.Join(st.suspicious, ", ")))
			} else if st.partial > 0 {
				pending = append(pending, fmt.Sprintf("%s never checked on every item (%d partial run(s))", n, st.partial))
			} else {
				pending = append(pending, n+" never gated with the record")
			}
		}
		ar.Nodes = append(ar.Nodes, nr)
	}
	switch {
	case len(a.Nodes) == 0:
		ar.Status = statusPending(ar.Deadline, now)
		ar.Reason = "the app definition has no nodes: nothing can be verified"
	case len(pending) > 0:
		ar.Status = statusPending(ar.Deadline, now)
		ar.Reason = fmt.Sprintf("%d of %d node(s) not verified: %s", len(pending), len(a.Nodes), joinOr(pending, ""))
	default:
		c := completed
		ar.Completed = &c
		if c.After(ar.Deadline) {
			ar.Status = Breached
			ar.Reason = fmt.Sprintf("every node verified, but at %s: %s after the deadline", c.Format(time.RFC3339), human(c.Sub(ar.Deadline)))
		} else {
			ar.Status = Met
			ar.Reason = fmt.Sprintf("every node verified by %s", c.Format(time.RFC3339))
		}
	}
	return ar
}

func statusPending(deadline, now time.Time) string {
	if now.After(deadline) {
		return Breached
	}
	return Running
}

// human renders a duration in days and hours for an auditor.
func human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	days := int(d / (24 * time.Hour))
	h := int((d % (24 * time.Hour)) / time.Hour)
	m := int((d % time.Hour) / time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}

func joinOr(ss []string, none string) string {
	if len(ss) == 0 {
		return none
	}
	out := ss[0]
	for _, s := range ss[1:] {
		out += "; " + s
	}
	return out
}

// gateDoc is the part of gate.json evidence needs.
type gateDoc struct {
	RunID       string    `json:"runId"`
	App         string    `json:"app"`
	Verdict     string    `json:"verdict"`
	StartedAt   time.Time `json:"startedAt"`
	Target      struct{ Scope, Node string }
	Remediation *struct {
		ID string `json:"id"`
	} `json:"remediation"`
	Checks []check `json:"checks"`
}

type check struct {
	Target   string `json:"target"`
	State    string `json:"state"`
	Observed struct {
		Remediation string `json:"remediation"`
		Item        string `json:"item"`
		Target      string `json:"target"`
		Scope       string `json:"scope"`
	} `json:"observed"`
}

type scanner struct {
	rec      *remediation.Record
	items    []remediation.Item
	linkBase string
	// appDirs: per app, the folders holding its run folders (a few per
	// app, not per run), where a second look goes.
	appDirs map[string]map[string]bool
	until   time.Time // runs after "as of" are not yet evidence
	data    []byte    // the file being read; reused for the next
	doc     gateDoc
	needle  []byte
	// claims: per runId of a matching run, a hash of the app and nodes it
	// claims (8 bytes a run of this record, not the report); dup: the
	// runIds claimed for different ones.
	claims map[uint64]uint64 // hash of the runId -> hash of its claim
	dup    map[string]bool
	// partVerdict: per node, its part's verdict in a fleet gate that
	// failed (nil otherwise: the gate's verdict is every node's).
	partVerdict map[string]string
}

const maxProblems = 20

// walk streams every gate.json under dirs and calls fn once per (app,
// node) the file has remediation checks for. complete is true when every
// item of the record was checked on that node; ob.failed lists the items
// that failed.
func (s *scanner) walk(dirs []string, scan *Scan, fn func(app, node string, ob obs, complete bool)) error {
	s.needle = []byte(`"` + s.rec.ID + `"`)
	problem := func(msg string) {
		scan.Unreadable++
		if len(scan.Problems) < maxProblems {
			scan.Problems = append(scan.Problems, msg)
		}
	}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("--reports %s: %v", dir, err)
		}
		s.walkDir(dir, func(path string, err error) {
			scan.Files++
			if err != nil {
				problem(fmt.Sprintf("%s: %v", path, err))
				return
			}
			// Most runs are not of this record: skip them before parsing.
			if !bytes.Contains(s.data, s.needle) {
				return
			}
			if err := s.parse(); err != nil {
				problem(fmt.Sprintf("%s: not a gate.json: %v", path, err))
				return
			}
			s.emit(path, scan, fn)
		}, problem)
	}
	return nil
}

// walkDir calls fn for every gate.json under dir, with the file read into
// s.data (or the error reading it). Unlike filepath.WalkDir it reads
// directories in chunks and unsorted, so a folder of a million runs is
// never listed into memory at once; and a folder holding a gate.json is a
// run's report folder, read without listing it or walking its attachments
// (half the system calls per run).
func (s *scanner) walkDir(dir string, fn func(path string, err error), problem func(string)) {
	f, err := os.Open(dir)
	if err != nil {
		problem(fmt.Sprintf("%s: %v", dir, err))
		return
	}
	defer f.Close()
	for {
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			switch {
			case e.IsDir():
				g := filepath.Join(p, "gate.json")
				rerr := s.read(g)
				switch {
				case rerr == nil:
					fn(g, nil)
				case errors.Is(rerr, fs.ErrNotExist):
					s.walkDir(p, fn, problem)
				default:
					fn(g, rerr)
				}
			case e.Name() == "gate.json" && e.Type().IsRegular():
				fn(p, s.read(p))
			}
		}
		if err == io.EOF || len(entries) == 0 {
			return
		}
		if err != nil {
			problem(fmt.Sprintf("%s: %v", dir, err))
			return
		}
	}
}

// parse fills s.doc from s.buf with gjson: the few fields evidence needs,
// read in place (about five times faster than encoding/json's reflection
// over a whole gate.json, which matters over years of reports).
func (s *scanner) parse() error {
	b := s.data
	if len(b) == 0 || !gjson.ValidBytes(b) {
		return errors.New("invalid JSON")
	}
	// Read in place, without copying the file into a string: every value
	// kept is cloned below, because the buffer is reused for the next file.
	doc := unsafe.String(&b[0], len(b))
	str := func(r gjson.Result) string { return strings.Clone(r.String()) }
	d := &s.doc
	d.Checks = d.Checks[:0]
	d.Remediation = nil
	d.RunID, d.App, d.Verdict = str(gjson.Get(doc, "runId")), str(gjson.Get(doc, "app")), str(gjson.Get(doc, "verdict"))
	d.Target.Scope, d.Target.Node = str(gjson.Get(doc, "target.scope")), str(gjson.Get(doc, "target.node"))
	d.StartedAt = time.Time{}
	if v := gjson.Get(doc, "startedAt"); v.Exists() {
		t, err := time.Parse(time.RFC3339Nano, v.String())
		if err != nil {
			return fmt.Errorf("startedAt: %v", err)
		}
		d.StartedAt = t
	}
	if v := gjson.Get(doc, "remediation.id"); v.Exists() {
		d.Remediation = &struct {
			ID string `json:"id"`
		}{ID: str(v)}
	}
	// A fleet gate that failed is the worst of its targets: each node is
	// judged by its own part, re-decided from the checks that targeted it
	// (gate.DecideRun, as gate.Combine decided the part), so one bad node
	// does not make the good ones failing. An inconclusive fleet (timed
	// out, aborted) proved nothing on any node.
	s.partVerdict = nil
	if d.Target.Scope == "fleet" && d.Verdict == string(gate.Fail) {
		parts := map[string]*gate.Result{}
		gjson.Get(doc, "checks").ForEach(func(_, c gjson.Result) bool {
			t := c.Get("target").String()
			if parts[t] == nil {
				parts[t] = &gate.Result{}
			}
			parts[t].Checks = append(parts[t].Checks, gate.Check{Name: c.Get("name").String(), State: gate.State(c.Get("state").String()),
				Blocking: c.Get("blocking").Bool(), Precondition: c.Get("precondition").Bool()})
			return true
		})
		s.partVerdict = map[string]string{}
		for t, r := range parts {
			gate.DecideRun(r, gate.Policy{}, gate.Facts{SpecsSelected: -1})
			s.partVerdict[strings.Clone(t)] = string(r.Verdict)
		}
	}
	gjson.Get(doc, "checks").ForEach(func(_, c gjson.Result) bool {
		ob := c.Get("observed")
		if ob.Get("remediation").String() != s.rec.ID {
			return true
		}
		var ch check
		ch.Target, ch.State = str(c.Get("target")), str(c.Get("state"))
		ch.Observed.Remediation = s.rec.ID
		ch.Observed.Item, ch.Observed.Target, ch.Observed.Scope = str(ob.Get("item")), str(ob.Get("target")), str(ob.Get("scope"))
		d.Checks = append(d.Checks, ch)
		return true
	})
	return nil
}

// maxGateJSON bounds what is read of one file: a gate.json is kilobytes.
const maxGateJSON = 64 << 20

// read reads path into s.data, reusing its memory: only a regular file, at
// most maxGateJSON (a FIFO or /dev/zero planted as a gate.json is a problem
// line, not a hang).
func (s *scanner) read(path string) error {
	var err error
	s.data, err = regularfile.Read(path, maxGateJSON, s.data)
	return err
}

func (s *scanner) claim(runID, app string, nodes []string) bool {
	if runID == "" {
		return true
	}
	if s.dup[runID] {
		return true
	}
	// Order-free over the nodes (a sum of per-node hashes): no sorting, no
	// allocation per run.
	sum := hash64(app)
	for _, n := range nodes {
		sum += hash64("\x00" + n)
	}
	id := hash64(runID)
	if s.claims == nil {
		s.claims = map[uint64]uint64{}
	}
	prev, ok := s.claims[id]
	if !ok {
		s.claims[id] = sum
		return false
	}
	if prev == sum {
		return false
	}
	if s.dup == nil {
		s.dup = map[string]bool{}
	}
	s.dup[runID] = true
	return true
}

// hash64 is FNV-1a, inline: a few bytes per run in scanner.claims.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func (s *scanner) emit(path string, scan *Scan, fn func(app, node string, ob obs, complete bool)) {
	d := &s.doc
	if d.Remediation == nil || d.Remediation.ID != s.rec.ID || !s.rec.HasApp(d.App) || d.StartedAt.IsZero() || d.StartedAt.After(s.until) {
		return
	}
	scan.Matching++
	if s.appDirs == nil {
		s.appDirs = map[string]map[string]bool{}
	}
	if s.appDirs[d.App] == nil {
		s.appDirs[d.App] = map[string]bool{}
	}
	s.appDirs[d.App][filepath.Dir(filepath.Dir(path))] = true
	type seen struct {
		passed map[string]bool
		failed []string
	}
	byNode := map[string]*seen{}
	var order []string
	for _, c := range d.Checks {
		ob := c.Observed
		if ob.Remediation != s.rec.ID || ob.Item == "" || c.State == "skipped" {
			continue
		}
		node := ""
		switch {
		case ob.Scope == "node":
			node = ob.Target
		case ob.Scope == "service":
			continue // the service's answer proves nothing about a node
		case c.Target != "" && c.Target != "service":
			node = c.Target
		case d.Target.Scope == "node":
			node = d.Target.Node
		default:
			continue
		}
		st := byNode[node]
		if st == nil {
			st = &seen{passed: map[string]bool{}}
			byNode[node] = st
			order = append(order, node)
		}
		if c.State == "passed" || c.State == "flaky" {
			st.passed[ob.Item] = true
		} else {
			st.failed = append(st.failed, ob.Item)
		}
	}
	dir := filepath.Dir(path)
	if s.linkBase != "" {
		if rel, err := filepath.Rel(s.linkBase, dir); err == nil {
			dir = rel
		}
	}
	run := Run{ID: d.RunID, At: d.StartedAt.UTC(), Report: filepath.ToSlash(dir), Verdict: d.Verdict, Scope: d.Target.Scope}
	suspicious := s.claim(d.RunID, d.App, order)
	for _, node := range order {
		st := byNode[node]
		complete := true
		for _, it := range s.items {
			if !st.passed[it.Key] {
				complete = false
			}
		}
		sort.Strings(st.failed)
		// Only a gate that passed verifies: one that failed or was
		// inconclusive stopped the deploy (or proved nothing), so the node
		// is seen failing even when the record's own checks passed.
		v := d.Verdict
		if pv, ok := s.partVerdict[node]; ok {
			v = pv
		}
		if v != string(gate.Pass) && len(st.failed) == 0 {
			if v == "" {
				v = "none"
			}
			st.failed = []string{"verdict " + v}
		}
		fn(d.App, node, obs{at: run.At, run: run, failed: st.failed, suspicious: suspicious}, complete)
	}
}
