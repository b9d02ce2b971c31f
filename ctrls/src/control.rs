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
///
/// # Hard and soft rules
///
/// Every rule is one of two kinds:
///
/// - **hard** ([`Control::hard_check`], [`Control::violations`]): what the
///   kernel's std_validate_compound (6.12) rejects, and what makes decoding
///   impossible or unsafe (sizes, references into nothing, values the
///   synthesized headers or FFmpeg cannot carry). A decoder fails the request.
/// - **soft** ([`Control::soft_violations`]): everything else the spec rules
///   out but hardware decoders ignore (level_idc 0, an unknown profile_idc,
///   undefined flag bits the kernel does not look at, ...). A lenient decoder
///   warns, naming the field; a strict one fails.
///
/// [`Control::validate`] applies both kinds (strict); [`Control::validate_lenient`]
/// fails on the hard ones only and hands back the soft ones.
pub trait Control: FromBytes + IntoBytes + KnownLayout + Immutable + Copy + 'static {
    /// `V4L2_CID_STATELESS_*`.
    const ID: u32;
    /// Short name used in errors and logs, e.g. `H264_SPS`.
    const NAME: &'static str;

    /// Structural checks done while parsing: enum fields hold known values,
    /// flags have no undefined bits, reserved fields are zero.
    ///
    /// Stricter than the kernel in two ways: std_validate_compound *clears*
    /// reserved fields (so what a driver receives has them zero) and does
    /// not look at H.264/HEVC flag bits; here both are errors, so a client
    /// bug shows up instead of being silently masked.
    fn check(&self) -> Result<(), CtrlError>;

    /// Hard range rules (kernel-rejected or undecodable values). Appends every
    /// violation found (does not stop at the first).
    fn violations(&self, out: &mut Vec<Violation>);

    /// The part of [`Control::check`] that is hard: by default all of it.
    /// Controls whose structural checks go beyond the kernel (it does not look
    /// at H.264 flag bits and clears reserved fields) override this and report
    /// the rest from [`Control::soft_violations`] instead.
    fn hard_check(&self) -> Result<(), CtrlError> {
        self.check()
    }

    /// Soft rules: spec violations that hardware decoders ignore. Appends every
    /// violation found. None by default.
    fn soft_violations(&self, _out: &mut Vec<Violation>) {}

    /// All rules, hard and soft: [`Control::check`], then [`Control::violations`]
    /// and [`Control::soft_violations`] (in that order) as one
    /// [`CtrlError::Invalid`].
    fn validate(&self) -> Result<(), CtrlError> {
        self.check()?;
        let mut v = Vec::new();
        self.violations(&mut v);
        self.soft_violations(&mut v);
        if v.is_empty() {
            Ok(())
        } else {
            Err(CtrlError::Invalid(v))
        }
    }

    /// Hard rules only: fails like [`Control::validate`] on a [`Control::hard_check`]
    /// error or a [`Control::violations`] entry; otherwise returns the soft
    /// violations (empty when the control is fully valid) for the caller to warn
    /// about.
    fn validate_lenient(&self) -> Result<Vec<Violation>, CtrlError> {
        self.hard_check()?;
        let mut v = Vec::new();
        self.violations(&mut v);
        if !v.is_empty() {
            return Err(CtrlError::Invalid(v));
        }
        self.soft_violations(&mut v);
        Ok(v)
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
        if size == 0 || !bytes.len().is_multiple_of(size) {
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

/// Optional kernel-side sanitising that std_validate_compound performs before
/// its range checks (it clears conditionally-unused fields instead of
/// rejecting them). [`Control::violations`] applies the same rules first, so
/// a payload the kernel would accept after clearing is not reported.
pub trait Normalize: Copy {
    /// Clear what the kernel clears.
    fn normalize(&mut self);
    /// A normalised copy.
    fn normalized(&self) -> Self {
        let mut c = *self;
        c.normalize();
        c
    }
}

/// A closed set of values that a raw integer field may hold.
pub trait RawEnum: Sized + Copy + 'static {
    /// The kernel's integer type for the field.
    type Raw: Copy + core::fmt::Display + serde::Serialize + Into<i64>;
    /// Name of the Rust enum (for errors).
    const ENUM_NAME: &'static str;
    /// The value for a raw integer, if known.
    fn from_raw(raw: Self::Raw) -> Option<Self>;
    /// The raw integer.
    fn to_raw(self) -> Self::Raw;
    /// The UAPI-derived name, e.g. `ANNEX_B`.
    fn name(self) -> &'static str;
    /// The value with that name.
    fn from_name(name: &str) -> Option<Self>;
    /// Convert an integer read from serde into `Raw`.
    fn raw_from_i64(v: i64) -> Option<Self::Raw>;
}

/// Typed read of an enum-valued raw field.
pub fn enum_field<E: RawEnum>(
    control: &'static str,
    field: &'static str,
    raw: E::Raw,
) -> Result<E, CtrlError> {
    E::from_raw(raw).ok_or(CtrlError::UnknownEnum {
        control,
        field,
        value: raw.into() as u64,
    })
}

/// Check that a reserved/padding field is all zero.
pub fn reserved_zero<T: IntoBytes + Immutable + ?Sized>(
    control: &'static str,
    field: &'static str,
    v: &T,
) -> Result<(), CtrlError> {
    if v.as_bytes().iter().all(|&b| b == 0) {
        Ok(())
    } else {
        Err(CtrlError::ReservedNonZero { control, field })
    }
}

/// Collects range violations for one control.
pub struct Rules<'a> {
    control: &'static str,
    out: &'a mut Vec<Violation>,
}

