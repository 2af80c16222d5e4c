//! The guard against the raw SDK, side by side in one run, on the same
//! in-process transport (see `support.rs`). `bash scripts/bench` runs this
//! and prints the ratios.
//!
//! Groups:
//! - `cpu`: no delay, one thread: the CPU cost of one call. `raw`,
//!   `guarded_warm` (pinned references in the verification cache: no
//!   HeadObject), `guarded_cold` (cache off: two concurrent HeadObjects,
//!   then CompareFaces).
//! - `latency_20ms`: every request answered after 20 ms.
//! - `throughput_64`, `throughput_256`: that many comparisons in flight on
//!   two worker threads, 20 ms per request.

mod support;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinSet;

const DELAY: Duration = Duration::from_millis(20);

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn cpu(c: &mut Criterion) {
    let rt = current_thread();
    let raw = support::raw(Duration::ZERO);
    let warm = support::guard(Duration::ZERO, true);
    let cold = support::guard(Duration::ZERO, false);
    rt.block_on(support::guarded_compare(&warm)); // fill the cache
    let mut group = c.benchmark_group("cpu");
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

fn latency(c: &mut Criterion) {
    let rt = current_thread();
    let raw = support::raw(DELAY);
    let warm = support::guard(DELAY, true);
    let cold = support::guard(DELAY, false);
    rt.block_on(support::guarded_compare(&warm));
    let mut group = c.benchmark_group("latency_20ms");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
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
                let raw = raw.clone();
                async move {
                    let mut set = JoinSet::new();
                    for _ in 0..in_flight {
                        let raw = raw.clone();
                        set.spawn(async move { support::raw_compare(&raw).await });
                    }
                    while set
                        .join_next()
                        .await
                        .transpose()
                        .expect("no panic")
                        .is_some()
                    {}
                }
            })
        });
        group.bench_function("guarded_warm", |b| {
            b.to_async(&rt).iter(|| {
                let warm = warm.clone();
                async move {
                    let mut set = JoinSet::new();
                    for _ in 0..in_flight {
                        let warm = warm.clone();
                        set.spawn(async move { support::guarded_compare(&warm).await });
                    }
                    while set
                        .join_next()
                        .await
                        .transpose()
                        .expect("no panic")
                        .is_some()
                    {}
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, cpu, latency, throughput);
criterion_main!(benches);
