//! The `jobq` binary: everything lives in the library.

// Replies and keys are many small short-lived buffers; glibc's allocator
// took over half of the client's CPU time in a 100k-job repair.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(jobq::run(std::env::args_os()))
}
