//! The `archsim` binary: parses the command line, runs the command, exits with its status.

fn main() {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let status = archsim_cli::run(std::env::args_os(), &mut stdout, &mut stderr);
    std::process::exit(status);
}
