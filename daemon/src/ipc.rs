//! Supervisor <-> worker messages: one `SOCK_SEQPACKET` socket pair per worker.
//!
//! Supervisor -> worker, one datagram per job: a tag byte, then the module's
//! job message exactly as `read()` returned it (checked again by the worker's
//! parser), and the buffer planes as descriptors (`SCM_RIGHTS`): the OUTPUT
//! plane, then each CAPTURE plane. A message too large for one datagram
//! travels in a memfd sent as the first descriptor instead (the module allows
//! 1 MiB; a datagram must fit the socket's send buffer).
//!
//! A one-byte datagram before a context's first job tells a worker that it
//! takes over from one that died (its engine waits for a random access point).
//!
//! Worker -> supervisor: one `struct daedalus_job_result` per job, which the
//! supervisor checks against the jobs it gave that worker before passing it to
//! the module. A worker that ends (or is killed) shows as end of file.

use nix::errno::Errno;
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use std::fs::File;
use std::io::{IoSlice, IoSliceMut, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use zerocopy::{FromBytes, IntoBytes};

use crate::proto::{self, JobResult};

/// A job message follows the tag.
const TAG_INLINE: u8 = 1;
/// The job message is in the first descriptor (a memfd).
const TAG_MEMFD: u8 = 2;
/// The worker takes over a context whose previous worker died.
const TAG_RESUMED: u8 = 3;

/// Largest job message sent inline.
pub const INLINE_MAX: usize = 64 << 10;

/// Descriptors of one job: a memfd, the OUTPUT plane and the CAPTURE planes.
pub const MAX_FDS: usize = 2 + proto::MAX_PLANES;

/// Errors of the worker channel.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error("the other end is gone")]
    Closed,
    #[error("the socket is full (the worker is not reading)")]
    Full,
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    #[error("{0}")]
    Sys(#[from] Errno),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A connected pair: (supervisor end, worker end). The supervisor's end does
/// not block: a worker that stops reading cannot stall the supervisor.
pub fn pair() -> Result<(OwnedFd, OwnedFd), IpcError> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    let fl = nix::fcntl::fcntl(a.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFL)?;
    let fl = nix::fcntl::OFlag::from_bits_truncate(fl) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(a.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(fl))?;
    // Room for a few jobs in flight; the kernel caps it at net.core.wmem_max.
    nix::sys::socket::setsockopt(&a, nix::sys::socket::sockopt::SndBuf, &(1 << 20))?;
    Ok((a, b))
}

fn send(sock: BorrowedFd<'_>, data: &[u8], fds: &[RawFd]) -> Result<(), IpcError> {
    let iov = [IoSlice::new(data)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &cmsg };
    let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
    match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, flags, None) {
        Ok(_) => Ok(()),
        Err(Errno::EPIPE) | Err(Errno::ECONNRESET) => Err(IpcError::Closed),
        Err(Errno::EAGAIN) => Err(IpcError::Full),
        Err(e) => Err(e.into()),
    }
}

/// Supervisor side: sends one job (the module's message bytes) with its planes.
pub fn send_job(sock: BorrowedFd<'_>, msg: &[u8], planes: &[OwnedFd]) -> Result<(), IpcError> {
    let mut fds: Vec<RawFd> = Vec::with_capacity(MAX_FDS);
    if msg.len() <= INLINE_MAX {
        fds.extend(planes.iter().map(|f| f.as_raw_fd()));
        let mut data = Vec::with_capacity(1 + msg.len());
        data.push(TAG_INLINE);
        data.extend_from_slice(msg);
        send(sock, &data, &fds)
    } else {
        let memfd = nix::sys::memfd::memfd_create(
            c"daedalus-job",
            nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
        )?;
        let mut file = File::from(memfd);
        file.write_all(msg)?;
        fds.push(file.as_raw_fd());
        fds.extend(planes.iter().map(|f| f.as_raw_fd()));
        send(sock, &[TAG_MEMFD], &fds)
    }
}

/// What a worker receives.
#[derive(Debug)]
pub enum Incoming {
    /// A job (its message in the caller's buffer) with its plane descriptors.
    Job(Vec<OwnedFd>),
    /// The context lost its decoding state with the previous worker.
    Resumed,
    /// The supervisor closed the channel (context closed, or detaching).
    Closed,
}

/// Supervisor side: tells a new worker it takes over a context whose worker died.
pub fn send_resumed(sock: BorrowedFd<'_>) -> Result<(), IpcError> {
    send(sock, &[TAG_RESUMED], &[])
}

/// Worker side: receives one message; a job's bytes go into `buf` (resized to
/// the message).
pub fn recv_job(sock: BorrowedFd<'_>, buf: &mut Vec<u8>) -> Result<Incoming, IpcError> {
    buf.resize(1 + INLINE_MAX, 0);
    let (n, mut fds) = recv(sock, buf)?;
    if n == 0 {
        return Ok(Incoming::Closed);
    }
    match buf[0] {
        TAG_INLINE => {
            buf.copy_within(1..n, 0);
            buf.truncate(n - 1);
        }
        TAG_MEMFD if n == 1 && !fds.is_empty() => {
            let file = File::from(fds.remove(0));
            let len = file.metadata()?.len();
            if len > proto::MSG_MAX_SIZE as u64 {
                return Err(IpcError::Malformed("job message over the protocol's size"));
            }
            buf.resize(len as usize, 0);
            file.read_exact_at(buf, 0)?;
        }
        TAG_RESUMED if n == 1 && fds.is_empty() => return Ok(Incoming::Resumed),
        _ => return Err(IpcError::Malformed("unknown tag")),
    }
    Ok(Incoming::Job(fds))
}

