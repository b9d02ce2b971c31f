//! Verification of the client's FRAME / COMPRESSED_HDR controls against what the frame's
//! own headers and the context's reference slots say.
//!
//! The expected values come from `ctrls::build::vp9::frame_controls` (the header parse
//! GStreamer's `v4l2slvp9dec` does, with the slot timestamps mirrored by the backend).
//! Only fields the header actually codes for this frame, or state a decoder uses for it,
//! are compared: clients leave stale values in fields a frame does not use (FFmpeg's
//! v4l2-request keeps the previous frame's interpolation filter, reset_frame_context,
//! high-precision-MV flag and sign bias on intra frames, leaves the render size at 0, and
//! sends final probabilities in `uv_mode`, which the compressed header never codes), and
//! flagging those would drown the disagreements that matter.

use ctrls::vp9::{
    CompressedHdr, Frame, FrameFlags, LoopFilterFlags, SegmentFeatures, SegmentationFlags,
};
use ctrls::Control;

use crate::codec::diff::Diff;
use crate::request::Mismatch;

/// What the uncompressed header says beyond the expected controls.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameFacts {
    /// ref_frame_idx[0..3] (inter frames).
    pub ref_frame_idx: [u8; 3],
}

/// Compares the client's FRAME control with the expected one.
pub(crate) fn frame(exp: &Frame, got: &Frame, facts: &FrameFacts, out: &mut Vec<Mismatch>) {
    let mut d = Diff::new(Frame::NAME, out);
    let inter = !exp.is_intra();
    let key = exp.flags.contains(FrameFlags::KEY_FRAME);

    // Frame flags.
    for (name, f) in [
        ("KEY_FRAME", FrameFlags::KEY_FRAME),
        ("SHOW_FRAME", FrameFlags::SHOW_FRAME),
        ("ERROR_RESILIENT", FrameFlags::ERROR_RESILIENT),
        ("INTRA_ONLY", FrameFlags::INTRA_ONLY),
        ("REFRESH_FRAME_CTX", FrameFlags::REFRESH_FRAME_CTX),
        ("PARALLEL_DEC_MODE", FrameFlags::PARALLEL_DEC_MODE),
        ("X_SUBSAMPLING", FrameFlags::X_SUBSAMPLING),
        ("Y_SUBSAMPLING", FrameFlags::Y_SUBSAMPLING),
    ] {
        d.bit("flags", name, exp.flags.contains(f), got.flags.contains(f));
    }
    if inter {
        let f = FrameFlags::ALLOW_HIGH_PREC_MV;
        d.bit(
            "flags",
            "ALLOW_HIGH_PREC_MV",
            exp.flags.contains(f),
            got.flags.contains(f),
        );
    }
    if key {
        let f = FrameFlags::COLOR_RANGE_FULL_SWING;
        d.bit(
            "flags",
            "COLOR_RANGE_FULL_SWING",
            exp.flags.contains(f),
            got.flags.contains(f),
        );
    }

    // Sizes.
    d.eq(
        || "compressed_header_size".into(),
        exp.compressed_header_size,
        got.compressed_header_size,
    );
    d.eq(
        || "uncompressed_header_size".into(),
        exp.uncompressed_header_size,
        got.uncompressed_header_size,
    );
    d.eq(
        || "frame_width_minus_1".into(),
        exp.frame_width_minus_1,
        got.frame_width_minus_1,
    );
    d.eq(
        || "frame_height_minus_1".into(),
        exp.frame_height_minus_1,
        got.frame_height_minus_1,
    );
    // FFmpeg's v4l2-request leaves the render size at 0: only a size that is set is checked.
    if got.render_width_minus_1 != 0 || got.render_height_minus_1 != 0 {
        d.eq(
            || "render_width_minus_1".into(),
            exp.render_width_minus_1,
            got.render_width_minus_1,
        );
        d.eq(
            || "render_height_minus_1".into(),
            exp.render_height_minus_1,
            got.render_height_minus_1,
        );
    }

    // References: the timestamps must name what the header's slots hold.
    if inter {
        let names = ["last_frame_ts", "golden_frame_ts", "alt_frame_ts"];
        let exp_ts = [exp.last_frame_ts, exp.golden_frame_ts, exp.alt_frame_ts];
        let got_ts = [got.last_frame_ts, got.golden_frame_ts, got.alt_frame_ts];
        for i in 0..3 {
            if exp_ts[i] != got_ts[i] {
                d.push(
                    names[i].into(),
                    format!(
                        "{} (slot {} = ref_frame_idx[{i}])",
                        exp_ts[i], facts.ref_frame_idx[i]
                    ),
                    got_ts[i].to_string(),
                );
            }
        }
        d.eq(
            || "ref_frame_sign_bias".into(),
            exp.ref_frame_sign_bias,
            got.ref_frame_sign_bias,
        );
        d.eq(
            || "interpolation_filter".into(),
            exp.interpolation_filter,
            got.interpolation_filter,
        );
        d.eq(
            || "reference_mode".into(),
            exp.reference_mode,
            got.reference_mode,
        );
    }
    if !key {
        d.eq(
            || "reset_frame_context".into(),
            exp.reset_frame_context,
            got.reset_frame_context,
        );
    }
    d.eq(
        || "frame_context_idx".into(),
        exp.frame_context_idx,
        got.frame_context_idx,
    );
    d.eq(|| "profile".into(), exp.profile, got.profile);
    d.eq(|| "bit_depth".into(), exp.bit_depth, got.bit_depth);
    d.eq(
        || "tile_cols_log2".into(),
        exp.tile_cols_log2,
        got.tile_cols_log2,
    );
    d.eq(
        || "tile_rows_log2".into(),
        exp.tile_rows_log2,
        got.tile_rows_log2,
    );

    // Loop filter.
    d.eq(|| "lf.level".into(), exp.lf.level, got.lf.level);
    d.eq(|| "lf.sharpness".into(), exp.lf.sharpness, got.lf.sharpness);
    let de = LoopFilterFlags::DELTA_ENABLED;
    d.bit(
        "lf.flags",
        "DELTA_ENABLED",
        exp.lf.flags.contains(de),
        got.lf.flags.contains(de),
    );
    if exp.lf.flags.contains(de) {
        let du = LoopFilterFlags::DELTA_UPDATE;
        d.bit(
            "lf.flags",
            "DELTA_UPDATE",
            exp.lf.flags.contains(du),
            got.lf.flags.contains(du),
        );
        d.slice(
            || "lf.ref_deltas".into(),
            &exp.lf.ref_deltas,
            &got.lf.ref_deltas,
        );
        d.slice(
            || "lf.mode_deltas".into(),
            &exp.lf.mode_deltas,
            &got.lf.mode_deltas,
        );
    }

    // Quantisation.
    d.eq(
        || "quant.base_q_idx".into(),
        exp.quant.base_q_idx,
        got.quant.base_q_idx,
    );
    d.eq(
        || "quant.delta_q_y_dc".into(),
        exp.quant.delta_q_y_dc,
        got.quant.delta_q_y_dc,
    );
    d.eq(
        || "quant.delta_q_uv_dc".into(),
        exp.quant.delta_q_uv_dc,
        got.quant.delta_q_uv_dc,
    );
    d.eq(
        || "quant.delta_q_uv_ac".into(),
        exp.quant.delta_q_uv_ac,
        got.quant.delta_q_uv_ac,
    );

    // Segmentation.
    let (es, gs) = (&exp.seg, &got.seg);
    let segf = |s: &ctrls::vp9::Segmentation, f: SegmentationFlags| s.flags.contains(f);
    d.bit(
        "seg.flags",
        "ENABLED",
        segf(es, SegmentationFlags::ENABLED),
        segf(gs, SegmentationFlags::ENABLED),
    );
    if segf(es, SegmentationFlags::ENABLED) {
        for (name, f) in [
            ("UPDATE_MAP", SegmentationFlags::UPDATE_MAP),
            ("UPDATE_DATA", SegmentationFlags::UPDATE_DATA),
        ] {
            d.bit("seg.flags", name, segf(es, f), segf(gs, f));
        }
        if segf(es, SegmentationFlags::UPDATE_MAP) {
            let t = SegmentationFlags::TEMPORAL_UPDATE;
            d.bit("seg.flags", "TEMPORAL_UPDATE", segf(es, t), segf(gs, t));
            d.slice(|| "seg.tree_probs".into(), &es.tree_probs, &gs.tree_probs);
            if segf(es, t) {
                d.slice(|| "seg.pred_probs".into(), &es.pred_probs, &gs.pred_probs);
            }
        }
        if es.feature_enabled.iter().any(|f| !f.is_empty()) {
            let a = SegmentationFlags::ABS_OR_DELTA_UPDATE;
            d.bit("seg.flags", "ABS_OR_DELTA_UPDATE", segf(es, a), segf(gs, a));
        }
        for s in 0..8 {
            d.eq(
                || format!("seg.feature_enabled[{s}]"),
                es.feature_enabled[s],
                gs.feature_enabled[s],
            );
            for j in 0..4 {
                if es.feature_enabled[s].contains(SegmentFeatures::from_bits_retain(1 << j)) {
                    d.eq(
                        || format!("seg.feature_data[{s}][{j}]"),
                        es.feature_data[s][j],
                        gs.feature_data[s][j],
                    );
                }
            }
        }
    }
    d.finish();
}

