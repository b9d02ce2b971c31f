//! A thin owner of one FFmpeg decoder context: one of the engine's two modules with
//! `unsafe` (the other is [`crate::dst`]'s streaming-store `stream` module).
//!
//! Invariants (what makes the `unsafe` blocks below sound):
//! - `FfDecoder` exclusively owns `ctx`, `pkt`, `drain`, `inbuf` and the boxed
//!   [`Capture`]; all are allocated in [`FfDecoder::new`] (null-checked) and freed once in
//!   `Drop`. `FfDecoder` is `Send` but not `Sync`: every call goes through `&mut self`.
//! - `ctx.opaque` points at the boxed `Capture`, whose address never changes (it is boxed
//!   and never moved out) and which outlives `ctx` (`Drop` frees `ctx` first).
//! - The decoder runs single-threaded (`thread_count = 1`, no frame/slice threads), so
//!   [`get_buffer2`] only ever runs inside `avcodec_send_packet` on the caller's thread,
//!   while `&mut self` is held: no data race on `Capture`.
//! - `Capture.frame` holds a *reference* (`av_frame_ref`) to the last picture buffer the
//!   decoder allocated: the pixels stay alive and unmoved while we read them, even if the
//!   decoder drops its own reference. Slices borrowed from it ([`FfDecoder::picture`]) are
//!   tied to `&self`, and the reference is only replaced inside `&mut self` methods.
//! - Plane slices are built only after checking the frame's format, dimensions and
//!   linesizes, covering exactly `(rows - 1) * linesize + row_bytes` bytes from `data[i]`.
//! - `Capture.band` holds a lifetime-erased pointer to a caller's row sink only between
//!   just before and just after `avcodec_send_packet` inside
//!   [`FfDecoder::decode_concealed_parts_banded`], which holds the sink's `&mut` borrow for
//!   that whole time; [`draw_horiz_band`] runs only inside that call (single-threaded), so
//!   the sink is alive and not aliased when called. The frame it passes is the picture
//!   being decoded, read only within the callback.
//! - The log callback only reads its C arguments and formats into a stack buffer through
//!   `av_log_format_line2` (which NUL-terminates and truncates); the per-thread capture
//!   of decoding errors is plain thread-local state.
#![allow(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::Once;

use ffmpeg_sys_next as ff;

use crate::dst::SrcPicture;

/// An FFmpeg error code with its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("FFmpeg {what}: {msg} ({code})")]
pub struct FfError {
    pub what: &'static str,
    pub code: i32,
    pub msg: String,
}

fn fferr(what: &'static str, code: c_int) -> FfError {
    let mut buf = [0 as c_char; 128];
    // SAFETY: buf is a valid writable buffer of the given size; av_strerror NUL-terminates.
    let msg = unsafe {
        ff::av_strerror(code, buf.as_mut_ptr(), buf.len());
        CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
    };
    FfError { what, code, msg }
}

/// Codecs the FFmpeg layer can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FfCodec {
    H264,
    Hevc,
    Mpeg2,
    Vp8,
    Vp9,
}

/// Receives rows of the picture being decoded that are final (decoded and deblocked):
/// `(picture, first row, end row)`, in luma rows of the frame.
pub type BandSink<'a> = dyn FnMut(&SrcPicture<'_>, u32, u32) + 'a;

