//! Installs what the browser build and its tests need when it is missing: the wasm32 target,
//! the wasm-bindgen CLI of the exact version in Cargo.lock, Debian's Chromium and the npm
//! packages of the end-to-end tests.

use super::{root, run, target_dir};
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
        eprintln!("xtask: installing Debian's chromium with apt-get --no-install-recommends (needs root)");
        let root_user = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n"));
        if !root_user.unwrap_or(false) {
            return Err("chromium is missing and apt-get needs root: run \
                        `sudo apt-get install --no-install-recommends chromium`, then again"
                .into());
        }
        run(Command::new("apt-get").arg("update").arg("-qq"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", "chromium"])
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

/// The Python packages of the Python tests, the notebook example, the SimPy benchmark and
/// the real stack's app (gunicorn, the Redis and PostgreSQL clients, OpenTelemetry), pinned.
const PYTHON_PACKAGES: &[&str] = &[
    "maturin==1.16.0",
    "pytest==9.2.0",
    "pandas==3.1.1",
    "tqdm==4.70.1",
    "matplotlib==3.11.2",
    "simpy==4.1.2",
    "gunicorn==27.0.1",
    "redis==8.1.0",
    "psycopg[binary]==3.3.9",
    "opentelemetry-api==1.45.2",
    "opentelemetry-sdk==1.45.2",
];

/// A virtual environment in `target/py-venv` with the pinned packages, created (or brought
/// up to date when the pins change) with the machine's python3; returns its folder.
pub fn python_venv() -> Result<PathBuf, String> {
    let venv = target_dir().join("py-venv");
    let stamp = venv.join("archsim-packages.txt");
    let wanted = PYTHON_PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(venv);
    }
    eprintln!("xtask: creating the Python environment in {} (a minute, once)", venv.display());
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin/python")).args(["-m", "pip", "install", "-q"]).args(PYTHON_PACKAGES))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(venv)
}

/// Builds the archsim wheel from `sim-py` with cargo profile `profile` and installs it in the
/// environment, as `pip install ./sim-py` does (maturin from the environment, no download).
pub fn python_package(venv: &Path, profile: &str) -> Result<(), String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![venv.join("bin")];
    paths.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(paths).map_err(|e| e.to_string())?;
    run(Command::new(venv.join("bin/python"))
        .args(["-m", "pip", "install", "-q", "--no-build-isolation", "--force-reinstall", "--no-deps"])
        .arg(root().join("sim-py"))
        .env("PATH", path)
        .env("MATURIN_PEP517_ARGS", format!("--profile {profile}")))
}
