//! Verification of the client's FRAME control against what the frame's own header and the
//! context's reference slots say.
//!
//! The expected control comes from `ctrls::build::vp8::parse_frame` with the slot
//! timestamps the backend mirrors. Only what the frame codes, or state a decoder uses for
//! it, is compared; fields a frame does not use are left alone, because clients leave
//! other values there: FFmpeg keeps the segmentation / loop-filter update flags of the
//! last frame that coded them, GStreamer sends indeterminate intra/last/golden
//! probabilities on key frames, every client sends the slots' stale timestamps on key
//! frames. Not compared: `EXPERIMENTAL` (no 6.12 driver or client gives it a meaning) and
//! the size and scaling on inter frames (coded on key frames only).

use ctrls::vp8::{Frame, FrameFlags, LoopFilterFlags, SegmentFlags};
use ctrls::Control;

use crate::codec::diff::Diff;
use crate::request::Mismatch;

/// Compares the client's FRAME control with the expected one.
pub(crate) fn frame(exp: &Frame, got: &Frame, out: &mut Vec<Mismatch>) {
    let mut d = Diff::new(Frame::NAME, out);
    let key = exp.is_key_frame();
    let flag = |f: &Frame, x: FrameFlags| f.flags.contains(x);
    for (name, x) in [
        ("KEY_FRAME", FrameFlags::KEY_FRAME),
        ("SHOW_FRAME", FrameFlags::SHOW_FRAME),
        ("MB_NO_SKIP_COEFF", FrameFlags::MB_NO_SKIP_COEFF),
    ] {
        d.bit("flags", name, flag(exp, x), flag(got, x));
    }
    if !key {
        for (name, x) in [
            ("SIGN_BIAS_GOLDEN", FrameFlags::SIGN_BIAS_GOLDEN),
            ("SIGN_BIAS_ALT", FrameFlags::SIGN_BIAS_ALT),
        ] {
            d.bit("flags", name, flag(exp, x), flag(got, x));
        }
    }
    d.eq(|| "version".into(), exp.version, got.version);
    if key {
        d.eq(|| "width".into(), exp.width, got.width);
        d.eq(|| "height".into(), exp.height, got.height);
        d.eq(
            || "horizontal_scale".into(),
            exp.horizontal_scale,
            got.horizontal_scale,
        );
        d.eq(
            || "vertical_scale".into(),
            exp.vertical_scale,
            got.vertical_scale,
        );
    }

    // Partitions and where macroblock data starts.
    d.eq(
        || "first_part_size".into(),
        exp.first_part_size,
        got.first_part_size,
    );
    d.eq(
        || "first_part_header_bits".into(),
        exp.first_part_header_bits,
        got.first_part_header_bits,
    );
    d.eq(
        || "coder_state.range".into(),
        exp.coder_state.range,
        got.coder_state.range,
    );
    d.eq(
        || "coder_state.value".into(),
        exp.coder_state.value,
        got.coder_state.value,
    );
    d.eq(
        || "coder_state.bit_count".into(),
        exp.coder_state.bit_count,
        got.coder_state.bit_count,
    );
    d.eq(
        || "num_dct_parts".into(),
        exp.num_dct_parts,
        got.num_dct_parts,
    );
    let parts = usize::from(exp.num_dct_parts).min(8);
    d.slice(
        || "dct_part_sizes".into(),
        &exp.dct_part_sizes[..parts],
        &got.dct_part_sizes[..parts],
    );

    // Segmentation (9.3).
    let (es, gs) = (&exp.segment, &got.segment);
    let seg = |s: &ctrls::vp8::Segment, x: SegmentFlags| s.flags.contains(x);
    d.bit(
        "segment.flags",
        "ENABLED",
        seg(es, SegmentFlags::ENABLED),
        seg(gs, SegmentFlags::ENABLED),
    );
    if seg(es, SegmentFlags::ENABLED) {
        for (name, x) in [
            ("UPDATE_MAP", SegmentFlags::UPDATE_MAP),
            ("UPDATE_FEATURE_DATA", SegmentFlags::UPDATE_FEATURE_DATA),
            ("DELTA_VALUE_MODE", SegmentFlags::DELTA_VALUE_MODE),
        ] {
            d.bit("segment.flags", name, seg(es, x), seg(gs, x));
        }
        d.slice(
            || "segment.quant_update".into(),
            &es.quant_update,
            &gs.quant_update,
        );
        d.slice(|| "segment.lf_update".into(), &es.lf_update, &gs.lf_update);
        if seg(es, SegmentFlags::UPDATE_MAP) {
            d.slice(
                || "segment.segment_probs".into(),
                &es.segment_probs,
                &gs.segment_probs,
            );
        }
    }

    // Loop filter (9.6).
    let (el, gl) = (&exp.lf, &got.lf);
    let lf = |l: &ctrls::vp8::LoopFilter, x: LoopFilterFlags| l.flags.contains(x);
    d.eq(|| "lf.level".into(), el.level, gl.level);
    d.eq(
        || "lf.sharpness_level".into(),
        el.sharpness_level,
        gl.sharpness_level,
    );
    for (name, x) in [
        ("FILTER_TYPE_SIMPLE", LoopFilterFlags::FILTER_TYPE_SIMPLE),
        ("ADJ_ENABLE", LoopFilterFlags::ADJ_ENABLE),
    ] {
        d.bit("lf.flags", name, lf(el, x), lf(gl, x));
    }
    if lf(el, LoopFilterFlags::ADJ_ENABLE) {
        let x = LoopFilterFlags::DELTA_UPDATE;
        d.bit("lf.flags", "DELTA_UPDATE", lf(el, x), lf(gl, x));
        d.slice(
            || "lf.ref_frm_delta".into(),
            &el.ref_frm_delta,
            &gl.ref_frm_delta,
        );
        d.slice(
            || "lf.mb_mode_delta".into(),
            &el.mb_mode_delta,
            &gl.mb_mode_delta,
        );
    }

    // Quantisation (9.6).
    let (eq, gq) = (&exp.quant, &got.quant);
    for (name, e, g) in [
        ("quant.y_ac_qi", eq.y_ac_qi as i16, gq.y_ac_qi as i16),
        (
            "quant.y_dc_delta",
            eq.y_dc_delta.into(),
            gq.y_dc_delta.into(),
        ),
        (
            "quant.y2_dc_delta",
            eq.y2_dc_delta.into(),
            gq.y2_dc_delta.into(),
        ),
        (
            "quant.y2_ac_delta",
            eq.y2_ac_delta.into(),
            gq.y2_ac_delta.into(),
        ),
        (
            "quant.uv_dc_delta",
            eq.uv_dc_delta.into(),
            gq.uv_dc_delta.into(),
        ),
        (
            "quant.uv_ac_delta",
            eq.uv_ac_delta.into(),
            gq.uv_ac_delta.into(),
        ),
    ] {
        d.eq(|| name.into(), e, g);
    }

    // Probabilities (9.9-9.11, 13, 16, 17).
    if exp.flags.contains(FrameFlags::MB_NO_SKIP_COEFF) {
        d.eq(
            || "prob_skip_false".into(),
            exp.prob_skip_false,
            got.prob_skip_false,
        );
    }
    let (ee, ge) = (&exp.entropy, &got.entropy);
    for (i, (eb, gb)) in ee.coeff_probs.iter().zip(&ge.coeff_probs).enumerate() {
        for (j, (ec, gc)) in eb.iter().zip(gb).enumerate() {
            for (k, (e, g)) in ec.iter().zip(gc).enumerate() {
                d.slice(|| format!("entropy.coeff_probs[{i}][{j}][{k}]"), e, g);
            }
        }
    }
    d.slice(
        || "entropy.y_mode_probs".into(),
        &ee.y_mode_probs,
        &ge.y_mode_probs,
    );
    d.slice(
        || "entropy.uv_mode_probs".into(),
        &ee.uv_mode_probs,
        &ge.uv_mode_probs,
    );
    if !key {
        d.eq(|| "prob_intra".into(), exp.prob_intra, got.prob_intra);
        d.eq(|| "prob_last".into(), exp.prob_last, got.prob_last);
        d.eq(|| "prob_gf".into(), exp.prob_gf, got.prob_gf);
        for (i, (e, g)) in ee.mv_probs.iter().zip(&ge.mv_probs).enumerate() {
            d.slice(|| format!("entropy.mv_probs[{i}]"), e, g);
        }
        // References (the slots before this frame).
        d.eq(
            || "last_frame_ts".into(),
            exp.last_frame_ts,
            got.last_frame_ts,
        );
        d.eq(
            || "golden_frame_ts".into(),
            exp.golden_frame_ts,
            got.golden_frame_ts,
        );
        d.eq(|| "alt_frame_ts".into(), exp.alt_frame_ts, got.alt_frame_ts);
    }
    d.finish();
}
