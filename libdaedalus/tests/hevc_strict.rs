//! HEVC strict mode: the controls the builder makes from every shared vector agree with
//! the slice headers and the tracked DPB (strict replays bit-exact, no warning); a
//! control changed in one request is reported there by its exact field name (strict:
//! the request fails with EngineError::Mismatch; otherwise a warning, and the stream
//! still decodes bit-exact where the engine does not use the field).

use ctrls::build::hevc::{HevcBuilder, HevcPicture};
use ctrls::hevc::DecodeMode;
use ctrls::source::hevc::HevcSource;
use libdaedalus::replay::{
    hevc_controls, replay, replay_source, replay_source_with, ReplayOptions, ReplaySummary,
};
use libdaedalus::{
    CaptureFormat, Codec, ControlSet, Engine, EngineError, EngineOptions, OwnedBuffer, Request,
};
use md5::{Digest, Md5};

mod common;

fn strict() -> ReplayOptions {
    ReplayOptions {
        format: None,
        engine: EngineOptions::strict(true),
    }
}

#[test]
fn every_vector_is_strict_clean_and_bit_exact() {
    let Some(vectors) = common::hevc_vector_list() else {
        return;
    };
    let mut n = 0;
    for v in &vectors {
        let (name, data, want) = (v.name.as_str(), v.data.as_slice(), v.md5.as_str());
        let mut md5 = Md5::default();
        let summary = replay(Codec::Hevc, data, &strict(), |frame| {
            md5.update(frame);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        println!("{name}: {summary:?}");
        assert!(summary.failed.is_empty(), "{name}: {:?}", summary.failed);
        assert_eq!(summary.warnings, 0, "{name}");
        assert!(summary.requests > 0, "{name}");
        assert_eq!(format!("{:x}", md5.finalize()), want, "{name}");
        n += 1;
    }
    assert_eq!(n, 7, "the 7 vectors of md5.txt");
}

/// A vector whose SPS has no RPS sets and no long-term pictures (the engine rewrites no
/// slice header, so the RPS controls do not change what FFmpeg decodes) and whose
/// slices code their RPS explicitly: (pictures, published MD5).
fn explicit_rps_stream() -> Option<(Vec<HevcPicture>, String, String)> {
    for v in common::hevc_vector_list()? {
        let (name, want) = (v.name.as_str(), v.md5.as_str());
        let pics = HevcBuilder::build_stream(&v.data).unwrap();
        let usable = pics.iter().all(|p| {
            p.sps.num_short_term_ref_pic_sets == 0
                && p.sps.num_long_term_ref_pics_sps == 0
                && p.sps.bit_depth_luma_minus8 == 0
        }) && pics
            .iter()
            .any(|p| p.decode_params.num_poc_st_curr_before > 1);
        if usable {
            return Some((pics, want.to_string(), name.to_string()));
        }
    }
    panic!("no vector codes its RPS in the slice headers only");
}

fn controls(p: &HevcPicture) -> ControlSet {
    ControlSet::Hevc(Box::new(hevc_controls(p)))
}

/// Strict mode: decodes pics[..k] (clean), then pics[k]: its result.
fn strict_result(pics: &[HevcPicture], k: usize) -> Result<libdaedalus::DecodeReport, EngineError> {
    let mut e = Engine::with_options(Codec::Hevc, EngineOptions::strict(true)).unwrap();
    let mut last = None;
    for p in &pics[..=k] {
        let mut buf = OwnedBuffer::new(CaptureFormat::Nv12, p.display.width, p.display.height);
        let set = controls(p);
        let req = Request {
            controls: &set,
            bitstream: &p.bitstream,
            timestamp: p.timestamp,
            hold_capture: false,
        };
        last = Some(e.decode(&req, &mut buf.as_dst()));
        if p.decode_index < k as u32 {
            last.as_ref().unwrap().as_ref().expect("a clean request");
        }
    }
    last.unwrap()
}

fn replay_pics(pics: &[HevcPicture], opts: &ReplayOptions) -> (ReplaySummary, String) {
    let mut e = Engine::with_options(Codec::Hevc, opts.engine).unwrap();
    let mut src = HevcSource::from_pictures(pics.to_vec());
    let mut md5 = Md5::default();
    let s = replay_source(&mut e, &mut src, opts, |f| {
        md5.update(f);
        Ok(())
    })
    .unwrap();
    (s, format!("{:x}", md5.finalize()))
}

/// Alters picture `k` with `corrupt`; asserts strict mode fails it with a Mismatch named
/// `field`, and the lenient replay decodes the whole stream bit-exact with warnings.
fn corrupted(field: &str, pick: impl Fn(&HevcPicture) -> bool, corrupt: impl Fn(&mut HevcPicture)) {
    corrupted_in(explicit_rps_stream(), field, pick, corrupt);
}

/// [`corrupted`] on the long-term stream of tests/common/hevc_writer.rs.
fn corrupted_lt(
    field: &str,
    pick: impl Fn(&HevcPicture) -> bool,
    corrupt: impl Fn(&mut HevcPicture),
) {
    let Some(f) = common::fixture("HEVC long-term strict", "hevc-own-long-term-352x288") else {
        return;
    };
    let pics = HevcBuilder::build_stream(&std::fs::read(&f.path).unwrap()).unwrap();
    corrupted_in(Some((pics, f.md5, f.name)), field, pick, corrupt);
}

fn corrupted_in(
    stream: Option<(Vec<HevcPicture>, String, String)>,
    field: &str,
    pick: impl Fn(&HevcPicture) -> bool,
    corrupt: impl Fn(&mut HevcPicture),
) {
    let Some((mut pics, md5, name)) = stream else {
        return;
    };
    let k = pics
        .iter()
        .position(|p| p.decode_index > 0 && pick(p))
        .unwrap_or_else(|| panic!("{name}: no picture to alter for {field}"));
    let (clean, _) = replay_pics(&pics, &strict());
    assert!(clean.failed.is_empty(), "{name}: {:?}", clean.failed);
    corrupt(&mut pics[k]);
    match strict_result(&pics, k) {
        Err(EngineError::Mismatch(v)) => {
            assert!(
                v.iter().any(|m| m.field == field),
                "{name} request {k}: {field} not among {v:?}"
            );
        }
        other => panic!("{name} request {k}: expected a Mismatch on {field}, got {other:?}"),
    }
    let (s, got) = replay_pics(&pics, &ReplayOptions::default());
    assert!(s.failed.is_empty(), "{name}: {:?}", s.failed);
    assert!(s.warnings > 0, "{name}: no warning for {field}");
    assert_eq!(got, md5, "{name}: lenient decode with {field} altered");
    println!("{name}: request {k}, {field}: {s:?}");
}

#[test]
fn wrong_pic_order_cnt_val() {
    corrupted(
        "HEVC_DECODE_PARAMS.pic_order_cnt_val",
        |p| p.decode_params.num_active_dpb_entries > 0,
        |p| p.decode_params.pic_order_cnt_val += 1,
    );
}

#[test]
fn wrong_num_poc_st_curr_before() {
    corrupted(
        "HEVC_DECODE_PARAMS.num_poc_st_curr_before",
        |p| p.decode_params.num_poc_st_curr_before > 1,
        |p| p.decode_params.num_poc_st_curr_before -= 1,
    );
}

#[test]
fn wrong_dpb_pic_order_cnt_val() {
    corrupted(
        "HEVC_DECODE_PARAMS.dpb[0].pic_order_cnt_val",
        |p| p.decode_params.num_active_dpb_entries > 1,
        |p| p.decode_params.dpb[0].pic_order_cnt_val -= 100,
    );
}

#[test]
fn wrong_slice_type() {
    corrupted(
        "HEVC_SLICE_PARAMS[0].slice_type",
        |p| p.slice_params[0].slice_type != 2,
        |p| p.slice_params[0].slice_type = 2,
    );
}

#[test]
fn wrong_short_term_ref_pic_set_size() {
    corrupted(
        "HEVC_DECODE_PARAMS.short_term_ref_pic_set_size",
        |p| p.decode_params.short_term_ref_pic_set_size > 0,
        |p| p.decode_params.short_term_ref_pic_set_size += 3,
    );
}

#[test]
fn dpb_entry_never_decoded() {
    corrupted(
        "HEVC_DECODE_PARAMS.dpb[0].timestamp",
        |p| p.decode_params.num_active_dpb_entries > 0,
        |p| p.decode_params.dpb[0].timestamp = 999_999_000,
    );
}

#[test]
fn long_term_entry_not_flagged_long_term() {
    corrupted_lt(
        "HEVC_DECODE_PARAMS.dpb[0].flags",
        |p| p.decode_params.num_poc_lt_curr == 1 && p.decode_params.poc_lt_curr[0] == 0,
        |p| p.decode_params.dpb[0].flags = ctrls::hevc::DpbEntryFlags::empty(),
    );
}

#[test]
fn short_term_entry_flagged_long_term() {
    corrupted_lt(
        "HEVC_DECODE_PARAMS.dpb[1].flags",
        |p| {
            p.decode_params.num_poc_st_curr_before == 1
                && p.decode_params.poc_st_curr_before[0] == 1
        },
        |p| p.decode_params.dpb[1].flags = ctrls::hevc::DpbEntryFlags::LONG_TERM_REFERENCE,
    );
}

#[test]
fn unused_long_term_entry_not_flagged() {
    corrupted_lt(
        "HEVC_DECODE_PARAMS.dpb[0].flags",
        |p| {
            let dp = &p.decode_params;
            dp.num_poc_lt_curr == 0
                && dp.dpb[0]
                    .flags
                    .contains(ctrls::hevc::DpbEntryFlags::LONG_TERM_REFERENCE)
        },
        |p| p.decode_params.dpb[0].flags = ctrls::hevc::DpbEntryFlags::empty(),
    );
}

#[test]
fn wrong_poc_lt_curr_index() {
    corrupted_lt(
        "HEVC_DECODE_PARAMS.poc_lt_curr[0]",
        |p| p.decode_params.num_poc_lt_curr == 1 && p.decode_params.num_active_dpb_entries > 1,
        |p| {
            let dp = &mut p.decode_params;
            dp.poc_lt_curr[0] = (dp.poc_lt_curr[0] + 1) % dp.num_active_dpb_entries;
        },
    );
}

#[test]
fn wrong_long_term_ref_pic_set_size() {
    corrupted_lt(
        "HEVC_DECODE_PARAMS.long_term_ref_pic_set_size",
        |p| p.decode_params.long_term_ref_pic_set_size > 0,
        |p| p.decode_params.long_term_ref_pic_set_size -= 1,
    );
}

/// What the builder's controls say the vectors use (printed; the strict replay above
/// covers it): pictures whose slices use an SPS RPS / code their own, pictures of more
/// than one slice segment, dependent segments, entry points, long-term references.
#[test]
fn vector_features_printed_and_explicit_rps_present() {
    let Some(vectors) = common::hevc_vector_list() else {
        return;
    };
    let mut explicit_total = 0;
    for v in &vectors {
        let name = v.name.as_str();
        let pics = HevcBuilder::build_stream(&v.data).unwrap();
        let count = |f: &dyn Fn(&HevcPicture) -> bool| pics.iter().filter(|p| f(p)).count();
        let explicit = count(&|p| p.decode_params.short_term_ref_pic_set_size > 0);
        explicit_total += explicit;
        println!(
            "{}: {} pictures, sps rps sets {}, explicit slice rps {explicit}, multi-slice {}, \
             dependent {}, entry points {}, long-term {}",
            name.trim(),
            pics.len(),
            pics[0].sps.num_short_term_ref_pic_sets,
            count(&|p| p.slice_params.len() > 1),
            count(&|p| p.slice_params.iter().any(|s| s
                .flags
                .contains(ctrls::hevc::SliceFlags::DEPENDENT_SLICE_SEGMENT))),
            count(&|p| !p.entry_point_offsets.is_empty()),
            count(&|p| p.decode_params.num_poc_lt_curr > 0),
        );
    }
    assert!(
        explicit_total > 0,
        "no vector codes an RPS in its slice headers"
    );
}

/// A client that sends no SLICE_PARAMS: the checker reads the OUTPUT buffer's NAL units
/// (a stream the engine need not rewrite), strict and clean.
#[test]
fn without_slice_params_strict_clean() {
    let Some((pics, md5, name)) = explicit_rps_stream() else {
        return;
    };
    let mut e = Engine::with_options(Codec::Hevc, EngineOptions::strict(true)).unwrap();
    let mut src = HevcSource::from_pictures(pics);
    let mut h = Md5::default();
    let s = replay_source_with(
        &mut e,
        &mut src,
        &strict(),
        |_, set, _| {
            if let ControlSet::Hevc(c) = set {
                c.slice_params = vec![ctrls::hevc::SliceParams::default()];
            }
        },
        |f| {
            h.update(f);
            Ok(())
        },
    )
    .unwrap();
    assert!(s.failed.is_empty(), "{name}: {:?}", s.failed);
    assert_eq!(s.warnings, 0, "{name}");
    assert_eq!(format!("{:x}", h.finalize()), md5, "{name}");
}

/// Slice-based mode (one request per slice segment) in strict mode: clean on the
/// multi-slice WPP libx265 stream and the vectors; a slice type altered in the third
/// segment's request of a picture is reported there, as that request's
/// `HEVC_SLICE_PARAMS[0].slice_type`.
#[test]
fn slice_based_strict_clean_and_corrupted_segment_reported() {
    let Some(dir) = common::hevc_vectors() else {
        return;
    };
    let Some(f) = common::fixture("HEVC strict slice-based", "hevc-x265-slices4-wpp-640x360")
    else {
        return;
    };
    let mut cases = vec![(
        f.name.clone(),
        std::fs::read(&f.path).unwrap(),
        f.md5.clone(),
    )];
    for name in ["bbb.h265", "AMVP_A_MTK_4.bit"] {
        cases.push((
            name.to_string(),
            std::fs::read(dir.join(name)).unwrap(),
            common::published_md5(&dir, name),
        ));
    }
    for (name, data, want) in &cases {
        let mut src = HevcSource::with_mode(data, DecodeMode::SliceBased).unwrap();
        let (requests, pictures) = (src.requests(), src.pictures().len());
        let mut e = Engine::with_options(Codec::Hevc, EngineOptions::strict(true)).unwrap();
        let mut h = Md5::default();
        let s = replay_source(&mut e, &mut src, &strict(), |f| {
            h.update(f);
            Ok(())
        })
        .unwrap();
        println!("{name}: {requests} requests for {pictures} pictures: {s:?}");
        assert!(s.failed.is_empty(), "{name}: {:?}", s.failed);
        assert_eq!(s.warnings, 0, "{name}");
        assert_eq!(&format!("{:x}", h.finalize()), want, "{name}");
    }

    // Request 2 + 4 = 6: the third slice segment of the second picture (4 per picture).
    let (name, data, _) = &cases[0];
    let mut src = HevcSource::with_mode(data, DecodeMode::SliceBased).unwrap();
    assert_eq!(
        src.requests(),
        4 * src.pictures().len(),
        "{name}: 4 segments a picture"
    );
    let mut e = Engine::with_options(Codec::Hevc, EngineOptions::strict(true)).unwrap();
    let mut altered = None;
    let s = replay_source_with(
        &mut e,
        &mut src,
        &strict(),
        |i, set, _| {
            if let (6, ControlSet::Hevc(c)) = (i, set) {
                let t = &mut c.slice_params[0].slice_type;
                *t = if *t == 2 { 1 } else { 2 };
                altered = Some(*t);
            }
        },
        |_| Ok(()),
    )
    .unwrap();
    assert!(altered.is_some(), "{name}: request 6 not seen");
    let (i, msg) = s
        .failed
        .first()
        .unwrap_or_else(|| panic!("{name}: no request failed"));
    assert_eq!(*i, 6, "{name}: {:?}", s.failed);
    assert!(
        msg.contains("HEVC_SLICE_PARAMS[0].slice_type"),
        "{name}: {msg}"
    );
}
