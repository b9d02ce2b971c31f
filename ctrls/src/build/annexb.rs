//! Annex B byte-stream splitting (ITU-T H.264 / H.265 Annex B) with byte offsets.
//!
//! A NAL unit starts after a `00 00 01` start code (a `00 00 00 01` start code is a
//! zero byte followed by the three-byte form) and ends before the next start code;
//! trailing zero bytes (`trailing_zero_8bits`, or the leading zero of a four-byte
//! start code) are not part of it. Emulation-prevention bytes are kept: the
//! payload is returned exactly as it appears in the stream.

/// One NAL unit of an Annex B stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NalUnit<'a> {
    /// Byte offset of the NAL unit header (first byte after the start code), counted
    /// from the start of the stream (plus the splitter's base offset).
    pub offset: usize,
    /// The NAL unit: header byte(s) and payload, emulation-prevention bytes kept,
    /// trailing zero bytes removed.
    pub data: &'a [u8],
}

impl NalUnit<'_> {
    /// H.264 `nal_unit_type` (5 bits). H.265 callers use [`NalUnit::hevc_type`].
    pub fn h264_type(&self) -> u8 {
        self.data.first().map_or(0, |b| b & 0x1f)
    }

    /// H.264 `nal_ref_idc`.
    pub fn h264_ref_idc(&self) -> u8 {
        self.data.first().map_or(0, |b| (b >> 5) & 0x3)
    }

    /// H.265 `nal_unit_type` (6 bits).
    pub fn hevc_type(&self) -> u8 {
        self.data.first().map_or(0, |b| (b >> 1) & 0x3f)
    }

    /// `forbidden_zero_bit` (must be 0).
    pub fn forbidden_bit(&self) -> bool {
        self.data.first().is_some_and(|b| b & 0x80 != 0)
    }
}

/// Position of the first `00 00 01` at or after `from`, as the index of its first zero.
pub fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 3 <= data.len() {
        // Skip quickly: the third byte of a start code is 1, so if data[i+2] > 1
        // no start code can begin at i, i+1 or i+2.
        let b2 = data[i + 2];
        if b2 > 1 {
            i += 3;
            continue;
        }
        if b2 == 1 && data[i] == 0 && data[i + 1] == 0 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Iterator over the NAL units of a complete Annex B stream.
///
/// Bytes before the first start code are reported by [`NalIter::leading_garbage`]
/// (zero bytes there are legal `leading_zero_8bits`). Empty NAL units (two start
/// codes in a row) are skipped.
#[derive(Debug, Clone)]
pub struct NalIter<'a> {
    data: &'a [u8],
    base: usize,
    /// Index of the first byte after the current start code.
    pos: Option<usize>,
    leading: usize,
}

impl<'a> NalIter<'a> {
    /// Split `data`; reported offsets are `base + index into data`.
    pub fn new(data: &'a [u8], base: usize) -> Self {
        let first = find_start_code(data, 0);
        let leading = first.unwrap_or(data.len());
        NalIter {
            data,
            base,
            pos: first.map(|s| s + 3),
            leading,
        }
    }

    /// Offset and length of non-zero bytes before the first start code, if any.
    pub fn leading_garbage(&self) -> Option<(usize, usize)> {
        let lead = &self.data[..self.leading];
        lead.iter()
            .position(|&b| b != 0)
            .map(|p| (self.base + p, self.leading - p))
    }
}

impl<'a> Iterator for NalIter<'a> {
    type Item = NalUnit<'a>;

    fn next(&mut self) -> Option<NalUnit<'a>> {
        loop {
            let start = self.pos?;
            let next = find_start_code(self.data, start);
            let mut end = next.unwrap_or(self.data.len());
            self.pos = next.map(|s| s + 3);
            while end > start && self.data[end - 1] == 0 {
                end -= 1;
            }
            if end > start {
                return Some(NalUnit {
                    offset: self.base + start,
                    data: &self.data[start..end],
                });
            }
            self.pos?;
        }
    }
}

/// Split a whole Annex B stream into NAL units.
pub fn split(data: &[u8]) -> NalIter<'_> {
    NalIter::new(data, 0)
}

/// Incremental splitter: feed chunks of any size, get the NAL units that are
/// complete (followed by a start code); [`Splitter::finish`] returns the last one.
#[derive(Debug, Default, Clone)]
pub struct Splitter {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: usize,
    /// Whether the first start code of the stream has been seen.
    synced: bool,
}

/// An owned NAL unit from [`Splitter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedNal {
    /// Stream offset of the NAL unit header.
    pub offset: usize,
    /// NAL bytes (header + payload, emulation-prevention bytes kept).
    pub data: Vec<u8>,
}

