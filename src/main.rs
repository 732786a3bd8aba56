//! The `jobq` binary: everything lives in the library.

// Replies and keys are many small short-lived buffers; glibc's allocator
// took over half of the client's CPU time in a 100k-job repair.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    without_huge_pages();
    std::process::ExitCode::from(jobq::run(std::env::args_os()))
}

/// mimalloc asks for transparent huge pages, and the first touch of each
/// zeroes 2 MiB, again whenever it takes freed memory back: a fifth of the
/// client's CPU in a 100k-job repair went to zeroing pages. This process is
/// short-lived and touches its memory sparsely, so it does without them.
#[cfg(target_os = "linux")]
fn without_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag
    // of this process; on failure the process just keeps huge pages.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn without_huge_pages() {}
