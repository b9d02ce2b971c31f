//! CAPTURE buffer layouts -> cropped planar I420 (or yuv420p10le), and the
//! output writers of daedalus-decode.

use std::io::Write;

use ctrls::CaptureFormat;

use ctrls::source::Rect;

/// Geometry of a CAPTURE buffer as S_FMT/G_FMT reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub fmt: CaptureFormat,
    pub width: u32,
    pub height: u32,
    /// `bytesperline` of each memory plane (one entry for single-plane formats).
    pub bytesperline: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("{fmt:?} needs {want} memory planes, got {got}")]
    PlaneCount {
        fmt: CaptureFormat,
        want: usize,
        got: usize,
    },
    #[error("{plane} plane: need {need} bytes, buffer has {have}")]
    Short {
        plane: &'static str,
        need: usize,
        have: usize,
    },
    #[error("crop {crop:?} does not fit in {width}x{height}")]
    Crop { crop: Rect, width: u32, height: u32 },
}

/// A view of one colour plane inside a buffer.
struct PlaneView<'a> {
    data: &'a [u8],
    offset: usize,
    stride: usize,
    /// 1 for planar, 2 for interleaved CbCr (sample step in samples).
    step: usize,
}

fn check(plane: &'static str, data: &[u8], need: usize) -> Result<(), LayoutError> {
    if data.len() < need {
        Err(LayoutError::Short {
            plane,
            need,
            have: data.len(),
        })
    } else {
        Ok(())
    }
}

impl Layout {
    /// Copies the crop rectangle out as planar Y, Cb, Cr (8-bit samples, or
    /// 16-bit little-endian 10-bit values for P010, i.e. yuv420p10le).
    pub fn to_i420(&self, planes: &[&[u8]], crop: Rect) -> Result<Vec<u8>, LayoutError> {
        let want = self.fmt.mem_planes();
        if planes.len() != want || self.bytesperline.len() != want {
            return Err(LayoutError::PlaneCount {
                fmt: self.fmt,
                want,
                got: planes.len().min(self.bytesperline.len()),
            });
        }
        if crop.left + crop.width > self.width || crop.top + crop.height > self.height {
            return Err(LayoutError::Crop {
                crop,
                width: self.width,
                height: self.height,
            });
        }
        let h = self.height as usize;
        let ch = h.div_ceil(2);
        let s0 = self.bytesperline[0] as usize;
        let view = |plane: usize, offset: usize, stride: usize, step: usize| PlaneView {
            data: planes[plane],
            offset,
            stride,
            step,
        };
        let y = view(0, 0, s0, 1);
        let (cb, cr) = match self.fmt {
            CaptureFormat::Nv12 | CaptureFormat::P010 => {
                check("luma+chroma", planes[0], s0 * h + s0 * ch)?;
                let sb = self.fmt.sample_bytes();
                (view(0, s0 * h, s0, 2), view(0, s0 * h + sb, s0, 2))
            }
            CaptureFormat::Nv12m => {
                let s1 = self.bytesperline[1] as usize;
                check("luma", planes[0], s0 * h)?;
                check("chroma", planes[1], s1 * ch)?;
                (view(1, 0, s1, 2), view(1, 1, s1, 2))
            }
            CaptureFormat::Yuv420 => {
                let sc = s0 / 2;
                check("luma+chroma", planes[0], s0 * h + 2 * sc * ch)?;
                (view(0, s0 * h, sc, 1), view(0, s0 * h + sc * ch, sc, 1))
            }
            CaptureFormat::Yuv420m => {
                let (s1, s2) = (self.bytesperline[1] as usize, self.bytesperline[2] as usize);
                check("luma", planes[0], s0 * h)?;
                check("cb", planes[1], s1 * ch)?;
                check("cr", planes[2], s2 * ch)?;
                (view(1, 0, s1, 1), view(2, 0, s2, 1))
            }
        };
        let sb = self.fmt.sample_bytes();
        let (cw, chh) = (
            crop.width.div_ceil(2) as usize,
            crop.height.div_ceil(2) as usize,
        );
        let mut out =
            Vec::with_capacity((crop.width as usize * crop.height as usize + 2 * cw * chh) * sb);
        let mut copy = |p: &PlaneView<'_>, left: usize, top: usize, w: usize, hh: usize| {
            for row in top..top + hh {
                let base = p.offset + row * p.stride;
                if p.step == 1 {
                    let start = base + left * sb;
                    let src = &p.data[start..start + w * sb];
                    if sb == 2 {
                        push_p010(&mut out, src);
                    } else {
                        out.extend_from_slice(src);
                    }
                } else {
                    for x in left..left + w {
                        let at = base + x * 2 * sb;
                        if sb == 2 {
                            push_p010(&mut out, &p.data[at..at + 2]);
                        } else {
                            out.push(p.data[at]);
                        }
                    }
                }
            }
        };
        copy(
            &y,
            crop.left as usize,
            crop.top as usize,
            crop.width as usize,
            crop.height as usize,
        );
        let (cl, ct) = (crop.left as usize / 2, crop.top as usize / 2);
        copy(&cb, cl, ct, cw, chh);
        copy(&cr, cl, ct, cw, chh);
        Ok(out)
    }
}

