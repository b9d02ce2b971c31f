//! The supervisor: the module's jobs handed to one worker process per context.
//!
//! The supervisor never decodes and never maps a client's buffer. Per job it
//! exports the job's planes from the module (`DAEDALUS_IOC_EXPBUF`, checking
//! the buffer identity), passes them with the job message to the context's
//! worker ([`crate::ipc`]) and forwards the worker's answer to the module once
//! it has checked that the answer is for a job it gave that worker.
//!
//! A worker is started for a context's first job (warmed-up spares are kept
//! ready, so the first job does not wait for a process to start) and ends on
//! CTX_CLOSED. A worker that dies (panic, signal, seccomp, its memory limit)
//! or stalls fails only its own context's pending jobs, with the reason logged
//! once; the context's next job starts a fresh worker, whose engine refuses
//! pictures that reference what it never decoded until the next key frame.

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

use crate::ipc::{self, IpcError};
use crate::proto::{self, JobMsg, JobResult, Message};
use crate::serve::{export_plane, Device, Stats};

/// How a worker is started: `PROGRAM worker ARGS...`, its socket on stdin.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// What the workers are told (the options of `daedalusd worker`).
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub strict: bool,
    pub warm_up: bool,
    pub seccomp: bool,
    pub memory_mb: u64,
    pub test_hooks: bool,
    /// Threads per picture (see `EngineOptions::threads`).
    pub threads: u32,
    /// The worker installs the supervisor's filter under its own (tests: what
    /// a worker of a sandboxed supervisor inherits).
    pub stack_supervisor_filter: bool,
}

impl WorkerCommand {
    /// `program` (normally /proc/self/exe, this very binary) with `opts`.
    pub fn new(program: PathBuf, opts: &WorkerOptions) -> Self {
        let mut args: Vec<OsString> = vec!["worker".into()];
        if opts.strict {
            args.push("--strict".into());
        }
        if !opts.warm_up {
            args.push("--no-warmup".into());
        }
        if !opts.seccomp {
            args.push("--no-seccomp".into());
        }
        if opts.test_hooks {
            args.push("--test-hooks".into());
        }
        if opts.stack_supervisor_filter {
            args.push("--stack-supervisor-filter".into());
        }
        args.push(format!("--memory-mb={}", opts.memory_mb).into());
        args.push(format!("--threads={}", opts.threads.max(1)).into());
        WorkerCommand { program, args }
    }
}

/// One job a worker holds.
#[derive(Debug, Clone, Copy)]
struct Pending {
    job_id: u64,
    ctx_id: u32,
    since: Instant,
}

struct Worker {
    child: Child,
    sock: OwnedFd,
    ctx: Option<u32>,
    pending: VecDeque<Pending>,
}

/// Why a worker ended before its context did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerDeath {
    pub ctx: Option<u32>,
    pub pid: u32,
    /// "killed by SIGSEGV", "exited with status 101", "stalled ...".
    pub cause: String,
    /// Jobs failed with it.
    pub failed_jobs: usize,
}

/// Deaths remembered for [`Supervisor::deaths`].
const DEATHS_KEPT: usize = 64;

/// Spare workers kept ready. A spare starts when one is handed out; under TCG
/// on a slow host v4l2-compliance's streaming tests open a context about
/// every 2.3 s and the first job of one came up to 2.2 s after the last of
/// the one before, past v4l2-compliance's 2 s wait for a buffer: with one
/// spare, the one started for the previous context may still be starting
/// (exec, FFmpeg's libraries, the warm-up). With two, each has two context
/// lifetimes to get ready.
pub const SPARES: usize = 2;

/// Worker ids are never reused (a late event of a dead worker names no one).
type WorkerId = u64;

/// Supervisor state.
pub struct Supervisor<V: Device> {
    dev: V,
    cmd: WorkerCommand,
    strict: bool,
    stall: Duration,
    workers: HashMap<WorkerId, Worker>,
    by_ctx: HashMap<u32, WorkerId>,
    /// Started and warmed up, no context yet; [`SPARES`] of them.
    spares: VecDeque<WorkerId>,
    next_id: WorkerId,
    retiring: Vec<(Child, Instant)>,
    /// The last [`DEATHS_KEPT`] deaths; `death_count` counts them all.
    deaths: VecDeque<WorkerDeath>,
    death_count: u64,
    /// Contexts whose worker died: their next worker is told so.
    lost: std::collections::HashSet<u32>,
    /// A spare died before it got a context (a worker that cannot start):
    /// no new spare before this, the wait doubling each time.
    spare_backoff: Option<(Instant, Duration)>,
    stats: Stats,
}

