//! Media controller ioctls that v4l2r 0.0.8 lacks, plus the request fd.
//!
//! One of the crate's two modules with `unsafe` (the other is [`crate::dmabuf`]).
//! The invariants are:
//!
//! * Every `#[repr(C, packed)]` mirror below has exactly the size and field
//!   offsets of its `<linux/media.h>` (6.12) counterpart; `tests/media_layout.rs`
//!   checks that against a C program compiled with the system header.
//! * The kernel writes at most `num_*` elements through the `ptr_*` pointers of
//!   `media_v2_topology`; we always pass pointers to vectors holding at least that
//!   many initialized, plain-old-data elements, and keep the vectors alive and
//!   unmoved across the ioctl.
//! * A request fd returned by `MEDIA_IOC_REQUEST_ALLOC` is a fresh descriptor
//!   owned by nobody else, so wrapping it in an `OwnedFd` is sound.
//!
//! The request ioctls are also in v4l2r (`v4l2r::ioctl::Request`), but its
//! `poll` polls the *video* fd and it exposes no `AsFd`; a stateless client
//! needs to poll the request fd itself, so the three request ioctls live here
//! next to the allocation, on an `OwnedFd`.
#![allow(unsafe_code)]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::libc::c_int;

/// `struct media_device_info`.
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct MediaDeviceInfo {
    pub driver: [u8; 16],
    pub model: [u8; 32],
    pub serial: [u8; 40],
    pub bus_info: [u8; 32],
    pub media_version: u32,
    pub hw_revision: u32,
    pub driver_version: u32,
    pub reserved: [u32; 31],
}

/// `struct media_v2_entity`.
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct MediaV2Entity {
    pub id: u32,
    pub name: [u8; 64],
    pub function: u32,
    pub flags: u32,
    pub reserved: [u32; 5],
}

/// `struct media_v2_interface`; the `devnode` union member is `raw[0..2]`
/// (`major`, `minor`).
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct MediaV2Interface {
    pub id: u32,
    pub intf_type: u32,
    pub flags: u32,
    pub reserved: [u32; 9],
    pub raw: [u32; 16],
}

/// `struct media_v2_pad`.
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
pub struct MediaV2Pad {
    pub id: u32,
    pub entity_id: u32,
    pub flags: u32,
    pub index: u32,
    pub reserved: [u32; 4],
}

/// `struct media_v2_link`.
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
pub struct MediaV2Link {
    pub id: u32,
    pub source_id: u32,
    pub sink_id: u32,
    pub flags: u32,
    pub reserved: [u32; 6],
}

/// `struct media_v2_topology`.
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
pub struct MediaV2Topology {
    pub topology_version: u64,
    pub num_entities: u32,
    pub reserved1: u32,
    pub ptr_entities: u64,
    pub num_interfaces: u32,
    pub reserved2: u32,
    pub ptr_interfaces: u64,
    pub num_pads: u32,
    pub reserved3: u32,
    pub ptr_pads: u64,
    pub num_links: u32,
    pub reserved4: u32,
    pub ptr_links: u64,
}

impl MediaDeviceInfo {
    const ZERO: Self = Self {
        driver: [0; 16],
        model: [0; 32],
        serial: [0; 40],
        bus_info: [0; 32],
        media_version: 0,
        hw_revision: 0,
        driver_version: 0,
        reserved: [0; 31],
    };
}

impl MediaV2Entity {
    const ZERO: Self = Self {
        id: 0,
        name: [0; 64],
        function: 0,
        flags: 0,
        reserved: [0; 5],
    };
}

impl MediaV2Interface {
    const ZERO: Self = Self {
        id: 0,
        intf_type: 0,
        flags: 0,
        reserved: [0; 9],
        raw: [0; 16],
    };
}

mod ioctl {
    use super::{MediaDeviceInfo, MediaV2Topology};
    use nix::libc::c_int;
    nix::ioctl_readwrite!(media_ioc_device_info, b'|', 0x00, MediaDeviceInfo);
    nix::ioctl_readwrite!(media_ioc_g_topology, b'|', 0x04, MediaV2Topology);
    nix::ioctl_read!(media_ioc_request_alloc, b'|', 0x05, c_int);
    nix::ioctl_none!(media_request_ioc_queue, b'|', 0x80);
    nix::ioctl_none!(media_request_ioc_reinit, b'|', 0x81);
}

/// `MEDIA_IOC_DEVICE_INFO`.
pub fn device_info(media: BorrowedFd<'_>) -> nix::Result<MediaDeviceInfo> {
    let mut info = MediaDeviceInfo::ZERO;
    // SAFETY: `info` is a valid, writable media_device_info (layout checked by tests).
    unsafe { ioctl::media_ioc_device_info(media.as_raw_fd(), &mut info) }?;
    Ok(info)
}

