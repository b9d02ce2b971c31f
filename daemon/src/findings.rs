//! What one context's controls said differently from its bitstream, tallied per
//! field over the context's life and logged once when it closes: the summary a
//! client developer reads ("v4l2slvp9dec sent VP9_FRAME.x wrong in 12 of 300
//! requests"), and what `compliance/run matrix` collects per client. The
//! per-request warnings stay rate-limited; these counts are exact.
//!
//! Log lines (target `daemon::findings`, info), for every context that ran a job:
//! - `context findings ctx=N codec=C requests=R with_findings=F fields=K`
//! - then per field, most frequent first: `control finding ctx=N codec=C
//!   field=FIELD count=M expected="E" got="G"` (the first occurrence's values).

use ctrls::Codec;
use libdaedalus::Mismatch;
use std::collections::HashMap;
use tracing::info;

/// One field's tally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTally {
    /// Mismatches of this field (array elements counted each).
    pub count: u64,
    /// The first occurrence: what the bitstream said, what the control said.
    pub expected: String,
    pub got: String,
}

/// One context's tally.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    pub codec: Option<Codec>,
    /// Requests decoded (successfully or not).
    pub requests: u64,
    /// Requests with at least one mismatch.
    pub with_findings: u64,
    /// Keyed by [`Mismatch::key`].
    pub fields: HashMap<String, FieldTally>,
}

impl Findings {
    /// Counts one request of `codec` and its mismatches.
    pub fn add(&mut self, codec: Codec, mismatches: &[Mismatch]) {
        self.codec = Some(codec);
        self.requests += 1;
        if !mismatches.is_empty() {
            self.with_findings += 1;
        }
        for m in mismatches {
            self.fields
                .entry(m.key())
                .and_modify(|t| t.count += 1)
                .or_insert_with(|| FieldTally {
                    count: 1,
                    expected: m.expected.clone(),
                    got: m.got.clone(),
                });
        }
    }

    /// The fields, most frequent first (then by name).
    pub fn sorted(&self) -> Vec<(&str, &FieldTally)> {
        let mut v: Vec<_> = self.fields.iter().map(|(k, t)| (k.as_str(), t)).collect();
        v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        v
    }

    /// Logs the summary of context `ctx` (nothing when it ran no request).
    pub fn log(&self, ctx: u32) {
        if self.requests == 0 {
            return;
        }
        let codec = self.codec.map(|c| c.to_string()).unwrap_or_default();
        info!(
            ctx,
            codec = %codec,
            requests = self.requests,
            with_findings = self.with_findings,
            fields = self.fields.len(),
            "context findings"
        );
        for (field, t) in self.sorted() {
            info!(
                ctx,
                codec = %codec,
                field,
                count = t.count,
                expected = ?t.expected,
                got = ?t.got,
                "control finding"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(field: &str, expected: &str, got: &str) -> Mismatch {
        Mismatch {
            field: field.into(),
            expected: expected.into(),
            got: got.into(),
        }
    }

    #[test]
    fn tallies_per_field_with_indices_dropped_and_first_values_kept() {
        let mut f = Findings::default();
        f.add(Codec::H264, &[]);
        f.add(
            Codec::H264,
            &[
                m("H264_DECODE_PARAMS.dpb[0].frame_num", "3", "0"),
                m("H264_DECODE_PARAMS.dpb[5].frame_num", "4", "1"),
                m("H264_SPS.level_idc", "40", "0"),
            ],
        );
        f.add(
            Codec::H264,
            &[m("H264_DECODE_PARAMS.dpb[2].frame_num", "9", "9")],
        );
        assert_eq!(f.requests, 3);
        assert_eq!(f.with_findings, 2);
        let s = f.sorted();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, "H264_DECODE_PARAMS.dpb[].frame_num");
        assert_eq!(
            *s[0].1,
            FieldTally {
                count: 3,
                expected: "3".into(),
                got: "0".into()
            }
        );
        assert_eq!(s[1].0, "H264_SPS.level_idc");
        assert_eq!(s[1].1.count, 1);
    }

    #[test]
    fn ties_sort_by_name() {
        let mut f = Findings::default();
        f.add(
            Codec::Vp9,
            &[m("VP9_FRAME.b", "1", "0"), m("VP9_FRAME.a", "1", "0")],
        );
        let names: Vec<_> = f.sorted().into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["VP9_FRAME.a", "VP9_FRAME.b"]);
    }
}
