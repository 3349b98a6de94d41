//! `bulk-revoked DATABASE CA SHARD COUNT`: inserts COUNT revoked certificates of CA into
//! SHARD of the hsmca database (a SQLite path or `postgres://…` URL), expiring in 30 days and
//! revoked a day ago, for CRL benchmarks (`bench/crl/run.sh`). Never point it at a real CA.
#![forbid(unsafe_code)]

use chrono::{Duration, Utc};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, ca, shard, count] = args.as_slice() else {
        eprintln!("usage: bulk-revoked DATABASE CA SHARD COUNT");
        std::process::exit(2);
    };
    let (Ok(shard), Ok(count)) = (shard.parse::<i32>(), count.parse::<usize>()) else {
        eprintln!("bulk-revoked: SHARD and COUNT must be numbers");
        std::process::exit(2);
    };
    let now = Utc::now().naive_utc();
    let started = std::time::Instant::now();
    hsmca_tests::bulk::insert_revoked(
        db,
        ca,
        shard,
        count,
        now + Duration::days(30),
        now - Duration::days(1),
    );
    eprintln!(
        "bulk-revoked: {count} revoked certificates of {ca} shard {shard} in {:?}",
        started.elapsed()
    );
}
