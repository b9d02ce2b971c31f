//! The /dev/daedalus message parser on arbitrary bytes: Ok or a typed error,
//! and every control a parsed job names lies inside the message.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    daemon::fuzzing::allow_caught_panics();
    daemon::fuzzing::proto(data);
});
