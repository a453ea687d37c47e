use clap::Parser;

use seqlab::cli::{Cli, error_line, run};

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(command) => run(command),
        None => open_gui(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Training frees and reallocates the same few hundred kilobytes of activations every
/// step. glibc hands freed memory at the top of the heap back to the kernel once it
/// exceeds 128 KiB or so, and every page of the next step's arrays then faults in fresh and
/// zeroed: that was a third of a batch-32 training step. Keeping up to 256 MiB is the fix.
/// Arrays above the mmap threshold (128 KiB, fixed once the trim threshold is set) would
/// still be mapped and unmapped each time, and a batch of dates has many of them, so the
/// threshold rises to 64 MiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only changes allocator tuning; it is called before any thread starts.
    unsafe {
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
        mallopt(M_MMAP_THRESHOLD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

#[cfg(feature = "gui")]
fn open_gui() -> anyhow::Result<()> {
    seqlab::gui::run()
}

#[cfg(not(feature = "gui"))]
fn open_gui() -> anyhow::Result<()> {
    anyhow::bail!("this seqlab was built without the GUI (feature `gui`); run `seqlab --help` for the commands")
}
