//! Destination CAPTURE planes and writing decoded pictures into them.
//!
//! A [`Dst`] describes one CAPTURE buffer as the client laid it out: the fourcc, the
//! picture size, and per memory plane a stride, a size and the bytes. Writers honour the
//! strides and check every plane's size first: a buffer that is too small is an error,
//! never an overrun.

use thiserror::Error;

pub use ctrls::CaptureFormat;

/// One memory plane of a destination buffer.
#[derive(Debug)]
pub struct DstPlane<'a> {
    /// Bytes per line of this plane.
    pub stride: usize,
    /// The plane's bytes (its length is the plane size).
    pub data: &'a mut [u8],
}

/// A destination CAPTURE buffer.
#[derive(Debug)]
pub struct Dst<'a> {
    pub format: CaptureFormat,
    /// Format width and height (the coded size the client configured).
    pub width: u32,
    pub height: u32,
    /// Memory planes: 1 for NV12/YUV420/P010, 2 for NV12M.
    pub planes: Vec<DstPlane<'a>>,
}

/// Why a picture could not be written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DstError {
    #[error("destination has {got} memory planes, format {format:?} needs {need}")]
    PlaneCount {
        format: CaptureFormat,
        need: usize,
        got: usize,
    },
    #[error("destination is {dst_w}x{dst_h}, picture is {pic_w}x{pic_h}")]
    TooSmall {
        dst_w: u32,
        dst_h: u32,
        pic_w: u32,
        pic_h: u32,
    },
    #[error("plane {plane}: stride {stride} below the minimum {min}")]
    Stride {
        plane: usize,
        stride: usize,
        min: usize,
    },
    #[error("plane {plane}: {got} bytes, {need} needed")]
    PlaneSize {
        plane: usize,
        need: usize,
        got: usize,
    },
    #[error("unsupported source picture: {0}")]
    Source(&'static str),
}