impl OwnedNal {
    /// Borrowed view.
    pub fn as_nal(&self) -> NalUnit<'_> {
        NalUnit {
            offset: self.offset,
            data: &self.data,
        }
    }
}

/// Error of the incremental splitter: non-zero bytes before the first start code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {len} byte(s) of data before the first Annex B start code")]
pub struct LeadingGarbage {
    /// Stream offset of the first non-zero byte.
    pub offset: usize,
    /// Number of bytes from there to the start code (or to the end of data).
    pub len: usize,
}

impl Splitter {
    /// New splitter at stream offset 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stream offset of the next byte to be pushed.
    pub fn position(&self) -> usize {
        self.base + self.buf.len()
    }

    /// Append `chunk`; return the NAL units completed by it.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<OwnedNal>, LeadingGarbage> {
        self.buf.extend_from_slice(chunk);
        if !self.synced {
            match find_start_code(&self.buf, 0) {
                None => {
                    if let Some(p) = self.buf.iter().position(|&b| b != 0) {
                        return Err(LeadingGarbage {
                            offset: self.base + p,
                            len: self.buf.len() - p,
                        });
                    }
                    // Only zeros so far: keep at most two (they may start a start code).
                    let keep = self.buf.len().min(2);
                    let drop = self.buf.len() - keep;
                    self.buf.drain(..drop);
                    self.base += drop;
                    return Ok(Vec::new());
                }
                Some(s) => {
                    if let Some(p) = self.buf[..s].iter().position(|&b| b != 0) {
                        return Err(LeadingGarbage {
                            offset: self.base + p,
                            len: s - p,
                        });
                    }
                    self.buf.drain(..s);
                    self.base += s;
                    self.synced = true;
                }
            }
        }
        // buf starts with a start code. Find the last start code: everything
        // before it is complete.
        let mut out = Vec::new();
        let mut last = 0;
        let mut search = 3;
        while let Some(s) = find_start_code(&self.buf, search) {
            last = s;
            search = s + 3;
        }
        if last > 0 {
            for nal in NalIter::new(&self.buf[..last], self.base) {
                out.push(OwnedNal {
                    offset: nal.offset,
                    data: nal.data.to_vec(),
                });
            }
            self.buf.drain(..last);
            self.base += last;
        }
        Ok(out)
    }

    /// End of stream: return the last NAL unit(s) still buffered.
    pub fn finish(&mut self) -> Vec<OwnedNal> {
        let out = NalIter::new(&self.buf, self.base)
            .map(|n| OwnedNal {
                offset: n.offset,
                data: n.data.to_vec(),
            })
            .collect();
        self.base += self.buf.len();
        self.buf.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let s = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 0, 0, 3, 1,
        ];
        let v: Vec<_> = split(&s).collect();
        assert_eq!(v.len(), 3);
        assert_eq!((v[0].offset, v[0].data), (4, &[0x67, 1, 2][..]));
        assert_eq!((v[1].offset, v[1].data), (10, &[0x68, 3][..]));
        // Emulation prevention kept.
        assert_eq!((v[2].offset, v[2].data), (17, &[0x65, 0, 0, 3, 1][..]));
        assert_eq!(v[2].h264_type(), 5);
        assert_eq!(v[2].h264_ref_idc(), 3);
    }

    #[test]
    fn leading_garbage_reported() {
        let s = [0, 7, 0, 0, 1, 0x09, 0xf0];
        let it = split(&s);
        assert_eq!(it.leading_garbage(), Some((1, 1)));
        assert_eq!(it.count(), 1);
        assert_eq!(split(&[0, 0, 0, 1, 9]).leading_garbage(), None);
        assert_eq!(split(&[1, 2, 3]).leading_garbage(), Some((0, 3)));
        assert_eq!(split(&[1, 2, 3]).count(), 0);
    }

    #[test]
    fn incremental_matches_whole() {
        let s = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 0, 0, 3, 1, 0, 0, 1, 6,
            5,
        ];
        let whole: Vec<_> = split(&s)
            .map(|n| OwnedNal {
                offset: n.offset,
                data: n.data.to_vec(),
            })
            .collect();
        for chunk in 1..s.len() {
            let mut sp = Splitter::new();
            let mut got = Vec::new();
            for c in s.chunks(chunk) {
                got.extend(sp.push(c).unwrap());
            }
            got.extend(sp.finish());
            assert_eq!(got, whole, "chunk size {chunk}");
        }
    }

    #[test]
    fn incremental_rejects_garbage_with_offset() {
        let mut sp = Splitter::new();
        assert!(sp.push(&[0, 0]).unwrap().is_empty());
        let e = sp.push(&[0, 5, 0, 0, 1]).unwrap_err();
        assert_eq!(e.offset, 3);
    }
}