struct Capture {
    /// Reference to the picture buffer most recently allocated by the decoder (with
    /// `first_only`, the first one allocated during the packet).
    frame: *mut ff::AVFrame,
    /// MPEG-2: the decoder allocates the packet's picture first, then gray stand-ins for
    /// missing references (a B picture of a closed GOP): keep the first.
    first_only: bool,
    /// Set by get_buffer2 when a new picture buffer was allocated.
    new_picture: bool,
    /// During [`FfDecoder::decode_concealed_parts_banded`] only: where finished rows go,
    /// and the picture size to read. The lifetime is erased; the pointer is set right
    /// before `avcodec_send_packet` and cleared right after it (see module invariants).
    band: Option<(*mut BandSink<'static>, u32, u32)>,
}

/// One FFmpeg decoder context that reports the picture each packet decoded.
pub struct FfDecoder {
    ctx: *mut ff::AVCodecContext,
    pkt: *mut ff::AVPacket,
    drain: *mut ff::AVFrame,
    inbuf: *mut ff::AVBufferRef,
    capture: Box<Capture>,
}

// SAFETY: all pointers are exclusively owned (see module invariants); FFmpeg contexts may be
// used from any thread as long as calls are not concurrent, which `&mut self` guarantees.
unsafe impl Send for FfDecoder {}

/// What one packet produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketOutcome {
    /// The decoder allocated a new picture for this packet (false: it continued the
    /// previous picture, i.e. a second field, or decoded nothing).
    pub new_picture: bool,
    /// Frames the decoder returned in display order (drained and dropped).
    pub drained: u32,
}

unsafe extern "C" fn get_buffer2(
    s: *mut ff::AVCodecContext,
    frame: *mut ff::AVFrame,
    flags: c_int,
) -> c_int {
    // SAFETY: FFmpeg passes valid context/frame pointers; opaque is our boxed Capture
    // (module invariants), only touched from this thread during send_packet.
    unsafe {
        let ret = ff::avcodec_default_get_buffer2(s, frame, flags);
        if ret < 0 {
            return ret;
        }
        let cap = &mut *((*s).opaque as *mut Capture);
        if cap.first_only && cap.new_picture {
            return 0;
        }
        ff::av_frame_unref(cap.frame);
        let r = ff::av_frame_ref(cap.frame, frame);
        if r < 0 {
            return r;
        }
        cap.new_picture = true;
        0
    }
}

unsafe extern "C" fn draw_horiz_band(
    s: *mut ff::AVCodecContext,
    src: *const ff::AVFrame,
    _offset: *mut c_int,
    y: c_int,
    _type: c_int,
    height: c_int,
) {
    // SAFETY: FFmpeg passes valid context/frame pointers during send_packet; opaque is our
    // boxed Capture; `band`, when set, points at a sink mutably borrowed by the running
    // decode call on this thread (module invariants).
    unsafe {
        let cap = &mut *((*s).opaque as *mut Capture);
        let Some((sink, w, h)) = cap.band else {
            return;
        };
        if src.is_null() || y < 0 || height <= 0 {
            return;
        }
        let Some(pic) = frame_planes(&*src, w, h) else {
            return;
        };
        let y0 = (y as u32).min(h);
        let y1 = (y as u32).saturating_add(height as u32).min(h);
        if y0 < y1 {
            (*sink)(&pic, y0, y1);
        }
    }
}

/// Per-thread record of the decoding errors FFmpeg logs while one of our decoders is inside
/// `avcodec_send_packet` on this thread (decoders run single-threaded, so whatever the
/// h264/vp9 decoder and its error resilience log during that call belongs to that packet).
struct LogCapture {
    /// A packet of one of our decoders is being decoded on this thread.
    active: Cell<bool>,
    /// Error-level lines (and concealment notices) seen since `active` was set.
    errors: Cell<u32>,
    /// The first of them, without FFmpeg's `[h264 @ 0x...]` prefix. Only written on the
    /// error path; its capacity is kept, so a clean packet allocates nothing.
    first: RefCell<String>,
}

thread_local! {
    static LOG_CAPTURE: LogCapture = const {
        LogCapture {
            active: Cell::new(false),
            errors: Cell::new(0),
            first: RefCell::new(String::new()),
        }
    };
}

