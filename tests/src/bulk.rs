//! Filling a store with many revoked certificates at once, with plain SQL (for CRL tests and
//! benchmarks that need hundreds of thousands of entries; issuing them one by one would take
//! minutes). The rows look like what issuance and revocation write.

use ca_core::serial::Serial;
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

/// Rows per INSERT statement.
const CHUNK: usize = 1000;

fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Inserts `n` revoked certificates of CA `ca` into shard `shard` (reason keyCompromise,
/// revoked at `revoked_at`, expiring at `not_after`) into the database at `url`
/// (`postgres://…` or a SQLite path), in one transaction, 1,000 rows per statement.
/// Returns their serials.
pub fn insert_revoked(
    url: &str,
    ca: &str,
    shard: i32,
    n: usize,
    not_after: NaiveDateTime,
    revoked_at: NaiveDateTime,
) -> Vec<Serial> {
    let pg = url.starts_with("postgres");
    let blob = |b: &[u8]| {
        if pg {
            format!("'\\x{}'::bytea", hex::encode(b))
        } else {
            format!("X'{}'", hex::encode(b))
        }
    };
    let serials: Vec<Serial> = (0..n).map(|_| Serial::random().unwrap()).collect();
    let mut conn: Box<dyn FnMut(&str)> = if pg {
        let mut c = PgConnection::establish(url).expect("connect to PostgreSQL");
        Box::new(move |sql: &str| c.batch_execute(sql).expect("bulk insert"))
    } else {
        let mut c = SqliteConnection::establish(url).expect("open SQLite");
        c.batch_execute("PRAGMA busy_timeout = 10000;").unwrap();
        Box::new(move |sql: &str| c.batch_execute(sql).expect("bulk insert"))
    };
    conn("BEGIN;");
    for chunk in serials.chunks(CHUNK) {
        let mut sql = String::new();
        sql.push_str(
            "INSERT INTO certificates (serial, ca_name, status, profile, subject, sans, \
             not_before, not_after, tbs_der, tbs_sha256, der, crl_shard, created_at, issued_at) VALUES ",
        );
        let rows: Vec<String> = chunk
            .iter()
            .map(|s| {
                format!(
                    "('{}', '{ca}', 'revoked', 'tls-server', 'CN=bulk', '[]', '{nb}', '{na}', {tbs}, {h}, {der}, {shard}, '{nb}', '{nb}')",
                    s.to_hex(),
                    nb = ts(revoked_at - chrono::Duration::days(1)),
                    na = ts(not_after),
                    tbs = blob(&[0x30, 0x00]),
                    h = blob(&[0u8; 32]),
                    der = blob(&[0x30, 0x00]),
                )
            })
            .collect();
        sql.push_str(&rows.join(","));
        sql.push_str(
            ";\nINSERT INTO revocations (serial, reason, revoked_at, invalidity_date) VALUES ",
        );
        let revs: Vec<String> = chunk
            .iter()
            .map(|s| format!("('{}', 1, '{}', NULL)", s.to_hex(), ts(revoked_at)))
            .collect();
        sql.push_str(&revs.join(","));
        sql.push(';');
        conn(&sql);
    }
    conn("COMMIT;");
    serials
}
