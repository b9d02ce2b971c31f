//! MPEG-2 stateless controls (`V4L2_CID_STATELESS_MPEG2_*`, Linux 6.12 UAPI).
//!
//! Range rules: the kernel's `std_validate_compound` (6.12) plus ISO/IEC
//! 13818-2 section 6.3 semantics.

use crate::control::serde_helpers as sh;
use crate::control::{enum_field, reserved_zero, Rules};
use crate::h264::CID_STATELESS_BASE;
use crate::{Control, CtrlError, Violation};
use serde::{Deserialize, Serialize};
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `V4L2_CID_STATELESS_MPEG2_SEQUENCE`.
pub const CID_SEQUENCE: u32 = CID_STATELESS_BASE + 220;
/// `V4L2_CID_STATELESS_MPEG2_PICTURE`.
pub const CID_PICTURE: u32 = CID_STATELESS_BASE + 221;
/// `V4L2_CID_STATELESS_MPEG2_QUANTISATION`.
pub const CID_QUANTISATION: u32 = CID_STATELESS_BASE + 222;

crate::ctrl_flags! {
    /// `V4L2_MPEG2_SEQ_FLAG_*`.
    pub struct SequenceFlags(u8) {
        const PROGRESSIVE = 0x01;
    }
}

crate::ctrl_flags! {
    /// `V4L2_MPEG2_PIC_FLAG_*`.
    pub struct PictureFlags(u32) {
        const TOP_FIELD_FIRST = 0x0001;
        const FRAME_PRED_DCT = 0x0002;
        const CONCEALMENT_MV = 0x0004;
        const Q_SCALE_TYPE = 0x0008;
        const INTRA_VLC = 0x0010;
        const ALT_SCAN = 0x0020;
        const REPEAT_FIRST = 0x0040;
        const PROGRESSIVE = 0x0080;
    }
}

crate::ctrl_enum! {
    /// `chroma_format` of the sequence extension.
    pub enum ChromaFormat: u8 {
        Yuv420 = 1 => "4:2:0",
        Yuv422 = 2 => "4:2:2",
        Yuv444 = 3 => "4:4:4",
    }
}

crate::ctrl_enum! {
    /// `V4L2_MPEG2_PIC_CODING_TYPE_*`.
    pub enum PictureCodingType: u8 {
        I = 1 => "I",
        P = 2 => "P",
        B = 3 => "B",
        D = 4 => "D",
    }
}

crate::ctrl_enum! {
    /// `V4L2_MPEG2_PIC_{TOP_FIELD,BOTTOM_FIELD,FRAME}` (`picture_structure`).
    pub enum PictureStructure: u8 {
        TopField = 1 => "TOP_FIELD",
        BottomField = 2 => "BOTTOM_FIELD",
        Frame = 3 => "FRAME",
    }
}

/// `struct v4l2_ctrl_mpeg2_sequence`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Serialize,
    Deserialize,
)]
pub struct Sequence {
    pub horizontal_size: u16,
    pub vertical_size: u16,
    pub vbv_buffer_size: u32,
    pub profile_and_level_indication: u16,
    #[serde(
        serialize_with = "sh::ser_enum::<ChromaFormat, _>",
        deserialize_with = "sh::de_enum::<ChromaFormat, _>"
    )]
    pub chroma_format: u8,
    pub flags: SequenceFlags,
}

impl Default for Sequence {
    /// What the kernel initialises the control with (4:2:0).
    fn default() -> Self {
        let mut s = Self::new_zeroed();
        s.chroma_format = ChromaFormat::Yuv420 as u8;
        s
    }
}

impl Sequence {
    /// Typed `chroma_format`.
    pub fn chroma_format(&self) -> Result<ChromaFormat, CtrlError> {
        enum_field(Self::NAME, "chroma_format", self.chroma_format)
    }
}

impl Control for Sequence {
    const ID: u32 = CID_SEQUENCE;
    const NAME: &'static str = "MPEG2_SEQUENCE";

    fn check(&self) -> Result<(), CtrlError> {
        self.chroma_format()?;
        self.flags.check(Self::NAME, "flags")
    }

    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        // 6.3.3: horizontal/vertical_size_value 0 is forbidden; with the
        // extension bits the sizes are 14 bits.
        r.range("horizontal_size", self.horizontal_size, 1, 0x3fff);
        r.range("vertical_size", self.vertical_size, 1, 0x3fff);
        // 6.3.5: profile_and_level_indication is 8 bits; vbv_buffer_size 18 bits.
        r.max(
            "profile_and_level_indication",
            self.profile_and_level_indication,
            0xff,
        );
        // vbv_buffer_size: no rule. The UAPI field is 32 bits; GStreamer sends the size
        // in bits (the 18-bit value x 16384), FFmpeg's v4l2-request the OUTPUT buffer
        // size; no driver reads it.
    }
}

/// `struct v4l2_ctrl_mpeg2_picture`.
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Serialize,
    Deserialize,
)]
pub struct Picture {
    pub backward_ref_ts: u64,
    pub forward_ref_ts: u64,
    pub flags: PictureFlags,
    /// `[forward, backward][horizontal, vertical]`.
    pub f_code: [[u8; 2]; 2],
    #[serde(
        serialize_with = "sh::ser_enum::<PictureCodingType, _>",
        deserialize_with = "sh::de_enum::<PictureCodingType, _>"
    )]
    pub picture_coding_type: u8,
    #[serde(
        serialize_with = "sh::ser_enum::<PictureStructure, _>",
        deserialize_with = "sh::de_enum::<PictureStructure, _>"
    )]
    pub picture_structure: u8,
    pub intra_dc_precision: u8,
    #[serde(skip)]
    pub reserved: [u8; 5],
}

