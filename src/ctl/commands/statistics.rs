//! What the operator watches beyond the session counts (SPEC T1, T2; reference/comware.md
//! §3.5, §7): `display session statistics history-max` (ours: the layout is not known), and
//! top statistics: `session top-statistics enable` and `display session top-statistics
//! {last-1-hour|last-24-hours|last-30-days}`. Both displays return their text and the same
//! values as JSON.

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{H_SESSION, H_SESSION_DISPLAY, alt, kw, kws};
use crate::ctl::running::Running;
use crate::ctl::statistics_view::{render_history_max, render_top};
use crate::ctl::view::bits::{ANY, SYSTEM};
use crate::mailbox::{CoreMsg, TopMsg};
use crate::table::peaks::PeakCounts;
use crate::table::top::{TopWindow, Window};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatisticsCmd {
    /// `display session statistics history-max`.
    HistoryMax,
    /// `display session top-statistics {last-1-hour|last-24-hours|last-30-days}`.
    DisplayTop(Window),
    /// `session top-statistics enable` (system view).
    TopEnable,
    UndoTopEnable,
}

const WINDOW: &str = "window";

impl Area for StatisticsCmd {
    fn commands(t: &mut Tree<Self>) {
        t.display(
            ANY,
            vec![
                kw("session", H_SESSION_DISPLAY),
                kw("statistics", "Display session statistics"),
                kw(
                    "history-max",
                    "Display the history maximum session count and establishment rate",
                ),
            ],
            |_, _| Ok(StatisticsCmd::HistoryMax),
        );
        t.display(
            ANY,
            vec![
                kw("session", H_SESSION_DISPLAY),
                kw("top-statistics", "Display top 10 session statistics"),
                alt(vec![
                    kws(WINDOW, "last-1-hour", "Statistics of the last hour"),
                    kws(WINDOW, "last-24-hours", "Statistics of the last 24 hours"),
                    kws(WINDOW, "last-30-days", "Statistics of the last 30 days"),
                ]),
            ],
            |m, _| {
                Ok(StatisticsCmd::DisplayTop(
                    m.text(WINDOW)
                        .and_then(Window::by_keyword)
                        .unwrap_or(Window::LastHour),
                ))
            },
        );
        t.with_undo(
            SYSTEM,
            vec![
                kw("session", H_SESSION),
                kw("top-statistics", "Top session statistics"),
                kw("enable", "Enable top session statistics"),
            ],
            |m, _| {
                Ok(if m.is_undo() {
                    StatisticsCmd::UndoTopEnable
                } else {
                    StatisticsCmd::TopEnable
                })
            },
        );
    }

    fn canonical(&self) -> String {
        match self {
            StatisticsCmd::HistoryMax => "display session statistics history-max".into(),
            StatisticsCmd::DisplayTop(w) => {
                format!("display session top-statistics {}", w.keyword())
            }
            StatisticsCmd::TopEnable => "session top-statistics enable".into(),
            StatisticsCmd::UndoTopEnable => "undo session top-statistics enable".into(),
        }
    }

    fn is_config(&self) -> bool {
        matches!(self, StatisticsCmd::TopEnable)
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        match self {
            StatisticsCmd::HistoryMax => {
                // Each core's maxima; their sum bounds the engine's (table::peaks::merge).
                let mut all = PeakCounts::default();
                for p in cx.engine.ask(CoreMsg::Peaks) {
                    all.merge(&p);
                }
                let (text, data) = render_history_max(&all);
                Output::display(text, data)
            }
            StatisticsCmd::DisplayTop(window) => {
                let parts = cx.engine.ask(|reply| {
                    CoreMsg::Top(TopMsg::Window {
                        window: *window,
                        reply,
                    })
                });
                let w = TopWindow::merge_all(&parts);
                let (text, data) = render_top(&w.sources, &w.destinations);
                Output::display(text, data)
            }
            StatisticsCmd::TopEnable | StatisticsCmd::UndoTopEnable => {
                cx.running.table.top_statistics = *self == StatisticsCmd::TopEnable;
                cx.changed();
                Output::Nothing
            }
        }
    }

    fn configuration(running: &Running, text: &mut ConfigText) {
        if running.table.top_statistics {
            text.setting(&StatisticsCmd::TopEnable);
        }
    }
}
