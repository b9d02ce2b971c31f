//! MPEG-2 video elementary stream -> per-picture V4L2 stateless controls,
//! OUTPUT bytes and CAPTURE timestamps, as GStreamer 1.26's `v4l2slmpeg2dec`
//! fills them (ISO/IEC 13818-2 section 6.2 syntax, parsed here).
//!
//! Conventions:
//! - One request per picture: a frame picture, or each field of a field pair
//!   (the first holds the CAPTURE buffer, both share a timestamp). OUTPUT
//!   bytes = the picture's slices, each with its start code.
//! - SEQUENCE from the sequence header + extension: sizes with their
//!   extension bits, `vbv_buffer_size` = the 18-bit value (no unit scaling),
//!   `profile_and_level_indication` as coded.
//! - QUANTISATION: the four matrices in zig-zag order as they apply to the
//!   picture: loaded ones (sequence header, quant matrix extension) stay until
//!   the next sequence header, which resets what it does not load to the
//!   defaults (6.3.11); the chroma ones are all zero unless a quant matrix
//!   extension loads them (GStreamer's convention: "as luma").
//! - `forward_ref_ts` = the past reference (P and B), `backward_ref_ts` =
//!   the future reference (B); `u64::MAX` where there is none. A frame is a
//!   reference once both its fields are decoded: a P second field names the
//!   previous reference frame (the first field is in the held buffer).
//! - B frames before the stream's second reference frame in an open GOP (no
//!   past reference: their forward prediction crosses the stream start) are
//!   left out, as FFmpeg drops them; in a closed GOP they are sent with
//!   backward prediction only.
//! - Timestamps: `base`, `base + step`, ... one per frame in decode order.

use serde::Serialize;

use crate::mpeg2::{
    ChromaFormat, Picture, PictureCodingType, PictureFlags, PictureStructure, Quantisation,
    Sequence, SequenceFlags,
};

/// Default intra quantiser matrix (6.3.11), zig-zag order.
pub const DEFAULT_INTRA_MATRIX: [u8; 64] = zigzag_of(&[
    8, 16, 19, 22, 26, 27, 29, 34, 16, 16, 22, 24, 27, 29, 34, 37, 19, 22, 26, 27, 29, 34, 34, 38,
    22, 22, 26, 27, 29, 34, 37, 40, 22, 26, 27, 29, 32, 35, 40, 48, 26, 27, 29, 32, 35, 40, 48, 58,
    26, 27, 29, 34, 38, 46, 56, 69, 27, 29, 35, 38, 46, 56, 69, 83,
]);

/// The zig-zag scan (7.3.1, scan\[0\]): raster index of each zig-zag position.
pub const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

const fn zigzag_of(raster: &[u8; 64]) -> [u8; 64] {
    let mut z = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        z[i] = raster[ZIGZAG[i] as usize];
        i += 1;
    }
    z
}

/// Why the stream cannot be turned into requests; `offset` is the start code's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {msg}")]
pub struct Mpeg2BuildError {
    pub offset: usize,
    pub msg: String,
}

fn err(offset: usize, msg: impl Into<String>) -> Mpeg2BuildError {
    Mpeg2BuildError {
        offset,
        msg: msg.into(),
    }
}

/// MSB-first bit reader over one start-code unit (after the start code).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn u(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        Some(v)
    }

    fn flag(&mut self) -> Option<bool> {
        self.u(1).map(|b| b == 1)
    }

    fn matrix(&mut self) -> Option<[u8; 64]> {
        let mut m = [0u8; 64];
        for v in &mut m {
            *v = self.u(8)? as u8;
        }
        Some(m)
    }
}

/// The next `00 00 01` start code at or after `from`: (offset of the `00`, code).
pub fn next_start_code(data: &[u8], from: usize) -> Option<(usize, u8)> {
    let mut i = from;
    while i + 3 < data.len() {
        if data[i + 2] > 1 {
            i += 3;
        } else if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            return Some((i, data[i + 3]));
        } else {
            i += 1;
        }
    }
    None
}

