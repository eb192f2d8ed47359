//! Project automation, run as `cargo xtask <command>`:
//! `web` builds the browser UI and serves it on 127.0.0.1; `test` runs every test, the
//! browser's end-to-end tests, the Python package's and the real stack's short check included, installing what they need
//! when it is missing; `python` builds the Python package into a virtual environment;
//! `reality` checks archsim's predictions against a real stack on loopback.

mod serve;
mod setup;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  web [--port N] [--no-build]   build the browser UI into target/archsim-web and serve it on 127.0.0.1
                                (port 8080 by default; 0 picks a free one)
  web-build                     only build target/archsim-web
  test                          cargo test --profile checked --workspace (optimized, with
                                assertions and overflow checks), then the browser's
                                end-to-end tests in Chromium, then the Python package's
                                tests (pytest, in target/py-venv), then reality --quick
  python                        build the Python package (release) into target/py-venv,
                                with pandas, tqdm, matplotlib and pytest beside it
  bench-web                     time a million requests in the page against archsim run
  reality [--quick]             calibrate archsim from a real stack's traces (HAProxy, gunicorn,
                                Redis, PostgreSQL on 127.0.0.1) and check its predictions against
                                the stack at other loads and designs; the report goes to
                                validation/real-stack/report (--quick: CI's short version, about
                                2 minutes, report in target/reality-quick)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("web") => web(&args[1..]),
        Some("web-build") => build_web().map(|_| ()),
        Some("test") => test(),
        Some("bench-web") => bench_web(),
        Some("reality") => reality(&args[1..]),
        Some("python") => setup::python_venv().and_then(|venv| {
            setup::python_package(&venv, "release")?;
            println!(
                "archsim for Python is installed in {0}; activate it with: source {0}/bin/activate",
                venv.display()
            );
            Ok(())
        }),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Where cargo builds: `CARGO_TARGET_DIR` when set, else the workspace's `target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

