// Package metrics exports leakscope's latest results as Prometheus
// metrics. Its Collector builds constant metrics from the latest
// report.Update at scrape time, so watching costs nothing per scrape
// until someone scrapes, and the series of suspects that vanished and
// targets that exited disappear with the next scrape.
package metrics
