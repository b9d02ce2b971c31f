//! `Engine::decode` on controls + bitstream, one codec per target.
//!
//! Input: a 3-byte header (CAPTURE width / 16 - 1, height / 16 - 1, format
//! in the low 2 bits, bit 7: strict engine), then records:
//! `u64 timestamp, u8 flags (bit 0: hold the CAPTURE buffer), u8 count,
//! count x (u32 control id, u32 length, payload), u32 length, bitstream`.
//! Controls are sticky across records, as a client's are.

use ctrls::{CaptureFormat, Codec};
use libdaedalus::replay::Sticky;
use libdaedalus::{Engine, EngineOptions, OwnedBuffer, Request};

use super::{put_chunk, Reader, MAX_RECORDS};

const FORMATS: [CaptureFormat; 4] = [
    CaptureFormat::Nv12,
    CaptureFormat::Nv12m,
    CaptureFormat::Yuv420,
    CaptureFormat::P010,
];

/// One request as the input carries it.
pub struct Record<'a> {
    pub timestamp: u64,
    pub hold: bool,
    pub controls: Vec<(u32, &'a [u8])>,
    pub bitstream: &'a [u8],
}

fn record<'a>(r: &mut Reader<'a>) -> Option<Record<'a>> {
    let timestamp = r.u64()?;
    let flags = r.u8()?;
    let count = r.u8()?;
    let mut controls = Vec::with_capacity(count.into());
    for _ in 0..count {
        let id = r.u32()?;
        controls.push((id, r.chunk()?));
    }
    Some(Record {
        timestamp,
        hold: flags & 1 != 0,
        controls,
        bitstream: r.chunk()?,
    })
}

/// Runs the input's requests; returns how many decoded without error.
pub fn run(codec: Codec, data: &[u8]) -> usize {
    let mut r = Reader::new(data);
    let Some(hdr) = r.bytes(3) else { return 0 };
    let width = (u32::from(hdr[0]) % 64 + 1) * 16;
    let height = (u32::from(hdr[1]) % 64 + 1) * 16;
    let format = FORMATS[usize::from(hdr[2] & 3)];
    let opts = EngineOptions::strict(hdr[2] & 0x80 != 0);
    let Ok(mut engine) = Engine::with_options(codec, opts) else {
        return 0;
    };
    let mut ok = 0;
    let mut buf = OwnedBuffer::new(format, width, height);
    let mut sticky = Sticky::default();
    for _ in 0..MAX_RECORDS {
        let Some(rec) = record(&mut r) else { break };
        for &(id, bytes) in &rec.controls {
            sticky.insert(id, bytes);
        }
        let Ok(set) = sticky.parse(codec) else {
            continue;
        };
        let req = Request {
            controls: &set,
            bitstream: rec.bitstream,
            timestamp: rec.timestamp,
            hold_capture: rec.hold,
        };
        if engine.decode(&req, &mut buf.as_dst()).is_ok() {
            ok += 1;
        }
    }
    ok
}

/// The header of an input whose CAPTURE buffer is `width` x `height` (at
/// most 1024 x 1024) in `format`.
pub fn put_header(out: &mut Vec<u8>, width: u32, height: u32, format: CaptureFormat) {
    let f = FORMATS.iter().position(|&f| f == format).unwrap_or(0) as u8;
    out.push((width.div_ceil(16).clamp(1, 64) - 1) as u8);
    out.push((height.div_ceil(16).clamp(1, 64) - 1) as u8);
    out.push(f);
}

/// Appends one record.
pub fn put_record(out: &mut Vec<u8>, rec: &Record<'_>) {
    out.extend_from_slice(&rec.timestamp.to_le_bytes());
    out.push(u8::from(rec.hold));
    let controls = &rec.controls[..rec.controls.len().min(255)];
    out.push(controls.len() as u8);
    for (id, bytes) in controls {
        out.extend_from_slice(&id.to_le_bytes());
        put_chunk(out, bytes);
    }
    put_chunk(out, rec.bitstream);
}
