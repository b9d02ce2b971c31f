//! MSB-first bit writer with Exp-Golomb codes, and NAL unit packaging with emulation
//! prevention (H.264/H.265 Annex B).

/// Writes bits MSB first into a byte vector.
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits already used in the last byte (0 = byte aligned).
    used: u8,
}

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the `n` low bits of `v` (n <= 32), MSB first.
    pub fn bits(&mut self, n: u32, v: u32) {
        debug_assert!(n <= 32);
        for i in (0..n).rev() {
            self.bit((v >> i) & 1 != 0);
        }
    }

    pub fn bit(&mut self, b: bool) {
        if self.used == 0 {
            self.bytes.push(0);
        }
        if b {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 0x80 >> self.used;
        }
        self.used = (self.used + 1) % 8;
    }

    pub fn flag(&mut self, b: bool) {
        self.bit(b);
    }

    /// ue(v).
    pub fn ue(&mut self, v: u32) {
        let x = v as u64 + 1;
        let len = 64 - x.leading_zeros();
        for _ in 0..len - 1 {
            self.bit(false);
        }
        for i in (0..len).rev() {
            self.bit((x >> i) & 1 != 0);
        }
    }

    /// se(v).
    pub fn se(&mut self, v: i32) {
        let k = if v > 0 {
            2 * v as i64 - 1
        } else {
            -2 * v as i64
        };
        self.ue(k as u32);
    }

    /// rbsp_trailing_bits().
    pub fn trailing(&mut self) {
        self.bit(true);
        while self.used != 0 {
            self.bit(false);
        }
    }

    /// The RBSP bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Appends `00 00 00 01`, the NAL header byte(s) and the RBSP with emulation prevention
/// bytes inserted.
pub fn push_nal(out: &mut Vec<u8>, header: &[u8], rbsp: &[u8]) {
    out.extend_from_slice(&[0, 0, 0, 1]);
    out.extend_from_slice(header);
    push_escaped(out, rbsp);
}

/// Appends `rbsp` with emulation prevention bytes inserted (a `03` after two zero bytes
/// before any byte <= 3).
pub fn push_escaped(out: &mut Vec<u8>, rbsp: &[u8]) {
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
}

/// The RBSP of NAL unit payload bytes `raw` (emulation prevention bytes removed).
pub fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut zeros = 0;
    for &b in raw {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_codes_match_the_spec_table() {
        // H.264 Table 9-2/9-3: ue 0 -> 1, 1 -> 010, 2 -> 011, 3 -> 00100; se 1 -> 010,
        // -1 -> 011, 2 -> 00100.
        let mut w = BitWriter::new();
        w.ue(0);
        w.ue(1);
        w.ue(2);
        w.ue(3);
        w.se(1);
        w.se(-1);
        w.se(2);
        w.trailing();
        // 1 010 011 00100 010 011 00100 1 + pad
        // 1010 0110 | 0100 0100 | 1100 1001 -> a6 44 c9
        assert_eq!(w.into_bytes(), vec![0xa6, 0x44, 0xc9]);
    }

    #[test]
    fn escaping_round_trips() {
        let rbsp = [0u8, 0, 1, 0, 0, 0, 0, 3, 0, 0, 2, 5];
        let mut raw = Vec::new();
        push_escaped(&mut raw, &rbsp);
        assert_eq!(raw, vec![0, 0, 3, 1, 0, 0, 3, 0, 0, 3, 3, 0, 0, 3, 2, 5]);
        assert_eq!(unescape(&raw), rbsp);
    }

    #[test]
    fn emulation_prevention_inserts_03() {
        let mut out = Vec::new();
        push_nal(&mut out, &[0x67], &[0, 0, 1, 0, 0, 0, 0, 0, 3, 5]);
        assert_eq!(
            out,
            vec![0, 0, 0, 1, 0x67, 0, 0, 3, 1, 0, 0, 3, 0, 0, 3, 0, 3, 5]
        );
    }
}
