//! The trait every control payload implements.

use crate::error::{CtrlError, Violation};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A V4L2 stateless codec control payload with the kernel's exact layout.
///
/// Implementors are plain `#[repr(C)]` data whose every bit pattern is a
/// valid Rust value (zerocopy `FromBytes`), so viewing kernel bytes needs no
/// `unsafe`. Semantic checks live in [`Control::check`] (enums, reserved bits:
/// what parsing rejects) and [`Control::validate`] (the kernel's
/// std_validate_compound plus the spec's range rules).
pub trait Control: FromBytes + IntoBytes + KnownLayout + Immutable + Copy + 'static {
    /// `V4L2_CID_STATELESS_*`.
    const ID: u32;
    /// Short name used in errors and logs, e.g. `H264_SPS`.
    const NAME: &'static str;

    /// Structural checks done while parsing: enum fields hold known values,
    /// flags have no undefined bits, reserved fields are zero.
    fn check(&self) -> Result<(), CtrlError>;

    /// Range rules. Appends every violation found (does not stop at the first).
    fn violations(&self, out: &mut Vec<Violation>);

    /// All rules: [`Control::check`] then [`Control::violations`].
    fn validate(&self) -> Result<(), CtrlError> {
        self.check()?;
        let mut v = Vec::new();
        self.violations(&mut v);
        if v.is_empty() {
            Ok(())
        } else {
            Err(CtrlError::Invalid(v))
        }
    }

    /// Zero-copy view of exactly `size_of::<Self>()` kernel bytes, checked.
    fn view(bytes: &[u8]) -> Result<&Self, CtrlError> {
        let expected = core::mem::size_of::<Self>();
        if bytes.len() != expected {
            return Err(CtrlError::Length {
                control: Self::NAME,
                expected,
                got: bytes.len(),
            });
        }
        let this = Self::ref_from_bytes(bytes).map_err(|_| CtrlError::Alignment {
            control: Self::NAME,
            align: core::mem::align_of::<Self>(),
            addr: bytes.as_ptr() as usize,
        })?;
        this.check()?;
        Ok(this)
    }

    /// Copying parse of exactly `size_of::<Self>()` bytes (any alignment), checked.
    fn parse(bytes: &[u8]) -> Result<Self, CtrlError> {
        let expected = core::mem::size_of::<Self>();
        let this = Self::read_from_bytes(bytes).map_err(|_| CtrlError::Length {
            control: Self::NAME,
            expected,
            got: bytes.len(),
        })?;
        this.check()?;
        Ok(this)
    }

    /// Parse a slice of payloads (array controls such as H.264 SLICE_PARAMS,
    /// AV1 TILE_GROUP_ENTRY): the length must be a whole multiple.
    fn parse_array(bytes: &[u8]) -> Result<Vec<Self>, CtrlError> {
        let size = core::mem::size_of::<Self>();
        if size == 0 || bytes.len() % size != 0 {
            return Err(CtrlError::Length {
                control: Self::NAME,
                expected: size,
                got: bytes.len(),
            });
        }
        bytes.chunks_exact(size).map(Self::parse).collect()
    }

    /// The kernel bytes of this payload.
    fn to_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}
