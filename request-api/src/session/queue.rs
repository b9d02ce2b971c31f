//! Queueing: a picture into a request with its OUTPUT and CAPTURE buffers,
//! and completing requests.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use v4l2r::bindings;
use v4l2r::ioctl::{
    self, BufferFlags, CtrlWhich, DqBufIoctlError, IoctlConvertError, QBufPlane, QBuffer,
    V4l2Buffer,
};
use v4l2r::memory::{DmaBufHandle, MmapHandle, PlaneHandle};
use v4l2r::QueueType;

use ctrls::set::Payload;

use crate::bookkeeping::InFlight;
use crate::controls::ext_control_array;
use crate::dmabuf::DmaBufFd;
use ctrls::source::CodedPicture;

use super::{errno_of, DecodedFrame, Error, PlaneMem, Session};

impl Session {
    /// Queues one picture: OUTPUT buffer + controls in a request, a CAPTURE
    /// buffer, then the request.
    pub(super) fn submit(
        &mut self,
        mut pic: CodedPicture,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let frame = self.frame;
        if (pic.timestamp / 1000) * 1000 != pic.timestamp {
            return Err(Error::BadTimestamp {
                frame,
                timestamp: pic.timestamp,
            });
        }
        if pic.holds_capture() && !self.hold_capture {
            return Err(Error::NoHoldCapture {
                video: self.video_path(),
            });
        }
        // A free request (and its OUTPUT buffer).
        let req = loop {
            if let Some(r) = self.pool.take() {
                break r;
            }
            self.complete_oldest(sink)?;
        };
        // A CAPTURE buffer, unless this request continues a held one (a
        // second field, or a slice after the first).
        let capture = if pic.continues_capture() {
            match self.slots.find(pic.timestamp) {
                Some(_) => None,
                None => {
                    self.pool.give_back(req);
                    return Err(Error::NoHeldCapture { frame });
                }
            }
        } else {
            loop {
                if let Some(i) = self.slots.free() {
                    break Some(i);
                }
                if self.pool.in_flight() == 0 {
                    self.pool.give_back(req);
                    return Err(Error::NoCaptureBuffer {
                        frame,
                        count: self.slots.len(),
                    });
                }
                self.complete_oldest(sink)?;
            }
        };
        match pic.picture_rect {
            Some(r) => self.picture_rects.insert(pic.timestamp, r),
            None => self.picture_rects.remove(&pic.timestamp),
        };
        let cfg = self.cfg.as_mut().expect("configured before submit");
        let out = &mut cfg.outputs[req];
        if pic.bitstream.len() > out.len() {
            self.pool.give_back(req);
            return Err(Error::BitstreamTooLarge {
                frame,
                size: pic.bitstream.len(),
                capacity: out.len(),
            });
        }
        out.write(&pic.bitstream)?;
        let rfd = self.requests[req].raw();

        // Controls into the request.
        set_controls(
            &self.video,
            &mut pic.controls,
            CtrlWhich::Request(rfd),
            frame,
        )?;

        let sec = (pic.timestamp / 1_000_000_000) as nix::libc::time_t;
        let usec = ((pic.timestamp % 1_000_000_000) / 1000) as nix::libc::suseconds_t;
        let p = self.video_path();
        // OUTPUT buffer with the request.
        let cfg = self.cfg.as_ref().expect("configured before submit");
        let flags = if pic.holds_capture() {
            BufferFlags::from_bits_retain(bindings::V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF)
        } else {
            BufferFlags::empty()
        };
        queue_buffer(
            &self.video,
            QueueArgs {
                what: "VIDIOC_QBUF(OUTPUT)",
                path: &p,
                queue: self.out_q,
                index: req,
                planes: std::slice::from_ref(&cfg.outputs[req]),
                bytesused: pic.bitstream.len(),
                timestamp: Some((sec, usec)),
                request: Some(rfd),
                flags,
            },
        )?;
        // CAPTURE buffer (not part of the request).
        if let Some(ci) = capture {
            queue_buffer(
                &self.video,
                QueueArgs {
                    what: "VIDIOC_QBUF(CAPTURE)",
                    path: &p,
                    queue: self.cap_q,
                    index: ci,
                    planes: &cfg.captures[ci],
                    bytesused: 0,
                    timestamp: None,
                    request: None,
                    flags: BufferFlags::empty(),
                },
            )?;
            self.slots
                .queue_with_displays(ci, pic.timestamp, pic.displays)?;
        }
        self.requests[req].queue().map_err(|e| Error::Ioctl {
            what: "MEDIA_REQUEST_IOC_QUEUE",
            path: self.dev.media.clone(),
            errno: e,
        })?;
        self.pool.queued(InFlight {
            request: req,
            frame,
            timestamp: pic.timestamp,
            output: req,
            returns_capture: !pic.holds_capture(),
        });
        self.slots.set_references(&pic.references);
        self.display.push(pic.display.iter().copied());
        self.frame += 1;
        self.stats.submitted += 1;
        self.emit_ready(sink)
    }

