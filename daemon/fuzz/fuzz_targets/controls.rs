//! Every control type on arbitrary bytes: parse / view / parse_array must
//! return Ok or a typed error (never panic); any value (checked or not)
//! must validate without panicking and serialize; a value that passes
//! check() must survive a serde JSON round trip unchanged.
#![no_main]

use ctrls::{av1, h264, hevc, mpeg2, vp8, vp9, Control};
use libfuzzer_sys::fuzz_target;

fn run<C>(data: &[u8])
where
    C: Control + core::fmt::Debug + PartialEq + serde::Serialize + serde::de::DeserializeOwned,
{
    let parsed = C::parse(data);
    let _ = C::view(data);
    let _ = C::parse_array(data);
    if let Ok(v) = &parsed {
        assert_eq!(v.to_bytes(), data);
    }
    // Unchecked value from the prefix: every rule must cope with any bits.
    if let Ok((v, _)) = C::read_from_prefix(data) {
        let mut out = Vec::new();
        v.violations(&mut out);
        v.soft_violations(&mut out);
        let checked = v.check();
        let validated = v.validate();
        match &checked {
            Err(e) => assert_eq!(validated.as_ref(), Err(e)),
            Ok(()) => assert_eq!(validated.is_ok(), out.is_empty()),
        }
        let _ = format!("{v:?}");
        let json = serde_json::to_string(&v).expect("serialize");
        if checked.is_ok() {
            let back: C = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, v, "round trip via {json}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run::<h264::Sps>(data);
    run::<h264::Pps>(data);
    run::<h264::ScalingMatrix>(data);
    run::<h264::PredWeights>(data);
    run::<h264::SliceParams>(data);
    run::<h264::DecodeParams>(data);
    run::<h264::DecodeModeCtrl>(data);
    run::<h264::StartCodeCtrl>(data);
    run::<hevc::Sps>(data);
    run::<hevc::Pps>(data);
    run::<hevc::SliceParams>(data);
    run::<hevc::ScalingMatrix>(data);
    run::<hevc::DecodeParams>(data);
    run::<hevc::DecodeModeCtrl>(data);
    run::<hevc::StartCodeCtrl>(data);
    run::<hevc::EntryPointOffset>(data);
    run::<hevc::ExtSpsStRps>(data);
    run::<hevc::ExtSpsLtRps>(data);
    run::<vp8::Frame>(data);
    run::<vp9::Frame>(data);
    run::<vp9::CompressedHdr>(data);
    run::<av1::Sequence>(data);
    run::<av1::TileGroupEntry>(data);
    run::<av1::Frame>(data);
    run::<av1::FilmGrain>(data);
    run::<mpeg2::Sequence>(data);
    run::<mpeg2::Picture>(data);
    run::<mpeg2::Quantisation>(data);
});
