//! Installs what the browser build and its tests need when it is missing: the wasm32 target,
//! the wasm-bindgen CLI of the exact version in Cargo.lock, Debian's Chromium and the npm
//! packages of the end-to-end tests.

use super::{root, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Adds the wasm32 target unless rustup lists it.
pub fn wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    let listed = installed.map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l == "wasm32-unknown-unknown"));
    if listed.unwrap_or(false) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// The version of the wasm-bindgen crate that Cargo.lock holds.
fn locked_wasm_bindgen_version() -> Result<String, String> {
    let lock =
        std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(version.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

/// The wasm-bindgen CLI matching the crate, installed with cargo when missing or different.
pub fn wasm_bindgen_cli() -> Result<PathBuf, String> {
    let version = locked_wasm_bindgen_version()?;
    let printed = Command::new("wasm-bindgen").arg("--version").output();
    let matches = printed.map(|o| String::from_utf8_lossy(&o.stdout).trim() == format!("wasm-bindgen {version}"));
    if !matches.unwrap_or(false) {
        eprintln!("xtask: installing wasm-bindgen-cli {version} (a few minutes, once)");
        // Without --locked: one of its locked dependencies is missing from the registry mirror.
        run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &version]))?;
    }
    Ok(PathBuf::from("wasm-bindgen"))
}

/// Debian's Chromium, installed with apt-get when missing.
pub fn chromium() -> Result<PathBuf, String> {
    let path = PathBuf::from("/usr/bin/chromium");
    if !path.exists() {
        eprintln!("xtask: installing Debian's chromium");
        run(Command::new("apt-get").arg("update").arg("-qq"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    Ok(path)
}

/// The end-to-end tests' npm packages, as package-lock.json pins them.
pub fn npm_packages(folder: &Path) -> Result<(), String> {
    if folder.join("node_modules/playwright-core").exists() {
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(folder))
}