impl Default for Picture {
    /// What the kernel initialises the control with (I picture, top field).
    fn default() -> Self {
        let mut p = Self::new_zeroed();
        p.picture_structure = PictureStructure::TopField as u8;
        p.picture_coding_type = PictureCodingType::I as u8;
        p
    }
}

impl Picture {
    /// Typed `picture_coding_type`.
    pub fn picture_coding_type(&self) -> Result<PictureCodingType, CtrlError> {
        enum_field(Self::NAME, "picture_coding_type", self.picture_coding_type)
    }
    /// Typed `picture_structure`.
    pub fn picture_structure(&self) -> Result<PictureStructure, CtrlError> {
        enum_field(Self::NAME, "picture_structure", self.picture_structure)
    }
}

impl Control for Picture {
    const ID: u32 = CID_PICTURE;
    const NAME: &'static str = "MPEG2_PICTURE";

    fn check(&self) -> Result<(), CtrlError> {
        self.flags.check(Self::NAME, "flags")?;
        self.picture_coding_type()?;
        self.picture_structure()?;
        reserved_zero(Self::NAME, "reserved", &self.reserved)
    }

    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        // Kernel: D pictures (MPEG-1 only) are rejected; intra_dc_precision 0..=3.
        r.rule(
            self.picture_coding_type != PictureCodingType::D as u8,
            "picture_coding_type",
            self.picture_coding_type,
            "I, P or B (1..=3)",
        );
        r.max("intra_dc_precision", self.intra_dc_precision, 3);
        // 6.3.10: f_code is 1..=9, or 15 when unused.
        for (i, fc) in self.f_code.iter().enumerate() {
            for (j, &v) in fc.iter().enumerate() {
                r.one_of(
                    format!("f_code[{i}][{j}]"),
                    v,
                    &[1, 2, 3, 4, 5, 6, 7, 8, 9, 15],
                );
            }
        }
    }
}

/// `struct v4l2_ctrl_mpeg2_quantisation` (matrices in zig-zag scan order).
#[repr(C)]
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Serialize,
    Deserialize,
)]
pub struct Quantisation {
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 8, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub intra_quantiser_matrix: [u8; 64],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 8, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub non_intra_quantiser_matrix: [u8; 64],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 8, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub chroma_intra_quantiser_matrix: [u8; 64],
    #[serde(
        serialize_with = "sh::ser_ints::<u8, 8, _, _>",
        deserialize_with = "sh::de_ints::<u8, _, _>"
    )]
    pub chroma_non_intra_quantiser_matrix: [u8; 64],
}

impl Control for Quantisation {
    const ID: u32 = CID_QUANTISATION;
    const NAME: &'static str = "MPEG2_QUANTISATION";

    fn check(&self) -> Result<(), CtrlError> {
        Ok(())
    }

    /// 6.3.11: a quantiser matrix value of 0 is forbidden; an all-zero chroma matrix
    /// means "not loaded, as luma" (the kernel's initial value, and what GStreamer sends
    /// when the stream loads none).
    fn violations(&self, out: &mut Vec<Violation>) {
        let mut r = Rules::new(Self::NAME, out);
        for (name, m, chroma) in [
            (
                "intra_quantiser_matrix",
                &self.intra_quantiser_matrix,
                false,
            ),
            (
                "non_intra_quantiser_matrix",
                &self.non_intra_quantiser_matrix,
                false,
            ),
            (
                "chroma_intra_quantiser_matrix",
                &self.chroma_intra_quantiser_matrix,
                true,
            ),
            (
                "chroma_non_intra_quantiser_matrix",
                &self.chroma_non_intra_quantiser_matrix,
                true,
            ),
        ] {
            if chroma && m.iter().all(|&v| v == 0) {
                continue;
            }
            for (i, &v) in m.iter().enumerate() {
                r.range(format!("{name}[{i}]"), v, 1, 255);
            }
        }
    }
}

/// The controls of one MPEG-2 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mpeg2Controls {
    pub sequence: Sequence,
    pub picture: Picture,
    /// QUANTISATION (absent: the spec's default matrices).
    pub quantisation: Option<Quantisation>,
}

impl Mpeg2Controls {
    /// A picture decoding can start at: it references nothing decoded before
    /// it (an I picture). An engine that lost its state waits for one.
    pub fn random_access(&self) -> bool {
        self.picture.picture_coding_type == PictureCodingType::I as u8
    }

    /// The set from a request's control list.
    pub fn from_controls(c: &crate::set::Controls<'_>) -> Result<Self, crate::set::SetError> {
        Ok(Mpeg2Controls {
            sequence: c.get()?,
            picture: c.get()?,
            quantisation: c.opt()?,
        })
    }

    /// The control list a client sets for this request.
    pub fn to_payloads(&self) -> Vec<crate::set::Payload> {
        use crate::set::Payload;
        let mut v = vec![Payload::of(&self.sequence), Payload::of(&self.picture)];
        if let Some(q) = &self.quantisation {
            v.push(Payload::of(q));
        }
        v
    }
}
