//! Fuzz target `client_frame_msgpack`: a client's WebSocket binary frame (MessagePack), decoded and, when refused, answered.
//! The code under test is `heyblue::fuzz_api::client_frame_message_pack`, shared with the corpus
//! replay in `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    heyblue::fuzz_api::client_frame_message_pack(input);
});
