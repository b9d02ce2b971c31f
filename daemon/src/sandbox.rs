//! Least privilege for the supervisor and its workers.
//!
//! - [`drop_privileges`]: after attaching to /dev/daedalus (the one step that
//!   needs CAP_SYS_ADMIN) the supervisor becomes an unprivileged user with no
//!   capabilities: started as root it switches to the daemon's user; started as
//!   that user with an ambient CAP_SYS_ADMIN (the systemd unit) it drops it.
//! - [`limit_worker`]: address space and core rlimits of a worker.
//! - [`install_worker_filter`], [`install_supervisor_filter`]: seccomp
//!   allow-lists; any other system call kills the process (`Seccomp: 2` in
//!   /proc/PID/status). Workers cannot open files (EACCES), create sockets,
//!   start programs or processes (threads only), or signal other processes.
//!
//! seccompiler (rust-vmm, what Firecracker jails its VMMs with) builds the BPF
//! from plain rules in Rust: no C library to link or keep in step, and
//! per-argument conditions (clone flags, ioctl numbers, tgkill's pid).

use nix::unistd::{Gid, Uid, User};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};
use std::collections::BTreeMap;

use nix::libc;

/// Errors of setting up the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("no user {0:?} (nor \"nobody\") to run as")]
    NoUser(String),
    #[error("{what}: {err}")]
    Sys {
        what: &'static str,
        err: nix::errno::Errno,
    },
    #[error("still privileged after dropping: {0}")]
    StillPrivileged(String),
    #[error("seccomp filter: {0}")]
    Seccomp(#[from] seccompiler::Error),
    #[error("seccomp filter: {0}")]
    Backend(#[from] seccompiler::BackendError),
}

fn sys<T>(what: &'static str, r: nix::Result<T>) -> Result<T, SandboxError> {
    r.map_err(|err| SandboxError::Sys { what, err })
}

/// Who the process runs as after [`drop_privileges`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
}

/// Gives up every privilege for good: the user `user` (or "nobody" if there is
/// no such user) when running as root, then no capabilities at all, not
/// dumpable (other processes of that user cannot read or trace this one), no
/// new privileges. Checks /proc/self/status afterwards.
pub fn drop_privileges(user: &str) -> Result<Identity, SandboxError> {
    let id = if Uid::effective().is_root() {
        let u = match User::from_name(user) {
            Ok(Some(u)) => u,
            _ => match User::from_name("nobody") {
                Ok(Some(u)) => {
                    tracing::warn!(
                        "no user {user:?}: running as \"nobody\" (scripts/install creates {user:?})"
                    );
                    u
                }
                _ => return Err(SandboxError::NoUser(user.to_owned())),
            },
        };
        sys("setgroups", nix::unistd::setgroups(&[]))?;
        sys("setresgid", nix::unistd::setresgid(u.gid, u.gid, u.gid))?;
        sys("setresuid", nix::unistd::setresuid(u.uid, u.uid, u.uid))?;
        Identity {
            user: u.name,
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
        }
    } else {
        let uid = Uid::effective();
        Identity {
            user: User::from_uid(uid)
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_else(|| uid.to_string()),
            uid: uid.as_raw(),
            gid: Gid::effective().as_raw(),
        }
    };
    sys("dropping capabilities", caps::clear_all())?;
    sys("PR_SET_DUMPABLE", nix::sys::prctl::set_dumpable(false))?;
    sys("PR_SET_NO_NEW_PRIVS", nix::sys::prctl::set_no_new_privs())?;
    check_unprivileged()?;
    Ok(id)
}

/// Fails unless this process runs as a non-root user with no capabilities.
pub fn check_unprivileged() -> Result<(), SandboxError> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::trim)
            .unwrap_or("?")
            .to_owned()
    };
    let (eff, prm, amb) = (field("CapEff:"), field("CapPrm:"), field("CapAmb:"));
    let zero = |v: &str| v.chars().all(|c| c == '0') && !v.is_empty();
    if Uid::effective().is_root() || Uid::current().is_root() {
        return Err(SandboxError::StillPrivileged("uid 0".into()));
    }
    if !(zero(&eff) && zero(&prm) && zero(&amb)) {
        return Err(SandboxError::StillPrivileged(format!(
            "CapEff {eff}, CapPrm {prm}, CapAmb {amb}"
        )));
    }
    Ok(())
}

