//! Kernel<->daemon protocol: mirror of `kmod/include/uapi/daedalus.h`.
//!
//! Every struct is `#[repr(C)]` with the header's field names, types and
//! explicit padding; `daemon/tests/proto_layout.rs` compiles a C program
//! against the header and checks every size, offset, constant and ioctl
//! number against this file (and `ctrls::Codec::proto_id` against the
//! `DAEDALUS_CODEC_*` ids). Messages are parsed and encoded without `unsafe`
//! through zerocopy; the ioctls live in the small [`sys`] module.

use ctrls::{Codec, RawControl};
use thiserror::Error;
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// `DAEDALUS_PROTO_VERSION`.
pub const PROTO_VERSION: u32 = 1;
/// `DAEDALUS_MAX_PLANES`: CAPTURE memory planes described per job.
pub const MAX_PLANES: usize = 4;
/// `DAEDALUS_MAX_CTRLS`: control descriptors per job.
pub const MAX_CTRLS: usize = 16;
/// `DAEDALUS_MAX_CAPTURE_BUFS`: CAPTURE buffers described per job.
pub const MAX_CAPTURE_BUFS: usize = 32;
/// `DAEDALUS_REASON_LEN`: bytes of the error reason, NUL included.
pub const REASON_LEN: usize = 64;
/// `DAEDALUS_MSG_MAX_SIZE`: a read buffer of this size always holds a message.
pub const MSG_MAX_SIZE: usize = 1 << 20;

/// `DAEDALUS_MSG_JOB`.
pub const MSG_JOB: u32 = 1;
/// `DAEDALUS_MSG_CTX_CLOSED`.
pub const MSG_CTX_CLOSED: u32 = 2;

/// `DAEDALUS_CODEC_*`: the ids are `ctrls::Codec::proto_id`'s, named here so the
/// layout test checks them against the header.
///
/// `DAEDALUS_CODEC_H264`.
pub const CODEC_H264: u32 = Codec::H264.proto_id();
/// `DAEDALUS_CODEC_HEVC`.
pub const CODEC_HEVC: u32 = Codec::Hevc.proto_id();
/// `DAEDALUS_CODEC_VP8`.
pub const CODEC_VP8: u32 = Codec::Vp8.proto_id();
/// `DAEDALUS_CODEC_VP9`.
pub const CODEC_VP9: u32 = Codec::Vp9.proto_id();
/// `DAEDALUS_CODEC_AV1`.
pub const CODEC_AV1: u32 = Codec::Av1.proto_id();
/// `DAEDALUS_CODEC_MPEG2`.
pub const CODEC_MPEG2: u32 = Codec::Mpeg2.proto_id();

/// `DAEDALUS_JOB_FL_HOLD_CAPTURE_BUF`: more slices of this picture follow.
pub const JOB_FL_HOLD_CAPTURE_BUF: u32 = 1 << 0;
/// `DAEDALUS_JOB_FL_DST_CONTINUED`: the destination already holds earlier slices.
pub const JOB_FL_DST_CONTINUED: u32 = 1 << 1;

/// `DAEDALUS_CTRL_FL_DYN_ARRAY`.
pub const CTRL_FL_DYN_ARRAY: u32 = 1 << 0;

/// `DAEDALUS_BUF_FL_DESTINATION`.
pub const BUF_FL_DESTINATION: u32 = 1 << 0;
/// `DAEDALUS_BUF_FL_QUEUED`.
pub const BUF_FL_QUEUED: u32 = 1 << 1;

/// `DAEDALUS_QUEUE_OUTPUT`.
pub const QUEUE_OUTPUT: u32 = 0;
/// `DAEDALUS_QUEUE_CAPTURE`.
pub const QUEUE_CAPTURE: u32 = 1;

/// `struct daedalus_msg_header`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct MsgHeader {
    pub kind: u32,
    pub size: u32,
    pub version: u32,
    pub ctx_id: u32,
}

/// `struct daedalus_plane`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct Plane {
    pub bytesperline: u32,
    pub sizeimage: u32,
}

/// `struct daedalus_ctrl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct Ctrl {
    pub id: u32,
    pub offset: u32,
    pub size: u32,
    pub elems: u32,
    pub elem_size: u32,
    pub flags: u32,
}

/// `struct daedalus_buf_desc`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct BufDesc {
    pub index: u32,
    pub flags: u32,
    pub timestamp: u64,
    pub buf_id: u64,
}

