use clap::Parser;

use seqlab::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(command) => run(command),
        None => open_gui(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "gui")]
fn open_gui() -> anyhow::Result<()> {
    seqlab::gui::run()
}

#[cfg(not(feature = "gui"))]
fn open_gui() -> anyhow::Result<()> {
    anyhow::bail!("this seqlab was built without the GUI (feature `gui`); run `seqlab --help` for the commands")
}
