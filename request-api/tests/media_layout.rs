//! The `#[repr(C, packed)]` media-controller mirrors of `request_api::media`
//! against the system's <linux/media.h>: a C program compiled here prints the
//! C sizes and offsets, which must equal Rust's.

mod common;

use std::mem::{offset_of, size_of};

use request_api::media::*;

fn c_layout() -> String {
    common::c_probe_output(
        "layout",
        r#"#include <stdio.h>
#include <stddef.h>
#include <linux/media.h>
#define S(t) printf(#t " size %zu\n", sizeof(struct t))
#define O(t, f) printf(#t "." #f " %zu\n", offsetof(struct t, f))
int main(void) {
    S(media_device_info); O(media_device_info, media_version); O(media_device_info, driver_version); O(media_device_info, reserved);
    S(media_v2_entity); O(media_v2_entity, name); O(media_v2_entity, function); O(media_v2_entity, flags);
    S(media_v2_interface); O(media_v2_interface, intf_type); O(media_v2_interface, devnode.major); O(media_v2_interface, devnode.minor);
    S(media_v2_pad); O(media_v2_pad, entity_id); O(media_v2_pad, flags); O(media_v2_pad, index);
    S(media_v2_link); O(media_v2_link, source_id); O(media_v2_link, sink_id); O(media_v2_link, flags);
    S(media_v2_topology); O(media_v2_topology, num_entities); O(media_v2_topology, ptr_entities);
    O(media_v2_topology, num_interfaces); O(media_v2_topology, ptr_interfaces);
    O(media_v2_topology, num_pads); O(media_v2_topology, ptr_pads);
    O(media_v2_topology, num_links); O(media_v2_topology, ptr_links);
    printf("MEDIA_IOC_DEVICE_INFO %lu\nMEDIA_IOC_G_TOPOLOGY %lu\nMEDIA_IOC_REQUEST_ALLOC %lu\n",
        (unsigned long)MEDIA_IOC_DEVICE_INFO, (unsigned long)MEDIA_IOC_G_TOPOLOGY,
        (unsigned long)MEDIA_IOC_REQUEST_ALLOC);
    printf("MEDIA_ENT_F_PROC_VIDEO_DECODER %u\nMEDIA_ENT_F_IO_V4L %u\nMEDIA_INTF_T_V4L_VIDEO %u\nMEDIA_LNK_FL_INTERFACE_LINK %u\n",
        MEDIA_ENT_F_PROC_VIDEO_DECODER, MEDIA_ENT_F_IO_V4L, MEDIA_INTF_T_V4L_VIDEO, MEDIA_LNK_FL_INTERFACE_LINK);
    return 0;
}
"#,
        "the layout probe against <linux/media.h>",
    )
}

#[test]
fn media_structs_match_the_uapi_header() {
    use request_api::topology as t;
    // nix's ioctl numbers for our argument types (same encoding as _IOWR/_IOR).
    let iowr = |nr: u64, size: usize| (3u64 << 30) | ((size as u64) << 16) | (0x7c << 8) | nr;
    let ior = |nr: u64, size: usize| (2u64 << 30) | ((size as u64) << 16) | (0x7c << 8) | nr;
    let rust = format!(
        "media_device_info size {}\nmedia_device_info.media_version {}\nmedia_device_info.driver_version {}\nmedia_device_info.reserved {}\n\
media_v2_entity size {}\nmedia_v2_entity.name {}\nmedia_v2_entity.function {}\nmedia_v2_entity.flags {}\n\
media_v2_interface size {}\nmedia_v2_interface.intf_type {}\nmedia_v2_interface.devnode.major {}\nmedia_v2_interface.devnode.minor {}\n\
media_v2_pad size {}\nmedia_v2_pad.entity_id {}\nmedia_v2_pad.flags {}\nmedia_v2_pad.index {}\n\
media_v2_link size {}\nmedia_v2_link.source_id {}\nmedia_v2_link.sink_id {}\nmedia_v2_link.flags {}\n\
media_v2_topology size {}\nmedia_v2_topology.num_entities {}\nmedia_v2_topology.ptr_entities {}\n\
media_v2_topology.num_interfaces {}\nmedia_v2_topology.ptr_interfaces {}\n\
media_v2_topology.num_pads {}\nmedia_v2_topology.ptr_pads {}\n\
media_v2_topology.num_links {}\nmedia_v2_topology.ptr_links {}\n\
MEDIA_IOC_DEVICE_INFO {}\nMEDIA_IOC_G_TOPOLOGY {}\nMEDIA_IOC_REQUEST_ALLOC {}\n\
MEDIA_ENT_F_PROC_VIDEO_DECODER {}\nMEDIA_ENT_F_IO_V4L {}\nMEDIA_INTF_T_V4L_VIDEO {}\nMEDIA_LNK_FL_INTERFACE_LINK {}\n",
        size_of::<MediaDeviceInfo>(),
        offset_of!(MediaDeviceInfo, media_version),
        offset_of!(MediaDeviceInfo, driver_version),
        offset_of!(MediaDeviceInfo, reserved),
        size_of::<MediaV2Entity>(),
        offset_of!(MediaV2Entity, name),
        offset_of!(MediaV2Entity, function),
        offset_of!(MediaV2Entity, flags),
        size_of::<MediaV2Interface>(),
        offset_of!(MediaV2Interface, intf_type),
        offset_of!(MediaV2Interface, raw),
        offset_of!(MediaV2Interface, raw) + 4,
        size_of::<MediaV2Pad>(),
        offset_of!(MediaV2Pad, entity_id),
        offset_of!(MediaV2Pad, flags),
        offset_of!(MediaV2Pad, index),
        size_of::<MediaV2Link>(),
        offset_of!(MediaV2Link, source_id),
        offset_of!(MediaV2Link, sink_id),
        offset_of!(MediaV2Link, flags),
        size_of::<MediaV2Topology>(),
        offset_of!(MediaV2Topology, num_entities),
        offset_of!(MediaV2Topology, ptr_entities),
        offset_of!(MediaV2Topology, num_interfaces),
        offset_of!(MediaV2Topology, ptr_interfaces),
        offset_of!(MediaV2Topology, num_pads),
        offset_of!(MediaV2Topology, ptr_pads),
        offset_of!(MediaV2Topology, num_links),
        offset_of!(MediaV2Topology, ptr_links),
        iowr(0, size_of::<MediaDeviceInfo>()),
        iowr(4, size_of::<MediaV2Topology>()),
        ior(5, size_of::<i32>()),
        t::MEDIA_ENT_F_PROC_VIDEO_DECODER,
        t::MEDIA_ENT_F_IO_V4L,
        t::MEDIA_INTF_T_V4L_VIDEO,
        t::MEDIA_LNK_FL_INTERFACE_LINK,
    );
    assert_eq!(rust, c_layout());
}
