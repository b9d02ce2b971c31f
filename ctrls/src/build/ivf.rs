//! IVF container reader (the libvpx/libaom test container): a 32-byte file
//! header followed by frames, each a 12-byte header (little-endian `u32` size,
//! `u64` timestamp) and `size` bytes of payload.
//!
//! Every frame keeps the byte offset of its payload in the file so builders can
//! report errors against the original bytes.

/// IVF file header size (bytes), as libvpx writes it.
pub const FILE_HEADER_LEN: usize = 32;
/// IVF frame header size (bytes).
pub const FRAME_HEADER_LEN: usize = 12;

/// Malformed IVF data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IvfError {
    /// The file is shorter than the 32-byte header.
    #[error("byte 0: {len} byte(s), shorter than the 32-byte IVF header")]
    ShortHeader {
        /// File length.
        len: usize,
    },
    /// The signature is not `DKIF`.
    #[error("byte 0: bad IVF signature {sig:02x?} (expected \"DKIF\")")]
    BadSignature {
        /// The four bytes found.
        sig: [u8; 4],
    },
    /// The header length field is smaller than 32 or beyond the file.
    #[error("byte 6: IVF header length {header_len} is invalid for a {len}-byte file")]
    BadHeaderLength {
        /// The header length field.
        header_len: u16,
        /// File length.
        len: usize,
    },
    /// A frame header or payload runs past the end of the file.
    #[error(
        "byte {offset}: IVF frame {index} truncated: needs {needed} byte(s), {available} left"
    )]
    Truncated {
        /// Offset of the frame header.
        offset: usize,
        /// Frame index (0-based).
        index: usize,
        /// Bytes the frame header says it needs (header + payload).
        needed: usize,
        /// Bytes left in the file from `offset`.
        available: usize,
    },
}

impl IvfError {
    /// Byte offset of the problem in the file.
    pub fn offset(&self) -> usize {
        match self {
            IvfError::ShortHeader { .. } | IvfError::BadSignature { .. } => 0,
            IvfError::BadHeaderLength { .. } => 6,
            IvfError::Truncated { offset, .. } => *offset,
        }
    }
}

/// The IVF file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfHeader {
    /// Format version (0).
    pub version: u16,
    /// Header length in bytes (32).
    pub header_len: u16,
    /// Codec FourCC, e.g. `VP90`, `AV01`.
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Time base denominator (frame rate numerator).
    pub timebase_den: u32,
    /// Time base numerator.
    pub timebase_num: u32,
    /// Number of frames the writer announced (often wrong or 0).
    pub frame_count: u32,
}

/// One IVF frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfFrame<'a> {
    /// Index of the frame in the file (0-based).
    pub index: usize,
    /// Offset of the payload (after the 12-byte frame header) in the file.
    pub offset: usize,
    /// Presentation timestamp in time-base units.
    pub pts: u64,
    /// The payload.
    pub data: &'a [u8],
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parse the header of an IVF file.
pub fn parse_header(data: &[u8]) -> Result<IvfHeader, IvfError> {
    if data.len() < FILE_HEADER_LEN {
        return Err(IvfError::ShortHeader { len: data.len() });
    }
    let sig = [data[0], data[1], data[2], data[3]];
    if &sig != b"DKIF" {
        return Err(IvfError::BadSignature { sig });
    }
    let header_len = le16(data, 6);
    if (header_len as usize) < FILE_HEADER_LEN || header_len as usize > data.len() {
        return Err(IvfError::BadHeaderLength {
            header_len,
            len: data.len(),
        });
    }
    Ok(IvfHeader {
        version: le16(data, 4),
        header_len,
        fourcc: [data[8], data[9], data[10], data[11]],
        width: le16(data, 12),
        height: le16(data, 14),
        timebase_den: le32(data, 16),
        timebase_num: le32(data, 20),
        frame_count: le32(data, 24),
    })
}

/// Parse a whole IVF file: header and every frame.
pub fn parse(data: &[u8]) -> Result<(IvfHeader, Vec<IvfFrame<'_>>), IvfError> {
    let header = parse_header(data)?;
    let mut frames = Vec::new();
    let mut pos = header.header_len as usize;
    while pos < data.len() {
        let index = frames.len();
        let available = data.len() - pos;
        if available < FRAME_HEADER_LEN {
            return Err(IvfError::Truncated {
                offset: pos,
                index,
                needed: FRAME_HEADER_LEN,
                available,
            });
        }
        let size = le32(data, pos) as usize;
        let pts = u64::from(le32(data, pos + 4)) | (u64::from(le32(data, pos + 8)) << 32);
        let needed = FRAME_HEADER_LEN + size;
        if available < needed {
            return Err(IvfError::Truncated {
                offset: pos,
                index,
                needed,
                available,
            });
        }
        let start = pos + FRAME_HEADER_LEN;
        frames.push(IvfFrame {
            index,
            offset: start,
            pts,
            data: &data[start..start + size],
        });
        pos = start + size;
    }
    Ok((header, frames))
}