/// `(forward_ref_ts, backward_ref_ts)` of a picture of `coding_type` given the reference
/// frames decoded before it (`refs`, decode order, at most two): P predicts from the
/// latest, B from the older (forward) and the latest (backward); `u64::MAX` for none.
pub fn reference_ts(coding_type: u8, refs: &[u64]) -> (u64, u64) {
    let latest = refs.last().copied();
    let older = refs.len().checked_sub(2).map(|i| refs[i]);
    let (forward, backward) = match coding_type {
        1 => (None, None),
        2 => (latest, None),
        _ => (older, latest),
    };
    (forward.unwrap_or(u64::MAX), backward.unwrap_or(u64::MAX))
}

/// What a player needs to present a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mpeg2Display {
    pub width: u32,
    pub height: u32,
}

/// One request: a frame picture or one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Mpeg2Picture {
    pub sequence: Sequence,
    pub picture: Picture,
    pub quantisation: Quantisation,
    /// Since the previous picture: a sequence header other than the previous one (any
    /// byte of it, bit rate and matrices included), and a quant matrix extension. What
    /// makes GStreamer set SEQUENCE / QUANTISATION again (see `crate::source::quirks`).
    pub new_sequence_header: bool,
    pub quant_extension: bool,
    /// The picture's slices, start codes included.
    pub bitstream: Vec<u8>,
    pub timestamp: u64,
    /// 0: frame picture; 1: first field (holds the CAPTURE buffer); 2: second field.
    pub field: u8,
    pub display: Mpeg2Display,
    /// Frames (timestamps) displayable once this request is decoded, in display order.
    pub shows: Vec<u64>,
    /// References the decoder keeps after this request (their buffers stay queued).
    pub references: Vec<u64>,
    /// Index in decode order (requests), from 0.
    pub decode_index: u32,
    /// Offset of the picture header in the stream.
    pub stream_offset: usize,
}

#[derive(Default, Clone)]
struct SeqState {
    seq: Option<Sequence>,
    /// Matrices loaded since the last sequence header (zig-zag).
    intra: Option<[u8; 64]>,
    non_intra: Option<[u8; 64]>,
    chroma_intra: Option<[u8; 64]>,
    chroma_non_intra: Option<[u8; 64]>,
}

impl SeqState {
    fn quantisation(&self) -> Quantisation {
        let intra = self.intra.unwrap_or(DEFAULT_INTRA_MATRIX);
        let non_intra = self.non_intra.unwrap_or([16; 64]);
        Quantisation {
            intra_quantiser_matrix: intra,
            non_intra_quantiser_matrix: non_intra,
            chroma_intra_quantiser_matrix: self.chroma_intra.unwrap_or([0; 64]),
            chroma_non_intra_quantiser_matrix: self.chroma_non_intra.unwrap_or([0; 64]),
        }
    }
}

/// A picture header + coding extension being collected with its slices.
struct Pending {
    offset: usize,
    coding_type: u8,
    ext: Option<Picture>,
    slices: Vec<u8>,
}

/// Builds every request of an MPEG-2 video elementary stream.
pub fn build_stream(data: &[u8]) -> Result<Vec<Mpeg2Picture>, Mpeg2BuildError> {
    Mpeg2Builder::new(1000, 1000).build(data)
}

