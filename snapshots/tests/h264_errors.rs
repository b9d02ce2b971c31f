//! Malformed streams: the H.264 builder returns a typed error carrying the byte
//! offset of the offending NAL unit, and never panics.

use std::path::PathBuf;

use ctrls::build::annexb;
use ctrls::build::h264::{BuildError, H264Builder};

fn stream() -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/x264_high_bframes.264");
    std::fs::read(p).unwrap()
}

/// Offsets of the NAL unit headers of the given type.
fn nal_offsets(data: &[u8], nal_type: u8) -> Vec<usize> {
    annexb::split(data)
        .filter(|n| n.h264_type() == nal_type)
        .map(|n| n.offset)
        .collect()
}

/// xorshift64*: deterministic bytes without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn whole_stream_builds() {
    let pics = H264Builder::build_stream(&stream()).unwrap();
    assert_eq!(pics.len(), 24);
}

#[test]
fn garbage_without_start_code() {
    let mut rng = Rng(0x1234_5678);
    let mut data: Vec<u8> = (0..4096).map(|_| (rng.next() >> 24) as u8 | 0x02).collect();
    data[0] = 0x47;
    match H264Builder::build_stream(&data) {
        Err(BuildError::NoStartCode { offset, len }) => {
            assert_eq!((offset, len), (0, 4096));
        }
        other => panic!("expected NoStartCode, got {other:?}"),
    }
}

#[test]
fn garbage_before_first_start_code_is_located() {
    let mut data = vec![0, 0, 0x33, 0x44];
    data.extend(stream());
    let e = H264Builder::build_stream(&data).unwrap_err();
    // The zero byte of the 4-byte start code counts as data before it.
    assert_eq!(e, BuildError::NoStartCode { offset: 2, len: 3 });
    assert_eq!(e.offset(), 2);
}

#[test]
fn truncated_sps_reports_its_offset() {
    let data = stream();
    let sps = nal_offsets(&data, 7)[0];
    let e = H264Builder::build_stream(&data[..sps + 3]).unwrap_err();
    match &e {
        BuildError::Parse {
            offset, nal_type, ..
        } => assert_eq!((*offset, *nal_type), (sps, 7)),
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(e.to_string().starts_with(&format!("byte {sps}:")), "{e}");
}

#[test]
fn truncated_slice_header_reports_its_offset() {
    let data = stream();
    let slice = nal_offsets(&data, 5)[0];
    let e = H264Builder::build_stream(&data[..slice + 2]).unwrap_err();
    assert_eq!(e.offset(), slice, "{e}");
}

#[test]
fn slice_without_parameter_sets() {
    let data = stream();
    let slice = nal_offsets(&data, 5)[0];
    // Drop SPS and PPS: keep a start code and everything from the IDR slice on.
    let mut cut = vec![0, 0, 1];
    cut.extend_from_slice(&data[slice..]);
    let e = H264Builder::build_stream(&cut).unwrap_err();
    assert_eq!(e.offset(), 3, "{e}");
}

#[test]
fn forbidden_bit_is_an_error() {
    let mut data = stream();
    let slice = nal_offsets(&data, 1)[2];
    data[slice] |= 0x80;
    let e = H264Builder::build_stream(&data).unwrap_err();
    assert!(
        matches!(e, BuildError::Stream { offset, .. } if offset == slice),
        "{e:?}"
    );
}

#[test]
fn every_truncation_point_is_handled() {
    let data = stream();
    let mut errors = 0;
    for end in 0..data.len().min(3000) {
        match H264Builder::build_stream(&data[..end]) {
            Ok(_) => {}
            Err(e) => {
                assert!(
                    e.offset() < end.max(1),
                    "offset {} past end {end}: {e}",
                    e.offset()
                );
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}

#[test]
fn corrupted_bytes_never_panic() {
    let base = stream();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut errors = 0;
    for _ in 0..400 {
        let mut data = base.clone();
        for _ in 0..1 + rng.next() % 8 {
            let i = (rng.next() % data.len() as u64) as usize;
            data[i] ^= 1 << (rng.next() % 8);
        }
        // Feed in random chunks to exercise the incremental path too.
        let mut b = H264Builder::new();
        let mut result = Ok(());
        let mut pos = 0;
        while pos < data.len() && result.is_ok() {
            let n = 1 + (rng.next() % 700) as usize;
            let end = (pos + n).min(data.len());
            result = b.push(&data[pos..end]).map(|_| ());
            pos = end;
        }
        let result = result.and_then(|_| b.finish().map(|_| ()));
        if let Err(e) = result {
            assert!(e.offset() < data.len(), "{e}");
            errors += 1;
        }
    }
    assert!(errors > 0, "no corruption was detected at all");
}