/// Whether a log line means the picture being decoded is damaged: every error-level line
/// (bitstream/syntax errors: "error while decoding MB", "Invalid level prefix", missing
/// references, broken slice headers...) and the error-resilience notice
/// "concealing N DC, N AC, N MV errors" (logged at info level, also emitted when whole
/// slices of a picture are missing, which logs no error line).
///
/// # Safety
/// `fmt` must be a NUL-terminated C string (as av_log guarantees).
unsafe fn is_damage(level: c_int, fmt: *const c_char) -> bool {
    level <= ff::AV_LOG_ERROR
        || (level <= ff::AV_LOG_INFO
            && !fmt.is_null()
            // SAFETY: av_log passes a valid C format string.
            && unsafe { CStr::from_ptr(fmt) }
                .to_bytes()
                .starts_with(b"concealing "))
}

unsafe extern "C" fn log_callback(
    avcl: *mut c_void,
    level: c_int,
    fmt: *const c_char,
    vl: *mut ff::__va_list_tag,
) {
    if level > ff::AV_LOG_VERBOSE {
        return;
    }
    // SAFETY: fmt comes from av_log.
    let capture = LOG_CAPTURE.with(|c| c.active.get()) && unsafe { is_damage(level, fmt) };
    let enabled = if level <= ff::AV_LOG_ERROR {
        tracing::enabled!(target: "ffmpeg", tracing::Level::WARN)
    } else if level <= ff::AV_LOG_WARNING {
        tracing::enabled!(target: "ffmpeg", tracing::Level::DEBUG)
    } else {
        tracing::enabled!(target: "ffmpeg", tracing::Level::TRACE)
    };
    if !enabled && !capture {
        return;
    }
    let mut line = [0 as c_char; 512];
    let mut prefix: c_int = 1;
    // SAFETY: arguments come straight from av_log; the buffer is valid and
    // av_log_format_line2 NUL-terminates within its size. `vl` is consumed once, here.
    let text = unsafe {
        ff::av_log_format_line2(avcl, level, fmt, vl, line.as_mut_ptr(), 512, &mut prefix);
        CStr::from_ptr(line.as_ptr()).to_string_lossy()
    };
    let text = text.trim_end();
    if capture {
        LOG_CAPTURE.with(|c| {
            let n = c.errors.get();
            c.errors.set(n + 1);
            if n == 0 {
                let msg = match text.strip_prefix('[') {
                    Some(rest) => rest.split_once("] ").map_or(text, |(_, m)| m),
                    None => text,
                };
                let mut first = c.first.borrow_mut();
                first.clear();
                first.push_str(msg);
            }
        });
    }
    if !enabled {
        return;
    }
    if level <= ff::AV_LOG_ERROR {
        // A damaged stream can make FFmpeg repeat a line for every block: the 1st, 2nd,
        // 4th, ... of each message (its format string) is logged.
        let key = if fmt.is_null() {
            "ffmpeg".to_string()
        } else {
            // SAFETY: fmt comes from av_log (a NUL-terminated C string).
            let f = unsafe { CStr::from_ptr(fmt) };
            format!("ffmpeg: {}", f.to_string_lossy())
        };
        if let Some(seen) = crate::codec::should_log(&key) {
            tracing::warn!(target: "ffmpeg", seen, "{text}");
        }
    } else if level <= ff::AV_LOG_WARNING {
        tracing::debug!(target: "ffmpeg", "{text}");
    } else {
        tracing::trace!(target: "ffmpeg", "{text}");
    }
}

/// Routes FFmpeg's log into `tracing` (target `ffmpeg`): errors as warnings, warnings as
/// debug, the rest as trace. Idempotent.
pub fn route_ffmpeg_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: setting a process-wide callback with a matching signature.
        unsafe {
            ff::av_log_set_level(ff::AV_LOG_VERBOSE);
            ff::av_log_set_callback(Some(log_callback));
        }
    });
}

/// The input buffer is kept below this size unless the packets need more.
const INBUF_KEEP: usize = 1 << 20;

impl FfDecoder {
    /// Bytes of the input buffer (tests).
    #[cfg(test)]
    fn input_capacity(&self) -> usize {
        // SAFETY: `inbuf` is null or a buffer this decoder owns (module invariants).
        unsafe { self.inbuf.as_ref().map_or(0, |b| b.size) }
    }

