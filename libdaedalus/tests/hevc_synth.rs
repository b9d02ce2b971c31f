//! HEVC parameter set synthesis and slice header rewriting, end to end without
//! the engine: the HEVC builder gives the controls and OUTPUT bytes of each
//! shared vector as v4l2slh265dec sends them; from those alone a VPS, SPS and
//! PPS are synthesized (only when they change) and every slice segment is
//! rewritten with an explicit RPS; FFmpeg decodes that stream, cropped to the
//! conformance window the controls do not carry, to the published MD5 (FFmpeg
//! on the original file).

use std::path::Path;
use std::process::Command;

use ctrls::build::hevc::{HevcBuilder, HevcPicture};
use libdaedalus::codec::hevc::{slice, synth};
use md5::{Digest, Md5};

mod common;

/// The Annex B stream a decoder gets from the controls: parameter sets when
/// they change, each slice segment rewritten. Also says how many slices the
/// rewrite changed.
fn synthesize(name: &str, pics: &[HevcPicture]) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut rewritten = 0;
    let mut sent: Option<(
        ctrls::hevc::Sps,
        ctrls::hevc::Pps,
        ctrls::hevc::ScalingMatrix,
    )> = None;
    for p in pics {
        let n = p.decode_index;
        let sps_changed = sent.as_ref().is_none_or(|(s, _, _)| *s != p.sps);
        if sps_changed {
            out.extend(synth::vps(&p.sps).unwrap_or_else(|e| panic!("{name} #{n}: {e}")));
            out.extend(synth::sps(&p.sps).unwrap_or_else(|e| panic!("{name} #{n}: {e}")));
        }
        if sps_changed
            || sent
                .as_ref()
                .is_some_and(|(_, q, m)| *q != p.pps || *m != p.scaling_matrix)
        {
            out.extend(
                synth::pps(&p.sps, &p.pps, &p.scaling_matrix)
                    .unwrap_or_else(|e| panic!("{name} #{n}: {e}")),
            );
        }
        sent = Some((p.sps, p.pps, p.scaling_matrix));
        let rps = slice::StRps::from_decode_params(&p.decode_params)
            .unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
        let mut at = 0;
        for sp in &p.slice_params {
            let len = (sp.bit_size / 8) as usize;
            let nal = &p.bitstream[at + 3..at + len];
            at += len;
            let new = slice::rewrite(nal, sp, &p.sps, &p.pps, &rps, 3)
                .unwrap_or_else(|e| panic!("{name} #{n}: {e}"));
            if new != nal {
                rewritten += 1;
            }
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(&new);
        }
    }
    (out, rewritten)
}

fn ffmpeg_md5_cropped(file: &Path, crop: &ctrls::build::hevc::CropRect) -> (String, usize) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-threads", "1", "-i"])
        .arg(file)
        .args([
            "-vf",
            &format!(
                "crop={}:{}:{}:{}",
                crop.width, crop.height, crop.left, crop.top
            ),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-",
        ])
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (format!("{:x}", Md5::digest(&out.stdout)), out.stdout.len())
}

#[test]
fn vectors_decode_bit_exact_from_synthesized_headers() {
    let Some(dir) = common::hevc_vectors() else {
        return;
    };
    if !common::need_ffmpeg("vectors_decode_bit_exact_from_synthesized_headers") {
        return;
    }
    let list = std::fs::read_to_string(dir.join("md5.txt")).unwrap();
    let mut names: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    names.sort_unstable();
    assert_eq!(names.len(), 7, "the 7 HEVC vectors of md5.txt");
    let tmp = common::tmpdir("hevc-synth");
    let mut rewritten_total = 0;
    for name in names {
        let data = std::fs::read(dir.join(name)).unwrap();
        let pics = HevcBuilder::build_stream(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        let crop = pics[0].display.crop;
        assert!(
            pics.iter().all(|p| p.display.crop == crop),
            "{name}: one conformance window"
        );
        let (stream, rewritten) = synthesize(name, &pics);
        rewritten_total += rewritten;
        let file = tmp.join(format!("{name}.h265"));
        std::fs::write(&file, &stream).unwrap();
        let (md5, bytes) = ffmpeg_md5_cropped(&file, &crop);
        let want = common::published_md5(&dir, name);
        println!(
            "{name}: {} pictures, {rewritten} of {} slices rewritten, {bytes} bytes, MD5 {md5}",
            pics.len(),
            pics.iter().map(|p| p.slice_params.len()).sum::<usize>()
        );
        assert_eq!(md5, want, "{name}: decode of the synthesized stream");
    }
    // The rewrite itself must have been exercised (streams with SPS RPS sets).
    assert!(rewritten_total > 0, "no slice needed a rewrite");
}