/// One datagram and the descriptors that came with it.
fn recv(sock: BorrowedFd<'_>, buf: &mut [u8]) -> Result<(usize, Vec<OwnedFd>), IpcError> {
    let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = loop {
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            Err(Errno::ECONNRESET) => return Ok((0, Vec::new())),
            r => break r?,
        }
    };
    let mut fds = Vec::new();
    for c in msg.cmsgs() {
        if let ControlMessageOwned::ScmRights(raw) = c {
            fds.extend(raw.into_iter().map(fds::adopt));
        }
    }
    if msg
        .flags
        .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC)
    {
        return Err(IpcError::Malformed("message truncated"));
    }
    Ok((msg.bytes, fds))
}

/// Worker side: the answer to a job.
pub fn send_result(sock: BorrowedFd<'_>, result: &JobResult) -> Result<(), IpcError> {
    let iov = [IoSlice::new(result.as_bytes())];
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &[], MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(Errno::EPIPE) | Err(Errno::ECONNRESET) => return Err(IpcError::Closed),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Supervisor side: one answer if there is one. `Ok(None)`: nothing yet;
/// `Err(Closed)`: the worker is gone.
pub fn try_recv_result(sock: impl AsFd) -> Result<Option<JobResult>, IpcError> {
    let mut buf = [0u8; core::mem::size_of::<JobResult>() + 1];
    let n = loop {
        match nix::sys::socket::recv(sock.as_fd().as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(n) => break n,
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(None),
            Err(Errno::ECONNRESET) => return Err(IpcError::Closed),
            Err(e) => return Err(e.into()),
        }
    };
    if n == 0 {
        return Err(IpcError::Closed);
    }
    JobResult::read_from_bytes(&buf[..n])
        .map(Some)
        .map_err(|_| IpcError::Malformed("answer of the wrong size"))
}

/// Taking ownership of received descriptors: the only `unsafe` of this module.
///
/// SAFETY invariant: [`adopt`] is called once per descriptor number the kernel
/// just installed in this process for an `SCM_RIGHTS` message we received;
/// nothing else refers to that number yet, so it becomes owned exactly once.
#[allow(unsafe_code)]
mod fds {
    use std::os::fd::{FromRawFd, OwnedFd, RawFd};

    pub(super) fn adopt(fd: RawFd) -> OwnedFd {
        // SAFETY: see the module invariant.
        unsafe { OwnedFd::from_raw_fd(fd) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Job;
    use zerocopy::FromZeros;

    fn plane_file(tag: &str, content: &[u8]) -> OwnedFd {
        let path = std::env::temp_dir().join(format!("daedalus-ipc-{tag}-{}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        let f = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f.into()
    }

    fn roundtrip(len: usize) {
        let (sup, wrk) = pair().unwrap();
        let msg: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let planes = vec![
            plane_file(&format!("{len}a"), b"src"),
            plane_file(&format!("{len}b"), b"dst"),
        ];
        send_job(sup.as_fd(), &msg, &planes).unwrap();
        let mut buf = Vec::new();
        let Incoming::Job(fds) = recv_job(wrk.as_fd(), &mut buf).unwrap() else {
            panic!("a job");
        };
        assert_eq!(buf, msg);
        assert_eq!(fds.len(), 2);
        let mut got = [0u8; 3];
        File::from(fds.into_iter().nth(1).unwrap())
            .read_exact_at(&mut got, 0)
            .unwrap();
        assert_eq!(&got, b"dst");
    }

    #[test]
    fn small_and_large_jobs_arrive_whole_with_their_planes() {
        roundtrip(1);
        roundtrip(INLINE_MAX);
        roundtrip(INLINE_MAX + 1);
        roundtrip(proto::MSG_MAX_SIZE);
    }

    #[test]
    fn resumed_and_closed_are_told_apart() {
        let (sup, wrk) = pair().unwrap();
        send_resumed(sup.as_fd()).unwrap();
        let mut buf = Vec::new();
        assert!(matches!(
            recv_job(wrk.as_fd(), &mut buf),
            Ok(Incoming::Resumed)
        ));
        drop(sup);
        assert!(matches!(
            recv_job(wrk.as_fd(), &mut buf),
            Ok(Incoming::Closed)
        ));
    }

    #[test]
    fn answers_pass_and_a_closed_worker_shows() {
        let (sup, wrk) = pair().unwrap();
        assert!(try_recv_result(&sup).unwrap().is_none());
        let mut job = Job::new_zeroed();
        job.job_id = 77;
        job.hdr.ctx_id = 5;
        send_result(wrk.as_fd(), &JobResult::new(&job, -5, [1, 2, 3, 4], "why")).unwrap();
        let r = try_recv_result(&sup).unwrap().unwrap();
        assert_eq!(
            (r.job_id, r.ctx_id, r.status, r.reason_str()),
            (77, 5, -5, "why")
        );
        drop(wrk);
        assert!(matches!(try_recv_result(&sup), Err(IpcError::Closed)));
        assert!(matches!(
            send_job(sup.as_fd(), b"x", &[]),
            Err(IpcError::Closed)
        ));
    }

    #[test]
    fn a_worker_that_stops_reading_fills_the_socket_without_blocking() {
        let (sup, _wrk) = pair().unwrap();
        let msg = vec![0u8; INLINE_MAX];
        let mut sent = 0;
        let err = loop {
            match send_job(sup.as_fd(), &msg, &[]) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(sent < 10_000);
        };
        assert!(matches!(err, IpcError::Full), "{err}");
    }
}