/// Raw arrays returned by `MEDIA_IOC_G_TOPOLOGY`.
pub struct RawTopology {
    pub version: u64,
    pub entities: Vec<MediaV2Entity>,
    pub interfaces: Vec<MediaV2Interface>,
    pub pads: Vec<MediaV2Pad>,
    pub links: Vec<MediaV2Link>,
}

/// `MEDIA_IOC_G_TOPOLOGY`, twice: once for the counts, once for the arrays.
/// Retries (a few times) if the topology changed in between.
pub fn g_topology(media: BorrowedFd<'_>) -> nix::Result<RawTopology> {
    for _ in 0..4 {
        let mut counts = MediaV2Topology::default();
        // SAFETY: all pointers are 0, so the kernel only writes the counts and version.
        unsafe { ioctl::media_ioc_g_topology(media.as_raw_fd(), &mut counts) }?;
        let mut entities = vec![MediaV2Entity::ZERO; counts.num_entities as usize];
        let mut interfaces = vec![MediaV2Interface::ZERO; counts.num_interfaces as usize];
        let mut pads = vec![MediaV2Pad::default(); counts.num_pads as usize];
        let mut links = vec![MediaV2Link::default(); counts.num_links as usize];
        let mut topo = MediaV2Topology {
            num_entities: counts.num_entities,
            ptr_entities: entities.as_mut_ptr() as u64,
            num_interfaces: counts.num_interfaces,
            ptr_interfaces: interfaces.as_mut_ptr() as u64,
            num_pads: counts.num_pads,
            ptr_pads: pads.as_mut_ptr() as u64,
            num_links: counts.num_links,
            ptr_links: links.as_mut_ptr() as u64,
            ..Default::default()
        };
        // SAFETY: each pointer addresses a live vector of exactly `num_*` POD
        // elements with the kernel's layout; the kernel writes at most that many
        // (it returns ENOSPC when the topology grew).
        match unsafe { ioctl::media_ioc_g_topology(media.as_raw_fd(), &mut topo) } {
            Ok(_) => {}
            Err(nix::errno::Errno::ENOSPC) => continue,
            Err(e) => return Err(e),
        }
        if topo.topology_version != counts.topology_version {
            continue;
        }
        // The kernel reports how many it wrote; never more than we gave it.
        entities.truncate(topo.num_entities as usize);
        interfaces.truncate(topo.num_interfaces as usize);
        pads.truncate(topo.num_pads as usize);
        links.truncate(topo.num_links as usize);
        return Ok(RawTopology {
            version: topo.topology_version,
            entities,
            interfaces,
            pads,
            links,
        });
    }
    Err(nix::errno::Errno::EAGAIN)
}

/// A media request (`MEDIA_IOC_REQUEST_ALLOC`): an owned fd.
#[derive(Debug)]
pub struct RequestFd {
    fd: OwnedFd,
}

impl RequestFd {
    /// `MEDIA_IOC_REQUEST_ALLOC` on a media device fd.
    pub fn alloc(media: BorrowedFd<'_>) -> nix::Result<Self> {
        let mut raw: c_int = -1;
        // SAFETY: `raw` is a valid, writable int.
        unsafe { ioctl::media_ioc_request_alloc(media.as_raw_fd(), &mut raw) }?;
        // SAFETY: on success the kernel installed a new fd that nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self { fd })
    }

    /// `MEDIA_REQUEST_IOC_QUEUE`.
    pub fn queue(&self) -> nix::Result<()> {
        // SAFETY: no argument; the fd is a request fd we own.
        unsafe { ioctl::media_request_ioc_queue(self.fd.as_raw_fd()) }.map(|_| ())
    }

    /// `MEDIA_REQUEST_IOC_REINIT`.
    pub fn reinit(&self) -> nix::Result<()> {
        // SAFETY: no argument; the fd is a request fd we own.
        unsafe { ioctl::media_request_ioc_reinit(self.fd.as_raw_fd()) }.map(|_| ())
    }

    /// Waits until the request completes (POLLPRI). `Ok(false)` on timeout.
    pub fn wait(&self, timeout_ms: u32) -> nix::Result<bool> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let timeout = PollTimeout::try_from(timeout_ms.min(i32::MAX as u32))
            .map_err(|_| nix::errno::Errno::EINVAL)?;
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLPRI)];
        loop {
            match poll(&mut fds, timeout) {
                Ok(0) => return Ok(false),
                Ok(_) => {
                    let rev = fds[0].revents().unwrap_or(PollFlags::empty());
                    if rev.contains(PollFlags::POLLERR) {
                        return Err(nix::errno::Errno::EIO);
                    }
                    return Ok(rev.contains(PollFlags::POLLPRI));
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub fn raw(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for RequestFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
