//! The `sessmgr` command.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use sessmgr::config::Config;
use sessmgr::replay::{ReplayOptions, replay, summary};
use sessmgr::table::SessionMode;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "sessmgr",
    version,
    about = "Stateful session engine for firewall appliances"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Bidirectional,
    Hybrid,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pcap/pcapng capture through the engine in capture order.
    Replay {
        /// The capture file (pcap or pcapng).
        capture: PathBuf,
        /// Configuration file (config.toml format).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Session mode (overrides the configuration).
        #[arg(long, value_enum)]
        mode: Option<Mode>,
        /// Advance time as if the capture were sent at N packets per second.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        pps: Option<u64>,
        /// Print one JSON object per frame, then the final session table.
        #[arg(long)]
        verdicts: bool,
        /// Run the capture through N per-core actors (flows spread by address).
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
        cores: u16,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Replay {
            capture,
            config,
            mode,
            pps,
            verdicts,
            cores,
        } => {
            let mut cfg = match &config {
                Some(path) => {
                    Config::load(path).with_context(|| format!("loading {}", path.display()))?
                }
                None => Config::default(),
            };
            if let Some(m) = mode {
                cfg.table.mode = match m {
                    Mode::Bidirectional => SessionMode::Bidirectional,
                    Mode::Hybrid => SessionMode::Hybrid,
                };
            }
            let opts = ReplayOptions {
                capture,
                config: cfg,
                pps,
                verdicts,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            if cores > 1 {
                let result =
                    sessmgr::actors::replay::replay_cores(&opts, usize::from(cores), &mut out)?;
                if !verdicts {
                    sessmgr::actors::replay::summary(&result, usize::from(cores), &mut out)?;
                }
            } else {
                let result = replay(&opts, &mut out)?;
                if !verdicts {
                    summary(&result, &mut out)?;
                }
            }
            out.flush()?;
        }
    }
    Ok(())
}
