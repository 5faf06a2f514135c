//! The `chitra` binary: parses the command line and hands over to the library.

/// jemalloc instead of the system allocator: the writer frees, on its own thread, what
/// submitters allocated on theirs, which glibc's allocator handles slowly, and jemalloc returns
/// memory to the system lazily instead of faulting pages back in on every group.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once when it starts: memory freed is given back to the system
/// within about a second, by jemalloc's own thread, instead of the ten seconds it keeps it by
/// default. A monthly run frees hundreds of megabytes from one step to the next (a computed
/// batch once appended, each group of payment files once kept), and with the default the next
/// step's memory was added to the last one's: at a million people the run peaked about 150 MiB
/// higher (`chitra bench batch`, figures in issue #10's notes).
#[export_name = "_rjem_malloc_conf"]
pub static MALLOC_CONF: Option<&u8> = Some(&b"background_thread:true,dirty_decay_ms:1000\0"[0]);

fn main() -> std::process::ExitCode {
    chitra::cli::main()
}
