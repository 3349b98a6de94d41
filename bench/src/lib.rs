//! Shared pieces of the benchmarks: timing loops over threads.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

/// Runs `op` on `threads` threads for `dur`; returns operations per second over all threads.
pub fn rate<F>(threads: usize, dur: Duration, op: F) -> f64
where
    F: Fn() + Sync,
{
    let start = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while start.elapsed() < dur {
                        op();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}
