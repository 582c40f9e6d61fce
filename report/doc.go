// Package report writes what analysis found: a table, suspects.json and
// pprof profiles.
//
// suspects.json (see Document) is a contract with its readers: fields
// may be added, never renamed or dropped. Files are replaced atomically,
// so a reader polling them never sees a partial write.
package report
