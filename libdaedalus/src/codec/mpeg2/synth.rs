//! The MPEG-2 headers a picture's slices need, rebuilt from the controls (ISO/IEC 13818-2
//! 6.2.2 and 6.2.3): one function per syntax structure, each appending its start code and
//! its bits, zero-stuffed to the byte boundary (next_start_code()).

use ctrls::build::mpeg2::DEFAULT_INTRA_MATRIX;
use ctrls::mpeg2::{
    Picture, PictureCodingType, PictureFlags, Quantisation, Sequence, SequenceFlags,
};

use crate::codec::bitwriter::BitWriter;

/// The matrices a sequence header without loaded ones means (6.3.11).
pub(super) fn default_quantisation() -> Quantisation {
    Quantisation {
        intra_quantiser_matrix: DEFAULT_INTRA_MATRIX,
        non_intra_quantiser_matrix: [16; 64],
        chroma_intra_quantiser_matrix: DEFAULT_INTRA_MATRIX,
        chroma_non_intra_quantiser_matrix: [16; 64],
    }
}

fn unit(out: &mut Vec<u8>, code: u8, w: BitWriter) {
    out.extend_from_slice(&[0, 0, 1, code]);
    out.extend_from_slice(&w.into_bytes());
}

fn matrix(w: &mut BitWriter, m: &[u8; 64]) {
    for &v in m {
        w.bits(8, u32::from(v));
    }
}

/// The matrices as they apply: an all-zero chroma matrix (clients that never load chroma
/// matrices send zeros, as the kernel's initial value) means "as luma".
pub(super) fn effective(q: &Quantisation) -> Quantisation {
    let mut e = *q;
    if e.chroma_intra_quantiser_matrix.iter().all(|&v| v == 0) {
        e.chroma_intra_quantiser_matrix = e.intra_quantiser_matrix;
    }
    if e.chroma_non_intra_quantiser_matrix.iter().all(|&v| v == 0) {
        e.chroma_non_intra_quantiser_matrix = e.non_intra_quantiser_matrix;
    }
    e
}

/// sequence_header() (the luma matrices of `q` loaded, which FFmpeg also takes for
/// chroma) + sequence_extension().
pub(super) fn sequence(out: &mut Vec<u8>, s: &Sequence, q: &Quantisation) {
    let mut w = BitWriter::new();
    w.bits(12, u32::from(s.horizontal_size) & 0xfff);
    w.bits(12, u32::from(s.vertical_size) & 0xfff);
    w.bits(4, 1); // aspect_ratio_information: square samples
    w.bits(4, 3); // frame_rate_code: 25
    w.bits(18, 0x3ffff); // bit_rate_value: variable
    w.bit(true); // marker
                 // GStreamer sends the size in bits (x 16 kbit); FFmpeg does not use it.
    let vbv = s.vbv_buffer_size.min(0x3ffff);
    w.bits(10, vbv & 0x3ff);
    w.bit(false); // constrained_parameters_flag
    w.bit(true);
    matrix(&mut w, &q.intra_quantiser_matrix);
    w.bit(true);
    matrix(&mut w, &q.non_intra_quantiser_matrix);
    unit(out, 0xb3, w);

    let mut w = BitWriter::new();
    w.bits(4, 1); // extension_start_code_identifier: sequence extension
    w.bits(8, u32::from(s.profile_and_level_indication) & 0xff);
    w.flag(s.flags.contains(SequenceFlags::PROGRESSIVE));
    w.bits(2, u32::from(s.chroma_format));
    w.bits(2, u32::from(s.horizontal_size) >> 12);
    w.bits(2, u32::from(s.vertical_size) >> 12);
    w.bits(12, 0); // bit_rate_extension
    w.bit(true); // marker
    w.bits(8, vbv >> 10);
    w.bit(true); // low_delay
    w.bits(2, 0); // frame_rate_extension_n
    w.bits(5, 0); // frame_rate_extension_d
    unit(out, 0xb5, w);
}

/// quant_matrix_extension() loading all four matrices of `q` (as [`effective`]): FFmpeg
/// takes it anywhere before the slices, so matrices can change between two fields, where
/// a sequence header may not go.
pub(super) fn quant_matrix(out: &mut Vec<u8>, q: &Quantisation) {
    let mut w = BitWriter::new();
    w.bits(4, 3); // quant matrix extension
    for m in [
        &q.intra_quantiser_matrix,
        &q.non_intra_quantiser_matrix,
        &q.chroma_intra_quantiser_matrix,
        &q.chroma_non_intra_quantiser_matrix,
    ] {
        w.bit(true);
        matrix(&mut w, m);
    }
    unit(out, 0xb5, w);
}

/// group_of_pictures_header(), closed_gop set: FFmpeg then decodes a B picture that has
/// no past reference (the client sent it, so it wants it decoded).
pub(super) fn gop(out: &mut Vec<u8>) {
    let mut w = BitWriter::new();
    w.bits(12, 0); // drop_frame_flag, time_code_hours, time_code_minutes
    w.bit(true); // marker
    w.bits(12, 0); // time_code_seconds, time_code_pictures
    w.bit(true); // closed_gop
    w.bit(false); // broken_link
    unit(out, 0xb8, w);
}

/// picture_header() + picture_coding_extension().
pub(super) fn picture(out: &mut Vec<u8>, p: &Picture, temporal_reference: u32) {
    let mut w = BitWriter::new();
    w.bits(10, temporal_reference);
    w.bits(3, u32::from(p.picture_coding_type));
    w.bits(16, 0xffff); // vbv_delay
    let t = p.picture_coding_type;
    if t == PictureCodingType::P as u8 || t == PictureCodingType::B as u8 {
        w.bit(false); // full_pel_forward_vector
        w.bits(3, 7); // forward_f_code: MPEG-2 uses the extension's
    }
    if t == PictureCodingType::B as u8 {
        w.bit(false);
        w.bits(3, 7);
    }
    w.bit(false); // extra_bit_picture
    unit(out, 0x00, w);

    let mut w = BitWriter::new();
    w.bits(4, 8); // picture coding extension
    for fc in p.f_code.iter().flatten() {
        w.bits(4, u32::from(*fc));
    }
    w.bits(2, u32::from(p.intra_dc_precision));
    w.bits(2, u32::from(p.picture_structure));
    let f = p.flags;
    for x in [
        PictureFlags::TOP_FIELD_FIRST,
        PictureFlags::FRAME_PRED_DCT,
        PictureFlags::CONCEALMENT_MV,
        PictureFlags::Q_SCALE_TYPE,
        PictureFlags::INTRA_VLC,
        PictureFlags::ALT_SCAN,
        PictureFlags::REPEAT_FIRST,
    ] {
        w.flag(f.contains(x));
    }
    let progressive = f.contains(PictureFlags::PROGRESSIVE);
    w.flag(progressive); // chroma_420_type (= progressive_frame for 4:2:0)
    w.flag(progressive);
    w.bit(false); // composite_display_flag
    unit(out, 0xb5, w);
}
