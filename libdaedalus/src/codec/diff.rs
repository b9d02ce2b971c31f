//! Field-by-field comparison of a client's control with the one the bitstream implies,
//! for the backends that check whole frame controls (VP8, VP9): each difference becomes a
//! [`Mismatch`] named `CONTROL.field`.

use std::fmt::Debug;

use crate::request::Mismatch;

/// At most this many mismatches are listed per request (one corrupted control can differ
/// in hundreds of probability bytes); the last entry then says how many were left out.
const MAX_LISTED: usize = 48;

/// Collects the differences of one control into `out`; [`Diff::finish`] adds the count of
/// those left out.
pub(crate) struct Diff<'a> {
    ctrl: &'static str,
    out: &'a mut Vec<Mismatch>,
    dropped: usize,
}

impl<'a> Diff<'a> {
    pub(crate) fn new(ctrl: &'static str, out: &'a mut Vec<Mismatch>) -> Self {
        Diff {
            ctrl,
            out,
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, field: String, expected: String, got: String) {
        if self.out.len() >= MAX_LISTED {
            self.dropped += 1;
            return;
        }
        self.out.push(Mismatch {
            field: format!("{}.{field}", self.ctrl),
            expected,
            got,
        });
    }

    pub(crate) fn eq<T: PartialEq + Debug>(
        &mut self,
        field: impl FnOnce() -> String,
        exp: T,
        got: T,
    ) {
        if exp != got {
            self.push(field(), format!("{exp:?}"), format!("{got:?}"));
        }
    }

    pub(crate) fn bit(&mut self, field: &str, name: &str, exp: bool, got: bool) {
        if exp != got {
            self.push(
                format!("{field}.{name}"),
                (exp as u8).to_string(),
                (got as u8).to_string(),
            );
        }
    }

    /// `field` names the array (built only when an element differs).
    pub(crate) fn slice<T: PartialEq + Debug>(
        &mut self,
        field: impl Fn() -> String,
        exp: &[T],
        got: &[T],
    ) {
        for (i, (e, g)) in exp.iter().zip(got).enumerate() {
            self.eq(|| format!("{}[{i}]", field()), e, g);
        }
    }

    /// Ends the comparison: says how many differences were not listed.
    pub(crate) fn finish(self) {
        if self.dropped > 0 {
            let ctrl = self.ctrl;
            self.out.push(Mismatch {
                field: format!("{ctrl}.*"),
                expected: "(more fields)".into(),
                got: format!("{} further mismatches not listed", self.dropped),
            });
        }
    }
}
