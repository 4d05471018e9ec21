//! libFuzzer entry point; the work and the checks are in [`portnote_fuzz::load_registry`].
#![no_main]

use portnote::registry::RegistryFormat;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let _outcome = portnote_fuzz::load_registry(RegistryFormat::IanaCsv, input);
});
