//! Typed errors: every failure names the control and, where it applies, the field.

use std::fmt;

/// One broken rule found by [`crate::Control::validate`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Control name, e.g. `H264_SPS`.
    pub control: &'static str,
    /// Field path, e.g. `log2_max_frame_num_minus4` or `dpb[3].fields`.
    pub field: String,
    /// The offending value, printed.
    pub value: String,
    /// The allowed range or rule, e.g. `0..=12`.
    pub allowed: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} = {} (allowed: {})",
            self.control, self.field, self.value, self.allowed
        )
    }
}

/// Errors from parsing or validating a control payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CtrlError {
    /// The byte slice does not have the payload's size.
    #[error("{control}: payload is {got} bytes, expected {expected}")]
    Length {
        control: &'static str,
        expected: usize,
        got: usize,
    },
    /// Zero-copy view asked for on bytes not aligned for the payload.
    #[error("{control}: payload at {addr:#x} is not aligned to {align}")]
    Alignment {
        control: &'static str,
        align: usize,
        addr: usize,
    },
    /// A field holds a value outside its enumeration.
    #[error("{control}.{field}: unknown value {value}")]
    UnknownEnum {
        control: &'static str,
        field: &'static str,
        value: u64,
    },
    /// A flags field has bits set that the UAPI does not define.
    #[error("{control}.{field}: undefined bits {bits:#x} set")]
    ReservedBits {
        control: &'static str,
        field: &'static str,
        bits: u64,
    },
    /// A reserved/padding field is not zero (the kernel's std_validate_compound rejects it).
    #[error("{control}.{field}: reserved field must be zero")]
    ReservedNonZero {
        control: &'static str,
        field: &'static str,
    },
    /// One or more range rules broken.
    #[error("{}", fmt_violations(.0))]
    Invalid(Vec<Violation>),
}

fn fmt_violations(v: &[Violation]) -> String {
    v.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A raw integer that is not a value of the enum (from `TryFrom<raw>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{enum_name}: unknown value {value}")]
pub struct UnknownValue {
    /// Rust enum name.
    pub enum_name: &'static str,
    /// The raw value.
    pub value: i64,
}
