//! Runs the real `zdk-trace` binary in a clean environment and a temporary directory.

#![allow(dead_code)] // Each test file uses part of these helpers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory for one test, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("zdk-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `zdk-trace ARGS` in `dir` with only `vars` set (plus `HOME` = `dir`): no variable of the
/// machine running the tests (CI's `CI=true`, an `OTEL_*` of the developer) can leak in.
pub fn command(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zdk-trace"));
    cmd.args(args).current_dir(dir).env_clear().env("HOME", dir);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command(dir, args, vars).output().unwrap();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A port nobody listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
