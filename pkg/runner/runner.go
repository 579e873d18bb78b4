// Package runner runs the registered Ginkgo specs in-process against one
// target and turns Ginkgo's report into a gate.Result. It owns the phases of
// a run (ephemeral target, settle, specs) and their deadlines; it does not
// decide the verdict (gate.Decide does) nor render anything (report does).
//
// Ginkgo allows RunSpecs once per process, so Run may be called once; `piv
// run --all` runs each app in a child process.
package runner

import (
	"context"
	"errors"
	"fmt"
	"github.com/piv-gate/piv/pkg/timeouts"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"github.com/onsi/gomega/format"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/piv"
	"github.com/piv-gate/piv/pkg/secret"
	"github.com/piv-gate/piv/pkg/target"
)

// Options is one run, as the command line asked for it.
type Options struct {
	App             *config.App
	RunID           string
	Target          target.Target   // primary target, already resolved by the caller
	Nodes           []target.Target // every node (service scope: version consistency)
	Image           string          // --image: started by the caller's Ephemeral hook
	ExpectedVersion string
	LabelFilter     string
	Focus           string // regexp on the full check name (--focus); "" selects all
	AllowMutating   bool
	Settle          time.Duration // 0: no settling
	Timeout         time.Duration // whole run; 0: none
	OutDir          string
	Policy          gate.Policy
	DryRun          bool // piv list: build and filter the tree, run nothing
	Browser         piv.BrowserProvider
	Progress        io.Writer // diagnostics and Ginkgo's progress (stderr)
	Verbose         bool      // Ginkgo's verbose progress instead of its succinct line
	// Abort, when set, makes the run inconclusive before anything runs (the
	// Docker engine or the browser could not be had); SetupChecks are checks
	// done while preparing the target (an image's container becoming
	// healthy): when one failed, the specs are not run.
	Abort string
	// Started is when the run began (before the target was prepared);
	// zero means when Run is called.
	Started     time.Time
	SetupChecks []gate.Check
	// Interrupted returns the signal's name once the process got SIGINT or
	// SIGTERM, "" otherwise.
	Interrupted func() string
}

// Selection is what the options ask to verify (gate.json "selection");
// LeftOut is filled once the specs have run.
func Selection(o Options) gate.Selection {
	f := strings.TrimSpace(o.LabelFilter)
	return gate.Selection{LabelFilter: f, Focus: o.Focus, AllowMutating: o.AllowMutating, Narrowed: f != "" || o.Focus != ""}
}

// EffectiveFilter is the label filter Ginkgo gets: the user's, with mutating
// specs left out unless allowed. Exposed so `piv list` shows the same set.
func EffectiveFilter(userFilter string, allowMutating bool) string {
	f := strings.TrimSpace(userFilter)
	if allowMutating {
		return f
	}
	if f == "" {
		return "!mutating"
	}
	return "(" + f + ") && !mutating"
}

// ValidateFilter checks a --label-filter before Ginkgo sees it (Ginkgo calls
// os.Exit on a bad one) and rejects labels that are not in the registry.
func ValidateFilter(f string) error {
	if strings.TrimSpace(f) == "" {
		return nil
	}
	if _, err := types.ParseLabelFilter(f); err != nil {
		return fmt.Errorf("--label-filter %q: %v", f, err)
	}
	var labels []string
	for _, w := range strings.FieldsFunc(f, func(r rune) bool { return strings.ContainsRune("!&|(), ", r) }) {
		if w != "" && !strings.HasPrefix(w, "/") {
			labels = append(labels, w)
		}
	}
	if err := piv.CheckLabels(labels); err != nil {
		return fmt.Errorf("--label-filter %q: %v", f, err)
	}
	return nil
}

// captured is the report handed over by the ReportAfterSuite node.
var (
	capturedMu sync.Mutex
	captured   *types.Report
)

// Blocking technical failures are noted on the run as they happen, so the
// functional specs that follow can be skipped with the root cause named.
var _ = ginkgo.ReportAfterEach(func(s ginkgo.SpecReport) {
	if r := piv.Current(); r != nil && s.State.Is(types.SpecStateFailureStates) {
		ls := s.Labels()
		if contains(ls, "technical") && !contains(ls, "advisory") {
			r.NoteTechnicalFailure(strings.Join(append(append([]string{}, s.ContainerHierarchyTexts...), s.LeafNodeText), " "))
		}
	}
})

var _ = ginkgo.ReportAfterSuite("piv", func(r ginkgo.Report) {
	capturedMu.Lock()
	defer capturedMu.Unlock()
	captured = &r
})

type testingT struct{ failed bool }

func (t *testingT) Fail() { t.failed = true }

