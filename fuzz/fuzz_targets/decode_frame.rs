//! libFuzzer entry point; the work and the checks are in [`portnote_fuzz::decode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    portnote_fuzz::decode(input);
});