/// P010 keeps 10 bits in the high end of a 16-bit LE word; yuv420p10le keeps
/// them in the low end.
fn push_p010(out: &mut Vec<u8>, src: &[u8]) {
    for s in src.chunks_exact(2) {
        let v = u16::from_le_bytes([s[0], s[1]]) >> 6;
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Planar I420 -> NV12 (same size; chroma interleaved).
pub fn i420_to_nv12(i420: &[u8], width: u32, height: u32, sample_bytes: usize) -> Vec<u8> {
    let ysz = width as usize * height as usize * sample_bytes;
    let csz = width.div_ceil(2) as usize * height.div_ceil(2) as usize * sample_bytes;
    let mut out = Vec::with_capacity(ysz + 2 * csz);
    out.extend_from_slice(&i420[..ysz]);
    let (cb, cr) = (&i420[ysz..ysz + csz], &i420[ysz + csz..ysz + 2 * csz]);
    for (u, v) in cb
        .chunks_exact(sample_bytes)
        .zip(cr.chunks_exact(sample_bytes))
    {
        out.extend_from_slice(u);
        out.extend_from_slice(v);
    }
    out
}

/// The YUV4MPEG2 stream header for I420 / yuv420p10 frames.
pub fn y4m_header(width: u32, height: u32, sample_bytes: usize) -> String {
    let cs = if sample_bytes == 2 {
        "420p10 XYSCSS=420P10"
    } else {
        "420jpeg"
    };
    format!("YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C{cs}\n")
}

/// Writes one frame to `w` in the chosen container/format.
pub fn write_frame(
    w: &mut dyn Write,
    i420: &[u8],
    kind: OutputKind,
    width: u32,
    height: u32,
    sample_bytes: usize,
) -> std::io::Result<()> {
    match kind {
        OutputKind::RawI420 => w.write_all(i420),
        OutputKind::RawNv12 => w.write_all(&i420_to_nv12(i420, width, height, sample_bytes)),
        OutputKind::Y4m => {
            w.write_all(b"FRAME\n")?;
            w.write_all(i420)
        }
    }
}

/// Output file flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    RawI420,
    RawNv12,
    Y4m,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(fmt: CaptureFormat, width: u32, height: u32, bytesperline: &[u32]) -> Layout {
        Layout {
            fmt,
            width,
            height,
            bytesperline: bytesperline.to_vec(),
        }
    }

    fn rect(left: u32, top: u32, width: u32, height: u32) -> Rect {
        Rect {
            left,
            top,
            width,
            height,
        }
    }

    /// 4x2 picture, bytesperline 6 (2 bytes padding), NV12, crop the middle 2x2.
    #[test]
    fn nv12_crop_to_i420() {
        #[rustfmt::skip]
        let buf: Vec<u8> = vec![
            // Y rows (stride 6)
            10, 11, 12, 13, 0, 0,
            20, 21, 22, 23, 0, 0,
            // CbCr row (stride 6): (Cb,Cr) pairs
            100, 200, 101, 201, 0, 0,
        ];
        let l = layout(CaptureFormat::Nv12, 4, 2, &[6]);
        let crop = rect(2, 0, 2, 2);
        assert_eq!(
            l.to_i420(&[&buf], crop).unwrap(),
            vec![12, 13, 22, 23, 101, 201]
        );
        let full = rect(0, 0, 4, 2);
        assert_eq!(
            l.to_i420(&[&buf], full).unwrap(),
            vec![10, 11, 12, 13, 20, 21, 22, 23, 100, 101, 200, 201]
        );
    }

    #[test]
    fn yuv420m_and_nv12m_read_their_planes() {
        let y = [1u8, 2, 3, 4];
        let (u, v) = ([5u8], [6u8]);
        let l = layout(CaptureFormat::Yuv420m, 2, 2, &[2, 1, 1]);
        let r = rect(0, 0, 2, 2);
        assert_eq!(l.to_i420(&[&y, &u, &v], r).unwrap(), vec![1, 2, 3, 4, 5, 6]);
        let uv = [7u8, 8];
        let l = layout(CaptureFormat::Nv12m, 2, 2, &[2, 2]);
        assert_eq!(l.to_i420(&[&y, &uv], r).unwrap(), vec![1, 2, 3, 4, 7, 8]);
    }

    #[test]
    fn yuv420_single_plane_uses_half_stride_chroma() {
        // 4x2, stride 4: Y 8 bytes, Cb 2x1 (stride 2), Cr 2x1.
        let buf = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        let l = layout(CaptureFormat::Yuv420, 4, 2, &[4]);
        let r = rect(0, 0, 4, 2);
        assert_eq!(l.to_i420(&[&buf], r).unwrap(), buf.to_vec());
    }

    #[test]
    fn p010_becomes_low_aligned_10_bit() {
        // 2x2: Y = 0x3ff<<6, 1<<6, 2<<6, 3<<6 ; CbCr = 512<<6, 64<<6.
        let w = |v: u16| (v << 6).to_le_bytes();
        let mut buf = Vec::new();
        for v in [1023u16, 1, 2, 3, 512, 64] {
            buf.extend_from_slice(&w(v));
        }
        let l = layout(CaptureFormat::P010, 2, 2, &[4]);
        let r = rect(0, 0, 2, 2);
        let got = l.to_i420(&[&buf], r).unwrap();
        let want: Vec<u8> = [1023u16, 1, 2, 3, 512, 64]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn short_buffer_and_bad_crop_are_errors() {
        let l = layout(CaptureFormat::Nv12, 4, 2, &[4]);
        let r = rect(0, 0, 4, 2);
        assert!(matches!(
            l.to_i420(&[&[0u8; 5]], r),
            Err(LayoutError::Short { .. })
        ));
        let big = rect(2, 0, 4, 2);
        assert!(matches!(
            l.to_i420(&[&[0u8; 12]], big),
            Err(LayoutError::Crop { .. })
        ));
    }

    #[test]
    fn nv12_output_interleaves() {
        let i420 = [1u8, 2, 3, 4, 5, 6];
        assert_eq!(i420_to_nv12(&i420, 2, 2, 1), vec![1, 2, 3, 4, 5, 6]);
        let i420 = [1u8, 2, 3, 4, 1, 2, 3, 4, 10, 20, 30, 40];
        // 4x2: Y 8, Cb 2, Cr 2.
        assert_eq!(
            i420_to_nv12(&i420, 4, 2, 1),
            vec![1, 2, 3, 4, 1, 2, 3, 4, 10, 30, 20, 40]
        );
    }

    #[test]
    fn y4m_header_text() {
        assert_eq!(
            y4m_header(176, 144, 1),
            "YUV4MPEG2 W176 H144 F25:1 Ip A1:1 C420jpeg\n"
        );
    }
}
