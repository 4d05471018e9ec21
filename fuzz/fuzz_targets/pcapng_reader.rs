//! libFuzzer entry point; the work and the checks are in [`portnote_fuzz::read_pcapng`].
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    portnote_fuzz::read_pcapng(input);
});
