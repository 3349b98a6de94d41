//! Running the real `hsmca` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A data directory for one test, and a way to run `hsmca` on it.
pub struct Hsmca {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with the output unless the exit status is 0.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "hsmca failed:\n{}{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts a refusal of bad input: exit status 2, one line on stderr that contains
    /// `reason`, nothing on stdout.
    pub fn refused(self, reason: &str) -> Run {
        assert_eq!(
            self.code, 2,
            "expected a refusal ({reason:?}): {}",
            self.stderr
        );
        assert!(
            self.stderr.contains(reason),
            "expected {reason:?} in {}",
            self.stderr
        );
        assert_eq!(
            self.stderr.trim().lines().count(),
            1,
            "one-line reason: {}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "stdout of a refusal: {}",
            self.stdout
        );
        self
    }

    /// Standard output parsed as JSON (the run must have succeeded).
    pub fn json(self) -> serde_json::Value {
        let out = self.ok().stdout;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Default for Hsmca {
    fn default() -> Self {
        Self::new()
    }
}

impl Hsmca {
    /// A fresh, empty temporary directory; the data directory is `<it>/data`.
    pub fn new() -> Self {
        Hsmca {
            dir: tempfile::tempdir().expect("temp dir"),
            env: Vec::new(),
        }
    }

    /// Adds an environment variable to every run.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A scratch path next to the data directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `hsmca --data-dir DATA ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs with extra environment variables for this run only.
    pub fn run_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.output().expect("run hsmca").into()
    }

    /// `hsmca --data-dir DATA ARGS` with this instance's environment only (the test
    /// process's hsmca variables removed) and no standard input, to run or spawn.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(crate::hsmca_bin());
        for var in [
            "HSMCA_DATA_DIR",
            "HSMCA_CONFIG",
            "HSMCA_SO_PIN",
            "HSMCA_USER_PIN",
            "HSMCA_DATABASE_URL",
            "SOFTHSM2_CONF",
        ] {
            cmd.env_remove(var);
        }
        cmd.arg("--data-dir").arg(self.data_dir()).args(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(std::process::Stdio::null());
        cmd
    }

    /// Writes a file next to the data directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write file");
        p
    }
}

/// Lists every file under `dir` with its size and modification time, for "nothing changed".
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let m = e.metadata().expect("metadata");
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.len(), m.modified().expect("mtime")));
            }
        }
    }
    out.sort();
    out
}