/// Compares the client's COMPRESSED_HDR with the deltas the frame's compressed header
/// codes. `exp_frame` is the expected FRAME (reference mode, filter, intra).
pub(crate) fn compressed(
    exp: &CompressedHdr,
    got: &CompressedHdr,
    exp_frame: &Frame,
    out: &mut Vec<Mismatch>,
) {
    let mut d = Diff::new(CompressedHdr::NAME, out);
    d.eq(|| "tx_mode".into(), exp.tx_mode, got.tx_mode);
    if exp.tx_mode == 4 {
        for i in 0..2 {
            d.slice(|| format!("tx8[{i}]"), &exp.tx8[i], &got.tx8[i]);
            d.slice(|| format!("tx16[{i}]"), &exp.tx16[i], &got.tx16[i]);
            d.slice(|| format!("tx32[{i}]"), &exp.tx32[i], &got.tx32[i]);
        }
    }
    let max_tx = [0usize, 1, 2, 3, 3][usize::from(exp.tx_mode.min(4))];
    for tx in 0..=max_tx {
        for i in 0..2 {
            for j in 0..2 {
                for k in 0..6 {
                    let ctxs = if k == 0 { 3 } else { 6 };
                    for l in 0..ctxs {
                        d.slice(
                            || format!("coef[{tx}][{i}][{j}][{k}][{l}]"),
                            &exp.coef[tx][i][j][k][l],
                            &got.coef[tx][i][j][k][l],
                        );
                    }
                }
            }
        }
    }
    d.slice(|| "skip".into(), &exp.skip, &got.skip);
    if !exp_frame.is_intra() {
        for i in 0..7 {
            d.slice(
                || format!("inter_mode[{i}]"),
                &exp.inter_mode[i],
                &got.inter_mode[i],
            );
        }
        if exp_frame.interpolation_filter == 4 {
            for i in 0..4 {
                d.slice(
                    || format!("interp_filter[{i}]"),
                    &exp.interp_filter[i],
                    &got.interp_filter[i],
                );
            }
        }
        d.slice(|| "is_inter".into(), &exp.is_inter, &got.is_inter);
        let mode = exp_frame.reference_mode;
        if mode == 2 {
            d.slice(|| "comp_mode".into(), &exp.comp_mode, &got.comp_mode);
        }
        if mode != 1 {
            for i in 0..5 {
                d.slice(
                    || format!("single_ref[{i}]"),
                    &exp.single_ref[i],
                    &got.single_ref[i],
                );
            }
        }
        if mode != 0 {
            d.slice(|| "comp_ref".into(), &exp.comp_ref, &got.comp_ref);
        }
        for i in 0..4 {
            d.slice(|| format!("y_mode[{i}]"), &exp.y_mode[i], &got.y_mode[i]);
        }
        for i in 0..16 {
            d.slice(
                || format!("partition[{i}]"),
                &exp.partition[i],
                &got.partition[i],
            );
        }
        let (em, gm) = (&exp.mv, &got.mv);
        d.slice(|| "mv.joint".into(), &em.joint, &gm.joint);
        d.slice(|| "mv.sign".into(), &em.sign, &gm.sign);
        d.slice(|| "mv.class0_bit".into(), &em.class0_bit, &gm.class0_bit);
        for i in 0..2 {
            d.slice(
                || format!("mv.classes[{i}]"),
                &em.classes[i],
                &gm.classes[i],
            );
            d.slice(|| format!("mv.bits[{i}]"), &em.bits[i], &gm.bits[i]);
            d.slice(|| format!("mv.fr[{i}]"), &em.fr[i], &gm.fr[i]);
            for j in 0..2 {
                d.slice(
                    || format!("mv.class0_fr[{i}][{j}]"),
                    &em.class0_fr[i][j],
                    &gm.class0_fr[i][j],
                );
            }
        }
        if exp_frame.flags.contains(FrameFlags::ALLOW_HIGH_PREC_MV) {
            d.slice(|| "mv.class0_hp".into(), &em.class0_hp, &gm.class0_hp);
            d.slice(|| "mv.hp".into(), &em.hp, &gm.hp);
        }
    }
    d.finish();
}
