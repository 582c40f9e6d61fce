// Package cirun runs a command under watch for a CI job (`leakscope run`):
// it starts the command in a cgroup v2 of its own with heap sampling set
// through GODEBUG, watches every Go process that appears there with the
// monitor, optionally drives a load generator once the command is ready,
// stops everything, and judges the suspects against an allow-list and a
// baseline. It writes what CI systems read: JUnit XML, GitHub Actions
// annotations and a Markdown step summary.
//
// It owns the run's processes and cgroups only; finding leaks is the
// monitor's and the analysis' job.
package cirun
