// Package deploy_test checks what deploy/ ships for operators against the
// service itself: the Prometheus rules (promtool check and unit tests),
// the metrics a running node exposes (promtool check metrics) and the
// Grafana dashboard's queries (they name only series the node exposes or
// the rules record).
package deploy_test
