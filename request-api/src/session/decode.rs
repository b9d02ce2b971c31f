//! The decode loop: pictures in, frames out in display order.

use v4l2r::bindings;
use v4l2r::ioctl;

use ctrls::source::PictureSource;

use super::{DecodedFrame, Error, PlaneMem, Session};

impl Session {
    /// Decodes the whole source, handing frames to `sink` in display order.
    pub fn decode(
        &mut self,
        source: &mut dyn PictureSource,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let mut modes_set = false;
        while !self.done() {
            let Some(pic) = source.next_picture().map_err(Error::from)? else {
                break;
            };
            if !modes_set {
                for m in source.mode_controls() {
                    // The menu must offer the value (a decoder may support
                    // only one of frame- and slice-based decoding).
                    let _: bindings::v4l2_querymenu =
                        ioctl::querymenu(&self.video, m.id, m.value as u32).map_err(|e| {
                            Error::ModeNotOffered {
                                video: self.video_path(),
                                name: m.name,
                                value_name: m.value_name,
                                value: m.value,
                                errno: e.into(),
                            }
                        })?;
                    ioctl::s_ctrl(&self.video, m.id, m.value).map_err(|e| Error::ModeControl {
                        id: m.id,
                        value: m.value,
                        errno: e.into(),
                    })?;
                }
                modes_set = true;
            }
            if self.cfg.as_ref().map(|c| c.info) != Some(pic.info) {
                if self.cfg.is_some() {
                    self.drain(sink)?;
                    self.stats.resolution_changes += 1;
                }
                self.configure(&pic)?;
            }
            self.submit(pic, sink)?;
        }
        self.drain(sink)?;
        if !self.done() {
            self.display.push(source.flush());
            self.emit_ready(sink)?;
        }
        Ok(())
    }

    /// Writes out every displayable decoded picture.
    pub(super) fn emit_ready(
        &mut self,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        for ts in self.display.pop_ready(&self.slots) {
            let idx = self.slots.find_decoded(ts).expect("pop_ready checked it");
            if !self.done() {
                let t0 = std::time::Instant::now();
                let cfg = self.cfg.as_ref().expect("configured");
                let mems = &cfg.captures[idx];
                for m in mems {
                    m.begin_read()?;
                }
                let planes: Vec<&[u8]> = mems.iter().map(PlaneMem::as_slice).collect();
                let crop = self
                    .picture_rects
                    .get(&ts)
                    .copied()
                    .unwrap_or(cfg.info.visible);
                let i420 = cfg.layout.to_i420(&planes, crop);
                for m in mems {
                    m.end_read()?;
                }
                let i420 = i420?;
                let error = self.errored.contains(&ts);
                sink(DecodedFrame {
                    number: self.stats.displayed,
                    timestamp: ts,
                    width: crop.width,
                    height: crop.height,
                    sample_bytes: cfg.layout.fmt.sample_bytes(),
                    i420,
                    error,
                })
                .map_err(Error::Sink)?;
                self.stats.displayed += 1;
                self.stats.reading += t0.elapsed();
            }
            self.errored.retain(|&t| t != ts);
            self.slots.displayed(ts)?;
        }
        let slots = &self.slots;
        self.picture_rects.retain(|&t, _| slots.find(t).is_some());
        Ok(())
    }

    /// Completes every request in flight.
    pub(super) fn drain(
        &mut self,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        while self.pool.in_flight() > 0 {
            self.complete_oldest(sink)?;
        }
        Ok(())
    }

    /// Frames announced for display whose buffers never came (dropped at a
    /// resolution change or end of stream).
    pub fn undisplayed(&self) -> usize {
        self.display.len()
    }
}
