//! `Pipeline::process_batch` gives exactly what `process_frame` gives frame by frame: on every
//! capture of ../shared/pcaps and on the project's own demo capture, in batches of several
//! sizes, both session modes.

mod common;

use sessmgr::io::pcap::for_each_frame;
use sessmgr::pipeline::{FrameOutcome, Pipeline};
use sessmgr::proto::frag::FragLimits;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::table::{SessionMode, TableConfig};
use std::path::Path;

fn frames_of(path: &Path) -> Vec<(LinkType, u64, Vec<u8>)> {
    let mut v = Vec::new();
    for_each_frame(path, |f| {
        if let Some(link) = f.link {
            v.push((link, f.ts_ns, f.data.to_vec()));
        }
    })
    .expect("read capture");
    v
}

fn pipeline(mode: SessionMode) -> Pipeline {
    let cfg = TableConfig {
        mode,
        statistics: true,
        ..TableConfig::default()
    };
    Pipeline::new(0, cfg, FragLimits::default(), FlowHasher::with_seed(11))
}

fn check(path: &Path) -> usize {
    let frames = frames_of(path);
    for mode in [SessionMode::Bidirectional, SessionMode::Hybrid] {
        for batch in [1usize, 7, 32, 64] {
            let mut one = pipeline(mode);
            let mut many = pipeline(mode);
            let mut by_batch = Vec::new();
            let mut by_frame = Vec::new();
            for chunk in frames.chunks(batch) {
                // One receive batch shares one clock reading, as on a live core.
                let now = chunk[0].1;
                let link = chunk[0].0;
                if chunk.iter().any(|f| f.0 != link) {
                    continue;
                }
                for (_, _, data) in chunk {
                    by_frame.push(one.process_frame(link, data, now));
                }
                let refs: Vec<&[u8]> = chunk.iter().map(|f| &f.2[..]).collect();
                many.process_batch(link, &refs, now, &mut by_batch);
            }
            assert_eq!(by_frame.len(), by_batch.len(), "{}", path.display());
            for (i, (a, b)) in by_frame.iter().zip(&by_batch).enumerate() {
                assert_eq!(
                    a,
                    b,
                    "{} frame index {i}, batch {batch}, {mode:?}",
                    path.display()
                );
            }
            let table = |p: &Pipeline| {
                let mut t: Vec<_> = p.shard.iter().map(|(id, s, _)| (id, s)).collect();
                t.sort_by_key(|(id, _)| *id);
                t
            };
            assert_eq!(
                table(&one),
                table(&many),
                "{} final table, batch {batch}",
                path.display()
            );
            assert_eq!(one.shard.drops.total(), many.shard.drops.total());
            let tracked = by_frame
                .iter()
                .filter(|o| matches!(o, FrameOutcome::Tracked(_)))
                .count();
            assert!(
                tracked > 0
                    || frames.is_empty()
                    || by_frame
                        .iter()
                        .all(|o| !matches!(o, FrameOutcome::Tracked(_)))
            );
        }
    }
    frames.len()
}

#[test]
fn batches_equal_frame_by_frame() {
    let captures = common::all_captures();
    let mut total = 0;
    for c in captures.iter().filter(|c| c.exists()) {
        total += check(c);
    }
    assert!(total > 0, "no frames checked");
}
