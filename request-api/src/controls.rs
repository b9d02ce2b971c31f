//! Request controls: `Payload`s -> the `v4l2_ext_control` array of
//! `VIDIOC_S_EXT_CTRLS` with `which = V4L2_CTRL_WHICH_REQUEST_VAL`.

use std::os::fd::RawFd;

use serde::Serialize;
use v4l2r::bindings::{v4l2_ext_control, v4l2_ext_control__bindgen_ty_1};
use v4l2r::ioctl::{s_ext_ctrls, CtrlWhich, ExtControlError};

use ctrls::set::Payload;

/// `V4L2_CTRL_WHICH_REQUEST_VAL`.
pub const WHICH_REQUEST_VAL: u32 = v4l2r::bindings::V4L2_CTRL_WHICH_REQUEST_VAL;

/// What one `v4l2_ext_control` of the array carries (everything but the
/// pointer value): for logs and snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlEntry {
    pub id: u32,
    pub size: u32,
}

/// The `(id, size)` list the client sets for a picture, in order.
pub fn entries(payloads: &[Payload]) -> Vec<ControlEntry> {
    payloads
        .iter()
        .map(|p| ControlEntry {
            id: p.id,
            size: p.bytes.len() as u32,
        })
        .collect()
}

/// Builds the `v4l2_ext_control` array pointing into `payloads`.
///
/// The kernel copies the new values back into the payloads after a
/// successful S_EXT_CTRLS, so the pointers are made from `&mut` borrows: the
/// returned array borrows `payloads` mutably for as long as it lives.
pub fn ext_control_array(payloads: &mut [Payload]) -> ExtControlArray<'_> {
    let ctrls = payloads
        .iter_mut()
        .map(|p| v4l2_ext_control {
            id: p.id,
            size: p.bytes.len() as u32,
            reserved2: [0],
            __bindgen_anon_1: v4l2_ext_control__bindgen_ty_1 {
                ptr: p.bytes.as_mut_ptr().cast(),
            },
        })
        .collect();
    ExtControlArray {
        ctrls,
        _payloads: std::marker::PhantomData,
    }
}

/// A `v4l2_ext_control` array whose pointers stay valid while it lives.
pub struct ExtControlArray<'a> {
    ctrls: Vec<v4l2_ext_control>,
    _payloads: std::marker::PhantomData<&'a mut [Payload]>,
}

impl ExtControlArray<'_> {
    pub fn as_slice(&self) -> &[v4l2_ext_control] {
        &self.ctrls
    }

    /// `VIDIOC_S_EXT_CTRLS` with `which = V4L2_CTRL_WHICH_REQUEST_VAL` and `request_fd`.
    pub fn set_in_request(
        &mut self,
        video: &impl std::os::fd::AsRawFd,
        request_fd: RawFd,
    ) -> Result<(), ExtControlError> {
        self.set(video, CtrlWhich::Request(request_fd))
    }

    /// `VIDIOC_S_EXT_CTRLS` with any `which`.
    pub fn set(
        &mut self,
        video: &impl std::os::fd::AsRawFd,
        which: CtrlWhich,
    ) -> Result<(), ExtControlError> {
        if self.ctrls.is_empty() {
            return Ok(());
        }
        s_ext_ctrls(video, which, self.ctrls.as_mut_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeroed(id: u32, size: usize) -> Payload {
        Payload {
            id,
            bytes: vec![0; size],
        }
    }

    /// The controls of one H.264 frame-based picture with two slices, sized
    /// by v4l2r's bindgen structs. Expected (id, size) pairs come from a C
    /// program compiled against the 6.12 <linux/videodev2.h> (sizeof).
    #[test]
    fn h264_picture_array_has_uapi_ids_and_sizes() {
        use std::mem::size_of;
        let mut p = vec![
            zeroed(
                v4l2r::bindings::V4L2_CID_STATELESS_H264_SPS,
                size_of::<v4l2r::bindings::v4l2_ctrl_h264_sps>(),
            ),
            zeroed(
                v4l2r::bindings::V4L2_CID_STATELESS_H264_PPS,
                size_of::<v4l2r::bindings::v4l2_ctrl_h264_pps>(),
            ),
            zeroed(
                v4l2r::bindings::V4L2_CID_STATELESS_H264_SCALING_MATRIX,
                size_of::<v4l2r::bindings::v4l2_ctrl_h264_scaling_matrix>(),
            ),
            zeroed(
                v4l2r::bindings::V4L2_CID_STATELESS_H264_DECODE_PARAMS,
                size_of::<v4l2r::bindings::v4l2_ctrl_h264_decode_params>(),
            ),
            zeroed(
                v4l2r::bindings::V4L2_CID_STATELESS_H264_SLICE_PARAMS,
                2 * size_of::<v4l2r::bindings::v4l2_ctrl_h264_slice_params>(),
            ),
            zeroed(
                v4l2r::bindings::V4L2_CID_STATELESS_H264_PRED_WEIGHTS,
                size_of::<v4l2r::bindings::v4l2_ctrl_h264_pred_weights>(),
            ),
        ];
        let want = vec![
            (0x00a4_0902, 1048),
            (0x00a4_0903, 12),
            (0x00a4_0904, 480),
            (0x00a4_0907, 560),
            (0x00a4_0906, 2 * 152),
            (0x00a4_0905, 772),
        ];
        let listed: Vec<(u32, u32)> = entries(&p).iter().map(|e| (e.id, e.size)).collect();
        assert_eq!(listed, want);
        let arr = ext_control_array(&mut p);
        let built: Vec<(u32, u32, u32)> = arr
            .as_slice()
            .iter()
            .map(|c| (c.id, c.size, c.reserved2[0]))
            .collect();
        let want3: Vec<(u32, u32, u32)> = want.iter().map(|&(i, s)| (i, s, 0)).collect();
        assert_eq!(built, want3);
    }

    #[test]
    fn which_is_request_val() {
        // V4L2_CTRL_WHICH_REQUEST_VAL from <linux/videodev2.h>.
        assert_eq!(WHICH_REQUEST_VAL, 0x0f01_0000);
    }
}
