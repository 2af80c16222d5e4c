//! Instructions per call, raw SDK against the guard (warm), counted by
//! callgrind: repeatable where wall-clock time on a shared machine is not.
//! `scripts/bench` runs it as `valgrind --tool=callgrind <bin> MODE N` for
//! MODE in base (setup only), raw and guarded, and subtracts the base.
//! Run without arguments (as `cargo bench` does), it does nothing.

mod support;

use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let (Some(mode), Some(n)) = (args.next(), args.next()) else {
        return;
    };
    let n: usize = n.parse().expect("a call count");
    let rt = support::current_thread();
    let raw = support::raw(Duration::ZERO);
    let guard = support::guard(Duration::ZERO, true);
    rt.block_on(async {
        for _ in 0..50 {
            support::raw_compare(&raw).await;
            support::guarded_compare(&guard).await;
        }
        for _ in 0..n {
            match mode.as_str() {
                "raw" => support::raw_compare(&raw).await,
                "guarded" => support::guarded_compare(&guard).await,
                _ => {}
            }
        }
    });
}
