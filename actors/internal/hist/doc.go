// Package hist is a lock-free latency histogram for Drover's per-task path.
//
// # Buckets
//
// A Histogram counts durations in log-linear buckets: every power of two
// from 128ns (2⁷ns) to about 137s (2³⁷ns) is split into SubBuckets (8)
// buckets of equal width. A bucket's upper bound is inclusive, as a
// Prometheus `le` bound is: a duration d falls in the first bucket whose
// bound is at least d. Below the range, one bucket holds everything from 0
// to 128ns; above it, an overflow bucket holds everything past 2³⁷ns.
//
// Every Histogram has the same bounds (Bounds), so snapshots of different
// histograms can be merged bucket by bucket.
//
// # Cost
//
// Record is two atomic adds and a few integer instructions (no locks, no
// allocation): a bucket counter and the sum. The count is not stored; a
// Snapshot adds up the buckets, so a snapshot's Count always equals the sum
// of its Counts.
//
// # Error
//
// Snapshot.Quantile interpolates linearly within the bucket that holds the
// quantile. For a quantile between 128ns and 2³⁷ns the estimate is within
// MaxRelativeError (1/SubBuckets, 12.5%) of the exact nearest-rank quantile
// of the recorded durations; at or below 128ns it is within 128ns; in the
// overflow bucket it is reported as 2³⁷ns.
//
// # Prometheus
//
// A Snapshot maps onto a Prometheus histogram: Count is `_count`, Sum is
// `_sum` (in seconds), and Cumulative gives the `_bucket` counts for any
// ascending `le` bounds, exactly when those bounds are among Bounds (powers
// of two from 128ns up always are).
package hist
