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
enum DumpWhat {
    Sessions,
    Stats,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Bidirectional,
    Hybrid,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine (config.toml's [runtime]: back-end, interfaces, cores) until Ctrl-C or
    /// SIGTERM.
    Run {
        /// Configuration file.
        #[arg(long, default_value = "config.toml")]
        config: PathBuf,
    },
    /// The operator console (Comware CLI) of the running engine.
    Console {
        /// The control socket (default: the one config.toml names).
        #[arg(long)]
        socket: Option<PathBuf>,
    },
    /// Run one console command on the running engine and print its output (as `vtysh -c`);
    /// the exit status is 1 when the engine refuses the line.
    Exec {
        /// The control socket (default: the one config.toml names).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// Print a display command's data as JSON instead of its Comware text.
        #[arg(long)]
        json: bool,
        /// The command, as typed at the console (its words may be given as one argument or
        /// several).
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Print the running engine's session table or counters as JSON (control socket).
    Dump {
        /// What to print.
        #[arg(value_enum, default_value = "sessions")]
        what: DumpWhat,
        /// The control socket (default: the one config.toml names).
        #[arg(long)]
        socket: Option<PathBuf>,
    },
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
        /// How frames are spread over the cores: by address pair (as the AF_PACKET fanout),
        /// or by addresses and ports (as a NIC's 4-tuple RSS).
        #[arg(long, value_enum, default_value = "addresses")]
        steer: Steer,
        /// A Comware configuration text (what `save` writes) applied before the first frame;
        /// the capture's frames come in on the interface `capture`.
        #[arg(long, value_name = "FILE")]
        startup: Option<PathBuf>,
        /// A console command run on the state at the end of the capture, its output printed
        /// (repeatable, in order; paging off). Replaces the summary.
        #[arg(long = "exec", value_name = "COMMAND")]
        exec: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Steer {
    Addresses,
    Ports,
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            // The whole chain of causes, one line, no backtrace: an operator's message.
            eprintln!("sessmgr: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The control socket: as given, or as config.toml in the current directory names it.
fn socket_path(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        Config::load(std::path::Path::new("config.toml"))
            .map(|c| c.runtime.control_socket)
            .unwrap_or_else(|_| PathBuf::from(sessmgr::config::DEFAULT_CONTROL_SOCKET))
    })
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Run { config } => {
            let cfg =
                Config::load(&config).with_context(|| format!("loading {}", config.display()))?;
            sessmgr::alg::sip::set_options(cfg.sip);
            let report = sessmgr::actors::system::run(cfg)?;
            eprintln!(
                "sessmgr stopped: frames {}, events produced {}, delivered {}, dropped {}{}",
                report.frames,
                report.events_produced,
                report.events_delivered,
                report.events_dropped,
                if report.complete {
                    ""
                } else {
                    " (shutdown incomplete: a step missed its deadline)"
                }
            );
            for h in &report.collectors {
                eprintln!("{}", sessmgr::actors::collectors::exit_line(h));
            }
            if report.logs_unrouted > 0 {
                eprintln!(
                    "session logs with no collector configured: {}",
                    report.logs_unrouted
                );
            }
        }
        // Its own exit status: 1 for a line the engine refused (its error printed), 2 when
        // the engine could not be asked.
        Command::Exec {
            socket,
            json,
            command,
        } => {
            let line = command.join(" ");
            let path = socket_path(socket);
            let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
            return Ok(
                match sessmgr::ctl::exec_client::run(&path, &line, json, &mut out, &mut err) {
                    Ok(true) => std::process::ExitCode::SUCCESS,
                    Ok(false) => std::process::ExitCode::FAILURE,
                    Err(e) => {
                        let _ = writeln!(err, "sessmgr: {e}");
                        std::process::ExitCode::from(2)
                    }
                },
            );
        }
        Command::Console { socket } => {
            sessmgr::ctl::client::run(&socket_path(socket))?;
        }
        Command::Dump { what, socket } => {
            let path = socket_path(socket);
            let cmd = match what {
                DumpWhat::Sessions => "sessions",
                DumpWhat::Stats => "stats",
            };
            let reply = sessmgr::actors::ctlsock::request(&path, cmd).map_err(|e| {
                let why = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    "it serves root, the engine's user and members of its runtime.control_group"
                } else {
                    "is `sessmgr run` running?"
                };
                anyhow::Error::new(e).context(format!(
                    "talking to the engine at {} ({why})",
                    path.display()
                ))
            })?;
            // A refusal (a peer the engine does not serve) is an error, not a dump.
            if let Some(why) = serde_json::from_str::<serde_json::Value>(&reply)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
            {
                anyhow::bail!("the engine at {} answered: {why}", path.display());
            }
            print!("{reply}");
            // The dump is capped (DUMP_LIMIT rows); the console pages through any size.
            if let Some(n) = serde_json::from_str::<serde_json::Value>(&reply)
                .ok()
                .and_then(|v| v["truncated_at"].as_u64())
            {
                eprintln!(
                    "note: the dump stops at {n} sessions; `sessmgr console` and \
                     `display session table` show them all"
                );
            }
        }
        Command::Replay {
            capture,
            config,
            mode,
            pps,
            verdicts,
            cores,
            steer,
            startup,
            exec,
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
            sessmgr::alg::sip::set_options(cfg.sip);
            let opts = ReplayOptions {
                capture,
                config: cfg,
                pps,
                verdicts,
                steer: match steer {
                    Steer::Addresses => sessmgr::replay::Steering::Addresses,
                    Steer::Ports => sessmgr::replay::Steering::Ports,
                },
            };
            // A console configuration or commands: the replay runs on core actors, which a
            // console can ask (one core is fine).
            let console = if startup.is_some() || !exec.is_empty() {
                let text = match &startup {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .with_context(|| format!("reading {}", path.display()))?,
                    ),
                    None => None,
                };
                let running =
                    sessmgr::ctl::startup::replay_configuration(&opts.config, text.as_deref())
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "{}: {e}",
                                startup
                                    .as_ref()
                                    .map_or("--startup".into(), |p| p.display().to_string())
                            )
                        })?;
                Some(sessmgr::actors::replay::ReplayConsole { running, exec })
            } else {
                None
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            // A capture that ends inside a record: everything before it is reported, then the
            // error is named and the exit status says it.
            let capture_error = if let (1, Some(console)) = (cores, console.as_ref()) {
                sessmgr::actors::replay::replay_one_core(&opts, console, &mut out)?
            } else if cores > 1 || console.is_some() {
                let result = sessmgr::actors::replay::replay_cores(
                    &opts,
                    usize::from(cores),
                    console.as_ref(),
                    &mut out,
                )?;
                if !verdicts && console.as_ref().is_none_or(|c| c.exec.is_empty()) {
                    sessmgr::actors::replay::summary(&result, usize::from(cores), &mut out)?;
                }
                result.capture_error
            } else {
                let result = replay(&opts, &mut out)?;
                if !verdicts {
                    summary(&result, &mut out)?;
                }
                result.capture_error
            };
            out.flush()?;
            if let Some(e) = capture_error {
                return Err(e.into());
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
