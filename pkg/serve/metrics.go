package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/piv-gate/piv/pkg/gate"
)

// metrics are what an operator's dashboard shows: gates by app, target and
// verdict, their durations, the last verdict of every app and target, and
// the requests refused before any gate ran. Label values come only from
// requests that passed validation against the app definitions, so a caller
// cannot grow the series without bound.
type metrics struct {
	reg       *prometheus.Registry
	gates     *prometheus.CounterVec
	durations *prometheus.HistogramVec
	last      *prometheus.GaugeVec
	lastTime  *prometheus.GaugeVec
	running   prometheus.Gauge
	refused   *prometheus.CounterVec
}

var verdicts = []gate.Verdict{gate.Pass, gate.Fail, gate.Inconclusive}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.gates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "piv_gates_total", Help: "Gates run by piv serve, by app, target (node name or service) and verdict.",
	}, []string{"app", "target", "verdict"})
	m.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "piv_gate_duration_seconds", Help: "How long gates took, from request to verdict.",
		Buckets: []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 900},
	}, []string{"app", "target", "verdict"})
	m.last = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "piv_gate_last_verdict", Help: "The last gate's verdict per app and target: 1 for the verdict it had, 0 for the others.",
	}, []string{"app", "target", "verdict"})
	m.lastTime = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "piv_gate_last_timestamp_seconds", Help: "When the last gate per app and target ended (Unix time).",
	}, []string{"app", "target"})
	m.running = prometheus.NewGauge(prometheus.GaugeOpts{Name: "piv_gates_running", Help: "Gates running now."})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "piv_serve_requests_refused_total", Help: "Requests refused before a gate ran, by reason.",
	}, []string{"reason"})
	m.reg.MustRegister(m.gates, m.durations, m.last, m.lastTime, m.running, m.refused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(g Gate, v gate.Verdict, seconds float64, endUnix float64) {
	t := g.Target()
	m.gates.WithLabelValues(g.App, t, string(v)).Inc()
	m.durations.WithLabelValues(g.App, t, string(v)).Observe(seconds)
	for _, w := range verdicts {
		val := 0.0
		if w == v {
			val = 1
		}
		m.last.WithLabelValues(g.App, t, string(w)).Set(val)
	}
	m.lastTime.WithLabelValues(g.App, t).Set(endUnix)
}
