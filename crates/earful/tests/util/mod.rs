//! Helpers for running the real binary in a scratch directory.
// Test helpers: a failure here is a failed test, so panicking is the right response.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A path under the workspace root.
pub fn fixture(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
        .canonicalize()
        .unwrap()
        .display()
        .to_string()
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A scratch directory with a config whose data lives inside it.
#[derive(Debug)]
pub struct Earful {
    dir: tempfile::TempDir,
    config: String,
}

impl Earful {
    pub fn new() -> Earful {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("earful.toml");
        std::fs::write(
            &config,
            "version = 1\ndata_dir = \"data\"\n\n[[watch]]\nname = \"acme\"\nquery = '\"acme corp\" OR acme -\"acme acres\"'\n\n[sentiment.lexicon]\noutage = -2.5\n",
        )
        .unwrap();
        Earful {
            config: config.display().to_string(),
            dir,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn write_file(&self, name: &str, contents: &str) -> String {
        let path: PathBuf = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_config(&self.config.clone(), args)
    }

    pub fn run_with_config(&self, config: &str, args: &[&str]) -> Output {
        let mut full = vec!["--config", config];
        full.extend_from_slice(args);
        self.spawn(&full, None)
    }

    pub fn run_without_config(&self, args: &[&str]) -> Output {
        self.spawn(args, None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut full = vec!["--config", self.config.as_str()];
        full.extend_from_slice(args);
        self.spawn(&full, Some(stdin))
    }

    fn spawn(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_earful"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("EARFUL_CONFIG")
            .env_remove("EARFUL_DATA_DIR")
            .env("EARFUL_LOG", "warn")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let output = child.wait_with_output().unwrap();
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}
