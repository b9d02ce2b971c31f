//! The controls a request carries, as one typed set per codec, parsed once
//! from the list the kernel delivers: `(control id, payload bytes)` pairs.
//!
//! The daemon parses a job's controls with [`ControlSet::parse`]; the replay
//! and the client build the very same list from a stream ([`Payload`]), so
//! every layer speaks one vocabulary. Parsing checks presence and payload
//! size only: range rules are the engine's (they depend on its mode, lenient
//! or strict).

use crate::codec::Codec;
use crate::{av1, h264, hevc, mpeg2, vp8, vp9, Control};

/// One control as the kernel delivers it: its V4L2 CID and payload bytes (the
/// UAPI struct, an array of them, or a menu control's `i32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawControl<'a> {
    pub id: u32,
    pub bytes: &'a [u8],
}

/// An owned [`RawControl`]: what a client sets in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub id: u32,
    pub bytes: Vec<u8>,
}

impl Payload {
    /// From a typed payload.
    pub fn of<C: Control>(c: &C) -> Self {
        Self {
            id: C::ID,
            bytes: c.to_bytes().to_vec(),
        }
    }

    /// From a slice of typed payloads (array controls, e.g. H.264 SLICE_PARAMS).
    pub fn of_array<C: Control>(cs: &[C]) -> Self {
        Self {
            id: C::ID,
            bytes: cs
                .iter()
                .flat_map(|c| c.to_bytes().iter().copied())
                .collect(),
        }
    }

    /// A menu or integer control's value.
    pub fn menu(id: u32, value: i32) -> Self {
        Self {
            id,
            bytes: value.to_ne_bytes().to_vec(),
        }
    }

    pub fn raw(&self) -> RawControl<'_> {
        RawControl {
            id: self.id,
            bytes: &self.bytes,
        }
    }
}

