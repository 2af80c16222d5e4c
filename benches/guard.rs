//! The guard against the raw SDK, side by side in one run, on the same
//! in-process transport (see `support.rs`). `bash scripts/bench` runs this
//! and prints the ratios.
//!
//! Groups:
//! - `cpu`: no delay, one thread: the CPU cost of one call. `raw`,
//!   `guarded_warm` (pinned references in the verification cache: no
//!   HeadObject), `guarded_cold` (cache off: two concurrent HeadObjects,
//!   then CompareFaces).
//! - `cpu_reversed`: `guarded_warm`, then `raw`: the same pair in the other
//!   order, since criterion's sequential runs drift (the warm CPU target is
//!   read from `warm_pair.rs`).
//! - `latency_20ms`: every request answered after 20 ms.
//! - `throughput_64`, `throughput_256`: that many comparisons in flight on
//!   two worker threads, 20 ms per request.

mod support;

use std::future::Future;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinSet;

const DELAY: Duration = Duration::from_millis(20);

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The raw SDK and the guard, warm and cold, side by side in one group,
/// every request answered after `delay`.
fn side_by_side(
    c: &mut Criterion,
    name: &str,
    delay: Duration,
    tune: impl FnOnce(&mut BenchmarkGroup<'_, WallTime>),
) {
    let rt = support::current_thread();
    let raw = support::raw(delay);
    let warm = support::guard(delay, true);
    let cold = support::guard(delay, false);
    rt.block_on(support::guarded_compare(&warm)); // fill the cache
    let mut group = c.benchmark_group(name);
    tune(&mut group);
    group.bench_function("raw", |b| {
        b.to_async(&rt).iter(|| support::raw_compare(&raw))
    });
    group.bench_function("guarded_warm", |b| {
        b.to_async(&rt).iter(|| support::guarded_compare(&warm))
    });
    group.bench_function("guarded_cold", |b| {
        b.to_async(&rt).iter(|| support::guarded_compare(&cold))
    });
    group.finish();
}

fn cpu(c: &mut Criterion) {
    side_by_side(c, "cpu", Duration::ZERO, |_| {});
}

/// The warm call and the raw call again, in the other order. In one
/// criterion run the second of two benchmarks reads a few percent slower
/// than it would first on this machine, whichever it is; `scripts/bench`
/// shows both orders and reads the warm CPU target from the paired
/// measurement in `warm_pair.rs`, where drift cancels.
fn cpu_reversed(c: &mut Criterion) {
    let rt = support::current_thread();
    let raw = support::raw(Duration::ZERO);
    let warm = support::guard(Duration::ZERO, true);
    rt.block_on(support::guarded_compare(&warm)); // fill the cache
    let mut group = c.benchmark_group("cpu_reversed");
    group.bench_function("guarded_warm", |b| {
        b.to_async(&rt).iter(|| support::guarded_compare(&warm))
    });
    group.bench_function("raw", |b| {
        b.to_async(&rt).iter(|| support::raw_compare(&raw))
    });
    group.finish();
}

fn latency(c: &mut Criterion) {
    side_by_side(c, "latency_20ms", DELAY, |group| {
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(4));
    });
}

/// Runs `n` calls at once, each with its own clone of `shared`, and waits
/// for all of them.
async fn all_at_once<T, F, Fut>(shared: &T, n: usize, call: F)
where
    T: Clone,
    F: Fn(T) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut set = JoinSet::new();
    for _ in 0..n {
        set.spawn(call(shared.clone()));
    }
    while set
        .join_next()
        .await
        .transpose()
        .expect("no panic")
        .is_some()
    {}
}

fn throughput(c: &mut Criterion) {
    let rt = multi_thread();
    let raw = support::raw(DELAY);
    let warm = support::guard(DELAY, true);
    rt.block_on(support::guarded_compare(&warm));
    for in_flight in [64usize, 256] {
        let mut group = c.benchmark_group(format!("throughput_{in_flight}"));
        group
            .sample_size(15)
            .measurement_time(Duration::from_secs(4));
        group.throughput(criterion::Throughput::Elements(in_flight as u64));
        group.bench_function("raw", |b| {
            b.to_async(&rt).iter(|| {
                all_at_once(&raw, in_flight, |raw| async move {
                    support::raw_compare(&raw).await;
                })
            })
        });
        group.bench_function("guarded_warm", |b| {
            b.to_async(&rt).iter(|| {
                all_at_once(&warm, in_flight, |warm| async move {
                    support::guarded_compare(&warm).await;
                })
            })
        });
        group.finish();
    }
}

criterion_group!(benches, cpu, cpu_reversed, latency, throughput);
criterion_main!(benches);
