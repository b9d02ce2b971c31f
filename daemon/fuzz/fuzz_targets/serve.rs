//! The serve loop (what a decoder worker runs) with a fake module: records
//! of job message + OUTPUT bytes (see `daemon::fuzzing::serve`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    daemon::fuzzing::allow_caught_panics();
    daemon::fuzzing::serve::run(data);
});