    /// Waits for a buffer on the video fd (it is non-blocking).
    pub(super) fn dqbuf(&self, queue: QueueType, frame: u64, ts: u64) -> Result<V4l2Buffer, Error> {
        let p = self.video_path();
        let mut waited = false;
        loop {
            match ioctl::dqbuf::<V4l2Buffer>(&self.video, queue) {
                Ok(b) => return Ok(b),
                Err(IoctlConvertError::IoctlError(DqBufIoctlError::NotReady)) if !waited => {
                    let mut fds = [PollFd::new(
                        self.video.as_fd(),
                        PollFlags::POLLIN | PollFlags::POLLOUT,
                    )];
                    let t = PollTimeout::try_from(self.opts.timeout_ms.min(i32::MAX as u32))
                        .unwrap_or(PollTimeout::MAX);
                    poll(&mut fds, t).map_err(|e| Error::Ioctl {
                        what: "poll",
                        path: p.clone(),
                        errno: e,
                    })?;
                    waited = true;
                }
                Err(IoctlConvertError::IoctlError(DqBufIoctlError::NotReady)) => {
                    return Err(Error::Timeout {
                        frame,
                        timestamp: ts,
                        timeout_ms: self.opts.timeout_ms,
                    })
                }
                Err(IoctlConvertError::IoctlError(e)) => {
                    return Err(Error::Ioctl {
                        what: "VIDIOC_DQBUF",
                        path: p,
                        errno: e.into(),
                    })
                }
                Err(IoctlConvertError::ConversionError(e)) => {
                    return Err(Error::BadBuffer {
                        video: p,
                        detail: format!("{e:?}"),
                    })
                }
            }
        }
    }

    /// Waits for the oldest request, dequeues its buffers, recycles it.
    pub(super) fn complete_oldest(
        &mut self,
        sink: &mut dyn FnMut(DecodedFrame) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let Some(job) = self.pool.oldest().copied() else {
            return Ok(());
        };
        let req = &self.requests[job.request];
        let t0 = std::time::Instant::now();
        let done = req.wait(self.opts.timeout_ms);
        self.stats.waiting += t0.elapsed();
        let done = done.map_err(|e| Error::Ioctl {
            what: "poll(request)",
            path: self.dev.media.clone(),
            errno: e,
        })?;
        if !done {
            return Err(Error::Timeout {
                frame: job.frame,
                timestamp: job.timestamp,
                timeout_ms: self.opts.timeout_ms,
            });
        }
        let _out = self.dqbuf(self.out_q, job.frame, job.timestamp)?;
        if job.returns_capture {
            let cap = self.dqbuf(self.cap_q, job.frame, job.timestamp)?;
            let tv = cap.timestamp();
            let got = tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000;
            let idx = cap.index() as usize;
            let ts = self.slots.dequeued(idx)?;
            if got != ts {
                return Err(Error::TimestampMismatch {
                    frame: job.frame,
                    want: ts,
                    got,
                });
            }
            if cap.has_error() {
                self.stats.errors.push(job.frame);
                self.errored.push(ts);
            }
        }
        self.requests[job.request]
            .reinit()
            .map_err(|e| Error::Ioctl {
                what: "MEDIA_REQUEST_IOC_REINIT",
                path: self.dev.media.clone(),
                errno: e,
            })?;
        self.pool.complete();
        self.emit_ready(sink)
    }
}

/// What one QBUF carries.
pub(super) struct QueueArgs<'a> {
    what: &'static str,
    path: &'a Path,
    queue: QueueType,
    index: usize,
    planes: &'a [PlaneMem],
    /// Bytes used in the (single) OUTPUT plane; 0 for CAPTURE.
    bytesused: usize,
    timestamp: Option<(nix::libc::time_t, nix::libc::suseconds_t)>,
    request: Option<std::os::fd::RawFd>,
    flags: BufferFlags,
}

/// `VIDIOC_QBUF` of an MMAP or DMABUF buffer (the memory type of its planes).
pub(super) fn queue_buffer(video: &File, a: QueueArgs<'_>) -> Result<(), Error> {
    fn send<H: PlaneHandle>(
        video: &File,
        a: &QueueArgs<'_>,
        planes: Vec<QBufPlane>,
    ) -> Result<(), Error> {
        let mut qb = QBuffer::<H>::new(a.queue, a.index as u32);
        if let Some((sec, usec)) = a.timestamp {
            qb = qb.set_timestamp(sec, usec);
        }
        if let Some(r) = a.request {
            qb = qb.set_request(r);
        }
        qb.flags |= a.flags;
        qb.planes = planes;
        let _: () = ioctl::qbuf(video, qb).map_err(|e| Error::Ioctl {
            what: a.what,
            path: a.path.to_owned(),
            errno: errno_of(e),
        })?;
        Ok(())
    }
    match a.planes.first() {
        Some(PlaneMem::DmaBuf(_)) => {
            let planes = a
                .planes
                .iter()
                .map(|m| match m {
                    PlaneMem::DmaBuf(d) => QBufPlane::new_from_handle(d.handle(), a.bytesused),
                    PlaneMem::Mmap(_) => unreachable!("a buffer's planes share one memory type"),
                })
                .collect();
            send::<DmaBufHandle<DmaBufFd>>(video, &a, planes)
        }
        _ => {
            let planes = a
                .planes
                .iter()
                .map(|_| QBufPlane::new_from_handle(&MmapHandle, a.bytesused))
                .collect();
            send::<MmapHandle>(video, &a, planes)
        }
    }
}

/// `VIDIOC_S_EXT_CTRLS` of `controls` with `which`; an error names the
/// control the driver refused.
pub(super) fn set_controls(
    video: &impl std::os::fd::AsRawFd,
    controls: &mut [Payload],
    which: CtrlWhich,
    frame: u64,
) -> Result<(), Error> {
    let ids: Vec<u32> = controls.iter().map(|c| c.id).collect();
    ext_control_array(controls)
        .set(video, which)
        .map_err(|e| Error::Controls {
            frame,
            index: e.error_idx,
            id: ids.get(e.error_idx as usize).copied().unwrap_or(0),
            errno: e.into(),
        })
}
