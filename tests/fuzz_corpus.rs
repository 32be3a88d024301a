//! Replays every committed fuzz input on stable: each file under
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` goes through the
//! same `heyblue::fuzz_api` entry point its `cargo fuzz` target calls, and must
//! neither panic nor allocate more than the bound below. A target without
//! corpus files fails, so a corpus that went missing cannot pass as green.
//! Fuzzing itself (`scripts/fuzz`) needs nightly; this replay does not.
//!
//! Allocations are counted by `stats_alloc`'s instrumented system allocator,
//! over the whole process: the replay is one test, so no other test of this
//! binary allocates while an input is measured.

use std::alloc::System;
use std::path::{Path, PathBuf};

use heyblue::fuzz_api::{TARGETS, Target};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes one input may allocate in total (every allocation and growth, freed
/// or not) per input byte, beyond a fixed allowance: what a decoder allocates
/// must follow what the input holds, not what its headers claim (a MessagePack
/// map header may claim 2^32 entries, a string header 4 GiB). The costliest
/// input found is TOML inline tables nested thousands deep, about 130 bytes
/// per input byte (a table for every three bytes of `{b=`).
const ALLOCATED_BYTES_PER_INPUT_BYTE: usize = 256;

/// The fixed allowance per input, in bytes: error messages, the parsed
/// configuration's defaults, a signed token.
const ALLOCATED_BYTES_FIXED: usize = 1024 * 1024;

/// The directories of one target's inputs.
fn input_directories(target: &Target) -> [PathBuf; 2] {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    [
        fuzz.join("corpus").join(target.name),
        fuzz.join("regressions").join(target.name),
    ]
}

/// Every file in `directory`, sorted; none if the directory is absent.
fn files_in(directory: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// One input file: where it came from, and its bytes.
type Input = (PathBuf, Vec<u8>);

/// Every input of `target`; fails when its corpus is empty or missing.
fn inputs_of(target: &Target) -> Vec<Input> {
    let [corpus, regressions] = input_directories(target);
    let corpus_files = files_in(&corpus);
    assert!(
        !corpus_files.is_empty(),
        "no corpus for fuzz target {} in {}",
        target.name,
        corpus.display()
    );
    corpus_files
        .into_iter()
        .chain(files_in(&regressions))
        .map(|path| {
            let input = std::fs::read(&path).expect("readable corpus file");
            (path, input)
        })
        .collect()
}

#[test]
fn every_corpus_and_regression_input_runs_without_panic_within_the_allocation_bound() {
    let inputs: Vec<(Target, Vec<Input>)> = TARGETS
        .iter()
        .map(|target| (*target, inputs_of(target)))
        .collect();
    // A first pass pays for lazily built state (phone metadata and the served
    // regions' patterns, warmed as a server warms them at start; the voucher
    // key) once, so the measured pass counts only what each input costs.
    for (target, files) in &inputs {
        for (_, input) in files {
            (target.run)(input);
        }
    }
    for (target, files) in &inputs {
        for (path, input) in files {
            let bound = ALLOCATED_BYTES_FIXED + ALLOCATED_BYTES_PER_INPUT_BYTE * input.len();
            let region = Region::new(GLOBAL);
            (target.run)(input);
            let change = region.change();
            let allocated = change.bytes_allocated
                + usize::try_from(change.bytes_reallocated).unwrap_or_default();
            assert!(
                allocated <= bound,
                "{} ({}) allocated {allocated} bytes for {} input bytes (bound {bound})",
                path.display(),
                target.name,
                input.len()
            );
        }
    }
}