// Run executes the run and returns the result with its verdict decided. The
// error is non-nil only when nothing could be run at all (usage errors are
// caught by the caller before).
func Run(ctx context.Context, o Options) *gate.Result {
	start := o.Started
	if start.IsZero() {
		start = time.Now()
	}
	res := &gate.Result{
		Schema: gate.Schema, RunID: o.RunID, App: o.App.App,
		Target: gate.Target{Scope: string(o.Target.Scope), URL: o.App.Service.URL, Address: o.Target.Address,
			Image: o.Image},
		ExpectedVersion: o.ExpectedVersion,
		StartedAt:       start.UTC(),
		Checks:          []gate.Check{},
	}
	if o.Target.Scope == target.ScopeNode {
		res.Target.Node = o.Target.Name
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	progress = secret.Writer{W: progress}

	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	res.Selection = Selection(o)
	// facts are what happened to the run; gate.DecideRun alone judges them.
	facts := gate.Facts{SpecsSelected: -1}
	finish := func() *gate.Result {
		if facts.Abort == "" && ctx.Err() != nil {
			facts.Abort = aborted(ctx, o)
		}
		gate.DecideRun(res, o.Policy, facts)
		res.DurationSeconds = time.Since(start).Seconds()
		redactResult(res)
		return res
	}

	for _, c := range o.SetupChecks {
		c.Precondition = true
		res.Checks = append(res.Checks, c)
	}
	if o.Abort != "" {
		facts.Abort = o.Abort
		return finish()
	}
	for _, c := range o.SetupChecks {
		if c.State != gate.Passed {
			return finish()
		}
	}

	// Phase 1: settle. A freshly started node may take time; wait (bounded)
	// until health passes N times in a row before any check counts.
	if o.Settle > 0 && !o.DryRun {
		check, ok := settle(ctx, o, progress)
		check.Precondition = true
		res.Checks = append(res.Checks, check)
		if !ok {
			return finish()
		}
	}

	// Phase 2: the specs.
	run := &piv.Run{ID: o.RunID, App: o.App, Target: o.Target, Nodes: o.Nodes, ExpectedVersion: o.ExpectedVersion,
		OutDir: o.OutDir, Ctx: ctx, Browser: o.Browser}
	piv.Bind(run)
	report, err := runSpecs(ctx, o, progress)
	if err != nil {
		facts.Abort = err.Error()
		return finish()
	}
	checks, labelErr := toChecks(report, o.OutDir)
	res.Checks = append(res.Checks, checks...)
	res.ObservedVersion = run.ObservedVersion()
	res.MissingSecrets = run.MissingSecrets()

	// Ginkgo's own signal handler may stop the specs a moment before ours
	// has recorded which signal came: give it that moment (bounded), so
	// the reason names the signal rather than only the interrupted check.
	if o.Interrupted != nil && ctx.Err() == nil && o.Interrupted() == "" && (anyInterrupted(checks) || ginkgoInterrupted(report)) {
		tick := time.NewTicker(10 * time.Millisecond)
		for i := 0; i < 100 && o.Interrupted() == "" && ctx.Err() == nil; i++ {
			<-tick.C
		}
		tick.Stop()
	}

	// Gather what happened to the run; gate.DecideRun judges it.
	facts.SpecsSelected = 0
	for _, c := range checks {
		if c.State != gate.Skipped {
			facts.SpecsSelected++
		}
	}
	res.Selection.LeftOut = leftOut(report)
	facts.Abort = run.Aborted()
	if ctx.Err() != nil || o.Interrupted != nil && o.Interrupted() != "" {
		facts.Abort = aborted(ctx, o)
	}
	facts.ProgrammaticFocus = report.SuiteHasProgrammaticFocus
	if labelErr != nil {
		facts.UnknownLabels = labelErr.Error()
	}
	if o.DryRun {
		facts.SpecsSelected = -1
	}
	return finish()
}

// leftOut counts the specs of the tree that the selection (label filter,
// focus, mutating excluded) did not run.
func leftOut(r *types.Report) int {
	n := 0
	for _, s := range r.SpecReports {
		if s.LeafNodeType == types.NodeTypeIt && s.State == types.SpecStateSkipped && s.Failure.Message == "" {
			n++
		}
	}
	return n
}

func aborted(ctx context.Context, o Options) string {
	if o.Interrupted != nil {
		if sig := o.Interrupted(); sig != "" {
			return "interrupted by " + sig + ": the run did not finish"
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timed out after %s (--timeout): the run did not finish", o.Timeout)
	}
	return "cancelled: the run did not finish"
}

// runSpecs runs Ginkgo once, in-process, with piv's configuration.
func runSpecs(ctx context.Context, o Options, progress io.Writer) (*types.Report, error) {
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	suiteConfig.LabelFilter = EffectiveFilter(o.LabelFilter, o.AllowMutating)
	suiteConfig.DryRun = o.DryRun
	if o.Focus != "" {
		suiteConfig.FocusStrings = []string{o.Focus}
	}
	suiteConfig.RandomizeAllSpecs = false
	// A gate runs in the same order every time: a failure seen once can be
	// reproduced with the same command.
	suiteConfig.RandomSeed = 1
	suiteConfig.FailFast = false
	if dl, ok := ctx.Deadline(); ok {
		suiteConfig.Timeout = time.Until(dl)
		if suiteConfig.Timeout <= 0 {
			return nil, fmt.Errorf("timed out after %s (--timeout) before the checks started", o.Timeout)
		}
	} else {
		suiteConfig.Timeout = 24 * time.Hour
	}
	suiteConfig.GracePeriod = timeouts.Default.SpecGrace
	reporterConfig.NoColor = true
	reporterConfig.Succinct = !o.Verbose
	reporterConfig.Verbose = o.Verbose
	if o.DryRun {
		progress = io.Discard
	}

	// Ginkgo's reporter prints to its package-level stdout writer; piv's
	// stdout is for the verdict, so send Ginkgo's progress to stderr,
	// redacted. The focus check is ours (Ginkgo would os.Exit).
	//
	// One redacting stream for both: the reporter and GinkgoWriter
	// interleave on stderr, and a secret a spec prints in two writes
	// (Printf("%s", s[:3]); Printf("%s", s[3:])) is redacted as a whole.
	// Closed when the specs end: what it held back is written, and a write
	// from a goroutine a spec left running still gets through, redacted.
	stream := secret.NewStream(progress)
	defer stream.Close()
	formatter.ColorableStdOut = stream
	os.Setenv("GINKGO_EDITOR_INTEGRATION", "true")
	ginkgo.GinkgoWriter.TeeTo(stream)
	gomega.RegisterFailHandler(ginkgo.Fail)
	// Gomega cuts long values (a diff's context, objects past 4000 bytes)
	// before piv sees the message: a secret cut in two is no longer
	// redactable, and "...gTail0123..." gives part of it away. Values are
	// therefore printed whole, redacted, and only then bounded
	// (boundedMessage, in redactResult).
	format.TruncatedDiff = false
	format.MaxLength = 0

	capturedMu.Lock()
	captured = nil
	capturedMu.Unlock()

	done := make(chan struct{})
	var panicked any
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		ginkgo.RunSpecs(&testingT{}, "piv "+o.App.App, suiteConfig, reporterConfig)
		io.WriteString(stream, "\n") // Ginkgo's succinct line ends without one
		stream.Close()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// Ginkgo's own timeout and signal handling end the suite; give it
		// its grace period, then stop waiting for a hung spec.
		select {
		case <-done:
		case <-time.After(suiteConfig.GracePeriod + timeouts.Default.SpecGraceSlack):
			return nil, fmt.Errorf("%s; a spec did not stop within its grace period", aborted(ctx, o))
		}
	}
	if panicked != nil {
		return nil, fmt.Errorf("harness panic: %v", panicked)
	}
	capturedMu.Lock()
	defer capturedMu.Unlock()
	if captured == nil {
		return nil, errors.New("harness fault: Ginkgo produced no report")
	}
	return captured, nil
}

// toChecks maps Ginkgo's spec reports to gate checks. Specs left out by the
// label filter are not listed: they were never part of this gate.
func toChecks(r *types.Report, outDir string) ([]gate.Check, error) {
	var checks []gate.Check
	var labels []string
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			// Suite-level nodes matter only when they failed (BeforeSuite).
			if s.State.Is(types.SpecStateFailureStates) && s.LeafNodeType != types.NodeTypeReportAfterSuite {
				checks = append(checks, gate.Check{Name: s.LeafNodeType.String(), Labels: []string{}, State: state(s),
					Blocking: true, Attempts: 1, Failure: failure(s), Attachments: []gate.Attachment{}})
			}
			continue
		}
		if s.State == types.SpecStateSkipped && s.Failure.Message == "" {
			continue // filtered out
		}
		pending := s.State == types.SpecStatePending
		ls := s.Labels()
		labels = append(labels, ls...)
		c := gate.Check{
			Name:   strings.Join(append(append([]string{}, s.ContainerHierarchyTexts...), s.LeafNodeText), " "),
			Labels: visibleLabels(ls),
			State:  state(s),
			// A pending spec (PIt) is listed, so it does not vanish from the
			// record, but cannot block: its author declared it not part of
			// the gate yet.
			Blocking:        !contains(ls, "advisory") && !pending,
			Attempts:        max(s.NumAttempts, 1),
			DurationSeconds: s.RunTime.Seconds(),
			Failure:         failure(s),
			Steps:           steps(s),
			Attachments:     []gate.Attachment{},
		}
		if len(s.ContainerHierarchyTexts) > 0 {
			c.Suite = strings.Fields(s.ContainerHierarchyTexts[0])[0]
		}
		if pending {
			c.Failure = &gate.Failure{Message: "pending: declared but not implemented (PIt, PDescribe): not part of this gate"}
		}
		for _, e := range s.ReportEntries {
			switch e.Name {
			case piv.AttachmentEntry:
				if a, ok := e.GetRawValue().(gate.Attachment); ok {
					c.Attachments = append(c.Attachments, a)
				}
			case piv.ObservedEntry:
				if o, ok := e.GetRawValue().(piv.Observation); ok {
					if c.Observed == nil {
						c.Observed = map[string]any{}
					}
					c.Observed[o.Key] = o.Value
				}
			}
		}
		// A check whose facts were gathered by another spec reports its
		// own probe's time (piv.ProbeSeconds), not 0 s or the gathering.
		if secs, ok := c.Observed[piv.ProbeSeconds].(float64); ok && secs >= 0 {
			c.DurationSeconds = secs
		}
		checks = append(checks, c)
	}
	return checks, piv.CheckLabels(labels)
}