    pub fn new(codec: FfCodec) -> Result<Self, FfError> {
        route_ffmpeg_log();
        let id = match codec {
            FfCodec::H264 => ff::AVCodecID::AV_CODEC_ID_H264,
            FfCodec::Hevc => ff::AVCodecID::AV_CODEC_ID_HEVC,
            FfCodec::Mpeg2 => ff::AVCodecID::AV_CODEC_ID_MPEG2VIDEO,
            FfCodec::Vp8 => ff::AVCodecID::AV_CODEC_ID_VP8,
            FfCodec::Vp9 => ff::AVCodecID::AV_CODEC_ID_VP9,
        };
        let mut capture = Box::new(Capture {
            frame: ptr::null_mut(),
            new_picture: false,
            first_only: codec == FfCodec::Mpeg2,
            band: None,
        });
        // SAFETY: plain FFmpeg allocation calls; every pointer is null-checked and ownership
        // is moved into `this` immediately so Drop frees whatever was allocated.
        unsafe {
            let dec = ff::avcodec_find_decoder(id);
            if dec.is_null() {
                return Err(fferr("avcodec_find_decoder", ff::AVERROR_DECODER_NOT_FOUND));
            }
            capture.frame = ff::av_frame_alloc();
            let mut this = FfDecoder {
                ctx: ff::avcodec_alloc_context3(dec),
                pkt: ff::av_packet_alloc(),
                drain: ff::av_frame_alloc(),
                inbuf: ptr::null_mut(),
                capture,
            };
            if this.ctx.is_null()
                || this.pkt.is_null()
                || this.drain.is_null()
                || this.capture.frame.is_null()
            {
                return Err(fferr("alloc", -(libc_enomem())));
            }
            let c = &mut *this.ctx;
            c.thread_count = 1;
            c.thread_type = 0;
            // Bounds what a corrupt parameter set can make FFmpeg allocate.
            c.max_pixels = i64::from(crate::codec::MAX_PICTURE_PIXELS);
            c.flags |= ff::AV_CODEC_FLAG_OUTPUT_CORRUPT as c_int;
            c.flags2 |= ff::AV_CODEC_FLAG2_SHOW_ALL;
            c.get_buffer2 = Some(get_buffer2);
            // MPEG-2 (mpegvideo) reconstructs B pictures into a scratch pad when a
            // band callback is set, and bands are only used by the H.264 path.
            if codec != FfCodec::Mpeg2 {
                c.draw_horiz_band = Some(draw_horiz_band);
            }
            c.opaque = &mut *this.capture as *mut Capture as *mut c_void;
            let r = ff::avcodec_open2(this.ctx, dec, ptr::null_mut());
            if r < 0 {
                return Err(fferr("avcodec_open2", r));
            }
            Ok(this)
        }
    }

    /// Decodes one packet (a whole picture's NAL units). After this returns, the picture the
    /// packet decoded is complete; output frames are drained and dropped. A packet FFmpeg
    /// decoded with errors (see [`FfDecoder::decode_concealed`]) is an `Err`.
    pub fn decode(&mut self, data: &[u8]) -> Result<PacketOutcome, FfError> {
        match self.decode_concealed(data)? {
            (o, None) => Ok(o),
            (_, Some(e)) => Err(e),
        }
    }

    /// Like [`FfDecoder::decode`], but a packet FFmpeg could only partly decode — it logged
    /// an error for it, or its error resilience concealed macroblocks — still returns the
    /// outcome (the concealed picture is available through [`FfDecoder::picture`] and stays
    /// a reference for later packets), together with the first error FFmpeg logged
    /// (`what` = "decode", code `AVERROR_INVALIDDATA`). Failures of the call itself are `Err`.
    pub fn decode_concealed(
        &mut self,
        data: &[u8],
    ) -> Result<(PacketOutcome, Option<FfError>), FfError> {
        self.decode_concealed_parts(&[data])
    }

