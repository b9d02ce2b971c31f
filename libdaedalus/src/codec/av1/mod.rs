//! AV1 backend: the OUTPUT buffer holds tile data only; the temporal delimiter, sequence
//! header OBU and frame header OBU are rebuilt from SEQUENCE / FRAME / FILM_GRAIN, with the
//! reference slots mirrored from the controls, then decoded by libdav1d (one frame of
//! delay, so each request gets its own picture; tile and post-filter threads as
//! [`EngineOptions::threads`] says; invisible frames output, film grain applied by dav1d).
//!
//! libdav1d is used through the `dav1d` crate (safe API; its `-sys` crate builds against
//! the system's dav1d >= 1.0): this module has no `unsafe`.

pub mod synth;

use ctrls::av1::{FrameFlags, FrameType, Sequence};

use crate::codec::{check_fits, strict_or_warn, CodecBackend};
use crate::dst::{write_picture, Dst, SrcPicture};
use crate::request::{DecodeReport, EngineError, EngineOptions, Request};
use ctrls::ControlSet;
use synth::{Ctx, Slots};

pub use ctrls::av1::Av1Controls;

/// The AV1 codec backend.
pub struct Av1Backend {
    dec: dav1d::Decoder,
    /// Our mirror of the 8 reference slots (what dav1d holds after our temporal units).
    slots: Slots,
    /// The SEQUENCE control of the last request: a new sequence header makes dav1d drop
    /// its references, and so do we.
    sequence: Option<Sequence>,
}

fn new_decoder(threads: u32) -> Result<dav1d::Decoder, EngineError> {
    let mut s = dav1d::Settings::new();
    s.set_n_threads(threads.max(1));
    s.set_max_frame_delay(1);
    s.set_apply_grain(true);
    s.set_output_invisible_frames(true);
    s.set_all_layers(false);
    s.set_strict_std_compliance(false);
    // Bounds what corrupt controls can make dav1d allocate.
    s.set_frame_size_limit(crate::codec::MAX_PICTURE_PIXELS);
    dav1d::Decoder::with_settings(&s)
        .map_err(|e| EngineError::Unsupported(format!("libdav1d: cannot open a decoder: {e}")))
}

impl Av1Backend {
    pub fn new() -> Result<Self, EngineError> {
        Self::with_threads(1)
    }

    /// A backend whose dav1d uses `threads` threads within a picture.
    pub fn with_threads(threads: u32) -> Result<Self, EngineError> {
        Ok(Av1Backend {
            dec: new_decoder(threads)?,
            slots: [None; 8],
            sequence: None,
        })
    }

    /// Forget every reference (after a decode error: the next key frame starts over).
    fn drop_state(&mut self) {
        self.dec.flush();
        while self.dec.get_picture().is_ok() {}
        self.slots = [None; 8];
        self.sequence = None;
    }

    /// A hidden key frame shown with show_existing_frame refreshes every slot (7.21), but
    /// clients submit no request for it: when the controls say every slot holds one key
    /// frame that our mirror has in a slot but not in all, replay that show_existing_frame
    /// to dav1d (its picture is not needed: the client shows the key frame's own CAPTURE
    /// buffer).
    fn catch_up_shown_key_frame(&mut self, c: &Av1Controls) -> Result<(), EngineError> {
        let ts = c.frame.reference_frame_ts;
        if ts[0] == 0 || ts.iter().any(|&t| t != ts[0]) {
            return Ok(());
        }
        if self.slots.iter().all(|s| s.is_some_and(|s| s.ts == ts[0])) {
            return Ok(());
        }
        let Some(k) = self.slots.iter().position(|s| {
            s.is_some_and(|s| s.ts == ts[0] && s.frame_type == FrameType::Key as u32)
        }) else {
            return Ok(());
        };
        let tu = synth::show_existing_tu(&c.sequence, k as u8);
        if let Err(e) = self.run(tu, ts[0]) {
            self.drop_state();
            return Err(e);
        }
        self.slots = [self.slots[k]; 8];
        Ok(())
    }

    /// Hard rules fail; the soft violations are returned as mismatches (strict mode: they
    /// fail too).
    fn validate(
        c: &Av1Controls,
        opts: &EngineOptions,
    ) -> Result<Vec<crate::request::Mismatch>, EngineError> {
        let mut soft = Vec::new();
        crate::codec::validate_control(&c.sequence, opts, &mut soft)?;
        crate::codec::validate_control(&c.frame, opts, &mut soft)?;
        if let Some(g) = &c.film_grain {
            crate::codec::validate_control(g, opts, &mut soft)?;
        }
        for e in &c.tile_group_entries {
            crate::codec::validate_control(e, opts, &mut soft)?;
        }
        Ok(soft)
    }

