//! Fuzz target `client_frame_json`: a client's WebSocket text frame (JSON), decoded and, when refused, answered.
//! The code under test is `heyblue::fuzz_api::client_frame_json`, shared with the corpus
//! replay in `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    heyblue::fuzz_api::client_frame_json(input);
});
