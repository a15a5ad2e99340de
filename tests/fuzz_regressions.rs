//! Replays the fuzz targets' seed corpus and every finding kept under `tests/fuzz/regressions/<target>/`
//! (see `scripts/fuzz.sh`) through the same entry points the fuzzer drives, in the normal test run.

use std::path::Path;

/// A fuzz target's name and the entry point it drives.
type Target = (&'static str, fn(&[u8]));

#[test]
fn fuzz_seeds_and_findings_still_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let targets: [Target; 4] = [
        ("sse", agent_gateway::core::http::sse::fuzz_one),
        ("config", agent_gateway::config::fuzz_one),
        ("path", agent_gateway::core::http::path::fuzz_one),
        ("sealed", agent_gateway::core::seal::fuzz_one),
    ];
    let mut replayed = 0;
    for (target, run) in targets {
        for kind in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let input = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| run(&input));
                assert!(outcome.is_ok(), "{target}: {} fails again", path.display());
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= 4,
        "the seed corpus is missing: {replayed} inputs"
    );
}