/// rlimits of a worker: `max_memory` bytes of address space (FFmpeg's and
/// dav1d's allocations fail beyond it, which ends the worker), no core dumps
/// (client pictures), a bounded descriptor table.
pub fn limit_worker(max_memory: u64) -> Result<(), SandboxError> {
    use nix::sys::resource::{setrlimit, Resource};
    sys(
        "RLIMIT_AS",
        setrlimit(Resource::RLIMIT_AS, max_memory, max_memory),
    )?;
    sys("RLIMIT_CORE", setrlimit(Resource::RLIMIT_CORE, 0, 0))?;
    sys(
        "RLIMIT_NOFILE",
        setrlimit(Resource::RLIMIT_NOFILE, 1024, 1024),
    )?;
    Ok(())
}

fn arch() -> seccompiler::TargetArch {
    std::env::consts::ARCH
        .try_into()
        .expect("seccompiler supports this architecture")
}

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompCondition {
    SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value).expect("valid condition")
}

fn dword(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompCondition {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).expect("valid condition")
}

fn rule(conds: Vec<SeccompCondition>) -> SeccompRule {
    SeccompRule::new(conds).expect("non-empty rule")
}

/// What every process of the daemon does: memory, signals, time, threads'
/// futexes, reading and writing descriptors it holds, its socket.
const COMMON: &[i64] = &[
    libc::SYS_read,
    libc::SYS_readv,
    libc::SYS_pread64,
    libc::SYS_write,
    libc::SYS_writev,
    libc::SYS_close,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_lseek,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_mprotect,
    libc::SYS_madvise,
    libc::SYS_brk,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_restart_syscall,
    libc::SYS_futex,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_membarrier,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getppid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getrandom,
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_clock_nanosleep,
    libc::SYS_nanosleep,
    libc::SYS_gettimeofday,
    libc::SYS_getrlimit,
    libc::SYS_prlimit64,
    libc::SYS_uname,
    libc::SYS_sysinfo,
    libc::SYS_fcntl,
    libc::SYS_recvmsg,
    libc::SYS_recvfrom,
    libc::SYS_sendmsg,
    libc::SYS_sendto,
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_set_tid_address,
    // Its own thread's state (glibc's CPU feature set-up on some CPUs).
    libc::SYS_arch_prctl,
    // Rust's panic and allocation-failure reports.
    libc::SYS_getcwd,
    libc::SYS_exit,
    libc::SYS_exit_group,
];

fn allow_list(extra: &[i64]) -> BTreeMap<i64, Vec<SeccompRule>> {
    COMMON
        .iter()
        .chain(extra)
        .map(|&nr| (nr, Vec::new()))
        .collect()
}

/// A filter that answers `errno` to the listed calls and allows the rest
/// (stacked on an allow-list: the stricter result wins).
fn errno_filter(calls: &[i64], errno: i32) -> Result<BpfProgram, SandboxError> {
    let rules = calls.iter().map(|&nr| (nr, Vec::new())).collect();
    let f = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch(),
    )?;
    Ok(f.try_into()?)
}

/// An allow-list: any call not in `rules` kills the process.
fn kill_unless(rules: BTreeMap<i64, Vec<SeccompRule>>) -> Result<BpfProgram, SandboxError> {
    let f = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        arch(),
    )?;
    Ok(f.try_into()?)
}

fn install(programs: &[BpfProgram]) -> Result<(), SandboxError> {
    for p in programs {
        seccompiler::apply_filter(p)?;
    }
    Ok(())
}

/// The worker's filter, for the calling thread and the threads it starts
/// afterwards (call it while single-threaded).
pub fn install_worker_filter() -> Result<(), SandboxError> {
    let pid = std::process::id() as u64;
    let mut rules = allow_list(&[
        // Answered with errors by the filters below.
        libc::SYS_openat,
        libc::SYS_open,
        libc::SYS_readlink,
        libc::SYS_readlinkat,
        libc::SYS_ioctl,
        libc::SYS_clone3,
    ]);
    // Threads, not processes.
    rules.insert(
        libc::SYS_clone,
        vec![rule(vec![cond(
            0,
            SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64),
            libc::CLONE_THREAD as u64,
        )])],
    );
    // Signals to itself only (abort, thread cancellation).
    rules.insert(
        libc::SYS_tgkill,
        vec![rule(vec![cond(0, SeccompCmpOp::Eq, pid)])],
    );
    // Thread names.
    rules.insert(
        libc::SYS_prctl,
        vec![
            rule(vec![dword(0, SeccompCmpOp::Eq, libc::PR_SET_NAME as u64)]),
            rule(vec![dword(0, SeccompCmpOp::Eq, libc::PR_GET_NAME as u64)]),
        ],
    );
    let allow = kill_unless(rules)?;
    // The allow-list last: installing a filter takes prctl() and seccomp(),
    // which it does not allow.
    install(&[
        errno_filter(
            &[
                libc::SYS_openat,
                libc::SYS_open,
                libc::SYS_readlink,
                libc::SYS_readlinkat,
            ],
            libc::EACCES,
        )?,
        errno_filter(&[libc::SYS_ioctl], libc::ENOTTY)?,
        // glibc falls back to clone(), whose flags the allow-list can see.
        errno_filter(&[libc::SYS_clone3], libc::ENOSYS)?,
        allow,
    ])
}

