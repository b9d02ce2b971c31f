//! What a libva client (libva-v4l2-request under FFmpeg's VAAPI hwaccel) sends and
//! hardware decodes: H264_SPS.level_idc = 0, profile_idc = 0 and order counts offset by
//! 2^16 (DECODE_PARAMS and every DPB entry). The default mode decodes such requests
//! bit-exactly (MD5 of the cropped I420 output against md5.txt, i.e. FFmpeg on the
//! original file) with warnings naming each field; strict mode fails the first request
//! naming them. Also a reserved value hardware ignores (constraint_set reserved_zero_2bits).

mod common;

use std::path::Path;

use ctrls::build::h264::H264Builder;
use ctrls::build::h264::H264Picture;
use ctrls::h264::{ConstraintSetFlags, DecodeFlags, DpbEntryFlags};
use ctrls::CtrlError;
use libdaedalus::codec::h264::synth::effective_sps;
use libdaedalus::replay::{h264_controls, replay_h264_pictures, ReplayOptions, ReplaySummary};
use libdaedalus::{
    CaptureFormat, Codec, ControlSet, Engine, EngineError, EngineOptions, Mismatch, OwnedBuffer,
    Request,
};
use md5::{Digest, Md5};

const WRAP: i32 = 1 << 16;

fn pictures(dir: &Path, name: &str) -> Vec<H264Picture> {
    H264Builder::build_stream(&std::fs::read(dir.join(name)).unwrap()).unwrap()
}

/// level_idc / profile_idc left 0.
fn zero_profile_level(pics: &mut [H264Picture]) {
    for p in pics {
        p.sps.level_idc = 0;
        p.sps.profile_idc = 0;
    }
}

/// Every order count + 2^16, as the VAAPI path sends them.
fn wrap_pocs(pics: &mut [H264Picture]) {
    for p in pics {
        let d = &mut p.decode_params;
        d.top_field_order_cnt = d.top_field_order_cnt.wrapping_add(WRAP);
        d.bottom_field_order_cnt = d.bottom_field_order_cnt.wrapping_add(WRAP);
        for e in d.dpb.iter_mut() {
            if e.flags.contains(DpbEntryFlags::VALID) {
                e.top_field_order_cnt = e.top_field_order_cnt.wrapping_add(WRAP);
                e.bottom_field_order_cnt = e.bottom_field_order_cnt.wrapping_add(WRAP);
            }
        }
    }
}

fn replay(pics: &[H264Picture], strict: bool) -> (ReplaySummary, String) {
    let mut e = Engine::with_options(Codec::H264, EngineOptions::strict(strict)).unwrap();
    let mut md5 = Md5::new();
    let s = replay_h264_pictures(&mut e, pics, &ReplayOptions::default(), |f| {
        md5.update(f);
        Ok(())
    })
    .unwrap();
    (s, format!("{:x}", md5.finalize()))
}

/// Every request's result, in decode order (sticky controls as the replay sends them: the
/// builder pictures carry all of them).
fn requests(pics: &[H264Picture], strict: bool) -> Vec<Result<Vec<Mismatch>, EngineError>> {
    let mut e = Engine::with_options(Codec::H264, EngineOptions::strict(strict)).unwrap();
    pics.iter()
        .map(|p| {
            let c = h264_controls(p);
            let mut buf = OwnedBuffer::new(
                CaptureFormat::Nv12,
                p.display.width_mbs * 16,
                p.display.height_mbs * 16,
            );
            let req = Request {
                controls: &ControlSet::H264(Box::new(c.clone())),
                bitstream: &p.bitstream,
                timestamp: p.timestamp,
                hold_capture: p.hold_capture,
            };
            e.decode(&req, &mut buf.as_dst()).map(|r| r.warnings)
        })
        .collect()
}

fn is_poc_field(f: &str) -> bool {
    f == "H264_DECODE_PARAMS.top_field_order_cnt"
        || f == "H264_DECODE_PARAMS.bottom_field_order_cnt"
        || (f.starts_with("H264_DECODE_PARAMS.dpb[")
            && (f.ends_with("].top_field_order_cnt") || f.ends_with("].bottom_field_order_cnt")))
}

