//! Command-line usage of the `hsmca` binary: help, unknown commands and exit statuses.

use std::process::Command;

fn hsmca(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hsmca"))
        .args(args)
        .env_remove("HSMCA_DATA_DIR")
        .env_remove("HSMCA_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn help_lists_the_commands() {
    let out = hsmca(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["init", "ca", "hsm"] {
        assert!(text.contains(cmd), "{cmd} missing from help:\n{text}");
    }
    assert!(
        !text.contains("--so-pin"),
        "the refused PIN flags stay hidden"
    );
}

#[test]
fn unknown_command_is_bad_usage_with_exit_status_2() {
    let out = hsmca(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn uninitialised_data_directory_says_to_run_init() {
    let dir = tempfile::tempdir().unwrap();
    let out = hsmca(&[
        "--data-dir",
        dir.path().join("d").to_str().unwrap(),
        "hsm",
        "status",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run `hsmca init`"), "{err}");
}