impl<'a> Rules<'a> {
    pub fn new(control: &'static str, out: &'a mut Vec<Violation>) -> Self {
        Self { control, out }
    }

    /// Record a violation unconditionally.
    pub fn push(
        &mut self,
        field: impl Into<String>,
        value: impl core::fmt::Display,
        allowed: impl Into<String>,
    ) {
        self.out.push(Violation {
            control: self.control,
            field: field.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        });
    }

    /// `lo <= v <= hi`.
    pub fn range<T>(&mut self, field: impl Into<String>, v: T, lo: T, hi: T)
    where
        T: PartialOrd + core::fmt::Display + Copy,
    {
        if v < lo || v > hi {
            self.push(field, v, format!("{lo}..={hi}"));
        }
    }

    /// `v <= hi` (unsigned fields).
    pub fn max<T>(&mut self, field: impl Into<String>, v: T, hi: T)
    where
        T: PartialOrd + core::fmt::Display + Copy,
    {
        if v > hi {
            self.push(field, v, format!("<= {hi}"));
        }
    }

    /// `v` is one of `set`.
    pub fn one_of<T>(&mut self, field: impl Into<String>, v: T, set: &[T])
    where
        T: PartialEq + core::fmt::Display + Copy,
    {
        if !set.contains(&v) {
            let s = set.iter().map(|x| x.to_string()).collect::<Vec<_>>();
            self.push(field, v, format!("one of {}", s.join(", ")));
        }
    }

    /// Records a failed structural check (see [`crate::Control::hard_check`]) as a
    /// violation: for controls whose undefined bits / reserved fields / unknown
    /// enum values are soft rules.
    pub fn structural(&mut self, r: Result<(), CtrlError>) {
        match r {
            Ok(()) => {}
            Err(CtrlError::ReservedBits { field, bits, .. }) => {
                self.push(field, format_args!("{bits:#x}"), "no undefined bits")
            }
            Err(CtrlError::ReservedNonZero { field, .. }) => {
                self.push(field, "non-zero", "0 (reserved)")
            }
            Err(CtrlError::UnknownEnum { field, value, .. }) => {
                self.push(field, value, "a value of the UAPI enum")
            }
            Err(CtrlError::Invalid(v)) => self.out.extend(v),
            Err(e) => self.push("", e, "a well-formed payload"),
        }
    }

    /// A rule expressed as a condition; `ok == false` records it.
    pub fn rule(
        &mut self,
        ok: bool,
        field: impl Into<String>,
        value: impl core::fmt::Display,
        allowed: impl Into<String>,
    ) {
        if !ok {
            self.push(field, value, allowed);
        }
    }
}

/// Serde helpers for readable (YAML) output.
pub mod serde_helpers;