/// `struct daedalus_job` (without the control payloads that follow it).
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct Job {
    pub hdr: MsgHeader,
    pub job_id: u64,
    pub codec: u32,
    pub flags: u32,

    pub src_fourcc: u32,
    pub src_width: u32,
    pub src_height: u32,
    pub src_index: u32,
    pub src_size: u32,
    pub src_bytesused: u32,
    pub src_timestamp: u64,
    pub src_buf_id: u64,

    pub dst_fourcc: u32,
    pub dst_width: u32,
    pub dst_height: u32,
    pub dst_num_planes: u32,
    pub colorspace: u32,
    pub xfer_func: u32,
    pub ycbcr_enc: u32,
    pub quantization: u32,
    pub dst_planes: [Plane; MAX_PLANES],
    pub dst_index: u32,
    pub reserved0: u32,
    pub dst_timestamp: u64,
    pub dst_buf_id: u64,

    pub num_ctrls: u32,
    pub num_capture_bufs: u32,
    pub ctrls: [Ctrl; MAX_CTRLS],
    pub capture_bufs: [BufDesc; MAX_CAPTURE_BUFS],
}

/// `struct daedalus_job_result`.
#[repr(C)]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct JobResult {
    pub job_id: u64,
    pub ctx_id: u32,
    pub status: i32,
    pub bytesused: [u32; MAX_PLANES],
    pub reason: [u8; REASON_LEN],
}

/// `struct daedalus_expbuf`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct Expbuf {
    pub ctx_id: u32,
    pub queue: u32,
    pub index: u32,
    pub plane: u32,
    pub flags: u32,
    pub fd: i32,
    pub buf_id: u64,
}

/// `struct daedalus_info`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct Info {
    pub version: u32,
    pub max_msg_size: u32,
    pub job_timeout_ms: u32,
    pub reserved: u32,
}

/// ioctl type of `DAEDALUS_IOC_*`.
pub const IOC_MAGIC: u8 = b'D';
/// `DAEDALUS_IOC_INFO`.
pub const IOC_INFO: u64 =
    nix::request_code_read!(IOC_MAGIC, 0x00, core::mem::size_of::<Info>()) as u64;
/// `DAEDALUS_IOC_EXPBUF`.
pub const IOC_EXPBUF: u64 =
    nix::request_code_readwrite!(IOC_MAGIC, 0x01, core::mem::size_of::<Expbuf>()) as u64;
/// `DAEDALUS_IOC_JOB_DONE`.
pub const IOC_JOB_DONE: u64 =
    nix::request_code_write!(IOC_MAGIC, 0x02, core::mem::size_of::<JobResult>()) as u64;

/// A message that does not follow the protocol.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProtoError {
    #[error("message of {got} bytes is shorter than {need}")]
    Truncated { got: usize, need: usize },
    #[error("protocol version {0}, expected {PROTO_VERSION}")]
    Version(u32),
    #[error("unknown message kind {0}")]
    UnknownKind(u32),
    #[error("{what} count {count} above {max}")]
    Count {
        what: &'static str,
        count: u32,
        max: usize,
    },
    #[error("control {id:#x}: payload at {offset}+{size} outside the {msg_size}-byte message or not elems*elem_size")]
    CtrlPayload {
        id: u32,
        offset: u32,
        size: u32,
        msg_size: u32,
    },
}

/// One control of a job: its descriptor and its raw UAPI payload.
#[derive(Debug, Clone, Copy)]
pub struct CtrlPayload<'a> {
    pub desc: Ctrl,
    pub data: &'a [u8],
}

impl CtrlPayload<'_> {
    /// The payload as one `T` (a control struct of exactly this size), copied
    /// out so the read buffer need not be aligned.
    pub fn read<T: FromBytes>(&self) -> Option<T> {
        T::read_from_bytes(self.data).ok()
    }
}

/// A parsed job message.
#[derive(Debug, Clone)]
pub struct JobMsg<'a> {
    /// The fixed part, copied out (the read buffer need not be aligned).
    pub job: Job,
    bytes: &'a [u8],
}

impl<'a> JobMsg<'a> {
    /// The job's controls, in the module's table order.
    pub fn ctrls(&self) -> impl Iterator<Item = CtrlPayload<'a>> + '_ {
        let bytes = self.bytes;
        self.job.ctrls[..self.job.num_ctrls as usize]
            .iter()
            .map(move |c| CtrlPayload {
                desc: *c,
                data: &bytes[c.offset as usize..(c.offset + c.size) as usize],
            })
    }

