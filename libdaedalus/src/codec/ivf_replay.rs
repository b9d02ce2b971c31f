//! What the VP9 and AV1 IVF replays share: every coded frame is one request with its own
//! CAPTURE-like buffer (hidden frames too), a shown frame is output as soon as its request
//! completes (neither codec reorders), `show_existing_frame` outputs the buffer of an
//! earlier frame again, and a buffer stays alive while one of the 8 reference slots holds
//! its timestamp, then goes back to a free list.
//!
//! The codec modules only turn their builder's events into requests and say which slots a
//! frame refreshes.

use std::collections::HashMap;

use crate::dst::{CaptureFormat, OwnedBuffer};
use crate::engine::Engine;
use crate::replay::{ReplayOptions, ReplaySummary};
use crate::request::Request;

/// The display-order output of a replay: buffers by timestamp, the reference slots that
/// keep them, the frame sink and the summary.
pub(crate) struct FrameOutput<S> {
    /// Decoded buffers by request timestamp.
    pool: HashMap<u64, OwnedBuffer>,
    /// Buffers no slot holds any more, for reuse.
    free: Vec<OwnedBuffer>,
    /// Request timestamp each reference slot holds.
    slots: [Option<u64>; 8],
    out: Sink<S>,
}

/// Where shown frames go, and the count of everything.
struct Sink<S> {
    /// One frame's planar bytes.
    frame: Vec<u8>,
    sink: S,
    summary: ReplaySummary,
}

impl<S: FnMut(&[u8]) -> std::io::Result<()>> Sink<S> {
    fn emit(&mut self, b: &OwnedBuffer) -> std::io::Result<()> {
        self.frame.clear();
        b.append_planar(0, 0, b.width, b.height, &mut self.frame);
        self.summary.frames += 1;
        (self.sink)(&self.frame)
    }
}

impl<S: FnMut(&[u8]) -> std::io::Result<()>> FrameOutput<S> {
    pub fn new(sink: S) -> Self {
        FrameOutput {
            pool: HashMap::new(),
            free: Vec::new(),
            slots: [None; 8],
            out: Sink {
                frame: Vec::new(),
                sink,
                summary: ReplaySummary::default(),
            },
        }
    }

    /// A CAPTURE buffer for a `width`x`height` picture: in the format `opts` names, else
    /// NV12 for 8-bit streams and P010 for deeper ones; a released buffer of that format
    /// and size is reused.
    pub fn buffer(
        &mut self,
        opts: &ReplayOptions,
        bit_depth: u8,
        width: u32,
        height: u32,
    ) -> OwnedBuffer {
        let fmt = opts.format.unwrap_or(if bit_depth > 8 {
            CaptureFormat::P010
        } else {
            CaptureFormat::Nv12
        });
        match self
            .free
            .iter()
            .position(|b| b.format == fmt && b.width == width && b.height == height)
        {
            Some(i) => self.free.swap_remove(i),
            None => OwnedBuffer::new(fmt, width, height),
        }
    }

    /// Decodes `req` into `buf`, counting the request and its warnings; a failure is
    /// recorded under `decode_index` and the replay goes on (the buffer is still output, as
    /// a client would).
    pub fn decode(
        &mut self,
        engine: &mut Engine,
        req: &Request<'_>,
        decode_index: u32,
        buf: &mut OwnedBuffer,
    ) {
        self.out.summary.requests += 1;
        match engine.decode(req, &mut buf.as_dst()) {
            Ok(rep) => self.out.summary.warnings += rep.warnings.len(),
            Err(e) => {
                tracing::warn!(request = decode_index, "request failed: {e}");
                self.out.summary.failed.push((decode_index, e.to_string()));
            }
        }
    }

    /// After a request: outputs its buffer if the frame is shown, keeps it under
    /// `timestamp` in the slots `refresh` names, and releases buffers no slot holds.
    pub fn store(
        &mut self,
        buf: OwnedBuffer,
        timestamp: u64,
        refresh: u8,
        shown: bool,
    ) -> std::io::Result<()> {
        if shown {
            self.out.emit(&buf)?;
        }
        for (i, s) in self.slots.iter_mut().enumerate() {
            if refresh & (1 << i) != 0 {
                *s = Some(timestamp);
            }
        }
        self.pool.insert(timestamp, buf);
        self.release();
        Ok(())
    }

    /// show_existing_frame: outputs the buffer of `timestamp` again (nothing if no slot
    /// kept it); with `refresh_all` (an AV1 key frame shown this way) every slot holds it
    /// from now on.
    pub fn show_existing(&mut self, timestamp: u64, refresh_all: bool) -> std::io::Result<()> {
        if let Some(b) = self.pool.get(&timestamp) {
            self.out.emit(b)?;
        }
        if refresh_all {
            self.slots = [Some(timestamp); 8];
            self.release();
        }
        Ok(())
    }

    pub fn finish(self) -> ReplaySummary {
        self.out.summary
    }

    fn release(&mut self) {
        let slots = self.slots;
        let dead: Vec<u64> = self
            .pool
            .keys()
            .copied()
            .filter(|ts| !slots.contains(&Some(*ts)))
            .collect();
        for ts in dead {
            if let Some(b) = self.pool.remove(&ts) {
                self.free.push(b);
            }
        }
    }
}