    /// Sends one temporal unit and returns the picture it produces.
    fn run(&mut self, data: Vec<u8>, ts: u64) -> Result<dav1d::Picture, EngineError> {
        let err = |e: dav1d::Error| EngineError::Bitstream(format!("libdav1d: {e}"));
        match self.dec.send_data(data, None, Some(ts as i64), None) {
            Ok(()) => {}
            Err(e) if e.is_again() => {}
            Err(e) => return Err(err(e)),
        }
        let mut pic = None;
        for _ in 0..4 {
            match self.dec.get_picture() {
                Ok(p) => {
                    pic = Some(p);
                    break;
                }
                Err(e) if e.is_again() => match self.dec.send_pending_data() {
                    Ok(()) => {}
                    Err(e) if e.is_again() => {}
                    Err(e) => return Err(err(e)),
                },
                Err(e) => return Err(err(e)),
            }
        }
        // Anything left over belongs to no request.
        self.dec.send_pending_data().map_err(err)?;
        let pic = pic.ok_or(EngineError::NoPicture)?;
        if pic.timestamp() != Some(ts as i64) {
            return Err(EngineError::Bitstream(format!(
                "libdav1d returned the picture of timestamp {:?} for request {ts}",
                pic.timestamp()
            )));
        }
        Ok(pic)
    }
}

impl CodecBackend for Av1Backend {
    fn decode(
        &mut self,
        req: &Request<'_>,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        let ControlSet::Av1(c) = req.controls else {
            return Err(EngineError::Unsupported(
                "AV1 backend given non-AV1 controls".into(),
            ));
        };
        let r = self.decode_av1(c, req, dst, opts);
        if r.is_err() {
            // The slots this frame would have refreshed hold no valid picture now.
            let refresh = if c.frame.frame_type == FrameType::Key as u32
                && c.frame.flags.contains(FrameFlags::SHOW_FRAME)
            {
                0xff
            } else {
                c.frame.refresh_frame_flags
            };
            for (i, s) in self.slots.iter_mut().enumerate() {
                if refresh & (1 << i) != 0 {
                    *s = None;
                }
            }
        }
        r
    }

    fn reset(&mut self) {
        self.drop_state();
    }
}

impl Av1Backend {
    fn decode_av1(
        &mut self,
        c: &Av1Controls,
        req: &Request<'_>,
        dst: &mut Dst<'_>,
        opts: &EngineOptions,
    ) -> Result<DecodeReport, EngineError> {
        let soft = Self::validate(c, opts)?;
        if self.sequence.is_some_and(|s| s != c.sequence) {
            self.slots = [None; 8];
        }
        self.sequence = Some(c.sequence);
        self.catch_up_shown_key_frame(c)?;
        let mut ctx = Ctx {
            seq: &c.sequence,
            frame: &c.frame,
            film_grain: c.film_grain.as_ref(),
            tiles: &c.tile_group_entries,
            bitstream: req.bitstream,
            slots: &self.slots,
            timestamp: req.timestamp,
            warnings: Vec::new(),
        };
        let tu = ctx.build()?;
        ctx.warnings.splice(0..0, soft);
        // The CAPTURE buffer bounds the picture: never decode one it cannot hold.
        check_fits(dst, tu.slot.upscaled_width, tu.slot.frame_height)?;
        let warnings = strict_or_warn(
            ctx.warnings,
            opts,
            req.timestamp,
            "the AV1 tile data/reference slots",
        )?;
        let pic = match self.run(tu.data, req.timestamp) {
            Ok(p) => p,
            Err(e) => {
                self.drop_state();
                return Err(e);
            }
        };
        // dav1d has stored the frame in the refreshed slots.
        for (i, s) in self.slots.iter_mut().enumerate() {
            if tu.refresh_frame_flags & (1 << i) != 0 {
                *s = Some(tu.slot);
            }
        }
        let (w, h) = (pic.width(), pic.height());
        if w != tu.slot.upscaled_width || h != tu.slot.frame_height {
            return Err(EngineError::Bitstream(format!(
                "libdav1d decoded {w}x{h}, the controls say {}x{}",
                tu.slot.upscaled_width, tu.slot.frame_height
            )));
        }
        let bit_depth = pic.bits_per_component().map_or(8, |b| b.0 as u8);
        use dav1d::PlanarImageComponent as P;
        let mono = pic.pixel_layout() == dav1d::PixelLayout::I400;
        let yp = pic.plane(P::Y);
        // Chroma planes do not exist (null data) for 4:0:0 pictures.
        let up = (!mono).then(|| pic.plane(P::U));
        let vp = (!mono).then(|| pic.plane(P::V));
        let src = SrcPicture {
            width: w,
            height: h,
            bit_depth,
            y: (&yp, pic.stride(P::Y) as usize),
            cb: up.as_deref().map(|p| (p, pic.stride(P::U) as usize)),
            cr: vp.as_deref().map(|p| (p, pic.stride(P::V) as usize)),
        };
        let bytes_copied = write_picture(&src, dst)?;
        Ok(DecodeReport {
            pending: false,
            new_picture: true,
            width: w,
            height: h,
            bytes_copied,
            warnings,
        })
    }
}
