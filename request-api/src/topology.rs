//! A parsed media-controller topology and the pure walk that finds stateless
//! decoders and their video device nodes.
//!
//! Shape of an m2m stateless decoder (visl, hantro, cedrus, rkvdec, ours), as
//! registered by `v4l2_m2m_register_media_controller()`:
//!
//! ```text
//!  [source: IO_V4L] --pad--> [decoder: PROC_VIDEO_DECODER] --pad--> [sink: IO_V4L]
//!         ^                                                             ^
//!         +------------- interface link --- [V4L_VIDEO /dev/videoN] ----+
//! ```
//!
//! Data links join pad ids; interface links join an interface id (source) to
//! an entity id (sink).

use serde::Serialize;

/// `MEDIA_ENT_F_PROC_VIDEO_DECODER`.
pub const MEDIA_ENT_F_PROC_VIDEO_DECODER: u32 = 0x4008;
/// `MEDIA_ENT_F_IO_V4L`.
pub const MEDIA_ENT_F_IO_V4L: u32 = 0x0001_0001;
/// `MEDIA_INTF_T_V4L_VIDEO`.
pub const MEDIA_INTF_T_V4L_VIDEO: u32 = 0x200;
/// `MEDIA_LNK_FL_LINK_TYPE`.
pub const MEDIA_LNK_FL_LINK_TYPE: u32 = 0xf << 28;
/// `MEDIA_LNK_FL_DATA_LINK`.
pub const MEDIA_LNK_FL_DATA_LINK: u32 = 0;
/// `MEDIA_LNK_FL_INTERFACE_LINK`.
pub const MEDIA_LNK_FL_INTERFACE_LINK: u32 = 1 << 28;
/// `MEDIA_LNK_FL_ENABLED`.
pub const MEDIA_LNK_FL_ENABLED: u32 = 1;
/// `MEDIA_PAD_FL_SINK`.
pub const MEDIA_PAD_FL_SINK: u32 = 1;
/// `MEDIA_PAD_FL_SOURCE`.
pub const MEDIA_PAD_FL_SOURCE: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entity {
    pub id: u32,
    pub name: String,
    pub function: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub id: u32,
    pub intf_type: u32,
    pub major: u32,
    pub minor: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pad {
    pub id: u32,
    pub entity_id: u32,
    pub flags: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub id: u32,
    pub source_id: u32,
    pub sink_id: u32,
    pub flags: u32,
}

/// What `MEDIA_IOC_G_TOPOLOGY` returns, in owned Rust types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Topology {
    pub entities: Vec<Entity>,
    pub interfaces: Vec<Interface>,
    pub pads: Vec<Pad>,
    pub links: Vec<Link>,
}

/// A decoder found in a topology: its entity and the character device of
/// the video interface that drives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecoderNode {
    pub entity_id: u32,
    pub name: String,
    pub major: u32,
    pub minor: u32,
}

