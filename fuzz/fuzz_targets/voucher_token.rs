//! Fuzz target `voucher_token`: a voucher token presented at a counter, and arbitrary payloads behind a valid signature.
//! The code under test is `heyblue::fuzz_api::voucher_token`, shared with the corpus
//! replay in `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    heyblue::fuzz_api::voucher_token(input);
});
