package analysis

import (
	"math"
	"slices"
)

// mkResult is the outcome of a Mann-Kendall trend test.
type mkResult struct {
	S   int64   // sum of signs of all forward differences
	Var float64 // variance of S under no trend, corrected for ties
	Z   float64 // continuity-corrected normal score
	P   float64 // one-sided p-value for an increasing trend
}

// mannKendall tests x (in time order) for a monotone increasing trend.
// Equal values are ties and shrink the variance of S, which matters here:
// counts of sampled objects repeat a lot, and without the correction a
// series that is mostly flat would look more significant than it is.
// The normal approximation is used for every n; callers require enough
// points for it to be reasonable.
func mannKendall(x []float64) mkResult {
	n := len(x)
	if n < 2 {
		return mkResult{P: 1}
	}
	v := mkVariance(x)
	var s int64
	for i := 0; i < n-1; i++ {
		for j := i + 1; j < n; j++ {
			switch {
			case x[j] > x[i]:
				s++
			case x[j] < x[i]:
				s--
			}
		}
	}
	if v <= 0 { // every value tied: no information at all
		return mkResult{S: s, P: 1}
	}
	var z float64
	switch {
	case s > 0:
		z = (float64(s) - 1) / math.Sqrt(v)
	case s < 0:
		z = (float64(s) + 1) / math.Sqrt(v)
	}
	return mkResult{S: s, Var: v, Z: z, P: upperTail(z)}
}

// mkVariance is the variance of the Mann-Kendall S of x under the null
// hypothesis, with the tie correction.
func mkVariance(x []float64) float64 {
	n := len(x)
	nf := float64(n)
	v := nf * (nf - 1) * (2*nf + 5)
	sorted := slices.Clone(x)
	slices.Sort(sorted)
	for i := 0; i < n; {
		j := i + 1
		for j < n && sorted[j] == sorted[i] {
			j++
		}
		if t := float64(j - i); t > 1 {
			v -= t * (t - 1) * (2*t + 5)
		}
		i = j
	}
	return v / 18
}

// upperTail is P(Z > z) for a standard normal Z.
func upperTail(z float64) float64 {
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// theilSen is the median of the slopes between all pairs of points with
// distinct t. Unlike a least-squares fit it ignores up to ~29% of
// arbitrary outliers, such as a burst of objects that happen to be old at
// one snapshot; unlike a two-point difference it uses the whole window.
func theilSen(t, y []float64) float64 {
	n := len(t)
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n-1; i++ {
		for j := i + 1; j < n; j++ {
			if dt := t[j] - t[i]; dt != 0 {
				slopes = append(slopes, (y[j]-y[i])/dt)
			}
		}
	}
	if len(slopes) == 0 {
		return 0
	}
	slices.Sort(slopes)
	m := len(slopes) / 2
	if len(slopes)%2 == 1 {
		return slopes[m]
	}
	return (slopes[m-1] + slopes[m]) / 2
}

// wilsonUpper is the upper end of the one-sided Wilson score interval for
// a binomial proportion: k successes in n trials, normal quantile z.
func wilsonUpper(k, n, z float64) float64 {
	if n <= 0 {
		return 1
	}
	p := k / n
	z2 := z * z
	c := p + z2/(2*n) + z*math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Min(1, c/(1+z2/n))
}

// clamp01 limits v to [0, 1], mapping NaN to 0.
func clamp01(v float64) float64 {
	if !(v > 0) {
		return 0
	}
	return math.Min(v, 1)
}
