//! Fuzz target `roster_csv`: an officer roster CSV, read and validated row by row.
//! The code under test is `heyblue::fuzz_api::roster_csv`, shared with the corpus
//! replay in `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    heyblue::fuzz_api::roster_csv(input);
});
