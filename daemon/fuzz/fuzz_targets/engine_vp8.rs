//! The engine on vp8 requests: controls + bitstream records (see
//! `daemon::fuzzing::engine`), seeded from real streams.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    daemon::fuzzing::allow_caught_panics();
    daemon::fuzzing::engine::run(ctrls::Codec::Vp8, data);
});
