//! Fuzz target `config_toml`: a configuration file: TOML syntax, typing and validation.
//! The code under test is `heyblue::fuzz_api::config_toml`, shared with the corpus
//! replay in `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    heyblue::fuzz_api::config_toml(input);
});