    /// [`FfDecoder::decode_concealed`] of the concatenation of `parts` (e.g. synthesized
    /// parameter sets + the request's slices), copied once, straight into the packet.
    pub fn decode_concealed_parts(
        &mut self,
        parts: &[&[u8]],
    ) -> Result<(PacketOutcome, Option<FfError>), FfError> {
        self.decode_concealed_parts_banded(parts, None)
    }

    /// [`FfDecoder::decode_concealed_parts`] that also hands rows of the picture to `band`
    /// (`(sink, width, height)`) as soon as the decoder has finished them (FFmpeg's
    /// `draw_horiz_band`: the rows it also reports as final to frame threads), so they can
    /// be copied while still in the cache. Rows can come more than once (a later slice may
    /// deblock the previous slice's last rows again), and not at all for some pictures
    /// (first fields, decoders without bands): the caller checks coverage.
    pub fn decode_concealed_parts_banded(
        &mut self,
        parts: &[&[u8]],
        band: Option<(&mut BandSink<'_>, u32, u32)>,
    ) -> Result<(PacketOutcome, Option<FfError>), FfError> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let pad = ff::AV_INPUT_BUFFER_PADDING_SIZE as usize;
        self.capture.new_picture = false;
        // SAFETY: see module invariants. The input buffer is only written when we hold its
        // sole reference (av_buffer_is_writable), with len + padding bytes available.
        let (r, drained) = unsafe {
            let need = len + pad;
            // A new buffer when this one is too small or shared, and when an outsized
            // packet left it over 1 MiB and 4 times what is needed now.
            if self.inbuf.is_null()
                || (*self.inbuf).size < need
                || ((*self.inbuf).size > INBUF_KEEP && (*self.inbuf).size / 4 > need)
                || ff::av_buffer_is_writable(self.inbuf) == 0
            {
                ff::av_buffer_unref(&mut self.inbuf);
                self.inbuf = ff::av_buffer_alloc(need.next_power_of_two().max(4096));
                if self.inbuf.is_null() {
                    return Err(fferr("av_buffer_alloc", -(libc_enomem())));
                }
            }
            let b = &*self.inbuf;
            let mut at = 0;
            for p in parts {
                ptr::copy_nonoverlapping(p.as_ptr(), b.data.add(at), p.len());
                at += p.len();
            }
            ptr::write_bytes(b.data.add(len), 0, pad);
            ff::av_packet_unref(self.pkt);
            (*self.pkt).buf = ff::av_buffer_ref(self.inbuf);
            if (*self.pkt).buf.is_null() {
                return Err(fferr("av_buffer_ref", -(libc_enomem())));
            }
            (*self.pkt).data = b.data;
            (*self.pkt).size =
                c_int::try_from(len).map_err(|_| fferr("packet size", ff::AVERROR_INVALIDDATA))?;
            LOG_CAPTURE.with(|c| {
                c.errors.set(0);
                c.active.set(true);
            });
            self.capture.band = band.map(|(sink, w, h)| {
                let p: *mut BandSink<'_> = sink;
                // Erase the lifetime: the pointer only lives until the `take()` below, while
                // `sink` is still mutably borrowed by this call.
                let p: *mut BandSink<'static> = std::mem::transmute(p);
                (p, w, h)
            });
            let r = ff::avcodec_send_packet(self.ctx, self.pkt);
            self.capture.band = None;
            ff::av_packet_unref(self.pkt);
            let drained = self.drain_output();
            (r, drained)
        };
        let logged = LOG_CAPTURE.with(|c| {
            c.active.set(false);
            let n = c.errors.get();
            (n > 0).then(|| {
                let first = c.first.borrow();
                FfError {
                    what: "decode",
                    code: ff::AVERROR_INVALIDDATA,
                    msg: if n > 1 {
                        format!("{first} (+{} more)", n - 1)
                    } else {
                        first.clone()
                    },
                }
            })
        });
        if r < 0 {
            let mut e = fferr("avcodec_send_packet", r);
            if let Some(l) = logged {
                e.msg = format!("{}: {}", e.msg, l.msg);
            }
            return Err(e);
        }
        Ok((
            PacketOutcome {
                new_picture: self.capture.new_picture,
                drained,
            },
            logged,
        ))
    }

