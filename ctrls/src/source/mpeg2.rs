//! MPEG-2 through the picture-source interface: `crate::build::mpeg2`
//! requests (video elementary stream) -> pictures.
//!
//! One request per frame picture, or per field (the first holds the CAPTURE
//! buffer, the second decodes into it), each with SEQUENCE, PICTURE and
//! QUANTISATION and the picture's slices as OUTPUT bytes. Display order: a
//! reference frame is shown once the next one is decoded, a B frame at once.

use crate::build::mpeg2::{build_stream, Mpeg2Picture};
use crate::mpeg2::Mpeg2Controls;

use super::{CodedPicture, FieldRole, ModeControl, PictureSource, Rect, SourceError, StreamInfo};
use crate::Codec;

/// CAPTURE buffers the MPEG-2 reference state needs: two references, the frame
/// being decoded and one waiting for display.
pub const MPEG2_DPB_SIZE: u32 = 4;

/// The control set of one MPEG-2 request.
pub fn mpeg2_set(p: &Mpeg2Picture) -> Mpeg2Controls {
    Mpeg2Controls {
        sequence: p.sequence,
        picture: p.picture,
        quantisation: Some(p.quantisation),
    }
}

/// A whole MPEG-2 stream, built up front.
pub struct Mpeg2Source {
    pics: std::vec::IntoIter<Mpeg2Picture>,
    requests: usize,
}

impl Mpeg2Source {
    pub fn new(data: &[u8]) -> Result<Self, SourceError> {
        let pics = build_stream(data).map_err(|e| SourceError(format!("MPEG-2: {e}")))?;
        Ok(Self::from_pictures(pics))
    }

    /// The stream's requests with QUANTISATION as GStreamer 1.26's v4l2slmpeg2dec
    /// leaves it (see [`crate::source::quirks::gstreamer_mpeg2_quantisation`]).
    pub fn emulating_gstreamer(data: &[u8]) -> Result<Self, SourceError> {
        let mut pics = build_stream(data).map_err(|e| SourceError(format!("MPEG-2: {e}")))?;
        crate::source::quirks::gstreamer_mpeg2_quantisation(&mut pics);
        Ok(Self::from_pictures(pics))
    }

    pub fn from_pictures(pics: Vec<Mpeg2Picture>) -> Self {
        Mpeg2Source {
            requests: pics.len(),
            pics: pics.into_iter(),
        }
    }

    /// Requests (frame pictures and fields).
    pub fn requests(&self) -> usize {
        self.requests
    }
}

impl PictureSource for Mpeg2Source {
    fn codec(&self) -> Codec {
        Codec::Mpeg2
    }

    fn mode_controls(&self) -> Vec<ModeControl> {
        Vec::new()
    }

    fn next_picture(&mut self) -> Result<Option<CodedPicture>, SourceError> {
        let Some(p) = self.pics.next() else {
            return Ok(None);
        };
        let (width, height) = (p.display.width, p.display.height);
        Ok(Some(CodedPicture {
            controls: mpeg2_set(&p).to_payloads(),
            timestamp: p.timestamp,
            field: match p.field {
                0 => FieldRole::Frame,
                1 => FieldRole::FirstField,
                _ => FieldRole::SecondField,
            },
            slice: None,
            info: StreamInfo {
                coded_width: width,
                coded_height: height,
                visible: Rect {
                    left: 0,
                    top: 0,
                    width,
                    height,
                },
                bit_depth: 8,
                dpb_size: MPEG2_DPB_SIZE,
            },
            picture_rect: None,
            references: p.references,
            display: p.shows,
            displays: 1,
            bitstream: p.bitstream,
        }))
    }

    fn flush(&mut self) -> Vec<u64> {
        Vec::new()
    }
}
