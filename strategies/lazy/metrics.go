package lazy

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the bridge's Prometheus series, in a registry of its own: two bridges in
// one process (tests, the wizard's rehearsal) must not collide in the global one.
type metrics struct {
	reg      *prometheus.Registry
	verifs   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	queue    prometheus.Gauge
	refusals *prometheus.CounterVec
}

func newMetrics(b *Bridge) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		verifs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cutover_bridge_verifications_total",
			Help: "Verifications answered, by dialect, outcome (verified or a failure reason) and legacy hash format.",
		}, []string{"dialect", "outcome", "format"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cutover_bridge_verification_seconds",
			Help:    "Time to answer a verification, padding and queueing included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10},
		}, []string{"dialect"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cutover_bridge_queue_depth",
			Help: "Verifications running or waiting for a slot now.",
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cutover_bridge_rate_limit_refusals_total",
			Help: "Requests refused by a rate limit: user (failed attempts per legacy record), client (per address), anonymous (without the secret).",
		}, []string{"dialect", "limit"}),
	}
	capacity := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cutover_bridge_queue_capacity",
		Help: "Verifications that may run at once.",
	}, func() float64 { return float64(cap(b.sem)) })
	m.reg.MustRegister(m.verifs, m.latency, m.queue, m.refusals, capacity)
	return m
}

// observe counts one verification; elapsed 0 leaves the histogram alone (an answer
// that needed no verification, e.g. missing credentials).
func (m *metrics) observe(dialect, outcome, format string, elapsed time.Duration) {
	if format == "" {
		format = "none"
	}
	m.verifs.WithLabelValues(dialect, outcome, format).Inc()
	if outcome == ReasonRateLimited {
		m.refusals.WithLabelValues(dialect, "user").Inc()
	}
	if elapsed > 0 {
		m.latency.WithLabelValues(dialect).Observe(elapsed.Seconds())
	}
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