/// Why a control list is not a control set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    #[error("request lacks {0}")]
    Missing(&'static str),
    #[error("{name}: payload is {got} bytes, expected {expected}")]
    Size {
        name: &'static str,
        expected: String,
        got: usize,
    },
    #[error("{name}: value {value} is not a menu entry")]
    Menu { name: &'static str, value: i32 },
    #[error("codec {0}: no engine")]
    NoEngine(Codec),
}

/// A control list with typed look-ups.
#[derive(Debug, Clone, Copy)]
pub struct Controls<'a>(pub &'a [RawControl<'a>]);

impl<'a> Controls<'a> {
    fn find(&self, id: u32) -> Option<&'a [u8]> {
        self.0.iter().find(|c| c.id == id).map(|c| c.bytes)
    }

    /// Control `T`, which the request must carry.
    pub fn get<T: Control>(&self) -> Result<T, SetError> {
        self.opt()?.ok_or(SetError::Missing(T::NAME))
    }

    /// Control `T` if the request carries it.
    pub fn opt<T: Control>(&self) -> Result<Option<T>, SetError> {
        let Some(bytes) = self.find(T::ID) else {
            return Ok(None);
        };
        T::read_from_bytes(bytes)
            .map(Some)
            .map_err(|_| SetError::Size {
                name: T::NAME,
                expected: core::mem::size_of::<T>().to_string(),
                got: bytes.len(),
            })
    }

    /// Array control `T` (a dynamic array: any whole number of elements);
    /// empty when the request does not carry it.
    pub fn array<T: Control>(&self) -> Result<Vec<T>, SetError> {
        let Some(bytes) = self.find(T::ID) else {
            return Ok(Vec::new());
        };
        let size = core::mem::size_of::<T>();
        if size == 0 || !bytes.len().is_multiple_of(size) {
            return Err(SetError::Size {
                name: T::NAME,
                expected: format!("a multiple of {size}"),
                got: bytes.len(),
            });
        }
        Ok(bytes
            .chunks_exact(size)
            .map(|c| T::read_from_bytes(c).expect("exact chunk"))
            .collect())
    }

    /// A menu control's value, `None` when absent.
    pub fn menu(&self, id: u32, name: &'static str) -> Result<Option<i32>, SetError> {
        let Some(bytes) = self.find(id) else {
            return Ok(None);
        };
        let arr: [u8; 4] = bytes.try_into().map_err(|_| SetError::Size {
            name,
            expected: "4".into(),
            got: bytes.len(),
        })?;
        Ok(Some(i32::from_ne_bytes(arr)))
    }

    /// A menu control as its enum; `default` when absent.
    pub fn menu_enum<E: TryFrom<i32>>(
        &self,
        id: u32,
        name: &'static str,
        default: E,
    ) -> Result<E, SetError> {
        match self.menu(id, name)? {
            None => Ok(default),
            Some(v) => E::try_from(v).map_err(|_| SetError::Menu { name, value: v }),
        }
    }
}

/// The controls of one request, by codec.
#[derive(Debug, Clone)]
pub enum ControlSet {
    H264(Box<h264::H264Controls>),
    Vp9(Box<vp9::Vp9Controls>),
    Av1(Box<av1::Av1Controls>),
    Hevc(Box<hevc::HevcControls>),
    Vp8(Box<vp8::Vp8Controls>),
    Mpeg2(Box<mpeg2::Mpeg2Controls>),
}

impl ControlSet {
    /// Parses the controls of a request for `codec`.
    pub fn parse(codec: Codec, list: &[RawControl<'_>]) -> Result<Self, SetError> {
        let c = Controls(list);
        Ok(match codec {
            Codec::H264 => ControlSet::H264(Box::new(h264::H264Controls::from_controls(&c)?)),
            Codec::Vp9 => ControlSet::Vp9(Box::new(vp9::Vp9Controls::from_controls(&c)?)),
            Codec::Av1 => ControlSet::Av1(Box::new(av1::Av1Controls::from_controls(&c)?)),
            Codec::Hevc => ControlSet::Hevc(Box::new(hevc::HevcControls::from_controls(&c)?)),
            Codec::Vp8 => ControlSet::Vp8(Box::new(vp8::Vp8Controls::from_controls(&c)?)),
            Codec::Mpeg2 => ControlSet::Mpeg2(Box::new(mpeg2::Mpeg2Controls::from_controls(&c)?)),
        })
    }

    /// Parses an owned list (what a client sets).
    pub fn parse_payloads(codec: Codec, list: &[Payload]) -> Result<Self, SetError> {
        let raw: Vec<RawControl<'_>> = list.iter().map(Payload::raw).collect();
        Self::parse(codec, &raw)
    }

    /// The request's picture references nothing decoded before it (see each
    /// codec's `random_access`).
    pub fn random_access(&self) -> bool {
        match self {
            ControlSet::H264(c) => c.random_access(),
            ControlSet::Vp9(c) => c.random_access(),
            ControlSet::Av1(c) => c.random_access(),
            ControlSet::Hevc(c) => c.random_access(),
            ControlSet::Vp8(c) => c.random_access(),
            ControlSet::Mpeg2(c) => c.random_access(),
        }
    }

    pub fn codec(&self) -> Codec {
        match self {
            ControlSet::H264(_) => Codec::H264,
            ControlSet::Vp9(_) => Codec::Vp9,
            ControlSet::Av1(_) => Codec::Av1,
            ControlSet::Hevc(_) => Codec::Hevc,
            ControlSet::Vp8(_) => Codec::Vp8,
            ControlSet::Mpeg2(_) => Codec::Mpeg2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_short_controls_are_named() {
        let sps = h264::Sps::default();
        let list = [Payload::of(&sps)];
        let err = ControlSet::parse_payloads(Codec::H264, &list).unwrap_err();
        assert_eq!(err, SetError::Missing("H264_PPS"));

        let short = [RawControl {
            id: h264::CID_SPS,
            bytes: &[0u8; 3],
        }];
        let err = ControlSet::parse(Codec::H264, &short).unwrap_err();
        assert!(
            matches!(
                err,
                SetError::Size {
                    name: "H264_SPS",
                    ..
                }
            ),
            "{err}"
        );

        let err = ControlSet::parse(Codec::Vp8, &[]).unwrap_err();
        assert_eq!(err, SetError::Missing("VP8_FRAME"));
        let err = ControlSet::parse(Codec::Mpeg2, &[]).unwrap_err();
        assert_eq!(err, SetError::Missing("MPEG2_SEQUENCE"));
    }
}