    /// The payload of control `id` (a V4L2 CID), if the job carries it.
    pub fn ctrl(&self, id: u32) -> Option<CtrlPayload<'a>> {
        self.ctrls().find(|c| c.desc.id == id)
    }

    /// The job's controls as the list `ctrls::ControlSet::parse` takes.
    pub fn raw_controls(&self) -> Vec<RawControl<'a>> {
        self.ctrls()
            .map(|c| RawControl {
                id: c.desc.id,
                bytes: c.data,
            })
            .collect()
    }

    /// The codec of the job's context, `None` for an id this daemon does not know.
    pub fn codec(&self) -> Option<Codec> {
        Codec::from_proto_id(self.job.codec)
    }

    /// The CAPTURE memory planes of the destination.
    pub fn dst_planes(&self) -> &[Plane] {
        &self.job.dst_planes[..self.job.dst_num_planes as usize]
    }

    /// Every allocated CAPTURE buffer of the context.
    pub fn capture_bufs(&self) -> &[BufDesc] {
        &self.job.capture_bufs[..self.job.num_capture_bufs as usize]
    }

    /// The CAPTURE buffer whose timestamp is `ts` (a reference), if any.
    pub fn capture_buf_by_timestamp(&self, ts: u64) -> Option<&BufDesc> {
        self.capture_bufs().iter().find(|b| b.timestamp == ts)
    }
}

/// A message read from /dev/daedalus.
#[derive(Debug, Clone)]
pub enum Message<'a> {
    Job(Box<JobMsg<'a>>),
    CtxClosed { ctx_id: u32 },
}

/// Parse one message (exactly what one `read()` returned).
pub fn parse_message(bytes: &[u8]) -> Result<Message<'_>, ProtoError> {
    let (hdr, _) = MsgHeader::read_from_prefix(bytes).map_err(|_| ProtoError::Truncated {
        got: bytes.len(),
        need: core::mem::size_of::<MsgHeader>(),
    })?;
    if hdr.version != PROTO_VERSION {
        return Err(ProtoError::Version(hdr.version));
    }
    if (hdr.size as usize) > bytes.len() {
        return Err(ProtoError::Truncated {
            got: bytes.len(),
            need: hdr.size as usize,
        });
    }
    let bytes = &bytes[..hdr.size as usize];
    match hdr.kind {
        MSG_CTX_CLOSED => Ok(Message::CtxClosed { ctx_id: hdr.ctx_id }),
        MSG_JOB => parse_job(bytes).map(|j| Message::Job(Box::new(j))),
        k => Err(ProtoError::UnknownKind(k)),
    }
}

fn check_count(what: &'static str, count: u32, max: usize) -> Result<(), ProtoError> {
    if count as usize > max {
        return Err(ProtoError::Count { what, count, max });
    }
    Ok(())
}

fn parse_job(bytes: &[u8]) -> Result<JobMsg<'_>, ProtoError> {
    let (job, _) = Job::read_from_prefix(bytes).map_err(|_| ProtoError::Truncated {
        got: bytes.len(),
        need: core::mem::size_of::<Job>(),
    })?;
    check_count("control", job.num_ctrls, MAX_CTRLS)?;
    check_count("CAPTURE buffer", job.num_capture_bufs, MAX_CAPTURE_BUFS)?;
    check_count("plane", job.dst_num_planes, MAX_PLANES)?;
    for c in &job.ctrls[..job.num_ctrls as usize] {
        let end = c.offset as u64 + c.size as u64;
        let fits = (c.offset as usize) >= core::mem::size_of::<Job>() && end <= bytes.len() as u64;
        if !fits || c.elems as u64 * c.elem_size as u64 != c.size as u64 {
            return Err(ProtoError::CtrlPayload {
                id: c.id,
                offset: c.offset,
                size: c.size,
                msg_size: bytes.len() as u32,
            });
        }
    }
    Ok(JobMsg { job, bytes })
}

