//! PostgreSQL for tests: `HSMCA_TEST_DATABASE_URL` names the server; each test gets its own
//! schema so tests run in parallel and leave nothing behind that matters.
//!
//! Without the variable the PostgreSQL half of a test is skipped with a note, unless
//! `HSMCA_REQUIRE_POSTGRES=1` (set by `.ci/run`), which turns a missing server into a failure.

use std::process::Command;

/// A schema created for one test; dropped when this value is.
pub struct TestSchema {
    base: String,
    name: String,
}

impl TestSchema {
    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs SQL as the server's base URL (outside the schema's search path).
    pub fn admin_sql(&self, sql: &str) -> Result<(), String> {
        psql(&self.base, sql)
    }

    /// The server URL without the schema option.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// A database URL whose `search_path` is this schema.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let _ = psql(
            &self.base,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A fresh schema on the test server, or `None` (with a note) when no server is configured
/// and PostgreSQL is not required.
pub fn schema(prefix: &str) -> Option<TestSchema> {
    let required = std::env::var("HSMCA_REQUIRE_POSTGRES").as_deref() == Ok("1");
    let base = match std::env::var("HSMCA_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            assert!(
                !required,
                "HSMCA_REQUIRE_POSTGRES=1 but HSMCA_TEST_DATABASE_URL is not set"
            );
            eprintln!("note: HSMCA_TEST_DATABASE_URL unset; skipping the PostgreSQL half");
            return None;
        }
    };
    let name = format!("{prefix}_{}", crate::random_suffix());
    if let Err(e) = psql(&base, &format!("CREATE SCHEMA {name}")) {
        panic!("cannot create schema on {base}: {e}");
    }
    Some(TestSchema { base, name })
}
