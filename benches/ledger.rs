//! What a ledger adds to a decision: a warm guarded comparison (reference
//! check cached) with and without `Guard::with_ledger`, every request
//! answered after 20 ms. With a ledger (a retention in its policy), the
//! decision waits for its record's `PutObject`; the record's check
//! (`HeadObject` and a listing of its key) runs meanwhile, and the next
//! append waits for it.
//!
//! Prints the medians and one line
//! `LEDGER plain_ms=X ledger_ms=X overhead_round_trips=X` (the added
//! latency in 20 ms round trips).

mod support;

use std::time::{Duration, Instant};

use rekognition_guard::erasure::RetentionMode;
use rekognition_guard::ledger::{Ledger, LedgerPolicy};

const DELAY: Duration = Duration::from_millis(20);
const ROUNDS: usize = 30;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    if !support::selected("ledger") {
        return;
    }
    let rt = support::current_thread();
    let plain = support::guard(DELAY, true);
    let ledger = Ledger::new(
        rekognition_guard::aws::AwsBackend::from_sdk_config(&support::sdk_config(DELAY))
            .expect("https defaults"),
        LedgerPolicy::parse(&format!("s3://{}/ledger", support::BUCKET))
            .unwrap()
            .with_retention(RetentionMode::Compliance, Duration::from_secs(3600)),
    );
    let recorded = support::guard(DELAY, true).with_ledger(ledger);
    let (plain_ms, ledger_ms) = rt.block_on(async {
        // Fill the caches; the first append also finds the ledger's head.
        support::guarded_compare(&plain).await;
        support::guarded_compare(&recorded).await;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let start = Instant::now();
            support::guarded_compare(&plain).await;
            a.push(start.elapsed());
            let start = Instant::now();
            let d = recorded
                .compare(support::source(), support::target())
                .await
                .expect("recorded compare");
            b.push(start.elapsed());
            assert!(d.is_approved() && d.ledger.is_some());
            // Time for the check to end before the next decision, as
            // between two members at a kiosk.
            recorded.ledger().unwrap().confirm().await.expect("checked");
        }
        (median(a), median(b))
    });
    let overhead = (ledger_ms - plain_ms) / (DELAY.as_secs_f64() * 1e3);
    println!("warm comparison, 20 ms network ({ROUNDS} rounds, medians): without a ledger {plain_ms:.3} ms, with {ledger_ms:.3} ms: {overhead:.2} round trips added");
    println!(
        "LEDGER plain_ms={plain_ms:.3} ledger_ms={ledger_ms:.3} overhead_round_trips={overhead:.2}"
    );
}
