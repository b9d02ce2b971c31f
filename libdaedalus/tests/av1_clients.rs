//! AV1 controls as other clients fill them decode to the same pictures: CDEF secondary
//! strengths sent as the coded value (3) instead of the strength (4), lr_unit_shift /
//! lr_uv_shift left 0 (derived from loop_restoration_size), upscaled_width and
//! superres_denom 0 without superres. Reference: FFmpeg decoding the untouched file.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use ctrls::av1::{FrameFlags, LoopRestorationFlags};
use ctrls::build::av1::{Av1Builder, Av1Event};
use libdaedalus::codec::av1::replay::replay_events_with;
use libdaedalus::codec::av1::Av1Controls;
use libdaedalus::replay::ReplayOptions;
use libdaedalus::{Codec, Engine, EngineOptions};
use md5::{Digest, Md5};

fn encode(dir: &Path, name: &str, src: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.ivf"));
    ffmpeg_lavfi(src, args, &out);
    out
}

/// Replays with every request's controls passed through `mutate`; compares with FFmpeg.
fn check(file: &Path, mutate: impl FnMut(&mut Av1Controls)) {
    let data = std::fs::read(file).unwrap();
    let events = Av1Builder::build_ivf(&data).unwrap();
    let (want, _) = ffmpeg_md5(file, "yuv420p");
    let mut engine = Engine::with_options(Codec::Av1, EngineOptions { strict: true }).unwrap();
    let opts = ReplayOptions {
        format: None,
        engine: EngineOptions { strict: true },
    };
    let mut md5 = Md5::new();
    let mut mutate = mutate;
    let sum = replay_events_with(
        &mut engine,
        &events,
        &opts,
        |_, c, _| mutate(c),
        |f| {
            md5.update(f);
            Ok(())
        },
    )
    .unwrap();
    assert!(sum.failed.is_empty(), "{:?}", sum.failed);
    assert_eq!(sum.warnings, 0);
    assert_eq!(format!("{:x}", md5.finalize()), want, "{file:?}");
}

#[test]
fn cdef_lr_superres_fields_as_other_clients_send_them() {
    let Some(dir) = ffmpeg_tmpdir("AV1 client variants test", "av1-clients") else {
        return;
    };
    let f = encode(
        &dir,
        "cdef-lr",
        "mandelbrot=size=320x240:rate=25",
        &[
            "-frames:v",
            "4",
            "-c:v",
            "libaom-av1",
            "-row-mt",
            "0",
            "-threads",
            "1",
            "-pix_fmt",
            "yuv420p",
            "-cpu-used",
            "1",
            "-lag-in-frames",
            "0",
            "-crf",
            "55",
        ],
    );
    // The stream has what is being changed.
    let data = std::fs::read(&f).unwrap();
    let (mut sec4, mut lr) = (false, false);
    for ev in Av1Builder::build_ivf(&data).unwrap() {
        if let Av1Event::Decode(r) = ev {
            let c = &r.frame.cdef;
            let n = 1usize << c.bits;
            sec4 |= c.y_sec_strength[..n].contains(&4) || c.uv_sec_strength[..n].contains(&4);
            lr |= r
                .frame
                .loop_restoration
                .flags
                .contains(LoopRestorationFlags::USES_LR);
        }
    }
    eprintln!("CDEF secondary strength 4 present: {sec4}");
    assert!(sec4, "no CDEF secondary strength 4 in the stream");
    assert!(lr, "no loop restoration in the stream");
    check(&f, |c| {
        let cd = &mut c.frame.cdef;
        for v in cd
            .y_sec_strength
            .iter_mut()
            .chain(cd.uv_sec_strength.iter_mut())
        {
            if *v == 4 {
                *v = 3;
            }
        }
        c.frame.loop_restoration.lr_unit_shift = 0;
        c.frame.loop_restoration.lr_uv_shift = 0;
        if !c.frame.flags.contains(FrameFlags::USE_SUPERRES) {
            c.frame.upscaled_width = 0;
            c.frame.superres_denom = 0;
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
