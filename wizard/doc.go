// Package wizard is cutover's terminal UI: it walks an engineer through a cutover
// (strategy, source, mapping, preview, target, options), fills a strategies.Plan, saves
// it, runs it with the runner it is handed and shows the report. It holds no migration
// logic: everything that touches a source or a target comes in through Env.
package wizard
