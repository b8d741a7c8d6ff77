//! What the engine did not pass on, and why: `display packet-drop summary` (ours).
//!
//! Comware's `display packet-drop { interface | summary }` counts the frames an interface
//! dropped ("Packets dropped due to full used-Rx buffer ..."). Session management has no
//! counterpart in the manuals; this display borrows that command's name and its "dropped
//! due to" wording for what sessmgr counts: every drop reason (the names `sessmgr dump stats`
//! uses), the frames the kernel lost at the receive rings, the sessions early drop evicted,
//! the session events the log could not take, and the frames passed untracked because they
//! are not IP. Counters run since start or the last `reset session statistics`.

use super::area::{Area, Context, Output, Tree};
use super::kit::kw;
use crate::ctl::view::bits::ANY;
use crate::drop::DropCounters;
use crate::mailbox::{CoreCounters, CoreMsg};
use std::sync::atomic::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropsCmd {
    /// `display packet-drop summary`.
    Summary,
}

impl Area for DropsCmd {
    fn commands(t: &mut Tree<Self>) {
        t.display(
            ANY,
            vec![
                kw("packet-drop", "Display dropped packet statistics"),
                kw("summary", "Display the summary of dropped packets"),
            ],
            |_, _| Ok(DropsCmd::Summary),
        );
    }

    fn canonical(&self) -> String {
        match self {
            DropsCmd::Summary => "display packet-drop summary".into(),
        }
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        match self {
            DropsCmd::Summary => {
                let cores = cx.engine.ask(CoreMsg::Counters);
                let missing = cx.engine.cores.len().saturating_sub(cores.len());
                let mut sum = merge(&cores);
                sum.events_dropped += cx.engine.events_lost.load(Ordering::Relaxed);
                Output::display(render_summary(&sum, missing), summary_json(&sum, missing))
            }
        }
    }
}

/// Every core's counters, summed.
fn merge(cores: &[CoreCounters]) -> CoreCounters {
    let mut sum = CoreCounters {
        drops: DropCounters::default(),
        ..Default::default()
    };
    for c in cores {
        sum.drops.merge(&c.drops);
        sum.table.refused += c.table.refused;
        sum.table.evicted += c.table.evicted;
        sum.ring_drops += c.ring_drops;
        sum.events_dropped += c.events_dropped;
        sum.not_ip.arp += c.not_ip.arp;
        sum.not_ip.other += c.not_ip.other;
    }
    sum
}

/// The display's data (`sessmgr exec --json`; shape: ctl/display_json.rs), from the same
/// counts as its text.
pub fn summary_json(c: &CoreCounters, missing: usize) -> serde_json::Value {
    let by_reason: serde_json::Map<String, serde_json::Value> = c
        .drops
        .nonzero()
        .map(|(r, n)| (r.name().to_string(), n.into()))
        .collect();
    serde_json::json!({
        "dropped": c.drops.total(),
        "dropped_by_reason": by_reason,
        "ring_drops": c.ring_drops,
        "sessions_evicted_early_drop": c.table.evicted,
        "sessions_refused_table_full": c.table.refused,
        "events_dropped": c.events_dropped,
        "untracked_not_ip": {"arp": c.not_ip.arp, "other": c.not_ip.other},
        "cores_not_answering": missing,
    })
}

/// The display. `missing`: cores that did not answer in time (their counts are absent).
pub fn render_summary(c: &CoreCounters, missing: usize) -> String {
    let mut s = String::new();
    let total = c.drops.total();
    s.push_str(&format!("Packets dropped by session management: {total}\n"));
    let width = c
        .drops
        .nonzero()
        .map(|(r, _)| r.name().len())
        .max()
        .unwrap_or(0);
    for (reason, n) in c.drops.nonzero() {
        s.push_str(&format!(
            "  Dropped due to {:<width$} : {n}\n",
            reason.name()
        ));
    }
    s.push_str(&format!(
        "Packets dropped at the receive rings: {}\n",
        c.ring_drops
    ));
    s.push_str(&format!(
        "Sessions deleted by early drop (table full): {}\n",
        c.table.evicted
    ));
    s.push_str(&format!(
        "Sessions refused (table full): {}\n",
        c.table.refused
    ));
    s.push_str(&format!(
        "Session events dropped (log queue full): {}\n",
        c.events_dropped
    ));
    s.push_str(&format!(
        "Frames passed untracked (not IP): ARP {}, other EtherTypes {}\n",
        c.not_ip.arp, c.not_ip.other
    ));
    if missing > 0 {
        s.push_str(&format!(
            " % {missing} core(s) did not answer; their counts are missing.\n"
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drop::DropReason;

    #[test]
    fn summary_lists_each_reason_and_the_other_counters() {
        let mut a = CoreCounters::default();
        a.drops.count(DropReason::TableFull);
        a.drops.count(DropReason::PacketFilterDeny);
        a.table.refused = 1;
        a.not_ip.arp = 4;
        let mut b = CoreCounters::default();
        b.drops.count(DropReason::TableFull);
        b.table.evicted = 7;
        b.ring_drops = 3;
        b.events_dropped = 9;
        b.not_ip.other = 2;
        let text = render_summary(&merge(&[a, b]), 0);
        assert_eq!(
            text,
            "Packets dropped by session management: 3\n\
             \x20 Dropped due to table_full         : 2\n\
             \x20 Dropped due to packet_filter_deny : 1\n\
             Packets dropped at the receive rings: 3\n\
             Sessions deleted by early drop (table full): 7\n\
             Sessions refused (table full): 1\n\
             Session events dropped (log queue full): 9\n\
             Frames passed untracked (not IP): ARP 4, other EtherTypes 2\n"
        );
    }

    #[test]
    fn a_silent_core_is_said() {
        let text = render_summary(&CoreCounters::default(), 1);
        assert!(text.starts_with("Packets dropped by session management: 0\n"));
        assert!(text.ends_with(" % 1 core(s) did not answer; their counts are missing.\n"));
    }
}
