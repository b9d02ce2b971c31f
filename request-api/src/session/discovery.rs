//! Finding stateless decoders: media devices, their decoder entities and video nodes.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use v4l2r::ioctl::{self, Capabilities, Capability, FmtDesc, FormatIterator};
use v4l2r::QueueType;

use ctrls::Codec;

use crate::media;
use crate::topology::{devname_from_uevent, Topology};

use super::{fourcc_str, ioctl_err, open_rw, Error};

/// A stateless decoder: its media device, entity and video node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderDevice {
    pub media: PathBuf,
    pub video: PathBuf,
    pub driver: String,
    pub entity: String,
    /// Coded formats its OUTPUT queue offers.
    pub coded_formats: Vec<[u8; 4]>,
    pub mplane: bool,
}

/// The decoders of one media device (media controller walk).
pub fn probe_media(media_path: &Path) -> Result<Vec<DecoderDevice>, Error> {
    let media = open_rw(media_path)?;
    let info = media::device_info(media.as_fd())
        .map_err(ioctl_err("MEDIA_IOC_DEVICE_INFO", media_path))?;
    let driver = {
        let d = info.driver;
        let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
        String::from_utf8_lossy(&d[..end]).into_owned()
    };
    let raw =
        media::g_topology(media.as_fd()).map_err(ioctl_err("MEDIA_IOC_G_TOPOLOGY", media_path))?;
    let topo = Topology::from_raw(&raw);
    let mut out = Vec::new();
    for node in topo.decoders() {
        let uevent_path = format!("/sys/dev/char/{}:{}/uevent", node.major, node.minor);
        let video = std::fs::read_to_string(&uevent_path)
            .ok()
            .and_then(|u| devname_from_uevent(&u))
            .ok_or_else(|| Error::NoVideoNode {
                media: media_path.to_owned(),
                entity: node.name.clone(),
            })?;
        let (coded_formats, mplane) = output_formats(&video)?;
        out.push(DecoderDevice {
            media: media_path.to_owned(),
            video,
            driver: driver.clone(),
            entity: node.name,
            coded_formats,
            mplane,
        });
    }
    Ok(out)
}

pub(super) fn queues(mplane: bool) -> (QueueType, QueueType) {
    if mplane {
        (QueueType::VideoOutputMplane, QueueType::VideoCaptureMplane)
    } else {
        (QueueType::VideoOutput, QueueType::VideoCapture)
    }
}

pub(super) fn output_formats(video: &Path) -> Result<(Vec<[u8; 4]>, bool), Error> {
    let fd = open_rw(video)?;
    let cap: Capability = ioctl::querycap(&fd).map_err(ioctl_err("VIDIOC_QUERYCAP", video))?;
    let mplane = cap.device_caps().contains(Capabilities::VIDEO_M2M_MPLANE);
    let (out_q, _) = queues(mplane);
    let formats = FormatIterator::new(&fd, out_q)
        .map(|d: FmtDesc| d.pixelformat.to_fourcc())
        .collect();
    Ok((formats, mplane))
}

/// All `/dev/media*` nodes, sorted.
pub fn media_nodes() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("/dev")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("media") && n[5..].parse::<u32>().is_ok())
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n[5..].parse::<u32>().ok())
    });
    v
}

/// Picks the first decoder (on `device`, or on any media node) whose OUTPUT
/// queue offers the codec's coded format.
pub fn find_decoder(codec: Codec, device: Option<&Path>) -> Result<DecoderDevice, Error> {
    let nodes = match device {
        Some(d) => vec![d.to_owned()],
        None => media_nodes(),
    };
    let mut looked = Vec::new();
    for m in &nodes {
        let decs = match (probe_media(m), device) {
            (Ok(d), _) => d,
            (Err(e), Some(_)) => return Err(e),
            (Err(_), None) => continue,
        };
        for d in decs {
            if d.coded_formats.contains(&codec.fourcc()) {
                return Ok(d);
            }
            looked.push(format!(
                "{} ({}: {})",
                d.video.display(),
                d.entity,
                d.coded_formats
                    .iter()
                    .map(|f| fourcc_str(*f))
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
    }
    Err(Error::NoDevice {
        codec,
        fourcc: fourcc_str(codec.fourcc()),
        where_: if looked.is_empty() {
            format!(" (searched {} media nodes)", nodes.len())
        } else {
            format!("; decoders seen: {}", looked.join("; "))
        },
    })
}
