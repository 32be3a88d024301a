//! Fuzz target `hello_token`: an access token as a client presents it: `hello` in either format, or an `Authorization` header.
//! The code under test is `heyblue::fuzz_api::hello_token`, shared with the corpus
//! replay in `tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    heyblue::fuzz_api::hello_token(input);
});
