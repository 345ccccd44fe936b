//! Runs every scenario in `tests/transcripts/` whole, byte by byte and at
//! seeded random splits (see `support/mod.rs` for the file format).

mod support;

use std::path::Path;

#[test]
fn every_transcript_passes_every_way() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "txt"));
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the transcript files in {}",
        dir.display()
    );
    let mut failures = vec![];
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let result = std::panic::catch_unwind(|| {
            let sc = support::Scenario::parse(&name, &text);
            support::run_all_ways(&sc);
        });
        if result.is_err() {
            failures.push(name);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} transcripts failed: {failures:?}",
        failures.len(),
        files.len()
    );
}