/// The libva rewrite of `name`: default mode bit-exact with only the expected warnings,
/// strict mode failing the first request. Returns (requests, warnings) for the log.
fn libva_case(dir: &Path, name: &str, want_profile: u8) -> (usize, usize) {
    let want = common::published_md5(dir, name);
    let orig = pictures(dir, name);
    // The untouched stream: bit-exact, no warning (the reference for what follows).
    let (s, md5) = replay(&orig, false);
    assert_eq!(
        (md5.as_str(), s.failed.len(), s.warnings),
        (want.as_str(), 0, 0)
    );

    let mut pics = orig.clone();
    zero_profile_level(&mut pics);
    wrap_pocs(&mut pics);
    assert_eq!(
        effective_sps(&pics[0].sps, &pics[0].pps).profile_idc,
        want_profile,
        "{name}: synthesized profile"
    );
    assert_eq!(effective_sps(&pics[0].sps, &pics[0].pps).level_idc, 62);

    // Default mode: bit-exact, nothing failed.
    let (s, md5) = replay(&pics, false);
    assert_eq!(md5, want, "{name}: MD5 in default mode");
    assert!(s.failed.is_empty(), "{name}: failed {:?}", s.failed);

    // The warnings, per request: the SPS ones when the SPS is sent, one per order count
    // of the picture and of each DPB entry it uses, all "equal modulo 2^16".
    let results = requests(&pics, false);
    let mut total = 0;
    for (i, r) in results.iter().enumerate() {
        let w = r.as_ref().unwrap_or_else(|e| panic!("{name} #{i}: {e}"));
        total += w.len();
        for m in w {
            if m.field == "H264_SPS.level_idc" || m.field == "H264_SPS.profile_idc" {
                assert_eq!(m.got, "0", "{name} #{i}: {m}");
            } else {
                assert!(is_poc_field(&m.field), "{name} #{i}: unexpected {m}");
                assert!(
                    m.expected
                        .ends_with("(equal modulo 2^16: a wrapped order count)"),
                    "{name} #{i}: {m}"
                );
                let e: i64 = m.expected.split(' ').next().unwrap().parse().unwrap();
                let g: i64 = m.got.parse().unwrap();
                assert_eq!(g - e, WRAP as i64, "{name} #{i}: {m}");
            }
        }
        let has = |f: &str| w.iter().any(|m| m.field == f);
        let bottom = pics[i]
            .decode_params
            .flags
            .contains(DecodeFlags::BOTTOM_FIELD);
        if !bottom {
            assert!(
                has("H264_DECODE_PARAMS.top_field_order_cnt"),
                "{name} #{i}: {w:?}"
            );
        }
        if i == 0 {
            assert!(has("H264_SPS.level_idc") && has("H264_SPS.profile_idc"));
        }
    }
    // Strict mode: the first request fails naming the SPS fields ...
    let r = requests(&pics, true);
    match &r[0] {
        Err(EngineError::Control(CtrlError::Invalid(v))) => {
            let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
            assert_eq!(fields, ["profile_idc", "level_idc"], "{name}");
        }
        other => panic!("{name}: strict first request: {other:?}"),
    }
    // ... and with only the order counts wrapped, naming the order count.
    let mut only_pocs = orig.clone();
    wrap_pocs(&mut only_pocs);
    let r = requests(&only_pocs[..1], true);
    match &r[0] {
        Err(EngineError::Mismatch(v)) => {
            assert!(
                v.iter()
                    .any(|m| m.field == "H264_DECODE_PARAMS.top_field_order_cnt"),
                "{name}: {v:?}"
            );
            assert!(v.iter().all(|m| is_poc_field(&m.field)), "{name}: {v:?}");
        }
        other => panic!("{name}: strict first request: {other:?}"),
    }
    let n = results.len();
    eprintln!("ok   {name}: {n} requests, {total} warnings, MD5 {want}");
    (n, total)
}

#[test]
fn libva_controls_decode_bit_exact_jvt() {
    let Some(dir) = common::jvt_vectors() else {
        return;
    };
    // Baseline streams (CAVLC, slices, multiple reference frames) and a Main one.
    for (name, profile) in [
        ("BA_MW_D.264", 66),
        ("SVA_BA2_D.264", 66),
        ("BA1_FT_C.264", 66),
        ("MR1_BT_A.h264", 66),
        // A Main stream whose SPS/PPS use no Main-only syntax: Baseline is enough.
        ("CVPCMNL1_SVA_C.264", 66),
    ] {
        libva_case(&dir, name, profile);
    }
}