/// The supervisor's filter: the worker's calls plus what it takes to start
/// and reap workers and to talk to the module (its three ioctls). Workers
/// inherit it, so it also covers a worker's start before its own filter (the
/// dynamic loader, library constructors, the warm-up decode).
pub fn install_supervisor_filter() -> Result<(), SandboxError> {
    let mut rules = allow_list(&[
        libc::SYS_statfs,
        libc::SYS_fstatfs,
        // A worker stacks its own, stricter filter on this one.
        libc::SYS_seccomp,
        // libnuma's constructor in a starting worker.
        libc::SYS_get_mempolicy,
        libc::SYS_set_mempolicy,
        libc::SYS_openat,
        libc::SYS_open,
        libc::SYS_access,
        libc::SYS_faccessat,
        libc::SYS_faccessat2,
        libc::SYS_readlink,
        libc::SYS_clone,
        libc::SYS_clone3,
        libc::SYS_vfork,
        libc::SYS_execve,
        libc::SYS_wait4,
        libc::SYS_waitid,
        libc::SYS_kill,
        libc::SYS_tgkill,
        libc::SYS_pipe2,
        libc::SYS_dup,
        libc::SYS_dup2,
        libc::SYS_dup3,
        libc::SYS_close_range,
        libc::SYS_socketpair,
        libc::SYS_setsockopt,
        libc::SYS_getsockopt,
        libc::SYS_memfd_create,
        libc::SYS_ftruncate,
        libc::SYS_signalfd4,
        libc::SYS_prctl,
        libc::SYS_getdents64,
    ]);
    let ioctls = [
        crate::proto::IOC_INFO,
        crate::proto::IOC_EXPBUF,
        crate::proto::IOC_JOB_DONE,
        libc::TCGETS,
        libc::FIOCLEX,
    ];
    rules.insert(
        libc::SYS_ioctl,
        ioctls
            .iter()
            .map(|&nr| rule(vec![dword(1, SeccompCmpOp::Eq, nr)]))
            .collect(),
    );
    let allow = kill_unless(rules)?;
    install(&[allow])
}

/// Faults end a worker at once: SIGSEGV and SIGBUS (a client's buffer that
/// shrank under a mapping) back to their default action, instead of Rust's
/// stack-overflow handler, which lets a signal that no fault raised pass.
pub fn default_fault_signals() -> Result<(), SandboxError> {
    sys("SIGSEGV/SIGBUS to SIG_DFL", caps::default_fault_signals())
}

/// Dropping capabilities without privilege, default signal actions: the only
/// `unsafe` of this module.
///
/// SAFETY invariants: `capset` is given a version-3 header for the calling
/// thread (pid 0) and the two data words that version reads, both live for the
/// call; `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)` takes no
/// pointers. Both only ever lower this thread's capabilities; the daemon calls
/// [`caps::clear_all`] while it is single-threaded, so the process has them
/// all lowered. `signal(.., SigDfl)` installs no handler, so no code of ours
/// runs in signal context.
#[allow(unsafe_code)]
mod caps {
    use nix::errno::Errno;
    use nix::libc;

    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }

    const VERSION_3: u32 = 0x2008_0522;

    pub(super) fn default_fault_signals() -> nix::Result<()> {
        use nix::sys::signal::{signal, SigHandler, Signal};
        for sig in [Signal::SIGSEGV, Signal::SIGBUS] {
            // SAFETY: see the module invariants (SIG_DFL, no handler).
            unsafe { signal(sig, SigHandler::SigDfl) }?;
        }
        Ok(())
    }

    pub(super) fn clear_all() -> nix::Result<()> {
        // SAFETY: see the module invariants.
        let rc = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            )
        };
        Errno::result(rc)?;
        let hdr = Header {
            version: VERSION_3,
            pid: 0,
        };
        let data = [Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        // SAFETY: see the module invariants.
        let rc = unsafe { libc::syscall(libc::SYS_capset, &hdr, data.as_ptr()) };
        Errno::result(rc).map(drop)
    }
}