/// Errors of the IVF stream builders (VP9, AV1), each with the byte offset
/// in the IVF file where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IvfBuildError {
    /// Malformed IVF container.
    #[error(transparent)]
    Ivf(#[from] IvfError),
    /// An IVF frame, or a frame / OBU inside it, could not be parsed
    /// (truncated, corrupt, AV1 frame before its sequence header).
    #[error("byte {offset}: IVF frame {ivf_index}: {msg}")]
    Parse {
        /// Offset of the OBU or frame (or of the IVF frame payload).
        offset: usize,
        /// IVF frame index.
        ivf_index: usize,
        /// What the parser said.
        msg: String,
    },
    /// Stream-level inconsistency (inter frame before any key frame, tile
    /// group without frame header, frame left incomplete, reference to an
    /// empty slot, too many tiles).
    #[error("byte {offset}: {msg}")]
    Stream {
        /// Offset of the OBU or IVF frame payload.
        offset: usize,
        /// Description.
        msg: String,
    },
}

impl IvfBuildError {
    /// Byte offset of the problem in the file.
    pub fn offset(&self) -> usize {
        match self {
            IvfBuildError::Ivf(e) => e.offset(),
            IvfBuildError::Parse { offset, .. } | IvfBuildError::Stream { offset, .. } => *offset,
        }
    }
}

/// Feeds every frame of a whole IVF file to `push` (payload, payload offset,
/// frame index) and collects the events it returns.
pub(crate) fn build_all<E>(
    data: &[u8],
    mut push: impl FnMut(&[u8], usize, usize) -> Result<Vec<E>, IvfBuildError>,
) -> Result<Vec<E>, IvfBuildError> {
    let (_, frames) = parse(data)?;
    let mut out = Vec::new();
    for f in frames {
        out.extend(push(f.data, f.offset, f.index)?);
    }
    Ok(out)
}

/// Runs a cros-codecs parser call so that a panic in it is an error.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err("parser panicked".into()),
    }
}

/// Test-stream writer: a 64x64, 30/1 fps IVF file of `fourcc` holding
/// `frames`, frame `i` stamped with pts `i`.
#[cfg(test)]
pub(crate) fn write_for_tests(fourcc: &[u8; 4], frames: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"DKIF\0\0\x20\0");
    v.extend_from_slice(fourcc);
    v.extend_from_slice(b"\x40\0\x40\0\x1e\0\0\0\x01\0\0\0");
    v.extend_from_slice(&(frames.len() as u32).to_le_bytes());
    v.extend_from_slice(&[0; 4]);
    for (i, f) in frames.iter().enumerate() {
        v.extend_from_slice(&(f.len() as u32).to_le_bytes());
        v.extend_from_slice(&(i as u64).to_le_bytes());
        v.extend_from_slice(f);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-written file: header + frames of 3 and 0 bytes.
    fn sample() -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"DKIF");
        v.extend_from_slice(&[0, 0, 32, 0]);
        v.extend_from_slice(b"VP90");
        v.extend_from_slice(&[64, 0, 48, 0]);
        v.extend_from_slice(&[30, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&[3, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0]);
        v.extend_from_slice(&[0xaa, 0xbb, 0xcc]);
        v.extend_from_slice(&[0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    #[test]
    fn parses_header_and_frames() {
        let data = sample();
        let (h, frames) = parse(&data).unwrap();
        assert_eq!(&h.fourcc, b"VP90");
        assert_eq!((h.width, h.height), (64, 48));
        assert_eq!((h.timebase_den, h.timebase_num, h.frame_count), (30, 1, 2));
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].offset, 44);
        assert_eq!(frames[0].pts, 7 | (1 << 32));
        assert_eq!(frames[0].data, &[0xaa, 0xbb, 0xcc]);
        assert_eq!(frames[1].offset, 59);
        assert_eq!(frames[1].pts, 8);
        assert!(frames[1].data.is_empty());
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert_eq!(
            parse(b"DKIF").unwrap_err(),
            IvfError::ShortHeader { len: 4 }
        );
        let mut bad = sample();
        bad[0] = b'X';
        assert!(matches!(parse(&bad), Err(IvfError::BadSignature { .. })));
        let data = sample();
        // Cut inside the first payload: frame 0 header at 32 needs 15 bytes.
        let err = parse(&data[..46]).unwrap_err();
        assert_eq!(
            err,
            IvfError::Truncated {
                offset: 32,
                index: 0,
                needed: 15,
                available: 14
            }
        );
        assert_eq!(err.offset(), 32);
        // Cut inside the second frame header.
        let err = parse(&data[..50]).unwrap_err();
        assert_eq!(err.offset(), 47);
    }
}
