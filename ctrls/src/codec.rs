//! The two vocabularies every layer shares: which codec a context decodes
//! ([`Codec`]) and which CAPTURE pixel format a picture is written in
//! ([`CaptureFormat`]). Declared once for the workspace: the kernel protocol,
//! the engine, the daemon, the replay and the client all use these.

use std::fmt;
use std::str::FromStr;

/// A stateless codec (one V4L2 OUTPUT format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Codec {
    H264,
    Hevc,
    Vp8,
    Vp9,
    Av1,
    Mpeg2,
}

impl Codec {
    /// Every codec, in the kernel protocol's id order.
    pub const ALL: [Codec; 6] = [
        Codec::H264,
        Codec::Hevc,
        Codec::Vp8,
        Codec::Vp9,
        Codec::Av1,
        Codec::Mpeg2,
    ];

    /// The stateless OUTPUT fourcc (`V4L2_PIX_FMT_*_SLICE` / `*_FRAME`).
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            Codec::H264 => *b"S264",
            Codec::Hevc => *b"S265",
            Codec::Vp8 => *b"VP8F",
            Codec::Vp9 => *b"VP9F",
            Codec::Av1 => *b"AV1F",
            Codec::Mpeg2 => *b"MG2S",
        }
    }

    pub fn from_fourcc(fourcc: [u8; 4]) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.fourcc() == fourcc)
    }

    /// `DAEDALUS_CODEC_*` of kmod/include/uapi/daedalus.h (checked against the
    /// header by the daemon's protocol layout test).
    pub const fn proto_id(self) -> u32 {
        match self {
            Codec::H264 => 1,
            Codec::Hevc => 2,
            Codec::Vp8 => 3,
            Codec::Vp9 => 4,
            Codec::Av1 => 5,
            Codec::Mpeg2 => 6,
        }
    }

    pub fn from_proto_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.proto_id() == id)
    }

    /// Lower-case name, as command lines spell it (`--codec h264`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::Hevc => "hevc",
            Codec::Vp8 => "vp8",
            Codec::Vp9 => "vp9",
            Codec::Av1 => "av1",
            Codec::Mpeg2 => "mpeg2",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no codec's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown codec {0:?} (one of h264, hevc, vp8, vp9, av1, mpeg2)")]
pub struct UnknownCodec(pub String);

impl FromStr for Codec {
    type Err = UnknownCodec;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s || (s == "h265" && *c == Codec::Hevc))
            .ok_or(UnknownCodec(s))
    }
}

/// A CAPTURE pixel format (4:2:0 in every case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum CaptureFormat {
    /// `NV12`: one memory plane, Y then interleaved CbCr (chroma stride = Y stride).
    Nv12,
    /// `NM12`: two memory planes, Y and interleaved CbCr.
    Nv12m,
    /// `YU12`: one memory plane, Y then Cb then Cr (chroma stride = Y stride / 2).
    Yuv420,
    /// `YM12`: three memory planes, Y, Cb, Cr (offered by other decoders; the
    /// daedalus module does not).
    Yuv420m,
    /// `P010`: one memory plane, 16-bit little-endian samples with the value in
    /// the high 10 bits, Y then interleaved CbCr (chroma stride = Y stride).
    P010,
}

impl CaptureFormat {
    pub const ALL: [CaptureFormat; 5] = [
        CaptureFormat::Nv12,
        CaptureFormat::Nv12m,
        CaptureFormat::Yuv420,
        CaptureFormat::Yuv420m,
        CaptureFormat::P010,
    ];