    fn drain_output(&mut self) -> u32 {
        let mut n = 0;
        // SAFETY: ctx and drain are valid (invariants); frames are unreffed right away.
        unsafe {
            while ff::avcodec_receive_frame(self.ctx, self.drain) >= 0 {
                ff::av_frame_unref(self.drain);
                n += 1;
            }
        }
        n
    }

    /// Resets the decoder (drops references and the DPB), e.g. after an error or a
    /// resolution change.
    pub fn flush(&mut self) {
        // SAFETY: ctx valid (invariants).
        unsafe {
            ff::avcodec_flush_buffers(self.ctx);
            ff::av_frame_unref(self.capture.frame);
        }
        self.drain_output();
    }

    /// The picture most recently allocated by the decoder, as planar source planes limited
    /// to `width` x `height`. `None` if there is none, or if it is smaller than asked or in
    /// a format we cannot read.
    pub fn picture(&self, width: u32, height: u32) -> Option<SrcPicture<'_>> {
        // SAFETY: frame is valid and referenced by us while &self lives (invariants).
        unsafe { frame_planes(&*self.capture.frame, width, height) }
    }
}

/// The planes of a decoded frame limited to `width` x `height`, if it holds that many
/// 4:2:0 (or monochrome) samples in a format we read.
///
/// # Safety
/// `f` must be a valid frame whose buffers stay alive and unwritten for `'a`.
unsafe fn frame_planes(f: &ff::AVFrame, width: u32, height: u32) -> Option<SrcPicture<'_>> {
    use ff::AVPixelFormat as P;
    if f.buf[0].is_null() || f.width < width as c_int || f.height < height as c_int {
        return None;
    }
    let (depth, chroma) = match f.format {
        x if x == P::AV_PIX_FMT_YUV420P as c_int || x == P::AV_PIX_FMT_YUVJ420P as c_int => {
            (8u8, true)
        }
        x if x == P::AV_PIX_FMT_YUV420P10LE as c_int => (10, true),
        x if x == P::AV_PIX_FMT_YUV420P9LE as c_int => (9, true),
        x if x == P::AV_PIX_FMT_GRAY8 as c_int => (8, false),
        _ => return None,
    };
    let bps = if depth > 8 { 2 } else { 1 };
    let plane = |i: usize, w: u32, h: u32| -> Option<(&[u8], usize)> {
        let ls = f.linesize[i];
        let row = w as usize * bps;
        if f.data[i].is_null() || ls < row as c_int {
            return None;
        }
        let len = if h == 0 {
            0
        } else {
            (h as usize - 1) * ls as usize + row
        };
        // SAFETY: the plane holds at least h rows of linesize bytes (checked format and
        // dimensions), alive for 'a (caller).
        Some((
            unsafe { std::slice::from_raw_parts(f.data[i], len) },
            ls as usize,
        ))
    };
    let y = plane(0, width, height)?;
    let (cb, cr) = if chroma {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        (Some(plane(1, cw, ch)?), Some(plane(2, cw, ch)?))
    } else {
        (None, None)
    };
    Some(SrcPicture {
        width,
        height,
        bit_depth: depth,
        y,
        cb,
        cr,
    })
}

fn libc_enomem() -> c_int {
    12
}

