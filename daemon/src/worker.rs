//! `daedalusd worker`: one context's decoder, a process of its own.
//!
//! Started by the supervisor with its end of the job socket on stdin. It
//! decodes a warm-up stream (so libraries are paged in and FFmpeg's first-use
//! set-up is done before the first job), lowers its rlimits, becomes
//! undumpable and installs its seccomp filter; from then on it can read and
//! write only what it holds: the socket and the planes each job brings. Each
//! job then runs through the same [`Server`] as ever, with the received planes
//! standing in for the module's exports. End of file on the socket ends it.
//!
//! With `--test-hooks`, SIGUSR1 makes it allocate until its memory limit ends
//! it and SIGUSR2 makes it call a forbidden system call (the VM suites check
//! that either takes down only this worker); SIGTTIN makes each of its later
//! jobs spin [`SLOW_JOB`] on the CPU first, a stand-in for a stream that is
//! slow to decode (the fairness test: other contexts must not wait for it).

use anyhow::Context as _;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::cell::{Cell, RefCell};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};
use tracing::{debug, error};

use crate::ipc;
use crate::proto::{self, JobResult, Message};
use crate::sandbox;
use crate::serve::{Device, EngineDecoder, Server};

/// Arguments of `daedalusd worker` (started by `serve`, not by hand).
#[derive(clap::Args)]
pub struct Args {
    /// Strict engine: controls checked against the stream.
    #[arg(long)]
    strict: bool,
    /// Skip the warm-up decode.
    #[arg(long)]
    no_warmup: bool,
    /// Run without the seccomp filter (debugging only).
    #[arg(long)]
    no_seccomp: bool,
    /// Threads a decoder may use within one picture.
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// Address-space limit in MiB.
    #[arg(long, default_value_t = 3072)]
    memory_mb: u64,
    /// SIGUSR1: allocate until the memory limit; SIGUSR2: a forbidden system
    /// call; SIGTTIN: every later job first spins on the CPU for 4 s.
    #[arg(long)]
    test_hooks: bool,
    /// Install the supervisor's filter first, as a worker started by a
    /// sandboxed supervisor inherits it (host tests, whose supervisor is the
    /// test itself).
    #[arg(long, hide = true)]
    stack_supervisor_filter: bool,
}

/// The planes of the job at hand, as the supervisor passed them.
struct Received<'a> {
    sock: BorrowedFd<'a>,
    /// OUTPUT plane, then the CAPTURE planes.
    fds: RefCell<Vec<Option<OwnedFd>>>,
    src_id: Cell<u64>,
    dst_id: Cell<u64>,
}

impl Device for Received<'_> {
    fn expbuf(
        &self,
        _ctx: u32,
        queue: u32,
        _index: u32,
        plane: u32,
        _flags: i32,
    ) -> nix::Result<(OwnedFd, u64)> {
        let (slot, id) = if queue == proto::QUEUE_OUTPUT {
            (0, self.src_id.get())
        } else {
            (1 + plane as usize, self.dst_id.get())
        };
        let fd = self
            .fds
            .borrow_mut()
            .get_mut(slot)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        Ok((fd, id))
    }

    fn job_done(&self, result: &JobResult) -> nix::Result<()> {
        ipc::send_result(self.sock, result).map_err(|e| match e {
            ipc::IpcError::Sys(e) => e,
            _ => Errno::EPIPE,
        })
    }
}

/// What the SIGTTIN hook adds to each job.
const SLOW_JOB: Duration = Duration::from_secs(4);

/// Busy for `d` on the CPU (the clock is the vDSO's: no system call).
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Runs the hook of signal `sig`; true if jobs are to be slow from now on.
fn hooks(sig: u32) -> bool {
    if sig == Signal::SIGTTIN as u32 {
        error!("test hook: every job from now on spins {SLOW_JOB:?} first");
        return true;
    }
    if sig == Signal::SIGUSR1 as u32 {
        error!("test hook: allocating until the memory limit");
        let mut hog: Vec<Vec<u8>> = Vec::new();
        loop {
            // Address space, not touched (the limit is on address space):
            // ends in an allocation failure within milliseconds.
            hog.push(Vec::with_capacity(64 << 20));
        }
    } else if sig == Signal::SIGUSR2 as u32 {
        error!("test hook: calling socket(), which the filter forbids");
        let r = nix::sys::socket::socket(
            nix::sys::socket::AddressFamily::Inet,
            nix::sys::socket::SockType::Stream,
            nix::sys::socket::SockFlag::empty(),
            None,
        );
        error!("socket() returned {r:?}: the filter did not stop it");
    }
    false
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // The job socket arrives as stdin.
    let sock: OwnedFd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .context("the job socket (stdin)")?;
    if args.stack_supervisor_filter {
        sandbox::install_supervisor_filter()?;
    }
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).context("PR_SET_PDEATHSIG")?;
    sandbox::default_fault_signals()?;

    let mut mask = SigSet::empty();
    if args.test_hooks {
        mask.add(Signal::SIGUSR1);
        mask.add(Signal::SIGUSR2);
        mask.add(Signal::SIGTTIN);
    }
    mask.thread_block().context("blocking the hook signals")?;
    let mut sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("signalfd")?;

    if !args.no_warmup {
        crate::replay::warm_up();
    }
    sandbox::limit_worker(args.memory_mb << 20)?;
    nix::sys::prctl::set_dumpable(false).context("PR_SET_DUMPABLE")?;
    if !args.no_seccomp {
        sandbox::install_worker_filter()?;
    }
    debug!(pid = std::process::id(), "worker ready");

    let dev = Received {
        sock: sock.as_fd(),
        fds: RefCell::new(Vec::new()),
        src_id: Cell::new(0),
        dst_id: Cell::new(0),
    };
    let mut server = Server::new(
        &dev,
        EngineDecoder::new(args.strict).with_threads(args.threads),
        args.strict,
    );
    let mut buf = Vec::new();
    let mut slow = false;
    loop {
        let (job_ready, sig_ready) = {
            let mut fds = [
                PollFd::new(sock.as_fd(), PollFlags::POLLIN),
                PollFd::new(sigfd.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e).context("poll"),
            }
            let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            (ready(&fds[0]), ready(&fds[1]))
        };
        if sig_ready {
            if let Ok(Some(si)) = sigfd.read_signal() {
                slow |= hooks(si.ssi_signo);
            }
        }
        if !job_ready {
            continue;
        }
        let fds = match ipc::recv_job(sock.as_fd(), &mut buf).context("receiving a job")? {
            ipc::Incoming::Job(fds) => fds,
            ipc::Incoming::Resumed => {
                server.decoder_mut().resume_after_loss();
                continue;
            }
            ipc::Incoming::Closed => {
                debug!("supervisor closed the context");
                server.decoder_mut().log_findings();
                return Ok(());
            }
        };
        if let Ok(Message::Job(job)) = proto::parse_message(&buf) {
            dev.src_id.set(job.job.src_buf_id);
            dev.dst_id.set(job.job.dst_buf_id);
        }
        *dev.fds.borrow_mut() = fds.into_iter().map(Some).collect();
        if slow {
            spin(SLOW_JOB);
        }
        server.handle_message(&buf)?;
        // Planes the cache already had mapped are closed here.
        dev.fds.borrow_mut().clear();
    }
}
