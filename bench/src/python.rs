//! The Python side: `bench/python/compare.py`, one process per workload, read as JSON lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::Settings;

/// A Python interpreter that has joblib.
pub struct Python {
    interpreter: PathBuf,
    script: PathBuf,
}

impl Python {
    /// `PYTHON` when set, else `bench/.venv/bin/python`; `None`, with a message, when there is
    /// no interpreter or it lacks joblib, or when `PYTHON=skip` (`bench/compare.sh` sets that
    /// after saying why).
    pub fn find() -> Option<Python> {
        // This package's folder is `bench/`, with `python/` and `.venv/` in it.
        let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("PYTHON").is_some_and(|p| p == "skip") {
            eprintln!("PYTHON=skip: measuring `parallel` alone");
            return None;
        }
        let interpreter = match std::env::var_os("PYTHON") {
            Some(python) if !python.is_empty() => PathBuf::from(python),
            _ => bench.join(".venv/bin/python"),
        };
        let python = Python {
            script: bench.join("python/compare.py"),
            interpreter,
        };
        match python.info() {
            Some(info) if !info["joblib"].is_null() => Some(python),
            Some(_) => {
                eprintln!(
                    "{} has no joblib: skipping the Python side (`bash bench/compare.sh` installs it)",
                    python.interpreter.display()
                );
                None
            }
            None => {
                eprintln!(
                    "no Python at {}: skipping the Python side, measuring `parallel` alone \
                     (`bash bench/compare.sh` sets up Python; or set PYTHON=/path/to/python)",
                    python.interpreter.display()
                );
                None
            }
        }
    }

    /// The interpreter's versions and start method.
    pub fn info(&self) -> Option<Value> {
        let output = Command::new(&self.interpreter)
            .arg(&self.script)
            .arg("info")
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        serde_json::from_slice(&output.stdout).ok()
    }

    /// Runs one workload and returns its records, each marked `"lang": "python"`. A failing run
    /// keeps the records it printed before failing.
    pub fn run(&self, workload: &str, settings: &Settings) -> Vec<Value> {
        let output = Command::new(&self.interpreter)
            .arg(&self.script)
            .arg(workload)
            .envs(settings.to_env())
            // Progress lines go straight to the terminal.
            .stderr(Stdio::inherit())
            .output();
        let output = match output {
            Ok(output) => output,
            Err(e) => {
                eprintln!("python {workload}: could not run: {e}");
                return Vec::new();
            }
        };
        if !output.status.success() {
            eprintln!("python {workload}: {}", output.status);
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| match serde_json::from_str::<Value>(line) {
                Ok(mut record) => {
                    record["lang"] = "python".into();
                    Some(record)
                }
                Err(_) => {
                    eprintln!("python {workload}: not a JSON line: {line}");
                    None
                }
            })
            .collect()
    }
}
