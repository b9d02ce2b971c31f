//! Snapshot of the exact ext-control arrays daedalus-decode sets for the first
//! five pictures of the JVT stream BA_MW_D.264: ids, sizes, `which`, and the
//! payloads in their serde form (parsed back from the bytes that go to the
//! kernel, so the snapshot shows what the ioctl carries).

mod common;

use std::path::PathBuf;

use ctrls::h264::{DecodeParams, Pps, ScalingMatrix, Sps};
use ctrls::set::Payload as Sent;
use ctrls::source::h264::H264Source;
use ctrls::source::PictureSource;
use ctrls::Control;
use request_api::controls::{entries, WHICH_REQUEST_VAL};
use serde::Serialize;

#[derive(Serialize)]
struct Entry {
    id: String,
    name: &'static str,
    size: u32,
    payload: Payload,
}

/// The typed payload of each control, serialized through ctrls' serde form.
#[derive(Serialize)]
#[serde(untagged)]
enum Payload {
    Sps(Box<Sps>),
    Pps(Pps),
    ScalingMatrix(Box<ScalingMatrix>),
    DecodeParams(Box<DecodeParams>),
}

#[derive(Serialize)]
struct Request {
    decode_index: usize,
    timestamp: u64,
    field: String,
    output_bytes: usize,
    which: String,
    controls: Vec<Entry>,
}

fn typed(c: &Sent) -> (&'static str, Payload) {
    use Payload as P;
    match c.id {
        Sps::ID => ("H264_SPS", P::Sps(Box::new(Sps::parse(&c.bytes).unwrap()))),
        Pps::ID => ("H264_PPS", P::Pps(Pps::parse(&c.bytes).unwrap())),
        ScalingMatrix::ID => (
            "H264_SCALING_MATRIX",
            P::ScalingMatrix(Box::new(ScalingMatrix::parse(&c.bytes).unwrap())),
        ),
        DecodeParams::ID => (
            "H264_DECODE_PARAMS",
            P::DecodeParams(Box::new(DecodeParams::parse(&c.bytes).unwrap())),
        ),
        other => panic!("unexpected control {other:#x}"),
    }
}

#[test]
fn ba_mw_d_first_five_requests() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/h264-jvt/BA_MW_D.264");
    let Ok(data) = std::fs::read(&path) else {
        common::not_run(&format!("{} is absent", path.display()));
        return;
    };
    let mut src = H264Source::new(&data).expect("BA_MW_D.264 builds");
    let mut requests = Vec::new();
    for i in 0..5 {
        let pic = src.next_picture().unwrap().expect("at least 5 pictures");
        let list = entries(&pic.controls);
        let controls = pic
            .controls
            .iter()
            .zip(list)
            .map(|(c, e)| {
                let (name, payload) = typed(c);
                Entry {
                    id: format!("{:#010x}", e.id),
                    name,
                    size: e.size,
                    payload,
                }
            })
            .collect();
        requests.push(Request {
            decode_index: i,
            timestamp: pic.timestamp,
            field: format!("{:?}", pic.field),
            output_bytes: pic.bitstream.len(),
            which: format!("{WHICH_REQUEST_VAL:#010x}"),
            controls,
        });
    }
    insta::assert_yaml_snapshot!(requests);
}
