//! Serde helpers that keep payloads readable in YAML snapshots.
//!
//! * [`ser_ints`]/[`de_ints`]: an integer array of any shape (e.g.
//!   `[[u8; 64]; 6]`, `[i32; 255]`) as a list of strings, each holding `ROW`
//!   space-separated values. Serde itself stops at 32-element arrays, and one
//!   YAML line per coefficient would be unreadable.
//! * [`ser_enum`]/[`de_enum`]: a raw enum-valued integer field by name
//!   (`ANNEX_B`), falling back to the number for unknown values.

use super::RawEnum;
use core::fmt::{self, Display};
use core::marker::PhantomData;
use core::str::FromStr;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserializer, Serialize, Serializer};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Serialize an integer array (any nesting) as rows of `ROW` values.
pub fn ser_ints<E, const ROW: usize, A, S>(a: &A, s: S) -> Result<S::Ok, S::Error>
where
    E: FromBytes + Immutable + Display,
    A: IntoBytes + Immutable,
    S: Serializer,
{
    let vals = <[E]>::ref_from_bytes(a.as_bytes())
        .map_err(|_| serde::ser::Error::custom("array is not a whole number of elements"))?;
    s.collect_seq(vals.chunks(ROW.max(1)).map(|row| {
        row.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }))
}

/// Inverse of [`ser_ints`]: accepts a list of strings of space-separated
/// values (any row split) or a single such string; the total count must match.
pub fn de_ints<'de, E, A, D>(d: D) -> Result<A, D::Error>
where
    E: FromStr + IntoBytes + Immutable,
    A: FromBytes,
    D: Deserializer<'de>,
{
    struct V<E>(PhantomData<E>);

    fn parse_into<E: FromStr, Er: de::Error>(s: &str, out: &mut Vec<E>) -> Result<(), Er> {
        for tok in s.split_whitespace() {
            out.push(
                tok.parse()
                    .map_err(|_| Er::custom(format!("bad integer {tok:?}")))?,
            );
        }
        Ok(())
    }

    impl<'de, E: FromStr> Visitor<'de> for V<E> {
        type Value = Vec<E>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings of space-separated integers")
        }
        fn visit_str<Er: de::Error>(self, s: &str) -> Result<Self::Value, Er> {
            let mut out = Vec::new();
            parse_into(s, &mut out)?;
            Ok(out)
        }
        fn visit_seq<Sq: SeqAccess<'de>>(self, mut seq: Sq) -> Result<Self::Value, Sq::Error> {
            let mut out = Vec::new();
            while let Some(row) = seq.next_element::<RowStr>()? {
                parse_into(&row.0, &mut out)?;
            }
            Ok(out)
        }
    }

    let vals = d.deserialize_any(V::<E>(PhantomData))?;
    let want = core::mem::size_of::<A>() / core::mem::size_of::<E>().max(1);
    if vals.len() != want {
        return Err(de::Error::invalid_length(
            vals.len(),
            &format!("{want} values").as_str(),
        ));
    }
    A::read_from_bytes(vals.as_bytes()).map_err(|_| de::Error::custom("array size mismatch"))
}

/// A row: a string, or a bare number (YAML may give `5` for a one-value row).
struct RowStr(String);

impl<'de> serde::Deserialize<'de> for RowStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RV;
        impl Visitor<'_> for RV {
            type Value = RowStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of space-separated integers or an integer")
            }
            fn visit_str<Er: de::Error>(self, s: &str) -> Result<RowStr, Er> {
                Ok(RowStr(s.to_owned()))
            }
            fn visit_i64<Er: de::Error>(self, v: i64) -> Result<RowStr, Er> {
                Ok(RowStr(v.to_string()))
            }
            fn visit_u64<Er: de::Error>(self, v: u64) -> Result<RowStr, Er> {
                Ok(RowStr(v.to_string()))
            }
        }
        d.deserialize_any(RV)
    }
}

/// Serialize a raw enum field by name (unknown values as the number).
pub fn ser_enum<E: RawEnum, S: Serializer>(raw: &E::Raw, s: S) -> Result<S::Ok, S::Error> {
    match E::from_raw(*raw) {
        Some(e) => s.serialize_str(e.name()),
        None => raw.serialize(s),
    }
}

/// Deserialize a raw enum field from a name or a number.
pub fn de_enum<'de, E: RawEnum, D: Deserializer<'de>>(d: D) -> Result<E::Raw, D::Error> {
    struct V<E>(PhantomData<E>);
    impl<E: RawEnum> Visitor<'_> for V<E> {
        type Value = E::Raw;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {} name or integer", E::ENUM_NAME)
        }
        fn visit_str<Er: de::Error>(self, s: &str) -> Result<E::Raw, Er> {
            E::from_name(s)
                .map(E::to_raw)
                .ok_or_else(|| Er::custom(format!("unknown {} {s:?}", E::ENUM_NAME)))
        }
        fn visit_i64<Er: de::Error>(self, v: i64) -> Result<E::Raw, Er> {
            E::raw_from_i64(v).ok_or_else(|| Er::custom(format!("{v} out of range")))
        }
        fn visit_u64<Er: de::Error>(self, v: u64) -> Result<E::Raw, Er> {
            i64::try_from(v)
                .ok()
                .and_then(E::raw_from_i64)
                .ok_or_else(|| Er::custom(format!("{v} out of range")))
        }
    }
    d.deserialize_any(V::<E>(PhantomData))
}

/// An array of raw enum values, each by name (unknown ones as numbers).
pub fn ser_enum_arr<E: RawEnum, const N: usize, S: Serializer>(
    raw: &[E::Raw; N],
    s: S,
) -> Result<S::Ok, S::Error> {
    struct One<E: RawEnum>(E::Raw);
    impl<E: RawEnum> Serialize for One<E> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            ser_enum::<E, S>(&self.0, s)
        }
    }
    s.collect_seq(raw.iter().map(|&r| One::<E>(r)))
}

/// Inverse of [`ser_enum_arr`].
pub fn de_enum_arr<'de, E: RawEnum, const N: usize, D: Deserializer<'de>>(
    d: D,
) -> Result<[E::Raw; N], D::Error> {
    struct One<E: RawEnum>(E::Raw);
    impl<'de, E: RawEnum> serde::Deserialize<'de> for One<E> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            de_enum::<E, D>(d).map(One)
        }
    }
    let v: Vec<One<E>> = serde::Deserialize::deserialize(d)?;
    let n = v.len();
    let raws: Vec<E::Raw> = v.into_iter().map(|o| o.0).collect();
    raws.try_into()
        .map_err(|_| de::Error::invalid_length(n, &format!("{N} values").as_str()))
}