/// Builder state.
pub struct Mpeg2Builder {
    seq: SeqState,
    /// Sequence header seen without its extension yet.
    seq_pending: Option<(usize, Sequence)>,
    /// The last sequence header's bytes, and whether one that differs came since the
    /// last picture; a quant matrix extension since the last picture.
    last_sequence_header: Vec<u8>,
    new_sequence_header: bool,
    quant_extension: bool,
    closed_gop: bool,
    /// Reference frames (timestamps) in decode order, at most 2: past, future.
    refs: Vec<u64>,
    /// The reference frame waiting for display.
    held: Option<u64>,
    /// First field of the frame being decoded: (timestamp, coding type, structure).
    first_field: Option<(u64, u8, u8)>,
    /// The first field of the frame being decoded is an I or P field.
    first_was_ref: bool,
    /// The first field was dropped (a B frame without past reference): drop the second.
    skip_second_field: bool,
    next_ts: u64,
    step: u64,
    out: Vec<Mpeg2Picture>,
}

impl Mpeg2Builder {
    pub fn new(base: u64, step: u64) -> Self {
        Mpeg2Builder {
            seq: SeqState::default(),
            seq_pending: None,
            last_sequence_header: Vec::new(),
            new_sequence_header: false,
            quant_extension: false,
            closed_gop: false,
            refs: Vec::new(),
            held: None,
            first_field: None,
            first_was_ref: false,
            skip_second_field: false,
            next_ts: base,
            step,
            out: Vec::new(),
        }
    }

    /// Builds the whole stream.
    pub fn build(mut self, data: &[u8]) -> Result<Vec<Mpeg2Picture>, Mpeg2BuildError> {
        let mut pending: Option<Pending> = None;
        let mut at = next_start_code(data, 0);
        if let Some((o, _)) = at {
            if data[..o].iter().any(|&b| b != 0) {
                return Err(err(0, format!("{o} byte(s) before the first start code")));
            }
        }
        while let Some((off, code)) = at {
            let next = next_start_code(data, off + 4);
            let end = next.map_or(data.len(), |n| n.0);
            let unit = &data[off + 4..end];
            let mut b = Bits { data: unit, pos: 0 };
            match code {
                0x01..=0xaf => {
                    let p = pending
                        .as_mut()
                        .ok_or_else(|| err(off, "slice before any picture header"))?;
                    // Up to the next start code, stuffing included (as GStreamer).
                    p.slices.extend_from_slice(&data[off..end]);
                }
                _ => {
                    // Extensions and user data before the first slice belong to the
                    // picture; anything else ends it.
                    let ends = !matches!(code, 0xb2 | 0xb5)
                        || pending.as_ref().is_some_and(|p| !p.slices.is_empty());
                    if ends {
                        if let Some(p) = pending.take() {
                            self.picture(p)?;
                        }
                    }
                    match code {
                        0x00 => {
                            b.u(10); // temporal_reference
                            let coding_type =
                                b.u(3).ok_or_else(|| err(off, "picture header cut short"))? as u8;
                            pending = Some(Pending {
                                offset: off,
                                coding_type,
                                ext: None,
                                slices: Vec::new(),
                            });
                        }
                        0xb3 => {
                            if self.last_sequence_header != unit {
                                self.last_sequence_header = unit.to_vec();
                                self.new_sequence_header = true;
                            }
                            self.sequence_header(off, &mut b)?
                        }
                        0xb5 => self.extension(off, &mut b, &mut pending)?,
                        0xb8 => {
                            b.u(25); // time_code
                            self.closed_gop = b.flag().unwrap_or(false);
                            let broken_link = b.flag().unwrap_or(false);
                            if broken_link {
                                self.closed_gop = false;
                            }
                        }
                        // Sequence end, user data, sequence error, reserved.
                        _ => {}
                    }
                }
            }
            at = next;
        }
        if let Some(p) = pending.take() {
            self.picture(p)?;
        }
        if let Some(ts) = self.held.take() {
            if let Some(last) = self.out.last_mut() {
                last.shows.push(ts);
            }
        }
        Ok(self.out)
    }