fn c_name(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Topology {
    /// Converts the raw kernel arrays.
    pub fn from_raw(raw: &crate::media::RawTopology) -> Self {
        Self {
            entities: raw
                .entities
                .iter()
                .map(|e| Entity {
                    id: e.id,
                    name: c_name(&{ e.name }),
                    function: e.function,
                })
                .collect(),
            interfaces: raw
                .interfaces
                .iter()
                .map(|i| {
                    let raw = i.raw;
                    Interface {
                        id: i.id,
                        intf_type: i.intf_type,
                        major: raw[0],
                        minor: raw[1],
                    }
                })
                .collect(),
            pads: raw
                .pads
                .iter()
                .map(|p| Pad {
                    id: p.id,
                    entity_id: p.entity_id,
                    flags: p.flags,
                })
                .collect(),
            links: raw
                .links
                .iter()
                .map(|l| Link {
                    id: l.id,
                    source_id: l.source_id,
                    sink_id: l.sink_id,
                    flags: l.flags,
                })
                .collect(),
        }
    }

    fn pad(&self, id: u32) -> Option<&Pad> {
        self.pads.iter().find(|p| p.id == id)
    }

    fn entity(&self, id: u32) -> Option<&Entity> {
        self.entities.iter().find(|e| e.id == id)
    }

    /// Entities at the other end of the data links touching `entity_id`'s pads.
    fn data_neighbours(&self, entity_id: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for l in &self.links {
            if l.flags & MEDIA_LNK_FL_LINK_TYPE != MEDIA_LNK_FL_DATA_LINK {
                continue;
            }
            let (Some(src), Some(snk)) = (self.pad(l.source_id), self.pad(l.sink_id)) else {
                continue;
            };
            let other = if src.entity_id == entity_id {
                snk.entity_id
            } else if snk.entity_id == entity_id {
                src.entity_id
            } else {
                continue;
            };
            if !out.contains(&other) {
                out.push(other);
            }
        }
        out
    }

    /// V4L video interfaces linked (interface links) to `entity_id`.
    fn video_interfaces_of(&self, entity_id: u32) -> Vec<&Interface> {
        self.links
            .iter()
            .filter(|l| {
                l.flags & MEDIA_LNK_FL_LINK_TYPE == MEDIA_LNK_FL_INTERFACE_LINK
                    && l.sink_id == entity_id
            })
            .filter_map(|l| self.interfaces.iter().find(|i| i.id == l.source_id))
            .filter(|i| i.intf_type == MEDIA_INTF_T_V4L_VIDEO)
            .collect()
    }

    /// Every stateless decoder entity and the video node that drives it:
    /// decoder entity -> data link -> I/O entity -> interface link -> V4L
    /// video interface devnode. A decoder whose I/O entities lead to no video
    /// interface is left out. When the I/O entities lead to several
    /// interfaces (not seen in m2m drivers), each is reported.
    pub fn decoders(&self) -> Vec<DecoderNode> {
        let mut out: Vec<DecoderNode> = Vec::new();
        for dec in self
            .entities
            .iter()
            .filter(|e| e.function == MEDIA_ENT_F_PROC_VIDEO_DECODER)
        {
            for io in self.data_neighbours(dec.id) {
                if self.entity(io).map(|e| e.function) != Some(MEDIA_ENT_F_IO_V4L) {
                    continue;
                }
                for intf in self.video_interfaces_of(io) {
                    let node = DecoderNode {
                        entity_id: dec.id,
                        name: dec.name.clone(),
                        major: intf.major,
                        minor: intf.minor,
                    };
                    if !out.contains(&node) {
                        out.push(node);
                    }
                }
            }
        }
        out
    }
}

/// `DEVNAME=` of a `/sys/dev/char/MAJ:MIN/uevent` file, as a `/dev` path.
pub fn devname_from_uevent(uevent: &str) -> Option<std::path::PathBuf> {
    uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(|n| std::path::Path::new("/dev").join(n.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(id: u32, name: &str, function: u32) -> Entity {
        Entity {
            id,
            name: name.into(),
            function,
        }
    }
    fn pad(id: u32, entity_id: u32, flags: u32) -> Pad {
        Pad {
            id,
            entity_id,
            flags,
        }
    }
    fn link(id: u32, source_id: u32, sink_id: u32, flags: u32) -> Link {
        Link {
            id,
            source_id,
            sink_id,
            flags,
        }
    }

    // Ids follow media_gobj_gen_id(): graph object type in the top byte
    // (entity 0, pad 1, link 2, interface 3), a per-device sequence below.
    const PAD: u32 = 1 << 24;
    const LNK: u32 = 2 << 24;
    const INTF: u32 = 3 << 24;

    /// The shape v4l2_m2m_register_media_controller() gives visl on 6.12:
    /// visl-source (IO_V4L, one source pad), visl-sink (IO_V4L, one sink pad),
    /// visl-proc (PROC_VIDEO_DECODER, sink + source pads), two data links, one
    /// V4L video interface (/dev/video0 = 81:0) linked to both I/O entities.
    fn visl() -> Topology {
        Topology {
            entities: vec![
                ent(1, "visl-source", MEDIA_ENT_F_IO_V4L),
                ent(3, "visl-sink", MEDIA_ENT_F_IO_V4L),
                ent(5, "visl-proc", MEDIA_ENT_F_PROC_VIDEO_DECODER),
            ],
            interfaces: vec![Interface {
                id: INTF | 10,
                intf_type: MEDIA_INTF_T_V4L_VIDEO,
                major: 81,
                minor: 0,
            }],
            pads: vec![
                pad(PAD | 2, 1, MEDIA_PAD_FL_SOURCE),
                pad(PAD | 4, 3, MEDIA_PAD_FL_SINK),
                pad(PAD | 6, 5, MEDIA_PAD_FL_SINK),
                pad(PAD | 7, 5, MEDIA_PAD_FL_SOURCE),
            ],
            links: vec![
                link(LNK | 8, PAD | 2, PAD | 6, MEDIA_LNK_FL_ENABLED | 2),
                link(LNK | 9, PAD | 7, PAD | 4, MEDIA_LNK_FL_ENABLED | 2),
                link(
                    LNK | 11,
                    INTF | 10,
                    1,
                    MEDIA_LNK_FL_INTERFACE_LINK | MEDIA_LNK_FL_ENABLED | 2,
                ),
                link(
                    LNK | 12,
                    INTF | 10,
                    3,
                    MEDIA_LNK_FL_INTERFACE_LINK | MEDIA_LNK_FL_ENABLED | 2,
                ),
            ],
        }
    }

    #[test]
    fn visl_shape_gives_one_decoder_on_81_0() {
        assert_eq!(
            visl().decoders(),
            vec![DecoderNode {
                entity_id: 5,
                name: "visl-proc".into(),
                major: 81,
                minor: 0
            }]
        );
    }

    /// hantro-vpu on RK3399 registers an encoder and a decoder on one media
    /// device, each with its own video node; only the decoder must come out.
    #[test]
    fn hantro_shape_skips_the_encoder() {
        const ENCODER: u32 = 0x4007; // MEDIA_ENT_F_PROC_VIDEO_ENCODER
        let mut t = visl();
        t.entities[0].name = "rockchip,rk3399-vpu-enc-source".into();
        t.entities[1].name = "rockchip,rk3399-vpu-enc-sink".into();
        t.entities[2].name = "rockchip,rk3399-vpu-enc-proc".into();
        t.entities[2].function = ENCODER;
        t.interfaces[0].minor = 0;
        // Decoder block: ids 13.. (source 13 pad 14, sink 15 pad 16, proc 17 pads 18/19,
        // links 20/21, interface 22 on 81:1, interface links 23/24).
        t.entities.extend([
            ent(13, "rockchip,rk3399-vpu-dec-source", MEDIA_ENT_F_IO_V4L),
            ent(15, "rockchip,rk3399-vpu-dec-sink", MEDIA_ENT_F_IO_V4L),
            ent(
                17,
                "rockchip,rk3399-vpu-dec-proc",
                MEDIA_ENT_F_PROC_VIDEO_DECODER,
            ),
        ]);
        t.pads.extend([
            pad(PAD | 14, 13, MEDIA_PAD_FL_SOURCE),
            pad(PAD | 16, 15, MEDIA_PAD_FL_SINK),
            pad(PAD | 18, 17, MEDIA_PAD_FL_SINK),
            pad(PAD | 19, 17, MEDIA_PAD_FL_SOURCE),
        ]);
        t.interfaces.push(Interface {
            id: INTF | 22,
            intf_type: MEDIA_INTF_T_V4L_VIDEO,
            major: 81,
            minor: 1,
        });
        t.links.extend([
            link(LNK | 20, PAD | 14, PAD | 18, 3),
            link(LNK | 21, PAD | 19, PAD | 16, 3),
            link(LNK | 23, INTF | 22, 13, MEDIA_LNK_FL_INTERFACE_LINK | 3),
            link(LNK | 24, INTF | 22, 15, MEDIA_LNK_FL_INTERFACE_LINK | 3),
        ]);
        let found = t.decoders();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "rockchip,rk3399-vpu-dec-proc");
        assert_eq!((found[0].major, found[0].minor), (81, 1));
    }

    #[test]
    fn decoder_without_video_interface_is_left_out() {
        let mut t = visl();
        t.links.retain(|l| l.flags & MEDIA_LNK_FL_LINK_TYPE == 0);
        assert!(t.decoders().is_empty());
    }

    #[test]
    fn non_video_interface_is_ignored() {
        let mut t = visl();
        t.interfaces[0].intf_type = 0x203; // MEDIA_INTF_T_V4L_SUBDEV
        assert!(t.decoders().is_empty());
    }

    #[test]
    fn uevent_devname() {
        let ue = "MAJOR=81\nMINOR=3\nDEVNAME=video3\n";
        assert_eq!(
            devname_from_uevent(ue),
            Some(std::path::PathBuf::from("/dev/video3"))
        );
        assert_eq!(devname_from_uevent("MAJOR=81\n"), None);
    }
}