/// Runs a command (in the workspace root unless it names a folder), failing with its name
/// when it fails.
fn run(command: &mut Command) -> Result<(), String> {
    if command.get_current_dir().is_none() {
        command.current_dir(root());
    }
    let status = command.status().map_err(|e| format!("cannot start {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}

fn web(args: &[String]) -> Result<(), String> {
    let mut port = 8080u16;
    let mut build = true;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--port" => {
                port = rest.next().and_then(|p| p.parse().ok()).ok_or("--port takes a number from 0 to 65535")?
            }
            "--no-build" => build = false,
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let site = if build { build_web()? } else { target_dir().join("archsim-web") };
    let server = serve::Server::bind(&site, port)?;
    println!("archsim web: serving {} at http://{}/ (Ctrl-C stops)", site.display(), server.address());
    server.run_forever();
    Ok(())
}

/// Builds the page into `target/archsim-web`: sim-web for wasm32, its JavaScript bindings,
/// and the static files of `sim-web/www`. (Not `target/web`: cargo keeps the `web`
/// profile's build scripts there.)
fn build_web() -> Result<PathBuf, String> {
    setup::wasm_target()?;
    let bindgen = setup::wasm_bindgen_cli()?;
    run(Command::new("cargo").args([
        "build",
        "--profile",
        "web",
        "-p",
        "sim-web",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let site = target_dir().join("archsim-web");
    let staging = target_dir().join("archsim-web.partial");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    run(Command::new(bindgen)
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(staging.join("pkg"))
        .arg(target_dir().join("wasm32-unknown-unknown/web/sim_web.wasm")))?;
    copy_folder(&root().join("sim-web/www"), &staging)?;
    // Replace the previous build whole, so a server never sees half of one.
    let _ = std::fs::remove_dir_all(&site);
    std::fs::rename(&staging, &site).map_err(|e| format!("cannot move the build to {}: {e}", site.display()))?;
    Ok(site)
}

fn copy_folder(from: &Path, to: &Path) -> Result<(), String> {
    for entry in std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
            copy_folder(&path, &target)?;
        } else {
            std::fs::copy(&path, &target).map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Every test: the workspace's, then the browser's against the page served on loopback.
fn test() -> Result<(), String> {
    run(Command::new("cargo").args(["test", "--profile", "checked", "--workspace"]))?;
    let screenshots = target_dir().join("web-e2e");
    std::fs::create_dir_all(&screenshots).map_err(|e| e.to_string())?;
    // The CLI the browser tests compare against is the checked build the tests just made.
    let mut node = browser_command("checked")?;
    node.args(["--test", "--test-concurrency=1"])
        .arg(root().join("sim-web/e2e/tests"))
        .env("SCREENSHOTS", &screenshots);
    run(&mut node)?;
    println!("browser tests passed; screenshots in {}", screenshots.display());
    python_tests()?;
    // Last: predictions against the real stack on loopback, in short.
    reality(&["--quick".to_string()])
}

/// The Python package's tests: the wheel built with the tests' profile (assertions on) and
/// installed in `target/py-venv`, then pytest, which compares with the checked CLI.
fn python_tests() -> Result<(), String> {
    let venv = setup::python_venv()?;
    setup::python_package(&venv, "checked")?;
    run(Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("sim-py/tests"))
        .env("ARCHSIM_BIN", target_dir().join("checked/archsim"))
        .env("ARCHSIM_ROOT", root()))?;
    println!("Python tests passed");
    Ok(())
}

/// The real-stack check (validation/real-stack/reality.py): the CLI and the load generator
/// built, the Python environment with the app's packages, then the check itself.
fn reality(args: &[String]) -> Result<(), String> {
    let quick = match args {
        [] => false,
        [flag] if flag == "--quick" => true,
        _ => return Err(format!("reality takes only --quick\n{USAGE}")),
    };
    // The quick check shares the tests' build; the full one measures the shipped binary.
    let profile = if quick { "checked" } else { "release" };
    run(Command::new("cargo").args(["build", "--profile", profile, "-p", "sim-cli", "-p", "archsim-loadgen"]))?;
    let venv = setup::python_venv()?;
    let report = if quick { target_dir().join("reality-quick") } else { root().join("validation/real-stack/report") };
    let mut check = Command::new(venv.join("bin/python"));
    check
        .arg(root().join("validation/real-stack/reality.py"))
        .arg("--archsim")
        .arg(target_dir().join(profile).join("archsim"))
        .arg("--loadgen")
        .arg(target_dir().join(profile).join("loadgen"))
        .arg("--venv")
        .arg(&venv)
        .arg("--work")
        .arg(target_dir().join("reality-work"))
        .arg("--report")
        .arg(&report);
    if quick {
        check.arg("--quick");
    }
    run(&mut check)
}

/// The browser against the command line on a million requests (benches/browser.mjs).
fn bench_web() -> Result<(), String> {
    let mut node = browser_command("release")?;
    run(node.arg(root().join("benches/browser.mjs")))
}

/// A `node` command set up to drive the page: the CLI (built with cargo profile `profile`) and
/// the page built, Chromium and the npm packages installed, the page served on a free loopback
/// port for as long as xtask runs.
fn browser_command(profile: &str) -> Result<Command, String> {
    run(Command::new("cargo").args(["build", "--profile", profile, "-p", "sim-cli"]))?;
    let site = build_web()?;
    let chromium = setup::chromium()?;
    setup::npm_packages(&root().join("sim-web/e2e"))?;
    let server = serve::Server::bind(&site, 0)?;
    let address = server.address();
    std::thread::spawn(move || server.run_forever());
    let mut node = Command::new("node");
    node.env("ARCHSIM_WEB_URL", format!("http://{address}/"))
        .env("ARCHSIM_BIN", target_dir().join(profile).join("archsim"))
        .env("ARCHSIM_ROOT", root())
        .env("CHROMIUM", chromium);
    Ok(node)
}
