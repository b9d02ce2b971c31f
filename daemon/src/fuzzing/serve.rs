//! The serve loop with a fake module: what a decoder worker runs on each
//! job (message parsing, buffer identity and size checks, the mappings,
//! the engine), on job messages it did not build itself.
//!
//! Input: records of `u32 length, job message, u32 length, OUTPUT bytes`.
//! The fake module exports, for each job, its OUTPUT plane holding those
//! bytes and every CAPTURE plane it names, with the ids the message claims,
//! so that the fuzzer gets past the identity checks (and can break them by
//! changing one side only across records).

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

use crate::dmabuf::PlaneKey;
use crate::proto::{self, JobResult, Message};
use crate::serve::{Device, EngineDecoder, Server};
use nix::errno::Errno;
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};

use super::{Reader, MAX_RECORDS};

/// Planes larger than this are cut to it (sparse files: only what the
/// decoder writes costs memory).
const MAX_PLANE: u64 = 64 << 20;

#[derive(Default)]
struct FakeDevice {
    planes: RefCell<HashMap<PlaneKey, (OwnedFd, u64)>>,
    /// Answers with status 0.
    done: std::cell::Cell<usize>,
}

fn memfd(len: u64, data: &[u8]) -> Option<OwnedFd> {
    let fd = memfd_create(c"fuzz-plane", MemFdCreateFlag::MFD_CLOEXEC).ok()?;
    let len = len.max(data.len() as u64).min(MAX_PLANE);
    nix::unistd::ftruncate(fd.as_fd(), len as i64).ok()?;
    let n = data.len().min(len as usize);
    if n > 0 && nix::sys::uio::pwrite(fd.as_fd(), &data[..n], 0).ok()? != n {
        return None;
    }
    Some(fd)
}

impl FakeDevice {
    /// The buffers `msg` names, as the module would export them.
    fn prepare(&self, msg: &[u8], output: &[u8]) {
        let Ok(Message::Job(j)) = proto::parse_message(msg) else {
            return;
        };
        let job = &j.job;
        let ctx = job.hdr.ctx_id;
        let mut planes = self.planes.borrow_mut();
        if let Some(fd) = memfd(job.src_size.into(), output) {
            planes.insert(
                (ctx, proto::QUEUE_OUTPUT, job.src_index, 0),
                (fd, job.src_buf_id),
            );
        }
        let sizes: Vec<u64> = j.dst_planes().iter().map(|p| p.sizeimage.into()).collect();
        // A buffer keeps its planes (its pictures are references) until a
        // message gives it another id (a new allocation).
        let mut add = |index: u32, id: u64| {
            for (p, &len) in sizes.iter().enumerate() {
                let key = (ctx, proto::QUEUE_CAPTURE, index, p as u32);
                if planes.get(&key).is_none_or(|(_, old)| *old != id) {
                    if let Some(fd) = memfd(len, &[]) {
                        planes.insert(key, (fd, id));
                    }
                }
            }
        };
        add(job.dst_index, job.dst_buf_id);
        for b in j.capture_bufs() {
            add(b.index, b.buf_id);
        }
    }
}

impl Device for FakeDevice {
    fn expbuf(
        &self,
        ctx: u32,
        queue: u32,
        index: u32,
        plane: u32,
        _flags: i32,
    ) -> nix::Result<(OwnedFd, u64)> {
        let planes = self.planes.borrow();
        let (fd, id) = planes
            .get(&(ctx, queue, index, plane))
            .ok_or(Errno::EINVAL)?;
        Ok((fd.try_clone().map_err(|_| Errno::EMFILE)?, *id))
    }

    fn job_done(&self, result: &JobResult) -> nix::Result<()> {
        if result.status == 0 {
            self.done.set(self.done.get() + 1);
        }
        Ok(())
    }
}

/// Runs the input's messages; returns how many jobs were answered DONE.
pub fn run(data: &[u8]) -> usize {
    let dev = FakeDevice::default();
    let mut server = Server::new(&dev, EngineDecoder::new(false), false);
    let mut r = Reader::new(data);
    for _ in 0..MAX_RECORDS {
        let Some(msg) = r.chunk() else { break };
        let output = r.chunk().unwrap_or(&[]);
        dev.prepare(msg, output);
        let _ = server.handle_message(msg);
    }
    dev.done.get()
}

/// Appends one record.
pub fn put_record(out: &mut Vec<u8>, msg: &[u8], output: &[u8]) {
    super::put_chunk(out, msg);
    super::put_chunk(out, output);
}
