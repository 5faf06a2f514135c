//! The `chitra` binary: parses the command line and hands over to the library.

/// jemalloc instead of the system allocator: the writer frees, on its own thread, what
/// submitters allocated on theirs, which glibc's allocator handles slowly, and jemalloc returns
/// memory to the system lazily instead of faulting pages back in on every group.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    chitra::cli::main()
}