func visibleLabels(ls []string) []string {
	out := []string{}
	for _, l := range ls {
		if !strings.HasPrefix(l, "app:") {
			out = append(out, l)
		}
	}
	return out
}

func state(s types.SpecReport) gate.State {
	switch s.State {
	case types.SpecStatePassed:
		if s.NumAttempts > 1 {
			return gate.Flaky
		}
		return gate.Passed
	case types.SpecStateSkipped, types.SpecStatePending:
		return gate.Skipped
	case types.SpecStateFailed, types.SpecStateTimedout:
		return gate.Failed
	case types.SpecStatePanicked:
		return gate.Panicked
	default:
		return gate.Aborted
	}
}

func failure(s types.SpecReport) *gate.Failure {
	if s.State == types.SpecStatePassed || s.Failure.Message == "" && !s.State.Is(types.SpecStateFailureStates) {
		return nil
	}
	msg := s.Failure.Message
	if s.State == types.SpecStatePanicked && s.Failure.ForwardedPanic != "" {
		msg = "panic: " + s.Failure.ForwardedPanic + "\n" + msg
	}
	f := &gate.Failure{Message: strings.TrimSpace(msg)}
	if loc := s.Failure.Location; loc.FileName != "" {
		f.Location = fmt.Sprintf("%s:%d", relPath(loc.FileName), loc.LineNumber)
	}
	// The By step that was running when it failed.
	for _, e := range s.SpecEvents {
		if e.SpecEventType == types.SpecEventByStart && !e.TimelineLocation.Time.After(s.Failure.TimelineLocation.Time) {
			f.Step = e.Message
		}
	}
	return f
}

