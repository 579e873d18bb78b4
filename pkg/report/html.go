package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/piv-gate/piv/pkg/gate"
)

// Limits for what report.html inlines; larger attachments are linked.
const (
	htmlMaxText  = 64 << 10 // bytes of a text attachment shown inline
	htmlMaxImage = 8 << 20  // bytes of an image inlined as a data: URI
)

// AttachmentReader returns a readAttachment for HTML that reads attachment
// paths inside dir only: absolute paths and paths that climb out of dir
// (.., symlinks) are refused, because gate.json paths are data, not trust.
func AttachmentReader(dir string) func(path string) ([]byte, error) {
	return func(path string) ([]byte, error) {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		return root.ReadFile(path)
	}
}

// HTML renders report.html: one self-contained page (inline CSS, no
// scripts, no external assets) with the verdict, target, versions and
// counts, then the checks grouped by Suite, failures first, each with its
// failure, steps and attachments. Screenshots are inlined as data: URIs and
// text attachments (text/*, JSON, XML) inlined escaped, trimmed to 64 KiB,
// both read through readAttachment (paths relative to the report folder;
// nil means link only). An attachment that cannot be read is reported in
// the page, not as an error: the report must still be written.
func HTML(r *gate.Result, readAttachment func(path string) ([]byte, error)) ([]byte, error) {
	v := htmlView{
		Verdict:     string(r.Verdict),
		VerdictWord: verdictWord(r.Verdict),
		App:         r.App,
		Target:      targetText(r.Target),
		Version:     versionText(r),
		R:           r,
		Started:     r.StartedAt.UTC().Format("2006-01-02 15:04:05.000 UTC"),
		Duration:    dur(r.DurationSeconds),
		Counts:      countsLine(r.Summary),
		Narrowed:    narrowedText(r.Selection),
		Mismatch:    r.ExpectedVersion != "" && r.ObservedVersion != r.ExpectedVersion,
		Attachments: htmlAttachments(r.Attachments, readAttachment),
	}
	if v.Verdict != string(gate.Pass) && v.Verdict != string(gate.Fail) {
		v.Verdict = string(gate.Inconclusive) // colour only: unknown verdicts look like inconclusive
	}
	rows := targetRows(r)
	if rows == nil {
		v.Targets = []htmlTarget{{Groups: htmlGroups(r, groups(r.Checks), readAttachment)}}
	} else {
		for _, t := range rows {
			v.Targets = append(v.Targets, htmlTarget{
				Label:  t.Label,
				Counts: countsLine(t.Counts),
				C:      t.Counts,
				Bad:    t.Counts.Failed > t.Counts.AdvisoryFailed,
				Groups: htmlGroups(r, groupsOf(r.Checks, t.Checks), readAttachment),
			})
		}
		v.Fleet = true
	}
	var buf bytes.Buffer
	if err := htmlPage.Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// htmlGroups renders suite groups of checks.
func htmlGroups(r *gate.Result, gs []group, readAttachment func(string) ([]byte, error)) []htmlGroup {
	var out []htmlGroup
	for _, g := range gs {
		hg := htmlGroup{Suite: suiteName(g.Suite)}
		for _, i := range g.Checks {
			c := &r.Checks[i]
			k := kindOf(c)
			hc := htmlCheck{
				Name:        strings.TrimPrefix(c.Name, g.Suite+" "),
				FullName:    c.Name,
				Class:       [...]string{"failed", "failed", "advisory", "flaky", "passed", "skipped"}[k],
				State:       stateText(c),
				Time:        dur(c.DurationSeconds),
				Labels:      c.Labels,
				Blocking:    c.Blocking,
				Open:        k == kindFailed || k == kindHarness || k == kindAdvisory,
				Failure:     c.Failure,
				Observed:    observedRows(c.Observed),
				Attachments: htmlAttachments(c.Attachments, readAttachment),
			}
			if hc.Name == "" {
				hc.Name = c.Name
			}
			if c.Attempts > 1 {
				hc.Attempts = attemptsText(c.Attempts)
			}
			for _, s := range c.Steps {
				hc.Steps = append(hc.Steps, htmlStep{Text: s, Failed: c.Failure != nil && c.Failure.Step == s && k != kindSkipped})
			}
			hg.Checks = append(hg.Checks, hc)
		}
		hg.Counts = countsLine(tally(r.Checks, g.Checks))
		out = append(out, hg)
	}
	return out
}

// observedRows flattens Check.Observed into sorted key/value rows: nested
// objects become dotted keys, lists and other values their compact JSON.
func observedRows(m map[string]any) []htmlKV {
	var out []htmlKV
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				out = append(out, htmlKV{prefix, "{}"})
				return
			}
			for k, e := range x {
				walk(strings.TrimPrefix(prefix+"."+k, "."), e)
			}
		case string:
			out = append(out, htmlKV{prefix, x})
		case nil:
			out = append(out, htmlKV{prefix, "null"})
		default:
			// Plain JSON, no \u003c escapes: the template HTML-escapes once,
			// which is the form the caller's secret redaction knows.
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			text := fmt.Sprint(x)
			if err := enc.Encode(x); err == nil {
				text = strings.TrimSuffix(buf.String(), "\n")
			}
			out = append(out, htmlKV{prefix, text})
		}
	}
	for k, v := range m {
		walk(k, v)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Key < out[b].Key })
	return out
}