    fn sequence_header(&mut self, off: usize, b: &mut Bits<'_>) -> Result<(), Mpeg2BuildError> {
        let cut = || err(off, "sequence header cut short");
        let h = b.u(12).ok_or_else(cut)?;
        let v = b.u(12).ok_or_else(cut)?;
        b.u(4); // aspect_ratio_information
        b.u(4); // frame_rate_code
        b.u(18); // bit_rate_value
        b.u(1); // marker
        let vbv = b.u(10).ok_or_else(cut)?;
        b.u(1); // constrained_parameters_flag
        let mut st = SeqState::default();
        if b.flag().ok_or_else(cut)? {
            st.intra = Some(b.matrix().ok_or_else(cut)?);
        }
        if b.flag().ok_or_else(cut)? {
            st.non_intra = Some(b.matrix().ok_or_else(cut)?);
        }
        let seq = Sequence {
            horizontal_size: h as u16,
            vertical_size: v as u16,
            vbv_buffer_size: vbv,
            ..Sequence::default()
        };
        st.seq = self.seq.seq;
        self.seq = st;
        self.seq_pending = Some((off, seq));
        Ok(())
    }

    fn extension(
        &mut self,
        off: usize,
        b: &mut Bits<'_>,
        pending: &mut Option<Pending>,
    ) -> Result<(), Mpeg2BuildError> {
        let cut = || err(off, "extension cut short");
        match b.u(4).ok_or_else(cut)? {
            // Sequence extension.
            1 => {
                let (_, mut seq) = self
                    .seq_pending
                    .take()
                    .ok_or_else(|| err(off, "sequence extension without a sequence header"))?;
                seq.profile_and_level_indication = b.u(8).ok_or_else(cut)? as u16;
                let progressive = b.flag().ok_or_else(cut)?;
                seq.chroma_format = b.u(2).ok_or_else(cut)? as u8;
                seq.horizontal_size |= (b.u(2).ok_or_else(cut)? << 12) as u16;
                seq.vertical_size |= (b.u(2).ok_or_else(cut)? << 12) as u16;
                b.u(12); // bit_rate_extension
                b.u(1);
                seq.vbv_buffer_size |= b.u(8).ok_or_else(cut)? << 10;
                seq.flags.set(SequenceFlags::PROGRESSIVE, progressive);
                if seq.chroma_format != ChromaFormat::Yuv420 as u8 {
                    return Err(err(
                        off,
                        format!("chroma_format {} (4:2:0 only)", seq.chroma_format),
                    ));
                }
                self.seq.seq = Some(seq);
            }
            // Quant matrix extension.
            3 => {
                self.quant_extension = true;
                if b.flag().ok_or_else(cut)? {
                    self.seq.intra = Some(b.matrix().ok_or_else(cut)?);
                }
                if b.flag().ok_or_else(cut)? {
                    self.seq.non_intra = Some(b.matrix().ok_or_else(cut)?);
                }
                if b.flag().ok_or_else(cut)? {
                    self.seq.chroma_intra = Some(b.matrix().ok_or_else(cut)?);
                }
                if b.flag().ok_or_else(cut)? {
                    self.seq.chroma_non_intra = Some(b.matrix().ok_or_else(cut)?);
                }
            }
            // Picture coding extension.
            8 => {
                let p = pending
                    .as_mut()
                    .ok_or_else(|| err(off, "picture coding extension without a picture"))?;
                let mut pic = Picture::default();
                for fc in pic.f_code.iter_mut().flatten() {
                    *fc = b.u(4).ok_or_else(cut)? as u8;
                }
                pic.intra_dc_precision = b.u(2).ok_or_else(cut)? as u8;
                pic.picture_structure = b.u(2).ok_or_else(cut)? as u8;
                let mut flags = PictureFlags::empty();
                for f in [
                    PictureFlags::TOP_FIELD_FIRST,
                    PictureFlags::FRAME_PRED_DCT,
                    PictureFlags::CONCEALMENT_MV,
                    PictureFlags::Q_SCALE_TYPE,
                    PictureFlags::INTRA_VLC,
                    PictureFlags::ALT_SCAN,
                    PictureFlags::REPEAT_FIRST,
                ] {
                    flags.set(f, b.flag().ok_or_else(cut)?);
                }
                b.u(1); // chroma_420_type
                flags.set(PictureFlags::PROGRESSIVE, b.flag().ok_or_else(cut)?);
                pic.flags = flags;
                if pic.picture_structure == 0 {
                    return Err(err(off, "picture_structure 0 (reserved)"));
                }
                p.ext = Some(pic);
            }
            _ => {}
        }
        Ok(())
    }