    /// The V4L2 fourcc code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            CaptureFormat::Nv12 => *b"NV12",
            CaptureFormat::Nv12m => *b"NM12",
            CaptureFormat::Yuv420 => *b"YU12",
            CaptureFormat::Yuv420m => *b"YM12",
            CaptureFormat::P010 => *b"P010",
        }
    }

    pub fn from_fourcc(fourcc: [u8; 4]) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.fourcc() == fourcc)
    }

    /// The fourcc as the little-endian `u32` V4L2 carries.
    pub fn fourcc_u32(self) -> u32 {
        u32::from_le_bytes(self.fourcc())
    }

    pub fn from_fourcc_u32(fourcc: u32) -> Option<Self> {
        Self::from_fourcc(fourcc.to_le_bytes())
    }

    /// Number of memory planes (V4L2 `num_planes` of the multi-planar format).
    pub fn mem_planes(self) -> usize {
        match self {
            CaptureFormat::Nv12 | CaptureFormat::Yuv420 | CaptureFormat::P010 => 1,
            CaptureFormat::Nv12m => 2,
            CaptureFormat::Yuv420m => 3,
        }
    }

    /// Bytes per sample.
    pub fn sample_bytes(self) -> usize {
        match self {
            CaptureFormat::P010 => 2,
            _ => 1,
        }
    }

    /// Preference order when a device offers several, for a stream of `bit_depth`.
    pub fn preference(bit_depth: u8) -> &'static [CaptureFormat] {
        if bit_depth > 8 {
            &[CaptureFormat::P010]
        } else {
            &[
                CaptureFormat::Nv12,
                CaptureFormat::Yuv420,
                CaptureFormat::Nv12m,
                CaptureFormat::Yuv420m,
            ]
        }
    }

    /// The format the engine writes by default for a stream of `bit_depth`.
    pub fn default_for(bit_depth: u8) -> Self {
        Self::preference(bit_depth)[0]
    }

    /// Minimum stride and size of each memory plane for `width` x `height`
    /// (both rounded up to even), with the given luma stride.
    pub fn plane_layout(self, _width: u32, height: u32, stride: usize) -> Vec<(usize, usize)> {
        let h = (height as usize + 1) & !1;
        let y = stride * h;
        match self {
            CaptureFormat::Nv12 | CaptureFormat::P010 | CaptureFormat::Yuv420 => {
                vec![(stride, y + y / 2)]
            }
            CaptureFormat::Nv12m => vec![(stride, y), (stride, y / 2)],
            CaptureFormat::Yuv420m => vec![(stride, y), (stride / 2, y / 4), (stride / 2, y / 4)],
        }
    }

    /// Smallest luma stride for `width`.
    pub fn min_stride(self, width: u32) -> usize {
        ((width as usize + 1) & !1) * self.sample_bytes()
    }
}

/// A name that is no CAPTURE format's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown CAPTURE format {0:?} (one of nv12, nv12m, yuv420/i420, yuv420m, p010, or a fourcc)"
)]
pub struct UnknownFormat(pub String);

impl FromStr for CaptureFormat {
    type Err = UnknownFormat;

    /// The fourcc (`NV12`, `NM12`, `YU12`, `YM12`, `P010`) or a name
    /// (`nv12`, `nv12m`, `yuv420` / `i420`, `yuv420m`, `p010`), any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = s.to_ascii_lowercase();
        let by_name = match l.as_str() {
            "nv12" => Some(CaptureFormat::Nv12),
            "nv12m" => Some(CaptureFormat::Nv12m),
            "yuv420" | "i420" => Some(CaptureFormat::Yuv420),
            "yuv420m" => Some(CaptureFormat::Yuv420m),
            "p010" => Some(CaptureFormat::P010),
            _ => None,
        };
        by_name
            .or_else(|| {
                let f: [u8; 4] = s.to_ascii_uppercase().as_bytes().try_into().ok()?;
                Self::from_fourcc(f)
            })
            .ok_or(UnknownFormat(s.to_owned()))
    }
}

impl fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.fourcc()).unwrap_or("????"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_ids_round_trip() {
        for c in Codec::ALL {
            assert_eq!(Codec::from_fourcc(c.fourcc()), Some(c));
            assert_eq!(Codec::from_proto_id(c.proto_id()), Some(c));
            assert_eq!(c.name().parse::<Codec>(), Ok(c));
        }
        assert_eq!("H265".parse::<Codec>(), Ok(Codec::Hevc));
        assert!("mjpeg".parse::<Codec>().is_err());
        assert_eq!(Codec::from_proto_id(0), None);
    }

    #[test]
    fn capture_formats_round_trip() {
        for f in CaptureFormat::ALL {
            assert_eq!(CaptureFormat::from_fourcc_u32(f.fourcc_u32()), Some(f));
            assert_eq!(f.plane_layout(64, 48, 64).len(), f.mem_planes());
        }
        // NV12 1920x1080, stride 1920: one plane of 1920*1080*3/2 bytes.
        assert_eq!(
            CaptureFormat::Nv12.plane_layout(1920, 1080, 1920),
            vec![(1920, 3_110_400)]
        );
        assert_eq!(CaptureFormat::P010.min_stride(641), 1284);
        assert_eq!("i420".parse(), Ok(CaptureFormat::Yuv420));
        assert_eq!("NM12".parse(), Ok(CaptureFormat::Nv12m));
        assert_eq!("ym12".parse(), Ok(CaptureFormat::Yuv420m));
        assert!("rgb".parse::<CaptureFormat>().is_err());
    }
}