func steps(s types.SpecReport) []string {
	var out []string
	for _, e := range s.SpecEvents {
		if e.SpecEventType == types.SpecEventByStart {
			out = append(out, e.Message)
		}
	}
	return out
}

var cwd, _ = os.Getwd()

func relPath(p string) string {
	// Relative to where piv runs when the suite is below it; otherwise as
	// the build recorded it (a module path with -trimpath): a team's suites
	// live in a module piv knows nothing about.
	if rel, err := filepath.Rel(cwd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func contains(ls []string, l string) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

// redactResult removes registered secrets from every text of the result,
// then bounds the failure messages and the reason: Gomega prints values
// whole (see runSpecs), and a cut made before redaction could leave part
// of a secret no form matches.
func redactResult(r *gate.Result) {
	r.Reason = boundedMessage(secret.Redact(r.Reason))
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Name = secret.Redact(c.Name)
		for j := range c.Steps {
			c.Steps[j] = secret.Redact(c.Steps[j])
		}
		if c.Failure != nil {
			c.Failure.Message = boundedMessage(secret.Redact(c.Failure.Message))
			c.Failure.Step = secret.Redact(c.Failure.Step)
		}
	}
}

// MaxMessage bounds a failure message or reason in the reports, in bytes
// (redacted text; the full message is in the progress on stderr).
const MaxMessage = 8000

// boundedMessage cuts an already redacted message to MaxMessage bytes, at
// a character boundary, saying how much was left out. Only ever called on
// redacted text.
func boundedMessage(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	cut := MaxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… [%d more bytes: the whole message is in the progress output]", len(s)-cut)
}

func anyInterrupted(checks []gate.Check) bool {
	for _, c := range checks {
		if c.State == gate.Aborted {
			return true
		}
	}
	return false
}

// ginkgoInterrupted: Ginkgo stopped the suite on a signal.
func ginkgoInterrupted(r *types.Report) bool {
	for _, reason := range r.SpecialSuiteFailureReasons {
		if strings.Contains(strings.ToLower(reason), "interrupt") {
			return true
		}
	}
	return false
}
