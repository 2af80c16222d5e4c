//! The warm CPU ratio, guarded over raw, measured in pairs: `ROUNDS`
//! rounds, each timing a block of raw calls and a block of warm guarded
//! calls back to back (raw first in even rounds, guarded first in odd
//! ones), on one thread, same in-process transport as `guard.rs`. The
//! ratio of each round's two blocks shares that round's machine state, so
//! drift (frequency, neighbours on a shared host) cancels; the median
//! over rounds is `RATIOS warm_cpu` in `scripts/bench`.
//!
//! Prints one line:
//! `WARM_PAIR rounds=R calls=C raw_us=X guarded_us=Y median=M q1=A q3=B
//! raw_first=E guarded_first=F` (the last two: the median ratio of the
//! rounds that ran raw first, and of those that ran guarded first, to show
//! the order effect the pairing cancels). The median of an even number of
//! rounds is the mean of the two middle ratios.
//! Run without `--bench` (as `cargo test --benches` would), it does nothing.

mod support;

use std::time::{Duration, Instant};

const ROUNDS: usize = 100;
const CALLS: usize = 400;

fn main() {
    if !std::env::args().any(|a| a == "--bench") || !support::selected("warm_pair") {
        return;
    }
    let rt = support::current_thread();
    let raw = support::raw(Duration::ZERO);
    let guard = support::guard(Duration::ZERO, true);
    let mut ratios = Vec::with_capacity(ROUNDS);
    let (mut raw_first, mut guarded_first) = (Vec::new(), Vec::new());
    let (mut raw_total, mut guarded_total) = (Duration::ZERO, Duration::ZERO);
    rt.block_on(async {
        // Warm up both paths (and fill the verification cache).
        for _ in 0..2_000 {
            support::raw_compare(&raw).await;
            support::guarded_compare(&guard).await;
        }
        for round in 0..ROUNDS {
            let (mut r, mut g) = (Duration::ZERO, Duration::ZERO);
            for turn in 0..2 {
                let start = Instant::now();
                if (round + turn) % 2 == 0 {
                    for _ in 0..CALLS {
                        support::raw_compare(&raw).await;
                    }
                    r = start.elapsed();
                } else {
                    for _ in 0..CALLS {
                        support::guarded_compare(&guard).await;
                    }
                    g = start.elapsed();
                }
            }
            raw_total += r;
            guarded_total += g;
            let ratio = g.as_secs_f64() / r.as_secs_f64();
            ratios.push(ratio);
            if round % 2 == 0 {
                raw_first.push(ratio);
            } else {
                guarded_first.push(ratio);
            }
        }
    });
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / (ROUNDS * CALLS) as f64;
    let q = quantiles(&mut ratios);
    println!(
        "WARM_PAIR rounds={ROUNDS} calls={CALLS} raw_us={:.1} guarded_us={:.1} median={:.3} q1={:.3} q3={:.3} raw_first={:.3} guarded_first={:.3}",
        per_call(raw_total),
        per_call(guarded_total),
        q.1,
        q.0,
        q.2,
        quantiles(&mut raw_first).1,
        quantiles(&mut guarded_first).1,
    );
}

/// First quartile, median and third quartile of `values` (sorted in
/// place); the median of an even count is the mean of the middle two.
fn quantiles(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n.is_multiple_of(2) {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    } else {
        values[n / 2]
    };
    (values[n / 4], median, values[3 * n / 4])
}