/// A decoded picture as planar 4:2:0 source planes (borrowed from the decoder).
#[derive(Debug, Clone, Copy)]
pub struct SrcPicture<'a> {
    pub width: u32,
    pub height: u32,
    /// Bit depth of the samples: 8 (one byte each) or 9..=16 (two bytes each, LE, low bits).
    pub bit_depth: u8,
    /// Y, Cb, Cr planes with their strides in bytes. `None` chroma = monochrome (written as
    /// mid-grey).
    pub y: (&'a [u8], usize),
    pub cb: Option<(&'a [u8], usize)>,
    pub cr: Option<(&'a [u8], usize)>,
}

impl SrcPicture<'_> {
    fn sample(&self, plane: (&[u8], usize), x: usize, y: usize) -> u16 {
        if self.bit_depth > 8 {
            let o = y * plane.1 + 2 * x;
            u16::from_le_bytes([plane.0[o], plane.0[o + 1]])
        } else {
            plane.0[y * plane.1 + x] as u16
        }
    }

    /// Checks that every plane holds `width` x `height` (chroma halved) samples.
    fn check(&self) -> Result<(), DstError> {
        let bps = if self.bit_depth > 8 { 2 } else { 1 };
        let ok = |p: (&[u8], usize), w: usize, h: usize| {
            h == 0 || (p.1 >= w * bps && p.0.len() >= (h - 1) * p.1 + w * bps)
        };
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        if !ok(self.y, w, h) {
            return Err(DstError::Source("luma plane smaller than the picture"));
        }
        for c in [self.cb, self.cr].into_iter().flatten() {
            if !ok(c, cw, ch) {
                return Err(DstError::Source("chroma plane smaller than the picture"));
            }
        }
        if self.cb.is_some() != self.cr.is_some() {
            return Err(DstError::Source("one chroma plane missing"));
        }
        Ok(())
    }
}

/// Bytes written into the destination by one [`write_picture`] call.
pub type CopiedBytes = usize;

/// Writes `src` into `dst` (top-left aligned). Returns the number of bytes written.
pub fn write_picture(src: &SrcPicture<'_>, dst: &mut Dst<'_>) -> Result<CopiedBytes, DstError> {
    let r = write_rows(src, dst, 0, src.height);
    fence();
    r
}

/// Makes the streaming stores of [`write_rows`] globally visible before what follows (the
/// request's completion). [`write_picture`] does it itself.
pub fn fence() {
    stream::fence();
}

/// Writes luma rows `y0..y1` of `src` (and the chroma rows they cover) into `dst`, with
/// the same checks as [`write_picture`] (the whole picture must fit). Returns the number
/// of bytes written. Uses streaming stores: call [`fence`] after the last rows.
pub fn write_rows(
    src: &SrcPicture<'_>,
    dst: &mut Dst<'_>,
    y0: u32,
    y1: u32,
) -> Result<CopiedBytes, DstError> {
    src.check()?;
    let fmt = dst.format;
    if dst.planes.len() != fmt.mem_planes() {
        return Err(DstError::PlaneCount {
            format: fmt,
            need: fmt.mem_planes(),
            got: dst.planes.len(),
        });
    }
    if dst.width < src.width || dst.height < src.height {
        return Err(DstError::TooSmall {
            dst_w: dst.width,
            dst_h: dst.height,
            pic_w: src.width,
            pic_h: src.height,
        });
    }
    let w = src.width as usize;
    let h = src.height as usize;
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    // The rows to write: luma r0..r1, chroma c0..c1 (4:2:0).
    let (r0, r1) = ((y0 as usize).min(h), (y1 as usize).min(h));
    let (c0, c1) = ((r0 / 2).min(ch), r1.div_ceil(2).min(ch));
    let bps = fmt.sample_bytes();
    let stride = dst.planes[0].stride;
    let min = fmt.min_stride(dst.width);
    if stride < min {
        return Err(DstError::Stride {
            plane: 0,
            stride,
            min,
        });
    }
    // Where each destination component lives: (mem plane, byte offset, stride).
    let dh = ((dst.height as usize) + 1) & !1;
    let (y_at, c_at, cr_at) = match fmt {
        CaptureFormat::Nv12 | CaptureFormat::P010 => {
            ((0, 0, stride), (0, stride * dh, stride), None)
        }
        CaptureFormat::Nv12m => {
            let s1 = dst.planes[1].stride;
            if s1 < min {
                return Err(DstError::Stride {
                    plane: 1,
                    stride: s1,
                    min,
                });
            }
            ((0, 0, stride), (1, 0, s1), None)
        }
        CaptureFormat::Yuv420 => {
            let cs = stride / 2;
            let cb = stride * dh;
            let cr = cb + cs * (dh / 2);
            ((0, 0, stride), (0, cb, cs), Some((0, cr, cs)))
        }
        CaptureFormat::Yuv420m => {
            let cmin = min.div_ceil(2);
            for plane in [1, 2] {
                let s = dst.planes[plane].stride;
                if s < cmin {
                    return Err(DstError::Stride {
                        plane,
                        stride: s,
                        min: cmin,
                    });
                }
            }
            (
                (0, 0, stride),
                (1, 0, dst.planes[1].stride),
                Some((2, 0, dst.planes[2].stride)),
            )
        }
    };
    // Size checks: the last byte each component touches.
    let need = |at: (usize, usize, usize), rows: usize, row_bytes: usize| {
        if rows == 0 {
            at.1
        } else {
            at.1 + (rows - 1) * at.2 + row_bytes
        }
    };
    // At most 3 memory planes (checked above against the format).
    let mut needs = [0usize; 3];
    let mut bump = |at: (usize, usize, usize), n: usize| needs[at.0] = needs[at.0].max(n);
    bump(y_at, need(y_at, h, w * bps));
    match cr_at {
        None => bump(c_at, need(c_at, ch, 2 * cw * bps)),
        Some(cr) => {
            bump(c_at, need(c_at, ch, cw));
            bump(cr, need(cr, ch, cw));
        }
    }
    for (i, (p, n)) in dst.planes.iter().zip(&needs).enumerate() {
        if p.data.len() < *n {
            return Err(DstError::PlaneSize {
                plane: i,
                need: *n,
                got: p.data.len(),
            });
        }
    }

    let mut copied = 0usize;
    let shift_to = |v: u16| -> u16 {
        // Convert a source sample to the destination's representation.
        if bps == 2 {
            // P010: MSB-aligned 16 bits.
            v << (16 - src.bit_depth.max(8) as u32)
        } else if src.bit_depth > 8 {
            v >> (src.bit_depth as u32 - 8)
        } else {
            v
        }
    };
    let same_repr = bps == 1 && src.bit_depth == 8;

    // Luma.
    {
        let plane = &mut dst.planes[y_at.0];
        for row in r0..r1 {
            let d = &mut plane.data[y_at.1 + row * y_at.2..][..w * bps];
            if same_repr {
                stream::copy(&src.y.0[row * src.y.1..][..w], d);
            } else {
                for x in 0..w {
                    put(d, x, bps, shift_to(src.sample(src.y, x, row)));
                }
            }
        }
        copied += w * (r1.max(r0) - r0) * bps;
    }
    // Chroma.
    let grey = 1u16 << (src.bit_depth.max(8) - 1);
    match cr_at {
        None => {
            let plane = &mut dst.planes[c_at.0];
            for row in c0..c1 {
                let d = &mut plane.data[c_at.1 + row * c_at.2..][..2 * cw * bps];
                match (src.cb, src.cr) {
                    (Some(cb), Some(cr)) if same_repr => {
                        let (sb, sr) = (&cb.0[row * cb.1..][..cw], &cr.0[row * cr.1..][..cw]);
                        interleave(sb, sr, d);
                    }
                    (Some(cb), Some(cr)) => {
                        for x in 0..cw {
                            put(d, 2 * x, bps, shift_to(src.sample(cb, x, row)));
                            put(d, 2 * x + 1, bps, shift_to(src.sample(cr, x, row)));
                        }
                    }
                    _ => {
                        for x in 0..2 * cw {
                            put(d, x, bps, shift_to(grey));
                        }
                    }
                }
            }
            copied += 2 * cw * (c1.max(c0) - c0) * bps;
        }
        Some(cr_at) => {
            for (at, s) in [(c_at, src.cb), (cr_at, src.cr)] {
                let plane = &mut dst.planes[at.0];
                for row in c0..c1 {
                    let d = &mut plane.data[at.1 + row * at.2..][..cw];
                    match s {
                        Some(p) if same_repr => stream::copy(&p.0[row * p.1..][..cw], d),
                        Some(p) => {
                            for (x, v) in d.iter_mut().enumerate() {
                                *v = shift_to(src.sample(p, x, row)) as u8;
                            }
                        }
                        None => d.fill(shift_to(grey) as u8),
                    }
                }
                copied += cw * (c1.max(c0) - c0);
            }
        }
    }
    Ok(copied)
}

/// `out[2i] = a[i]`, `out[2i + 1] = b[i]` (NV12 chroma from planar Cb, Cr).
fn interleave(a: &[u8], b: &[u8], out: &mut [u8]) {
    stream::interleave(a, b, out)
}

/// Portable interleave. Works on fixed 16-sample blocks so the compiler emits byte-unpack
/// SIMD instructions instead of a byte loop.
#[allow(dead_code)] // used on targets without the streaming variant
fn interleave_portable(a: &[u8], b: &[u8], out: &mut [u8]) {
    const N: usize = 16;
    let n = a.len().min(b.len()).min(out.len() / 2);
    let (a, b, out) = (&a[..n], &b[..n], &mut out[..2 * n]);
    let mut oc = out.chunks_exact_mut(2 * N);
    let (mut ac, mut bc) = (a.chunks_exact(N), b.chunks_exact(N));
    for ((o, x), y) in (&mut oc).zip(&mut ac).zip(&mut bc) {
        let o: &mut [u8; 2 * N] = o.try_into().expect("chunk of 2N");
        let x: &[u8; N] = x.try_into().expect("chunk of N");
        let y: &[u8; N] = y.try_into().expect("chunk of N");
        for i in 0..N {
            o[2 * i] = x[i];
            o[2 * i + 1] = y[i];
        }
    }
    for ((o, x), y) in oc
        .into_remainder()
        .chunks_exact_mut(2)
        .zip(ac.remainder())
        .zip(bc.remainder())
    {
        o[0] = *x;
        o[1] = *y;
    }
}

fn put(d: &mut [u8], x: usize, bps: usize, v: u16) {
    if bps == 2 {
        d[2 * x..2 * x + 2].copy_from_slice(&v.to_le_bytes());
    } else {
        d[x] = v as u8;
    }
}

/// An owned CAPTURE-like buffer (for replay, tests and benches): allocates the planes a
/// client would for `format` at `width` x `height` with the minimal stride.
#[derive(Debug, Clone)]
pub struct OwnedBuffer {
    pub format: CaptureFormat,
    pub width: u32,
    pub height: u32,
    pub planes: Vec<(usize, Vec<u8>)>,
}

impl OwnedBuffer {
    pub fn new(format: CaptureFormat, width: u32, height: u32) -> Self {
        let stride = format.min_stride(width);
        let planes = format
            .plane_layout(width, height, stride)
            .into_iter()
            .map(|(s, n)| (s, vec![0u8; n]))
            .collect();
        OwnedBuffer {
            format,
            width,
            height,
            planes,
        }
    }

    /// Borrow as a [`Dst`].
    pub fn as_dst(&mut self) -> Dst<'_> {
        Dst {
            format: self.format,
            width: self.width,
            height: self.height,
            planes: self
                .planes
                .iter_mut()
                .map(|(s, d)| DstPlane {
                    stride: *s,
                    data: d.as_mut_slice(),
                })
                .collect(),
        }
    }

    /// Appends the crop window (`x`, `y`, `w`, `h`; even x/y) as planar 4:2:0: 8-bit I420,
    /// or for P010 16-bit little-endian samples with the value in the low 10 bits
    /// (yuv420p10le).
    pub fn append_planar(&self, x: u32, y: u32, w: u32, h: u32, out: &mut Vec<u8>) {
        let (x, y, w, h) = (x as usize, y as usize, w as usize, h as usize);
        let (cx, cy, cw, ch) = (x / 2, y / 2, w.div_ceil(2), h.div_ceil(2));
        let bps = self.format.sample_bytes();
        let s0 = self.planes[0].0;
        let dh = ((self.height as usize) + 1) & !1;
        let luma = &self.planes[0].1;
        let push16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&(v >> 6).to_le_bytes());
        for row in y..y + h {
            let l = &luma[row * s0 + x * bps..][..w * bps];
            if bps == 1 {
                out.extend_from_slice(l);
            } else {
                for s in l.chunks_exact(2) {
                    push16(out, u16::from_le_bytes([s[0], s[1]]));
                }
            }
        }
        match self.format {
            CaptureFormat::Yuv420 => {
                let cs = s0 / 2;
                for base in [s0 * dh, s0 * dh + cs * (dh / 2)] {
                    for row in cy..cy + ch {
                        out.extend_from_slice(&luma[base + row * cs + cx..][..cw]);
                    }
                }
            }
            CaptureFormat::Yuv420m => {
                for (cs, plane) in &self.planes[1..3] {
                    for row in cy..cy + ch {
                        out.extend_from_slice(&plane[row * cs + cx..][..cw]);
                    }
                }
            }
            _ => {
                let (cplane, base, cs) = if self.format == CaptureFormat::Nv12m {
                    (&self.planes[1].1, 0, self.planes[1].0)
                } else {
                    (luma, s0 * dh, s0)
                };
                for comp in 0..2 {
                    for row in cy..cy + ch {
                        let r = &cplane[base + row * cs..];
                        for i in 0..cw {
                            let at = (2 * (cx + i) + comp) * bps;
                            if bps == 1 {
                                out.push(r[at]);
                            } else {
                                push16(out, u16::from_le_bytes([r[at], r[at + 1]]));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Writes into CAPTURE memory with non-temporal (streaming) stores on x86_64.
///
/// A CAPTURE buffer is written once by us and read later by the client (display, encoder,
/// MD5): pulling its lines into the cache first (the read-for-ownership of ordinary stores)
/// doubles the memory traffic and evicts the decoder's reference pictures. Streaming stores
/// write around the cache. Elsewhere these are plain copies.
///
/// Invariants of the `unsafe` code: every pointer is derived from a slice and only the
/// first `len` bytes are touched, where `len` never exceeds the slices' lengths (checked
/// with `assert!` up front); `_mm_stream_si128` needs a 16-byte aligned destination, which
/// the scalar head loop establishes (`align_offset`); SSE2 is part of the x86_64 baseline,
/// so the intrinsics are always available. [`fence`] (`sfence`) orders the streaming stores
/// before whatever follows (the job's completion), as they are weakly ordered.
#[allow(unsafe_code)]
mod stream {
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::{
        __m128i, _mm_loadu_si128, _mm_sfence, _mm_stream_si128, _mm_unpackhi_epi8,
        _mm_unpacklo_epi8,
    };

    /// Bytes before `p` reaches 16-byte alignment, at most `len`.
    #[cfg(target_arch = "x86_64")]
    fn head(p: *const u8, len: usize) -> usize {
        p.align_offset(16).min(len)
    }

    /// `dst[..src.len()] = src`.
    pub fn copy(src: &[u8], dst: &mut [u8]) {
        assert!(dst.len() >= src.len());
        #[cfg(target_arch = "x86_64")]
        {
            let len = src.len();
            let h = head(dst.as_ptr(), len);
            dst[..h].copy_from_slice(&src[..h]);
            let body = (len - h) / 16 * 16;
            // SAFETY: src and dst hold at least h + body bytes (body <= len - h, len <=
            // both lengths); dst + h is 16-byte aligned (head); loads are unaligned.
            unsafe {
                let s = src.as_ptr().add(h);
                let d = dst.as_mut_ptr().add(h);
                let mut i = 0;
                while i < body {
                    let v = _mm_loadu_si128(s.add(i) as *const __m128i);
                    _mm_stream_si128(d.add(i) as *mut __m128i, v);
                    i += 16;
                }
            }
            dst[h + body..len].copy_from_slice(&src[h + body..]);
        }
        #[cfg(not(target_arch = "x86_64"))]
        dst[..src.len()].copy_from_slice(src);
    }

    /// `out[2i] = a[i]`, `out[2i + 1] = b[i]` for i < min(a.len(), b.len(), out.len() / 2).
    pub fn interleave(a: &[u8], b: &[u8], out: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        {
            let n = a.len().min(b.len()).min(out.len() / 2);
            // Scalar until the output is 16-byte aligned (the head is even in practice:
            // NV12 chroma rows start at even offsets of an aligned mapping; an odd head
            // just means everything goes the scalar way).
            let h = head(out.as_ptr(), 2 * n);
            if !h.is_multiple_of(2) {
                super::interleave_portable(a, b, out);
                return;
            }
            let h = h / 2;
            super::interleave_portable(&a[..h], &b[..h], &mut out[..2 * h]);
            let body = (n - h) / 16 * 16;
            // SAFETY: a and b hold at least h + body bytes and out at least 2 * (h + body)
            // (body <= n - h, n bounded by all three lengths); out + 2h is 16-byte aligned.
            unsafe {
                let pa = a.as_ptr().add(h);
                let pb = b.as_ptr().add(h);
                let po = out.as_mut_ptr().add(2 * h);
                let mut i = 0;
                while i < body {
                    let va = _mm_loadu_si128(pa.add(i) as *const __m128i);
                    let vb = _mm_loadu_si128(pb.add(i) as *const __m128i);
                    _mm_stream_si128(po.add(2 * i) as *mut __m128i, _mm_unpacklo_epi8(va, vb));
                    _mm_stream_si128(
                        po.add(2 * i + 16) as *mut __m128i,
                        _mm_unpackhi_epi8(va, vb),
                    );
                    i += 16;
                }
            }
            let done = h + body;
            super::interleave_portable(&a[done..n], &b[done..n], &mut out[2 * done..2 * n]);
        }
        #[cfg(not(target_arch = "x86_64"))]
        super::interleave_portable(a, b, out);
    }

    /// Orders the streaming stores before later stores (x86_64 `sfence`).
    pub fn fence() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: sfence has no memory-safety preconditions.
        unsafe {
            _mm_sfence()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streaming copy/interleave at every alignment of source and destination and
    /// lengths around the 16/32-byte blocks, against the definitions.
    #[test]
    fn streaming_writes_match_the_definition_at_any_alignment() {
        let a: Vec<u8> = (0..200u32).map(|i| (i * 7 + 1) as u8).collect();
        let b: Vec<u8> = (0..200u32).map(|i| (i * 13 + 5) as u8).collect();
        for off in 0..33 {
            for len in [0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 64, 100, 150] {
                let mut buf = vec![0xeeu8; 400];
                stream::copy(&a[off % 7..off % 7 + len], &mut buf[off..]);
                assert_eq!(&buf[off..off + len], &a[off % 7..off % 7 + len]);
                assert!(buf[..off]
                    .iter()
                    .chain(&buf[off + len..])
                    .all(|&x| x == 0xee));

                let mut buf = vec![0xeeu8; 400];
                let (x, y) = (&a[off % 5..off % 5 + len], &b[off % 3..off % 3 + len]);
                interleave(x, y, &mut buf[off..off + 2 * len]);
                for i in 0..len {
                    assert_eq!((buf[off + 2 * i], buf[off + 2 * i + 1]), (x[i], y[i]));
                }
                assert!(buf[..off]
                    .iter()
                    .chain(&buf[off + 2 * len..])
                    .all(|&x| x == 0xee));
            }
        }
        stream::fence();
    }

    /// A Dst plane that does not start 16-byte aligned (e.g. NV12M chroma at an odd offset)
    /// gets the same bytes.
    #[test]
    fn nv12_write_into_unaligned_planes() {
        let (w, h) = (40u32, 6u32);
        let y: Vec<u8> = (0..64 * 6).map(|i| i as u8).collect();
        let cb: Vec<u8> = (0..32 * 3).map(|i| (100 + i) as u8).collect();
        let cr: Vec<u8> = (0..32 * 3).map(|i| (200 + i) as u8).collect();
        let src = SrcPicture {
            width: w,
            height: h,
            bit_depth: 8,
            y: (&y, 64),
            cb: Some((&cb, 32)),
            cr: Some((&cr, 32)),
        };
        for shift in [0usize, 1, 3, 8] {
            let mut p0 = vec![0u8; 40 * 6 + shift];
            let mut p1 = vec![0u8; 40 * 3 + shift];
            let mut dst = Dst {
                format: CaptureFormat::Nv12m,
                width: w,
                height: h,
                planes: vec![
                    DstPlane {
                        stride: 40,
                        data: &mut p0[shift..],
                    },
                    DstPlane {
                        stride: 40,
                        data: &mut p1[shift..],
                    },
                ],
            };
            write_picture(&src, &mut dst).unwrap();
            for r in 0..6 {
                assert_eq!(&p0[shift + r * 40..][..40], &y[r * 64..][..40]);
            }
            for r in 0..3 {
                for i in 0..20 {
                    let at = shift + r * 40 + 2 * i;
                    assert_eq!((p1[at], p1[at + 1]), (cb[r * 32 + i], cr[r * 32 + i]));
                }
            }
        }
    }
}
