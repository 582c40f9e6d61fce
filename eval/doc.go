// Package eval measures leakscope's accuracy on the leak corpus in
// testdata/corpus: realistic small services, some leaking (with the leak
// sites they expect named) and some controls that must never get a leak
// verdict. TestCorpus runs the real CLI against each of them and writes a
// results table (eval/results.md, or the path in LEAKSCOPE_EVAL_OUT).
// See docs/ACCURACY.md.
package eval