#[test]
fn libva_controls_decode_bit_exact_high_and_field() {
    let Some(dir) = common::frext_vectors() else {
        return;
    };
    for (name, profile) in [("FRExt1_Panasonic.avc", 100), ("freh3.264", 100)] {
        libva_case(&dir, name, profile);
    }
    // A stream with field pictures (PAFF): both fields' counts wrapped.
    let mut field = None;
    for name in ["HPCAFLNL_BRCM_C.264", "CVSE3_Sony_H.jsv", "HCAMFF1_HHI.264"] {
        if !dir.join(name).exists() {
            continue;
        }
        let pics = pictures(&dir, name);
        if pics
            .iter()
            .any(|p| p.decode_params.flags.contains(DecodeFlags::FIELD_PIC))
        {
            field = Some(name);
            break;
        }
    }
    let name = field.expect("a FRExt stream with field pictures");
    libva_case(&dir, name, 100);
}

/// SPS constraint_set reserved_zero_2bits set: hardware ignores them (the kernel does not
/// look at H.264 flag bits); the default mode decodes bit-exactly with one warning per SPS
/// sent, strict mode fails the first request with the typed error.
#[test]
fn reserved_constraint_bits_are_a_warning() {
    let Some(dir) = common::jvt_vectors() else {
        return;
    };
    let name = "BA_MW_D.264";
    let want = common::published_md5(&dir, name);
    let mut pics = pictures(&dir, name);
    for p in &mut pics {
        p.sps.constraint_set_flags =
            ConstraintSetFlags::from_bits_retain(p.sps.constraint_set_flags.bits() | 0xc0);
    }
    let (s, md5) = replay(&pics, false);
    assert_eq!((md5.as_str(), s.failed.len()), (want.as_str(), 0));
    let r = requests(&pics, false);
    let w = r[0].as_ref().unwrap();
    assert_eq!(
        w,
        &vec![Mismatch {
            field: "H264_SPS.constraint_set_flags".into(),
            expected: "no undefined bits".into(),
            got: "0xc0".into(),
        }]
    );
    assert_eq!(s.warnings, 1, "one warning: the SPS is sent once");
    let r = requests(&pics[..1], true);
    match &r[0] {
        Err(EngineError::Control(e)) => assert_eq!(
            e,
            &CtrlError::ReservedBits {
                control: "H264_SPS",
                field: "constraint_set_flags",
                bits: 0xc0
            }
        ),
        other => panic!("strict: {other:?}"),
    }
}

/// The same libva rewrite as daedalus-decode's `--emulate libva` plays it through the
/// device (`ctrls::source::quirks`), through the replay: default mode bit-exact with the
/// fields named, strict mode failing the first request.
#[test]
fn libva_quirk_source_decodes_bit_exact_and_strict_names_the_fields() {
    use ctrls::source::h264::H264Source;
    use ctrls::source::quirks::{ClientQuirk, WithQuirk};
    use libdaedalus::replay::replay_source;

    let Some(dir) = common::jvt_vectors() else {
        return;
    };
    for name in ["BA_MW_D.264", "MR1_BT_A.h264"] {
        let want = common::published_md5(&dir, name);
        let data = std::fs::read(dir.join(name)).unwrap();
        for strict in [false, true] {
            let src = Box::new(H264Source::new(&data).unwrap());
            let mut src = WithQuirk::new(src, ClientQuirk::LibvaH264).unwrap();
            let opts = ReplayOptions {
                format: None,
                engine: EngineOptions::strict(strict),
            };
            let mut engine = Engine::with_options(Codec::H264, opts.engine).unwrap();
            let mut md5 = Md5::new();
            let s = replay_source(&mut engine, &mut src, &opts, |f| {
                md5.update(f);
                Ok(())
            })
            .unwrap();
            if strict {
                let (first, why) = &s.failed[0];
                assert_eq!(*first, 0, "{name}: the first request fails");
                assert!(why.contains("level_idc"), "{name}: {why}");
                assert!(why.contains("profile_idc"), "{name}: {why}");
            } else {
                assert!(s.failed.is_empty(), "{name}: {:?}", s.failed);
                assert!(s.warnings >= s.requests, "{name}: every request warns");
                assert_eq!(format!("{:x}", md5.finalize()), want, "{name}");
            }
        }
    }
}
