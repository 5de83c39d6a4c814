//! Replays every committed fuzz corpus (`fuzz/corpus/<target>/`) through its target in
//! `pixie::fuzzing`, on stable Rust and without the fuzzer: a crash the fuzzer once found, and
//! whose input was added to the corpus, stays fixed. Needs no keychain and no provider.

use std::path::Path;

#[test]
fn every_corpus_file_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut replayed = 0;
    for (name, target) in pixie::fuzzing::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} has no seeds", dir.display());
        for path in files {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on {}", path.display());
            replayed += 1;
        }
    }
    println!("replayed {replayed} corpus files");
}

#[test]
fn every_target_has_a_corpus_and_a_fuzz_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, _) in pixie::fuzzing::TARGETS {
        let source = root.join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains(&format!("pixie::fuzzing::{name}(data)")),
            "{} does not call pixie::fuzzing::{name}",
            source.display()
        );
        assert!(
            root.join("corpus").join(name).is_dir(),
            "no corpus for {name}"
        );
    }
    let targets = std::fs::read_dir(root.join("fuzz_targets"))
        .unwrap()
        .count();
    assert_eq!(
        targets,
        pixie::fuzzing::TARGETS.len(),
        "a fuzz target is missing from TARGETS"
    );
}
