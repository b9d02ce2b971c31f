//! Test support: the harnesses of the cargo-fuzz targets (`daemon/fuzz`),
//! their input formats, and seed inputs made from real streams
//! ([`seeds`]). They live here, not in the fuzz crate, so that the
//! workspace's tests run the seeds and every regression input through them
//! (`tests/fuzz_regressions.rs`) without cargo-fuzz.
//!
//! Every length is bounded where it is read, so an input's size bounds the
//! work of one run; the decoders' own limits (`max_pixels`, the CAPTURE
//! buffer's size) bound the rest.

pub mod engine;
pub mod seeds;
pub mod serve;

/// For the fuzz targets, once: a panic that the code catches itself is not a
/// crash. The engine turns a panic of a cros-codecs parser on hostile input
/// into that request's error (`ctrls::build::guard`), but libfuzzer-sys's
/// panic hook aborts at the panic, before it is caught. This hook only
/// prints; a panic nobody catches still aborts, at libfuzzer-sys's own
/// `catch_unwind` around the target.
pub fn allow_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // libfuzzer-sys's hook (which aborts) goes; the message stays.
        drop(std::panic::take_hook());
        std::panic::set_hook(Box::new(|info| eprintln!("panic (caught or not): {info}")));
    });
}

/// At most this many requests per input.
pub const MAX_RECORDS: usize = 16;

/// A cursor over fuzz input.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.data.len() < n {
            return None;
        }
        let (a, b) = self.data.split_at(n);
        self.data = b;
        Some(a)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn u64(&mut self) -> Option<u64> {
        self.bytes(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// A `u32` length, then that many bytes (all that is left if fewer).
    pub fn chunk(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        let n = n.min(self.data.len());
        self.bytes(n)
    }
}

/// Appends a chunk as [`Reader::chunk`] reads it.
pub fn put_chunk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The protocol parser: a message parses or is refused with a typed error;
/// a parsed job's controls, planes and CAPTURE list lie inside it (the
/// accessors slice without checking again, so a parser that let a bad
/// offset through panics here). Returns whether `data` parsed as a job.
pub fn proto(data: &[u8]) -> bool {
    use crate::proto::{parse_message, Message};
    if let Ok(Message::Job(j)) = parse_message(data) {
        for c in j.ctrls() {
            assert!(c.data.len() == c.desc.size as usize);
            assert!(c.desc.offset as usize + c.data.len() <= data.len());
        }
        let _ = j.raw_controls();
        let _ = j.dst_planes();
        let _ = j.capture_bufs();
        let _ = j.codec();
        return true;
    }
    false
}