/// The sooner of two optional waits (`None`: no bound).
fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn describe(status: ExitStatus) -> String {
    if let Some(sig) = status.signal() {
        let name = Signal::try_from(sig)
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|_| format!("signal {sig}"));
        if sig == Signal::SIGSYS as i32 {
            format!("killed by {name} (seccomp: forbidden system call)")
        } else {
            format!("killed by {name}")
        }
    } else {
        format!("exited with status {}", status.code().unwrap_or(-1))
    }
}

impl<V: Device> Supervisor<V> {
    /// `stall`: a worker holding a job this long is killed (the module has
    /// failed that job long before).
    pub fn new(dev: V, cmd: WorkerCommand, strict: bool, stall: Duration) -> Self {
        let mut s = Supervisor {
            dev,
            cmd,
            strict,
            stall,
            workers: HashMap::new(),
            by_ctx: HashMap::new(),
            spares: VecDeque::new(),
            next_id: 1,
            retiring: Vec::new(),
            deaths: VecDeque::new(),
            death_count: 0,
            lost: Default::default(),
            spare_backoff: None,
            stats: Stats::default(),
        };
        s.ensure_spare();
        s
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn device(&self) -> &V {
        &self.dev
    }

    /// Jobs given to workers and not answered yet.
    pub fn pending(&self) -> usize {
        self.workers.values().map(|w| w.pending.len()).sum()
    }

    /// Process ids of the workers by context (spares have none).
    pub fn worker_pids(&self) -> HashMap<u32, u32> {
        self.by_ctx
            .iter()
            .filter_map(|(&ctx, id)| self.workers.get(id).map(|w| (ctx, w.child.id())))
            .collect()
    }

    /// The last workers that ended before their context did, oldest first.
    pub fn deaths(&self) -> Vec<WorkerDeath> {
        self.deaths.iter().cloned().collect()
    }

    fn spawn(&mut self) -> Result<WorkerId, String> {
        let (mine, theirs) = ipc::pair().map_err(|e| format!("worker socket: {e}"))?;
        let child = Command::new(&self.cmd.program)
            .args(&self.cmd.args)
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting a worker: {e}"))?;
        let id = self.next_id;
        self.next_id += 1;
        debug!(pid = child.id(), "worker started");
        self.workers.insert(
            id,
            Worker {
                child,
                sock: mine,
                ctx: None,
                pending: VecDeque::new(),
            },
        );
        Ok(id)
    }

    fn ensure_spare(&mut self) {
        if let Some((until, _)) = self.spare_backoff {
            if Instant::now() < until {
                return;
            }
        }
        while self.spares.len() < SPARES {
            match self.spawn() {
                Ok(id) => self.spares.push_back(id),
                Err(e) => {
                    warn!("no spare worker: {e}");
                    break;
                }
            }
        }
    }

    fn worker_for(&mut self, ctx: u32) -> Result<WorkerId, String> {
        if let Some(&id) = self.by_ctx.get(&ctx) {
            return Ok(id);
        }
        let id = match self.spares.pop_front() {
            Some(id) => id,
            None => self.spawn()?,
        };
        if let Some(w) = self.workers.get_mut(&id) {
            w.ctx = Some(ctx);
            debug!(ctx, pid = w.child.id(), "worker assigned");
        }
        self.by_ctx.insert(ctx, id);
        if self.lost.remove(&ctx) {
            let w = &self.workers[&id];
            ipc::send_resumed(w.sock.as_fd()).map_err(|e| format!("telling the worker: {e}"))?;
        }
        Ok(id)
    }

    fn answer(&self, result: &JobResult) -> anyhow::Result<()> {
        match self.dev.job_done(result) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context("DAEDALUS_IOC_JOB_DONE")),
        }
    }

    fn fail(&mut self, job_id: u64, ctx_id: u32, reason: &str) -> anyhow::Result<()> {
        self.stats.failed += 1;
        let r = JobResult::for_job(
            job_id,
            ctx_id,
            -(Errno::EIO as i32),
            [0; proto::MAX_PLANES],
            reason,
        );
        self.answer(&r)
    }

    /// Exports the job's planes: OUTPUT, then each CAPTURE plane.
    fn export(&self, msg: &JobMsg<'_>) -> anyhow::Result<Vec<OwnedFd>> {
        let j = &msg.job;
        let ctx = j.hdr.ctx_id;
        let mut fds = vec![export_plane(
            &self.dev,
            (ctx, proto::QUEUE_OUTPUT, j.src_index, 0),
            j.src_buf_id,
        )?];
        for p in 0..msg.dst_planes().len() as u32 {
            let key = (ctx, proto::QUEUE_CAPTURE, j.dst_index, p);
            fds.push(export_plane(&self.dev, key, j.dst_buf_id)?);
        }
        Ok(fds)
    }

    fn dispatch(&mut self, bytes: &[u8], msg: &JobMsg<'_>) -> anyhow::Result<()> {
        let (job_id, ctx) = (msg.job.job_id, msg.job.hdr.ctx_id);
        self.stats.jobs += 1;
        let planes = match self.export(msg) {
            Ok(p) => p,
            Err(e) if self.strict => {
                self.fail(job_id, ctx, "buffer export failed")?;
                return Err(e);
            }
            Err(e) => {
                warn!(job = job_id, ctx, "job failed: {e:#}");
                return self.fail(job_id, ctx, &format!("{e:#}"));
            }
        };
        let id = match self.worker_for(ctx) {
            Ok(id) => id,
            Err(e) => {
                warn!(job = job_id, ctx, "job failed: {e}");
                return self.fail(job_id, ctx, &e);
            }
        };
        let sent = {
            let w = &self.workers[&id];
            ipc::send_job(w.sock.as_fd(), bytes, &planes)
        };
        match sent {
            Ok(()) => {
                if let Some(w) = self.workers.get_mut(&id) {
                    w.pending.push_back(Pending {
                        job_id,
                        ctx_id: ctx,
                        since: Instant::now(),
                    });
                }
                self.ensure_spare();
                Ok(())
            }
            Err(IpcError::Closed) => {
                self.died(id, None)?;
                self.fail(job_id, ctx, "decoder worker died")
            }
            Err(e) => {
                warn!(
                    job = job_id,
                    ctx, "job failed: passing it to the worker: {e}"
                );
                self.fail(job_id, ctx, &format!("passing the job to the worker: {e}"))
            }
        }
    }

    /// Handles one message of the module (what one `read()` returned).
    pub fn handle_message(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        match proto::parse_message(bytes) {
            Ok(Message::Job(job)) => self.dispatch(bytes, &job),
            Ok(Message::CtxClosed { ctx_id }) => {
                debug!(ctx = ctx_id, "context closed");
                self.lost.remove(&ctx_id);
                if let Some(id) = self.by_ctx.remove(&ctx_id) {
                    if let Some(w) = self.workers.remove(&id) {
                        // End of file on its socket ends it; reaped later.
                        drop(w.sock);
                        self.retiring.push((w.child, Instant::now()));
                    }
                }
                Ok(())
            }
            Err(e) if self.strict => {
                Err(anyhow::Error::new(e).context("bad message from the module"))
            }
            Err(e) => {
                // The job (if it was one) times out in the module.
                warn!("bad message from the module: {e}");
                Ok(())
            }
        }
    }

    /// A worker is gone or must go: kill (if still alive), reap, fail its jobs.
    fn died(&mut self, id: WorkerId, cause: Option<String>) -> anyhow::Result<()> {
        let Some(mut w) = self.workers.remove(&id) else {
            return Ok(());
        };
        if let Some(i) = self.spares.iter().position(|&s| s == id) {
            self.spares.remove(i);
            let wait = self
                .spare_backoff
                .map_or(Duration::from_millis(250), |(_, d)| {
                    (d * 2).min(Duration::from_secs(30))
                });
            self.spare_backoff = Some((Instant::now() + wait, wait));
        } else if w.ctx.is_some() {
            // A worker that got as far as a job starts fine.
            self.spare_backoff = None;
        }
        if let Some(ctx) = w.ctx {
            self.by_ctx.remove(&ctx);
            self.lost.insert(ctx);
        }
        let pid = w.child.id();
        let _ = w.child.kill();
        let status = w.child.wait().ok();
        let cause =
            cause.unwrap_or_else(|| status.map(describe).unwrap_or_else(|| "lost".to_owned()));
        // Every death up to 20, then at powers of two.
        self.death_count += 1;
        let n = self.death_count;
        if n <= 20 || n.is_power_of_two() {
            warn!(
                ctx = w.ctx,
                pid,
                failed_jobs = w.pending.len(),
                deaths = n,
                "decoder worker {cause}; its context's next job starts a new one"
            );
        }
        let reason = format!("decoder worker {cause}");
        let failed = w.pending.len();
        for p in w.pending.drain(..) {
            self.fail(p.job_id, p.ctx_id, &reason)?;
        }
        if self.deaths.len() == DEATHS_KEPT {
            self.deaths.pop_front();
        }
        self.deaths.push_back(WorkerDeath {
            ctx: w.ctx,
            pid,
            cause,
            failed_jobs: failed,
        });
        Ok(())
    }

    /// The worker `id` has something to say (answers, or its end).
    fn on_worker_event(&mut self, id: WorkerId) -> anyhow::Result<()> {
        loop {
            let got = match self.workers.get(&id) {
                Some(w) => ipc::try_recv_result(&w.sock),
                None => return Ok(()),
            };
            let r = match got {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(()),
                Err(IpcError::Closed) => return self.died(id, None),
                Err(e) => return self.died(id, Some(format!("broke the protocol ({e})"))),
            };
            let w = self.workers.get_mut(&id).expect("checked above");
            let front = w.pending.front().copied();
            match front {
                Some(p) if p.job_id == r.job_id && p.ctx_id == r.ctx_id => {
                    w.pending.pop_front();
                    if r.status != 0 {
                        self.stats.failed += 1;
                    }
                    self.answer(&r)?;
                }
                _ => {
                    // Never pass on an answer for a job it was not given.
                    let cause = format!(
                        "answered job {} of ctx {} it does not hold",
                        r.job_id, r.ctx_id
                    );
                    return self.died(id, Some(cause));
                }
            }
        }
    }

    fn check_stalls(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        let stalled: Vec<(WorkerId, Duration)> = self
            .workers
            .iter()
            .filter_map(|(&id, w)| {
                let age = now.duration_since(w.pending.front()?.since);
                (age >= self.stall).then_some((id, age))
            })
            .collect();
        for (id, age) in stalled {
            self.died(
                id,
                Some(format!("stalled {} ms on one job, killed", age.as_millis())),
            )?;
        }
        Ok(())
    }

    fn reap(&mut self) {
        let now = Instant::now();
        self.retiring
            .retain_mut(|(child, since)| match child.try_wait() {
                Ok(Some(st)) => {
                    debug!(pid = child.id(), "worker ended ({})", describe(st));
                    false
                }
                Ok(None) if now.duration_since(*since) > Duration::from_secs(2) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    false
                }
                Ok(None) => true,
                Err(_) => false,
            });
    }

    /// When the next stall check is due.
    fn timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let stall = self
            .workers
            .values()
            .filter_map(|w| w.pending.front())
            .map(|p| (p.since + self.stall).saturating_duration_since(now))
            .min();
        let reap = (!self.retiring.is_empty()
            || (self.spares.len() < SPARES && self.spare_backoff.is_some()))
        .then_some(Duration::from_millis(500));
        earliest(stall, reap)
    }

    /// Waits up to `timeout` (or the next stall check) for `extra` descriptors
    /// or the workers, handles what the workers said, and returns which of
    /// `extra` are readable.
    pub fn poll(
        &mut self,
        extra: &[BorrowedFd<'_>],
        timeout: Option<Duration>,
    ) -> anyhow::Result<Vec<bool>> {
        let wait = earliest(timeout, self.timeout());
        let ids: Vec<WorkerId> = self.workers.keys().copied().collect();
        let (extra_ready, workers_ready) = {
            let mut fds: Vec<PollFd<'_>> = extra
                .iter()
                .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
                .collect();
            fds.extend(
                ids.iter()
                    .map(|id| PollFd::new(self.workers[id].sock.as_fd(), PollFlags::POLLIN)),
            );
            let t = match wait {
                None => PollTimeout::NONE,
                Some(d) => PollTimeout::try_from(d.as_millis().min(60_000) as i32 + 1)
                    .unwrap_or(PollTimeout::MAX),
            };
            match poll(&mut fds, t) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(anyhow::Error::new(e).context("poll")),
            }
            let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            let extra_ready: Vec<bool> = fds[..extra.len()].iter().map(ready).collect();
            let workers_ready: Vec<WorkerId> = fds[extra.len()..]
                .iter()
                .zip(&ids)
                .filter(|(f, _)| ready(f))
                .map(|(_, &id)| id)
                .collect();
            (extra_ready, workers_ready)
        };
        for id in workers_ready {
            self.on_worker_event(id)?;
        }
        self.check_stalls()?;
        self.reap();
        self.ensure_spare();
        Ok(extra_ready)
    }

    /// Runs the workers until no job is pending or `timeout` passed; true if
    /// none is pending.
    pub fn settle(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        let end = Instant::now() + timeout;
        while self.pending() > 0 {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            self.poll(&[], Some(left))?;
        }
        Ok(true)
    }

    /// Ends every worker (detaching).
    pub fn shutdown(&mut self) {
        for (_, w) in self.workers.drain() {
            drop(w.sock);
            self.retiring.push((w.child, Instant::now()));
        }
        self.by_ctx.clear();
        self.spares.clear();
        let end = Instant::now() + Duration::from_secs(2);
        while !self.retiring.is_empty() && Instant::now() < end {
            self.reap();
            std::thread::sleep(Duration::from_millis(20));
        }
        for (mut c, _) in self.retiring.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        info!("workers ended");
    }
}

impl<V: Device> Drop for Supervisor<V> {
    fn drop(&mut self) {
        for w in self.workers.values_mut() {
            let _ = w.child.kill();
            let _ = w.child.wait();
        }
        for (c, _) in &mut self.retiring {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
