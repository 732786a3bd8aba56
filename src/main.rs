//! The `jobq` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(jobq::run(std::env::args_os()))
}
