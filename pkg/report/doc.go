// Package report renders a finished gate.Result: gate.json (canonical),
// junit.xml, the stdout summary, a Markdown CI job summary and a
// self-contained report.html.
//
// Every renderer is a pure function of the Result it is given. None of them
// decides anything: the verdict, the reason and the summary counts come from
// gate.Decide and are shown as they are, even when the checks seem to say
// otherwise. Renderers only order, group, trim and escape.
package report