type htmlKV struct{ Key, Value string }

type htmlTarget struct {
	Label, Counts string
	C             gate.Summary
	Bad           bool
	Groups        []htmlGroup
}

type htmlView struct {
	Verdict, VerdictWord, App, Target string
	Version                           string
	R                                 *gate.Result
	Started, Duration                 string
	Counts, Narrowed                  string
	Mismatch, Fleet                   bool
	Attachments                       []htmlAttachment
	Targets                           []htmlTarget
}

type htmlGroup struct {
	Suite, Counts string
	Checks        []htmlCheck
}

type htmlCheck struct {
	Name, FullName, Class, State, Time string
	Attempts                           string
	Labels                             []string
	Blocking, Open                     bool
	Failure                            *gate.Failure
	Observed                           []htmlKV
	Steps                              []htmlStep
	Attachments                        []htmlAttachment
}

type htmlStep struct {
	Text   string
	Failed bool
}

type htmlAttachment struct {
	Name, ContentType, Path string
	Image                   template.URL // data: URI of a verified image
	Text                    string
	IsText                  bool
	Note                    string
}

func htmlAttachments(as []gate.Attachment, read func(string) ([]byte, error)) []htmlAttachment {
	var out []htmlAttachment
	for _, a := range as {
		h := htmlAttachment{Name: a.Name, ContentType: a.ContentType, Path: a.Path}
		out = append(out, h)
		p := &out[len(out)-1]
		if a.Path == "" || read == nil {
			continue
		}
		image := strings.HasPrefix(a.ContentType, "image/")
		text := isText(a.ContentType)
		if !image && !text {
			continue
		}
		data, err := read(a.Path)
		if err != nil {
			p.Note = "could not read the attachment: " + err.Error()
			continue
		}
		switch {
		case image:
			mime := imageType(data)
			switch {
			case mime == "":
				p.Note = "not shown inline: the file is not a PNG, JPEG, GIF or WebP image"
			case len(data) > htmlMaxImage:
				p.Note = fmt.Sprintf("not shown inline: %d bytes is over the %d MiB limit", len(data), htmlMaxImage>>20)
			default:
				// The bytes were checked to be a raster image: safe as a data: URI.
				p.Image = template.URL("data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data))
			}
		case text:
			p.IsText = true
			shown := data
			if len(shown) > htmlMaxText {
				shown = shown[:htmlMaxText]
				for len(shown) > 0 && !utf8.RuneStart(data[len(shown)]) {
					shown = shown[:len(shown)-1]
				}
				p.Note = fmt.Sprintf("trimmed: showing the first %d KiB of %d bytes; the whole file is %s", htmlMaxText>>10, len(data), a.Path)
			}
			p.Text = strings.ToValidUTF8(string(shown), "\uFFFD")
		}
	}
	return out
}

func isText(ct string) bool {
	ct = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	return strings.HasPrefix(ct, "text/") || ct == "application/json" || strings.HasSuffix(ct, "+json") ||
		ct == "application/xml" || strings.HasSuffix(ct, "+xml") || ct == "application/x-ndjson"
}

// imageType sniffs the raster formats a browser shows from a data: URI. SVG
// is deliberately not one of them.
func imageType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

var htmlPage = template.Must(template.New("report.html").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.VerdictWord}}{{if .Narrowed}} (NARROWED){{end}} {{.App}} {{.Target}} — piv</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:1em 1.5em 3em}
header{padding:1em 1.5em;color:#fff}
header.pass{background:#1a7f37}header.fail{background:#cf222e}header.inconclusive{background:#9a6700}
header h1{margin:0;font-size:1.5em}header p{margin:.3em 0 0}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:1em 0}
dl.meta dt{color:#59636e}dl.meta dd{margin:0;font-family:ui-monospace,monospace}
.mismatch{color:#cf222e;font-weight:bold}
.counts span{display:inline-block;margin-right:1em}
h2{font-size:1.15em;margin:1.6em 0 .4em;border-bottom:1px solid #d1d9e0;padding-bottom:.2em}
h2 small{color:#59636e;font-weight:normal}
details.check{background:#fff;border:1px solid #d1d9e0;border-left:6px solid #1a7f37;border-radius:4px;margin:.35em 0;padding:.3em .7em}
details.check.failed{border-left-color:#cf222e}details.check.advisory,details.check.flaky{border-left-color:#bf8700}
details.check.skipped{border-left-color:#8c959f;color:#59636e}
summary{cursor:pointer}
.state{display:inline-block;min-width:9em;font-weight:600}
.failed .state{color:#cf222e}.advisory .state,.flaky .state{color:#9a6700}.passed .state{color:#1a7f37}
.time,.labels{color:#59636e;font-size:.85em}
pre{background:#f6f8fa;border:1px solid #d1d9e0;padding:.6em;overflow:auto;white-space:pre-wrap;word-break:break-word;font-size:.85em;max-height:40em}
.failure pre{background:#ffebe9;border-color:#ff8182}.skipped .failure pre{background:#f6f8fa;border-color:#d1d9e0}.advisory .failure pre{background:#fff8c5;border-color:#d4a72c}
.where{font-family:ui-monospace,monospace;font-size:.85em}
ol.steps li.failstep{color:#cf222e;font-weight:600}
img.shot{max-width:100%;border:1px solid #d1d9e0;margin:.3em 0}
.note{color:#59636e;font-size:.85em;font-style:italic}
.narrowed{background:#fff8c5;border:2px solid #bf8700;color:#4d2d00;padding:.6em 1em;margin:1em 0;font-weight:bold;border-radius:4px}
table.kv,table.targets{border-collapse:collapse;font-size:.85em;margin:.4em 0}
table.kv th,table.kv td,table.targets th,table.targets td{border:1px solid #d1d9e0;padding:.2em .6em;text-align:left;vertical-align:top}
table.kv th{background:#f6f8fa;font-weight:normal;color:#59636e;font-family:ui-monospace,monospace}
table.kv td{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-word}
table.targets td.n{text-align:right}table.targets tr.bad td{color:#cf222e;font-weight:600}
h3{font-size:.95em;margin:1em 0 .3em;color:#59636e}
footer{color:#59636e;font-size:.8em;margin-top:2em}
</style></head><body>
<header class="{{.Verdict}}">
<h1>{{.VerdictWord}} · {{.App}} · {{.Target}}{{with .Version}} · {{.}}{{end}}</h1>
{{with .R.Reason}}<p>{{.}}</p>{{end}}
</header>
<main>
{{with .Narrowed}}<div class="narrowed" role="alert">{{.}}</div>
{{end -}}
<dl class="meta">
<dt>target</dt><dd>{{.Target}}</dd>
{{with .R.Target.URL}}<dt>service URL</dt><dd>{{.}}</dd>{{end}}
{{with .R.Target.Image}}<dt>image</dt><dd>{{.}}</dd>{{end}}
<dt>expected version</dt><dd>{{with .R.ExpectedVersion}}{{.}}{{else}}(not given){{end}}</dd>
<dt>observed version</dt><dd{{if .Mismatch}} class="mismatch"{{end}}>{{with .R.ObservedVersion}}{{.}}{{else}}(not observed){{end}}</dd>
<dt>selection</dt><dd>{{with .R.Selection}}label filter {{with .LabelFilter}}“{{.}}”{{else}}(none){{end}}, focus {{with .Focus}}“{{.}}”{{else}}(none){{end}}, mutating {{if .AllowMutating}}allowed{{else}}not allowed{{end}}, {{.LeftOut}} left out{{end}}</dd>
{{with .R.Remediation}}<dt>remediation</dt><dd>{{.ID}}{{with .CVEs}} ({{range $i, $c := .}}{{if $i}}, {{end}}{{$c}}{{end}}){{end}}</dd>{{end}}
<dt>run</dt><dd>{{.R.RunID}}</dd>
<dt>started</dt><dd>{{.Started}}, {{.Duration}}</dd>
</dl>
<p class="counts"><span><b>{{.R.Summary.Passed}}</b> passed</span><span><b>{{.R.Summary.Failed}}</b> failed</span><span><b>{{.R.Summary.Skipped}}</b> skipped</span><span><b>{{.R.Summary.Flaky}}</b> flaky</span><span><b>{{.R.Summary.AdvisoryFailed}}</b> advisory failed</span><span>{{.R.Summary.Total}} checks</span></p>
<p class="summary">{{.Counts}}</p>
{{if .Fleet}}<table class="targets">
<tr><th>target</th><th>checks</th><th>passed</th><th>failed</th><th>skipped</th><th>flaky</th><th>advisory failed</th></tr>
{{range .Targets}}<tr{{if .Bad}} class="bad"{{end}}><td>{{.Label}}</td><td class="n">{{.C.Total}}</td><td class="n">{{.C.Passed}}</td><td class="n">{{.C.Failed}}</td><td class="n">{{.C.Skipped}}</td><td class="n">{{.C.Flaky}}</td><td class="n">{{.C.AdvisoryFailed}}</td></tr>
{{end}}</table>
{{end -}}
{{with .Attachments}}<h2>Run attachments</h2>{{template "attachments" .}}{{end}}
{{range .Targets}}{{if .Label}}<section class="target">
<h2>{{.Label}} <small>{{.Counts}}</small></h2>
{{range .Groups}}<h3>{{.Suite}} <small>{{.Counts}}</small></h3>
{{template "checks" .Checks}}{{end}}
</section>
{{else}}{{range .Groups}}
<section>
<h2>{{.Suite}} <small>{{.Counts}}</small></h2>
{{template "checks" .Checks}}</section>
{{else}}<p>No checks ran.</p>
{{end}}{{end}}{{end}}
<footer>{{.R.Schema}} · rendered from gate.json · piv {{with .R.Piv}}{{.}}{{else}}(version not recorded){{end}}</footer>
</main>
</body></html>
{{define "checks"}}{{range . -}}
<details class="check {{.Class}}"{{if .Open}} open{{end}} title="{{.FullName}}">
<summary><span class="state">{{.State}}</span> {{.Name}} <span class="time">{{.Time}}</span>{{if .Labels}} <span class="labels">{{range $i, $l := .Labels}}{{if $i}}, {{end}}{{$l}}{{end}}</span>{{end}}{{if not .Blocking}} <span class="labels">· not blocking</span>{{end}}</summary>
{{with .Failure}}<div class="failure">
{{- if or .Location .Step}}<p class="where">{{with .Location}}at {{.}}{{end}}{{if and .Location .Step}}, {{end}}{{with .Step}}step “{{.}}”{{end}}</p>{{end}}
{{- with .Message}}<pre>{{.}}</pre>{{end}}
</div>{{end}}
{{- with .Attempts}}<p class="note">{{.}}</p>{{end}}
{{- with .Observed}}<table class="kv"><caption class="note">observed</caption>{{range .}}<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>{{end}}</table>{{end}}
{{- with .Steps}}<ol class="steps">{{range .}}<li{{if .Failed}} class="failstep"{{end}}>{{.Text}}</li>{{end}}</ol>{{end}}
{{- with .Attachments}}{{template "attachments" .}}{{end}}
{{- if not (or .Failure .Attempts .Observed .Steps .Attachments)}}<p class="note">nothing more recorded for this check</p>{{end}}
</details>
{{end}}{{end}}
{{define "attachments"}}<div class="attachments">
{{range .}}<div class="attachment">
{{if .Image}}<p><a href="{{.Path}}">{{.Name}}</a> <span class="note">{{.ContentType}}</span></p><img class="shot" alt="{{.Name}}" src="{{.Image}}">
{{else if .IsText}}<details><summary>{{.Name}} <span class="note">{{.ContentType}}</span></summary>{{with .Note}}<p class="note">{{.}}</p>{{end}}<pre>{{.Text}}</pre><p><a href="{{.Path}}">{{.Path}}</a></p></details>
{{else}}<p>{{if .Path}}<a href="{{.Path}}">{{.Name}}</a>{{else}}{{.Name}}{{end}} <span class="note">{{.ContentType}}</span>{{with .Note}} <span class="note">{{.}}</span>{{end}}</p>
{{end}}</div>
{{end}}</div>{{end}}
`))