/// Encodes a job message as the module writes it: the fixed part (its
/// `hdr.kind`, `hdr.size`, `hdr.version`, `num_ctrls` and `ctrls` filled in
/// here) followed by the control payloads, each 8-byte aligned. For tools and
/// tests that play the module's part.
pub fn encode_job(mut job: Job, ctrls: &[RawControl<'_>]) -> Result<Vec<u8>, ProtoError> {
    check_count("control", ctrls.len() as u32, MAX_CTRLS)?;
    let mut payload = Vec::new();
    let mut offset = core::mem::size_of::<Job>();
    for (i, c) in ctrls.iter().enumerate() {
        job.ctrls[i] = Ctrl {
            id: c.id,
            offset: offset as u32,
            size: c.bytes.len() as u32,
            elems: 1,
            elem_size: c.bytes.len() as u32,
            flags: 0,
        };
        payload.extend_from_slice(c.bytes);
        let pad = (8 - c.bytes.len() % 8) % 8;
        payload.extend(std::iter::repeat_n(0u8, pad));
        offset += c.bytes.len() + pad;
    }
    job.num_ctrls = ctrls.len() as u32;
    job.hdr.kind = MSG_JOB;
    job.hdr.size = offset as u32;
    job.hdr.version = PROTO_VERSION;
    let mut bytes = job.as_bytes().to_vec();
    bytes.extend_from_slice(&payload);
    Ok(bytes)
}

/// Encodes a CTX_CLOSED message.
pub fn encode_ctx_closed(ctx_id: u32) -> Vec<u8> {
    MsgHeader {
        kind: MSG_CTX_CLOSED,
        size: core::mem::size_of::<MsgHeader>() as u32,
        version: PROTO_VERSION,
        ctx_id,
    }
    .as_bytes()
    .to_vec()
}

impl JobResult {
    /// An answer to `job`: `status` 0 for a written picture, a negative errno
    /// otherwise; `reason` is truncated to fit (NUL-terminated).
    pub fn new(job: &Job, status: i32, bytesused: [u32; MAX_PLANES], reason: &str) -> Self {
        Self::for_job(job.job_id, job.hdr.ctx_id, status, bytesused, reason)
    }

    /// [`JobResult::new`] for the job `job_id` of context `ctx_id`.
    pub fn for_job(
        job_id: u64,
        ctx_id: u32,
        status: i32,
        bytesused: [u32; MAX_PLANES],
        reason: &str,
    ) -> Self {
        let mut r = JobResult::new_zeroed();
        r.job_id = job_id;
        r.ctx_id = ctx_id;
        r.status = status;
        r.bytesused = bytesused;
        let mut n = reason.len().min(REASON_LEN - 1);
        while !reason.is_char_boundary(n) {
            n -= 1;
        }
        r.reason[..n].copy_from_slice(&reason.as_bytes()[..n]);
        r
    }

    /// The reason as text (up to the first NUL).
    pub fn reason_str(&self) -> &str {
        let end = self
            .reason
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(REASON_LEN);
        core::str::from_utf8(&self.reason[..end]).unwrap_or("<invalid utf-8>")
    }
}

/// The ioctls of /dev/daedalus.
///
/// The only `unsafe` of the protocol (the daemon's other `unsafe` module is
/// [`crate::dmabuf`]). Invariants: each ioctl is called
/// with the struct type the header declares for its number (the macros encode
/// the size; `daemon/tests/proto_layout.rs` checks the numbers against the header),
/// on a pointer to a live, properly aligned value of that type; the fd
/// returned by `DAEDALUS_IOC_EXPBUF` is a new descriptor owned by the caller.
#[allow(unsafe_code)]
pub mod sys {
    use super::{Expbuf, Info, JobResult};
    use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
    use zerocopy::FromZeros;

    mod raw {
        use super::super::{Expbuf, Info, JobResult, IOC_MAGIC};
        nix::ioctl_read!(info, IOC_MAGIC, 0x00, Info);
        nix::ioctl_readwrite!(expbuf, IOC_MAGIC, 0x01, Expbuf);
        nix::ioctl_write_ptr!(job_done, IOC_MAGIC, 0x02, JobResult);
    }

    /// `DAEDALUS_IOC_INFO`.
    pub fn info(fd: BorrowedFd<'_>) -> nix::Result<Info> {
        let mut info = Info::new_zeroed();
        // SAFETY: `info` is a valid, writable `Info` (see the module invariants).
        unsafe { raw::info(fd.as_raw_fd(), &mut info) }?;
        Ok(info)
    }

    /// `DAEDALUS_IOC_EXPBUF`: a dmabuf of one plane of a buffer, and the
    /// buffer's identity. `flags` is `O_RDWR`/`O_RDONLY`, optionally `| O_CLOEXEC`.
    pub fn expbuf(
        fd: BorrowedFd<'_>,
        ctx_id: u32,
        queue: u32,
        index: u32,
        plane: u32,
        flags: i32,
    ) -> nix::Result<(OwnedFd, u64)> {
        let mut e = Expbuf {
            ctx_id,
            queue,
            index,
            plane,
            flags: flags as u32,
            fd: -1,
            buf_id: 0,
        };
        // SAFETY: `e` is a valid, writable `Expbuf` (see the module invariants).
        unsafe { raw::expbuf(fd.as_raw_fd(), &mut e) }?;
        // SAFETY: on success the kernel installed a new fd in our table that
        // nothing else owns.
        let owned = unsafe { OwnedFd::from_raw_fd(e.fd) };
        Ok((owned, e.buf_id))
    }

    /// `DAEDALUS_IOC_JOB_DONE`. `ENOENT`: the job already ended (timeout,
    /// context closed); the answer changed nothing.
    pub fn job_done(fd: BorrowedFd<'_>, result: &JobResult) -> nix::Result<()> {
        // SAFETY: `result` is a valid `JobResult` the kernel only reads.
        unsafe { raw::job_done(fd.as_raw_fd(), result) }?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_bytes(ctrl_payloads: &[(u32, &[u8], u32)]) -> Vec<u8> {
        let mut job = Job::new_zeroed();
        let mut payload = Vec::new();
        let mut offset = core::mem::size_of::<Job>();
        for (i, (id, data, elems)) in ctrl_payloads.iter().enumerate() {
            job.ctrls[i] = Ctrl {
                id: *id,
                offset: offset as u32,
                size: data.len() as u32,
                elems: *elems,
                elem_size: data.len() as u32 / elems,
                flags: 0,
            };
            payload.extend_from_slice(data);
            let pad = (8 - data.len() % 8) % 8;
            payload.extend(std::iter::repeat_n(0u8, pad));
            offset += data.len() + pad;
        }
        job.num_ctrls = ctrl_payloads.len() as u32;
        job.hdr = MsgHeader {
            kind: MSG_JOB,
            size: offset as u32,
            version: PROTO_VERSION,
            ctx_id: 7,
        };
        job.job_id = 42;
        let mut bytes = job.as_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        bytes
    }

    #[test]
    fn parses_job_controls_from_an_unaligned_buffer() {
        let bytes = job_bytes(&[(0xa40900, &[1, 2, 3, 4], 1), (0xa40901, &[9; 12], 3)]);
        let mut unaligned = vec![0u8; 1];
        unaligned.extend_from_slice(&bytes);
        let Message::Job(j) = parse_message(&unaligned[1..]).unwrap() else {
            panic!("not a job");
        };
        assert_eq!(j.job.job_id, 42);
        assert_eq!(j.job.hdr.ctx_id, 7);
        let c: Vec<_> = j.ctrls().map(|c| (c.desc.id, c.data.to_vec())).collect();
        assert_eq!(
            c,
            vec![(0xa40900, vec![1, 2, 3, 4]), (0xa40901, vec![9; 12])]
        );
        assert_eq!(j.ctrl(0xa40901).unwrap().desc.elems, 3);
    }

    #[test]
    fn rejects_payload_outside_message() {
        let mut bytes = job_bytes(&[(0xa40900, &[1, 2, 3, 4, 5, 6, 7, 8], 1)]);
        bytes.truncate(bytes.len() - 8);
        let size = bytes.len() as u32;
        bytes[4..8].copy_from_slice(&size.to_ne_bytes());
        assert!(matches!(
            parse_message(&bytes),
            Err(ProtoError::CtrlPayload { id: 0xa40900, .. })
        ));
    }

    #[test]
    fn rejects_other_versions_and_kinds() {
        let mut bytes = job_bytes(&[]);
        bytes[8..12].copy_from_slice(&2u32.to_ne_bytes());
        assert_eq!(parse_message(&bytes).unwrap_err(), ProtoError::Version(2));
        bytes[8..12].copy_from_slice(&PROTO_VERSION.to_ne_bytes());
        bytes[0..4].copy_from_slice(&9u32.to_ne_bytes());
        assert_eq!(
            parse_message(&bytes).unwrap_err(),
            ProtoError::UnknownKind(9)
        );
    }

    #[test]
    fn ctx_closed_is_a_bare_header() {
        let hdr = MsgHeader {
            kind: MSG_CTX_CLOSED,
            size: 16,
            version: PROTO_VERSION,
            ctx_id: 3,
        };
        assert!(matches!(
            parse_message(hdr.as_bytes()),
            Ok(Message::CtxClosed { ctx_id: 3 })
        ));
    }

    #[test]
    fn result_reason_is_truncated_and_nul_terminated() {
        let job = Job::new_zeroed();
        let long = "x".repeat(100);
        let r = JobResult::new(&job, -5, [0; MAX_PLANES], &long);
        assert_eq!(r.reason_str().len(), REASON_LEN - 1);
        assert_eq!(r.reason[REASON_LEN - 1], 0);
    }
}
