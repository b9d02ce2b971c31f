//! Format negotiation: OUTPUT coded format, sequence controls, CAPTURE pixel format.

use std::fs::File;
use std::path::Path;

use v4l2r::bindings;
use v4l2r::ioctl::{self, Capabilities, Capability, CtrlWhich, FmtDesc, FormatIterator};
use v4l2r::{Format, PixelFormat, PlaneLayout};

use ctrls::{CaptureFormat, Codec};

use crate::yuv::Layout;
use ctrls::source::CodedPicture;

use super::queue::set_controls;

use super::{fourcc_str, ioctl_err, queues, Error};

/// Controls set as current values before CAPTURE negotiation.
/// (They carry the bit depth: VP9 has it in its FRAME control.)
pub(super) const SEQUENCE_CONTROLS: [u32; 4] = [
    bindings::V4L2_CID_STATELESS_H264_SPS,
    bindings::V4L2_CID_STATELESS_HEVC_SPS,
    bindings::V4L2_CID_STATELESS_AV1_SEQUENCE,
    bindings::V4L2_CID_STATELESS_VP9_FRAME,
];

/// What S_FMT settled on both queues.
pub(super) struct Negotiated {
    pub(super) layout: Layout,
    /// OUTPUT buffer size.
    pub(super) output_size: u32,
    /// CAPTURE plane sizes (memory planes).
    pub(super) capture_sizes: Vec<u32>,
}

/// S_FMT OUTPUT (coded format and size), the sequence controls as current
/// values, then S_FMT CAPTURE with the first pixel format we can read.
pub(super) fn negotiate(
    video: &mut File,
    p: &Path,
    codec: Codec,
    pic: &CodedPicture,
    frame: u64,
) -> Result<Negotiated, Error> {
    let info = pic.info;
    let codec_fourcc = codec.fourcc();
    let sizeimage = (info.coded_width * info.coded_height * 3 / 2).max(1 << 20);
    let want = Format {
        width: info.coded_width,
        height: info.coded_height,
        pixelformat: PixelFormat::from_fourcc(&codec_fourcc),
        plane_fmt: vec![PlaneLayout {
            sizeimage,
            bytesperline: 0,
        }],
    };
    let refused = |queue: &'static str, f: [u8; 4], why: String| Error::FormatRefused {
        video: p.to_owned(),
        queue,
        fourcc: fourcc_str(f),
        width: info.coded_width,
        height: info.coded_height,
        why,
    };
    let (out_q, cap_q) = {
        let cap: Capability = ioctl::querycap(&*video).map_err(ioctl_err("VIDIOC_QUERYCAP", p))?;
        queues(cap.device_caps().contains(Capabilities::VIDEO_M2M_MPLANE))
    };
    let got: Format = ioctl::s_fmt(video, (out_q, &want))
        .map_err(|e| refused("OUTPUT", codec_fourcc, e.to_string()))?;
    if got.pixelformat.to_fourcc() != codec_fourcc {
        return Err(refused(
            "OUTPUT",
            codec_fourcc,
            format!("driver chose {}", fourcc_str(got.pixelformat.to_fourcc())),
        ));
    }
    let output_size = got.plane_fmt.first().map(|pl| pl.sizeimage).unwrap_or(0);
    // Sequence-level controls go in as current values before CAPTURE is
    // negotiated: drivers derive the CAPTURE format (bit depth) from them.
    let mut seq: Vec<_> = pic
        .controls
        .iter()
        .filter(|c| SEQUENCE_CONTROLS.contains(&c.id))
        .cloned()
        .collect();
    if !seq.is_empty() {
        set_controls(&*video, &mut seq, CtrlWhich::Current, frame)?;
    }
    // CAPTURE: the first format we can read, in order of preference.
    let offered: Vec<[u8; 4]> = FormatIterator::new(&*video, cap_q)
        .map(|d: FmtDesc| d.pixelformat.to_fourcc())
        .collect();
    let prefs = CaptureFormat::preference(info.bit_depth);
    let fmt = prefs
        .iter()
        .copied()
        .find(|f| offered.contains(&f.fourcc()))
        .ok_or_else(|| Error::NoCaptureFormat {
            video: p.to_owned(),
            wanted: prefs
                .iter()
                .map(|f| fourcc_str(f.fourcc()))
                .collect::<Vec<_>>()
                .join(","),
            offered: offered
                .iter()
                .map(|f| fourcc_str(*f))
                .collect::<Vec<_>>()
                .join(","),
        })?;
    let want = Format {
        width: info.coded_width,
        height: info.coded_height,
        pixelformat: PixelFormat::from_fourcc(&fmt.fourcc()),
        plane_fmt: vec![],
    };
    let got: Format = ioctl::s_fmt(video, (cap_q, &want))
        .map_err(|e| refused("CAPTURE", fmt.fourcc(), e.to_string()))?;
    if got.pixelformat.to_fourcc() != fmt.fourcc()
        || got.width < info.coded_width
        || got.height < info.coded_height
    {
        return Err(refused(
            "CAPTURE",
            fmt.fourcc(),
            format!(
                "driver chose {} {}x{}",
                fourcc_str(got.pixelformat.to_fourcc()),
                got.width,
                got.height
            ),
        ));
    }
    Ok(Negotiated {
        layout: Layout {
            fmt,
            width: got.width,
            height: got.height,
            bytesperline: got.plane_fmt.iter().map(|pl| pl.bytesperline).collect(),
        },
        output_size,
        capture_sizes: got.plane_fmt.iter().map(|pl| pl.sizeimage).collect(),
    })
}