/// Define a flags newtype usable directly as a `#[repr(C)]` field: zerocopy
/// derives, bitflags constants/operations, Debug/serde by flag name.
#[macro_export]
#[doc(hidden)]
macro_rules! ctrl_flags {
    (
        $(#[$m:meta])*
        pub struct $name:ident($t:ident) {
            $( $(#[$fm:meta])* const $f:ident = $v:expr; )*
        }
    ) => {
        $(#[$m])*
        #[repr(transparent)]
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, Default,
            zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::KnownLayout,
            zerocopy::Immutable,
        )]
        pub struct $name($t);

        bitflags::bitflags! {
            impl $name: $t {
                $( $(#[$fm])* const $f = $v; )*
            }
        }

        impl $name {
            /// Bits set that the UAPI does not define.
            pub const fn undefined_bits(self) -> $t {
                self.0 & !Self::all().bits()
            }
            /// `Err(ReservedBits)` if undefined bits are set.
            pub fn check(
                self,
                control: &'static str,
                field: &'static str,
            ) -> Result<(), $crate::CtrlError> {
                match self.undefined_bits() {
                    0 => Ok(()),
                    bits => Err($crate::CtrlError::ReservedBits {
                        control,
                        field,
                        bits: bits as u64,
                    }),
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "("))?;
                bitflags::parser::to_writer(self, &mut *f)?;
                f.write_str(")")
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                bitflags::serde::serialize(self, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                bitflags::serde::deserialize(d)
            }
        }
    };
}

/// Define a closed enum of a raw integer field: `TryFrom`, names, serde by
/// name, [`RawEnum`].
#[macro_export]
#[doc(hidden)]
macro_rules! ctrl_enum {
    (
        $(#[$m:meta])*
        pub enum $name:ident: $raw:ident {
            $( $(#[$vm:meta])* $var:ident = $val:expr => $vname:literal ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[repr($raw)]
        pub enum $name {
            $( $(#[$vm])* #[serde(rename = $vname)] $var = $val ),*
        }

        impl $name {
            /// Every value, in UAPI order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];
        }

        impl $crate::control::RawEnum for $name {
            type Raw = $raw;
            const ENUM_NAME: &'static str = stringify!($name);
            fn from_raw(raw: $raw) -> Option<Self> {
                match raw {
                    $( x if x == $val => Some(Self::$var), )*
                    _ => None,
                }
            }
            fn to_raw(self) -> $raw {
                self as $raw
            }
            fn name(self) -> &'static str {
                match self {
                    $( Self::$var => $vname, )*
                }
            }
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $vname => Some(Self::$var), )*
                    _ => None,
                }
            }
            fn raw_from_i64(v: i64) -> Option<$raw> {
                <$raw>::try_from(v).ok()
            }
        }

        impl TryFrom<$raw> for $name {
            type Error = $crate::error::UnknownValue;
            fn try_from(raw: $raw) -> Result<Self, Self::Error> {
                <Self as $crate::control::RawEnum>::from_raw(raw).ok_or(
                    $crate::error::UnknownValue {
                        enum_name: stringify!($name),
                        value: raw as i64,
                    },
                )
            }
        }

        impl From<$name> for $raw {
            fn from(v: $name) -> $raw {
                v as $raw
            }
        }
    };
}

/// A menu control (`V4L2_CTRL_TYPE_MENU`, 32-bit value) as a payload type.
#[macro_export]
#[doc(hidden)]
macro_rules! menu_control {
    ($(#[$m:meta])* $ctrl:ident, $enum:ident, $cid:expr, $cname:literal) => {
        $(#[$m])*
        #[repr(transparent)]
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq,
            zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::KnownLayout,
            zerocopy::Immutable,
        )]
        pub struct $ctrl {
            /// The menu index.
            pub value: i32,
        }

        impl serde::Serialize for $ctrl {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::control::serde_helpers::ser_enum::<$enum, S>(&self.value, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ctrl {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::control::serde_helpers::de_enum::<$enum, D>(d).map(|value| Self { value })
            }
        }

        impl $ctrl {
            /// The menu control holding `v`.
            pub fn new(v: $enum) -> Self {
                Self { value: v as i32 }
            }
            /// The typed value.
            pub fn get(&self) -> Result<$enum, $crate::CtrlError> {
                $crate::control::enum_field::<$enum>($cname, "value", self.value)
            }
        }

        impl $crate::Control for $ctrl {
            const ID: u32 = $cid;
            const NAME: &'static str = $cname;
            fn check(&self) -> Result<(), $crate::CtrlError> {
                self.get().map(|_| ())
            }
            fn violations(&self, _out: &mut Vec<$crate::Violation>) {}
        }
    };
}