    fn picture(&mut self, p: Pending) -> Result<(), Mpeg2BuildError> {
        let off = p.offset;
        let seq = self.seq.seq.ok_or_else(|| {
            err(
                off,
                "picture before a sequence header with its extension (MPEG-1 is not MPEG-2)",
            )
        })?;
        let mut pic = p
            .ext
            .ok_or_else(|| err(off, "picture without a picture coding extension (MPEG-1)"))?;
        if !(1..=3).contains(&p.coding_type) {
            return Err(err(off, format!("picture_coding_type {}", p.coding_type)));
        }
        if p.slices.is_empty() {
            return Err(err(off, "picture without slices"));
        }
        pic.picture_coding_type = p.coding_type;
        let is_ref = p.coding_type != PictureCodingType::B as u8;
        let frame = pic.picture_structure == PictureStructure::Frame as u8;

        // Which field of a pair this is.
        let (field, ts) = match self.first_field.take() {
            Some((ts, _, structure)) if !frame && structure != pic.picture_structure => (2u8, ts),
            Some(_) => return Err(err(off, "first field without its second field")),
            None if frame => (0, self.new_ts()),
            None => (1, self.new_ts()),
        };
        if field == 1 {
            self.first_field = Some((ts, p.coding_type, pic.picture_structure));
        }

        // A B frame with no past reference (fewer than two reference frames so far)
        // in an open GOP: FFmpeg drops it (and so do players at a stream start).
        if p.coding_type == PictureCodingType::B as u8
            && field != 2
            && self.refs.len() < 2
            && !self.closed_gop
        {
            self.skip_second_field = field == 1;
            self.first_field = None;
            self.next_ts -= self.step;
            return Ok(());
        }
        if field == 2 && std::mem::take(&mut self.skip_second_field) {
            return Ok(());
        }

        // References: the frames decoded before this one.
        (pic.forward_ref_ts, pic.backward_ref_ts) = reference_ts(p.coding_type, &self.refs);

        // After the frame: references and display.
        let frame_is_ref = if field == 2 {
            self.first_was_ref
        } else {
            is_ref
        };
        let mut shows = Vec::new();
        if field != 1 {
            if frame_is_ref {
                self.refs.push(ts);
                if self.refs.len() > 2 {
                    self.refs.remove(0);
                }
                if let Some(h) = self.held.replace(ts) {
                    shows.push(h);
                }
            } else {
                shows.push(ts);
            }
        }
        self.first_was_ref = field == 1 && is_ref;
        let mut references = self.refs.clone();
        if field == 1 {
            references.push(ts);
        }
        let decode_index = self.out.len() as u32;
        self.out.push(Mpeg2Picture {
            sequence: seq,
            picture: pic,
            quantisation: self.seq.quantisation(),
            new_sequence_header: std::mem::take(&mut self.new_sequence_header),
            quant_extension: std::mem::take(&mut self.quant_extension),
            bitstream: p.slices,
            timestamp: ts,
            field,
            display: Mpeg2Display {
                width: u32::from(seq.horizontal_size),
                height: u32::from(seq.vertical_size),
            },
            shows,
            references,
            decode_index,
            stream_offset: off,
        });
        Ok(())
    }

    fn new_ts(&mut self) -> u64 {
        let ts = self.next_ts;
        self.next_ts += self.step;
        ts
    }
}
