//! The Prometheus endpoint (SPEC B4; config.toml `[metrics] listen`): the engine's series in
//! the text exposition format, served over HTTP on the control plane.
//!
//! Where it runs and why: a thread of its own that accepts connections and one short-lived
//! thread per connection (at most `http::MAX_CONNECTIONS`), never a core. A scrape asks the
//! cores through their mailboxes exactly as a console's display does (collect.rs), so a core
//! answers between two batches and the packet path pays nothing between scrapes. Rejected:
//! a series registry the cores update per packet (atomics shared between cores on the packet
//! path), and an HTTP framework (the endpoint answers one GET; http.rs is the whole server,
//! bounded against bad clients).
//!
//! `prometheus-client` gives the exposition format (escaping, type lines) and the
//! `Collector` interface: `start` takes further collectors beside the engine's (the alarm
//! states, from the alarm actor), each naming its series in full (`sessmgr_alarm_active`).

pub mod collect;
pub mod http;

use crate::ctl::engine::Engine;
use http::{HttpCounters, MAX_CONNECTIONS, Outcome};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::registry::Registry;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the accepting thread looks at its stop flag when no connection comes.
const ACCEPT_POLL: Duration = Duration::from_millis(25);

/// The running endpoint; stopped (its thread joined) by `stop` or on drop.
pub struct MetricsEndpoint {
    /// The address it listens on (the port the system gave, for `:0`).
    pub local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsEndpoint {
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The endpoint's own series: its connections by outcome.
#[derive(Debug)]
struct HttpCollector(Arc<HttpCounters>);

impl Collector for HttpCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut m = enc.encode_descriptor(
            "sessmgr_metrics_http_requests",
            "Connections to the metrics endpoint, by outcome",
            None,
            MetricType::Counter,
        )?;
        for o in Outcome::ALL {
            let labels = [("outcome", o.name())];
            ConstCounter::new(self.0.get(o)).encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT_0_0_4: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition of every collector of `registry`: OpenMetrics for a client that accepts
/// it (Prometheus), otherwise the classic text format; with its content type.
fn exposition(registry: &Registry, openmetrics: bool) -> (String, &'static str) {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        // Only a collector's own failure gets here: say so rather than half a page.
        out = "# the metrics could not be encoded\n# EOF\n".into();
    }
    if openmetrics {
        (out, OPENMETRICS)
    } else {
        (classic_text(&out), TEXT_0_0_4)
    }
}

/// OpenMetrics text as the classic text format 0.0.4: a counter family is named with its
/// `_total` there (its samples' name), and there is no `# EOF` or `# UNIT` line.
pub fn classic_text(om: &str) -> String {
    let counters: std::collections::HashSet<&str> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let described = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        match described {
            Some((p, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let total = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                out.push_str(&format!("{p}{name}{total} {tail}\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Starts the endpoint on `listen`: the engine's series, the endpoint's own, and `extra`
/// collectors' (the alarm states). Fails only if the address cannot be bound.
pub fn start(
    listen: SocketAddr,
    engine: Arc<Engine>,
    extra: Vec<Box<dyn Collector>>,
) -> std::io::Result<MetricsEndpoint> {
    let listener = TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    let local_addr = listener.local_addr()?;
    let counters = Arc::new(HttpCounters::default());
    let mut registry = Registry::default();
    registry.register_collector(collect::boxed(engine));
    registry.register_collector(Box::new(HttpCollector(counters.clone())));
    for c in extra {
        registry.register_collector(c);
    }
    let registry = Arc::new(registry);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("sessmgr-metrics".into())
        .spawn(move || accept_loop(&listener, &registry, &counters, &flag))?;
    Ok(MetricsEndpoint {
        local_addr,
        stop,
        thread: Some(thread),
    })
}

/// One connection being served: the count of them goes down when it ends, however it ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn accept_loop(
    listener: &TcpListener,
    registry: &Arc<Registry>,
    counters: &Arc<HttpCounters>,
    stop: &AtomicBool,
) {
    let active = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        let mut stream = match listener.accept() {
            Ok((s, _)) => s,
            // Nothing waiting, or a failed accept (out of descriptors): look again shortly.
            Err(_) => {
                std::thread::sleep(ACCEPT_POLL);
                continue;
            }
        };
        if stream.set_nonblocking(false).is_err() {
            counters.count(Outcome::Aborted);
            continue;
        }
        if active.fetch_add(1, Ordering::Relaxed) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::Relaxed);
            http::refuse(&mut stream, Outcome::Busy);
            http::drain_pending(&mut stream);
            counters.count(Outcome::Busy);
            continue;
        }
        let slot = Slot(active.clone());
        let (registry, mine) = (registry.clone(), counters.clone());
        let spawned = std::thread::Builder::new()
            .name("sessmgr-metrics-conn".into())
            .spawn(move || {
                let _slot = slot;
                http::serve(&mut stream, &mine, |om| exposition(&registry, om));
            });
        // No thread to be had: the connection went with the closure, unanswered; count it.
        if spawned.is_err() {
            counters.count(Outcome::Busy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_format_names_counters_with_their_total() {
        let om = "# HELP a_b Things.\n# TYPE a_b counter\na_b_total{x=\"1\"} 3\n\
                  # HELP g A gauge.\n# TYPE g gauge\n# UNIT g seconds\ng 2\n# EOF";
        assert_eq!(
            classic_text(om),
            "# HELP a_b_total Things.\n# TYPE a_b_total counter\na_b_total{x=\"1\"} 3\n\
             # HELP g A gauge.\n# TYPE g gauge\ng 2\n"
        );
    }
}