impl Drop for FfDecoder {
    fn drop(&mut self) {
        // SAFETY: each pointer was allocated by the matching FFmpeg allocator in new() (or is
        // null, which these functions accept) and is freed exactly once here; ctx goes
        // before the Capture it points to.
        unsafe {
            ff::avcodec_free_context(&mut self.ctx);
            ff::av_packet_free(&mut self.pkt);
            ff::av_frame_free(&mut self.drain);
            ff::av_frame_free(&mut self.capture.frame);
            ff::av_buffer_unref(&mut self.inbuf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctrls::build::annexb::NalIter;
    use ctrls::build::h264::H264Builder;
    use std::process::{Command, Stdio};

    /// After one outsized packet the input buffer does not stay outsized.
    #[test]
    fn input_buffer_shrinks_after_an_outsized_packet() {
        let mut dec = FfDecoder::new(FfCodec::H264).unwrap();
        // Not H.264 at all (no start code): FFmpeg finds nothing to decode.
        let big = vec![0x55u8; 12 << 20];
        let _ = dec.decode_concealed_parts_banded(&[&big], None);
        assert!(dec.input_capacity() >= 12 << 20);
        let _ = dec.decode_concealed_parts_banded(&[&big[..1000]], None);
        assert!(
            dec.input_capacity() < INBUF_KEEP,
            "{}",
            dec.input_capacity()
        );
        // A packet of over a quarter of the buffer keeps it.
        let kept = dec.input_capacity();
        let _ = dec.decode_concealed_parts_banded(&[&big[..kept / 2]], None);
        assert_eq!(dec.input_capacity(), kept);
    }

    /// The contract the band copy relies on: for frame pictures, FFmpeg's bands cover the
    /// picture top to bottom without gaps, and every row it hands over is final — equal to
    /// the same row of the finished picture (deblocking across 3 slices per picture, B and
    /// P pictures).
    #[test]
    fn bands_cover_the_picture_and_are_final() {
        let dir = std::env::temp_dir().join(format!("daedalus-bands-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("b.h264");
        let st = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240",
            ])
            .args(["-frames:v", "8", "-c:v", "libx264", "-x264-params"])
            .arg("threads=1:slices=3:bframes=2")
            .arg(&f)
            .stderr(Stdio::null())
            .status();
        if !st.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED: no ffmpeg with libx264 on PATH");
            return;
        }
        let data = std::fs::read(&f).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let first_slice = NalIter::new(&data, 0)
            .find(|n| matches!(n.h264_type(), 1 | 5))
            .unwrap()
            .offset
            - 3;
        let pics = H264Builder::build_stream(&data).unwrap();
        let (w, h) = (320u32, 240u32);
        let mut dec = FfDecoder::new(FfCodec::H264).unwrap();
        for (i, p) in pics.iter().enumerate() {
            let head: &[u8] = if i == 0 { &data[..first_slice] } else { &[] };
            let mut bands: Vec<(u32, u32, Vec<u8>)> = Vec::new();
            let mut sink = |src: &SrcPicture<'_>, y0: u32, y1: u32| {
                let (y, ls) = src.y;
                let rows =
                    y[y0 as usize * ls..][..(y1 - y0) as usize * ls - ls + w as usize].to_vec();
                bands.push((y0, y1, rows));
            };
            let (o, err) = dec
                .decode_concealed_parts_banded(&[head, &p.bitstream], Some((&mut sink, w, h)))
                .unwrap();
            assert!(err.is_none() && o.new_picture, "picture {i}");
            assert!(!bands.is_empty(), "picture {i}: no band");
            let pic = dec.picture(w, h).unwrap();
            let (y, ls) = pic.y;
            let mut next = 0;
            for (y0, y1, rows) in &bands {
                assert!(*y0 <= next, "picture {i}: gap before row {y0}");
                next = next.max(*y1);
                for r in 0..(y1 - y0) as usize {
                    let got = &rows[r * ls..][..w as usize];
                    let fin = &y[(*y0 as usize + r) * ls..][..w as usize];
                    assert_eq!(
                        got,
                        fin,
                        "picture {i}: row {} changed after its band",
                        y0 + r as u32
                    );
                }
            }
            assert_eq!(next, h, "picture {i}: bands end at row {next}");
        }
    }
}
