//! What every console talks to: the cores' mailboxes, the running configuration, the startup
//! file and the shared relation table. A console's command becomes messages to the cores,
//! answered from each core's own shard between batches, so a console never stalls packet
//! processing.

use super::running::Running;
use crate::infocenter::{Alarms, InfoCenter};
use crate::mailbox::CoreMsg;
use crate::table::config::TableConfig;
use crate::table::relation::RelationTable;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a console waits for a core to take a message and for its answer.
pub const CORE_ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// What every console talks to.
pub struct Engine {
    pub cores: Vec<flume::Sender<CoreMsg>>,
    pub running: Mutex<Running>,
    /// Where `save` writes (the startup configuration applied at start).
    pub startup: PathBuf,
    /// The relation table every core shares (R3 displays and resets it).
    pub relations: Arc<RelationTable>,
    /// Session events the log's writer queue refused (the cores count those their channel
    /// refused): `display packet-drop summary` adds them up.
    pub events_lost: Arc<std::sync::atomic::AtomicU64>,
    /// Where session logs go (the console sets it) and the log actor's per-host counters.
    pub export: Arc<crate::export::config::ExportHandle>,
    /// The information centre: the log buffer, the consoles' monitors, the log hosts' queue.
    pub info: Arc<InfoCenter>,
    /// The abrupt-change alarms' watch (fed by the runtime with the cores' second reports);
    /// `alarms.status()` tells, per alarm, whether it is enabled, active and how often it
    /// fired.
    pub alarms: Arc<Alarms>,
    /// The failover group's configuration goes here, and its status comes from here.
    pub sync: Arc<crate::sync::SyncHandle>,
}

/// An information centre and an alarm watch over `cores` cores, set from `running` (an
/// engine's own; a replay's, on capture time).
pub fn info_centre(running: &Running, cores: usize) -> (Arc<InfoCenter>, Arc<Alarms>) {
    let info: Arc<InfoCenter> = Arc::default();
    let alarms = Arc::new(Alarms::new(cores, 0, info.clone()));
    configure_info(&info, &alarms, running);
    (info, alarms)
}

/// The running configuration's information-centre settings and alarm rules.
fn configure_info(info: &InfoCenter, alarms: &Alarms, running: &Running) {
    info.set_sysname(&running.sysname);
    info.set_buffer_size(running.logbuffer_size);
    alarms.configure(running.alarms, running.table.capacity as u64);
}

impl Engine {
    /// An engine over `cores` with this running configuration and startup file, and a
    /// relation table and event counter of its own (the runtime replaces both with the ones
    /// it shares: `Engine { relations, events_lost, ..Engine::new(..) }`).
    /// The export handle is given the running configuration's export settings at once, so
    /// the log actor starts with the startup configuration's hosts.
    pub fn new(cores: Vec<flume::Sender<CoreMsg>>, running: Running, startup: PathBuf) -> Engine {
        let export: Arc<crate::export::config::ExportHandle> = Arc::default();
        export.set_config(running.export_config());
        let (info, alarms) = info_centre(&running, cores.len());
        Engine {
            cores,
            running: Mutex::new(running),
            startup,
            relations: Arc::default(),
            events_lost: Arc::default(),
            export,
            info,
            alarms,
            sync: Arc::default(),
        }
    }

    /// Gives the information centre and the alarm watch the running configuration's
    /// settings (after every change; a runtime that replaces `info` or `alarms` calls it
    /// again).
    pub fn publish_info_config(&self, running: &Running) {
        configure_info(&self.info, &self.alarms, running);
    }

    /// Gives the export handle the running configuration's export settings: for a runtime
    /// that replaces `export` with a handle of its own (`Engine { export, ..Engine::new(..) }`).
    pub fn publish_export_config(&self) {
        if let Ok(r) = self.running.lock() {
            self.export.set_config(r.export_config());
        }
    }

    fn per_core(&self, t: &TableConfig) -> TableConfig {
        let mut t = t.clone();
        t.capacity = t.capacity.div_ceil(self.cores.len().max(1));
        t
    }

    /// Sends the resolved configuration to every core and waits until each has applied it:
    /// when the prompt comes back, the next packet on any core sees the change (an operator
    /// who types `alg tftp` and then starts a transfer expects the ALG to follow it).
    pub fn push_config(&self, running: &Running) {
        let t = self.per_core(&running.resolved());
        self.sync.set_config(running.rbm.clone());
        self.tell_all(|| CoreMsg::Config(Box::new(t.clone())));
        // A core handles its mailbox in order, between batches: once it answers the barrier,
        // the configuration is in place.
        let _ = self.ask(CoreMsg::Barrier);
    }

    /// A message to every core, no answer expected (a core that is gone is skipped).
    pub fn tell_all(&self, make: impl Fn() -> CoreMsg) {
        for c in &self.cores {
            let _ = c.send_timeout(make(), CORE_ANSWER_TIMEOUT);
        }
    }

    /// Every core's answer (those that answer in time).
    pub fn ask<T>(&self, make: impl Fn(flume::Sender<T>) -> CoreMsg) -> Vec<T> {
        (0..self.cores.len())
            .filter_map(|core| self.ask_core(core, &make))
            .collect()
    }

    /// One core's answer; `None` when it is gone or does not answer in time.
    pub fn ask_core<T>(
        &self,
        core: usize,
        make: impl FnOnce(flume::Sender<T>) -> CoreMsg,
    ) -> Option<T> {
        self.send_core(core, make)?.wait()
    }

    /// Asks one core without waiting for its answer (the console does other work meanwhile:
    /// a long display renders one page while the core copies the next). `None` when the core
    /// is gone or does not take the message in time.
    pub fn send_core<T>(
        &self,
        core: usize,
        make: impl FnOnce(flume::Sender<T>) -> CoreMsg,
    ) -> Option<Pending<T>> {
        let (tx, rx) = flume::bounded(1);
        self.cores
            .get(core)?
            .send_timeout(make(tx), CORE_ANSWER_TIMEOUT)
            .ok()?;
        Some(Pending(rx))
    }
}

/// A core's answer on its way (`Engine::send_core`). Dropped unread, the answer is discarded
/// (the core's send fails and it goes on).
pub struct Pending<T>(flume::Receiver<T>);

impl<T> Pending<T> {
    /// The answer; `None` when the core does not answer in time.
    pub fn wait(self) -> Option<T> {
        self.0.recv_timeout(CORE_ANSWER_TIMEOUT).ok()
    }
}
