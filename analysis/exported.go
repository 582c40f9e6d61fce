package analysis

// Statistics shared with detectors outside this package (goroutines/), so
// that every verdict rests on the same tests.

// BinomialUpper is P(X >= k) for X ~ Binomial(n, 1/2).
func BinomialUpper(k, n float64) float64 { return binomialUpper(k, n) }

// TheilSen is the median slope of y over t (robust to outliers).
func TheilSen(t, y []float64) float64 { return theilSen(t, y) }

// MannKendallP is the one-sided p-value of a monotone increasing trend in
// x (in time order), with the tie correction.
func MannKendallP(x []float64) float64 { return mannKendall(x).P }
