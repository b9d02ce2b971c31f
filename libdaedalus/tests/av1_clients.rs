//! AV1 controls as other clients fill them decode to the same pictures: CDEF secondary
//! strengths sent as the coded value (3) instead of the strength (4), lr_unit_shift /
//! lr_uv_shift left 0 (derived from loop_restoration_size), upscaled_width and
//! superres_denom 0 without superres; film grain with update_grain = 0. Reference: FFmpeg
//! decoding the untouched file.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use ctrls::av1::{FilmGrain, FilmGrainFlags, FrameFlags, LoopRestorationFlags};
use ctrls::build::av1::{Av1Builder, Av1Event};
use libdaedalus::codec::av1::Av1Controls;
use libdaedalus::replay::replay_av1_events_with as replay_events_with;
use libdaedalus::replay::ReplayOptions;
use libdaedalus::{Codec, Engine, EngineOptions};
use md5::{Digest, Md5};

fn encode(dir: &Path, name: &str, src: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.ivf"));
    ffmpeg_lavfi(src, args, &out);
    out
}

/// Replays with every request's controls passed through `mutate`; compares with FFmpeg.
fn check(file: &Path, mutate: impl FnMut(u32, &mut Av1Controls)) {
    let data = std::fs::read(file).unwrap();
    let events = Av1Builder::build_ivf(&data).unwrap();
    let (want, _) = ffmpeg_md5(file, "yuv420p");
    let mut engine = Engine::with_options(Codec::Av1, EngineOptions::strict(true)).unwrap();
    let opts = ReplayOptions {
        format: None,
        engine: EngineOptions::strict(true),
    };
    let mut md5 = Md5::new();
    let mut mutate = mutate;
    let sum = replay_events_with(
        &mut engine,
        &events,
        &opts,
        |i, c, _| mutate(i, c),
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
    check(&f, |_, c| {
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

/// The film grain parameters without what update_grain = 0 keeps from the frame itself.
fn grain_params(g: &FilmGrain) -> FilmGrain {
    FilmGrain {
        grain_seed: 0,
        film_grain_params_ref_idx: 0,
        flags: g.flags - FilmGrainFlags::UPDATE_GRAIN,
        ..*g
    }
}

/// An aomenc film grain table: luma grain A for frames 0-4, B for 5-9, A again from 10 on
/// (time in 1/10,000,000 s, 25 frames/s), so that a frame can reuse the parameters of an
/// older reference and not those of the frame decoded just before it.
fn grain_table() -> String {
    // (start, end, random seed, luma scaling points): one `E` entry each, update = 1.
    let entries = [
        (0u64, 2_000_000u64, 1234, "0 20 255 20"),
        (2_000_000, 4_000_000, 2345, "0 40 255 60"),
        (4_000_000, 99_999_999_999, 3456, "0 20 255 20"),
    ];
    let zeros = |n: usize| vec!["0"; n].join(" ");
    let mut t = String::from("filmgrn1\n");
    for (start, end, seed, y_points) in entries {
        t += &format!("E {start} {end} 1 {seed} 1\n");
        t += "\tp 3 7 0 11 0 1 128 192 256 128 192 256\n";
        t += &format!("\tsY 2  {y_points}\n\tsCb 0\n\tsCr 0\n");
        // ar_coeff_lag 3: 24 luma coefficients, 25 per chroma plane.
        t += &format!(
            "\tcY {}\n\tcCb {}\n\tcCr {}\n",
            zeros(24),
            zeros(25),
            zeros(25)
        );
    }
    t
}

/// update_grain = 0 (load_grain_params from a reference slot), which no encoder here
/// writes (libaom 3.6 asserts on it): a real film grain stream (aomenc, grain A, B, then A
/// again) gets the FILM_GRAIN control of every inter frame whose parameters are those of a
/// slot it references rewritten as update_grain = 0 + film_grain_params_ref_idx, every
/// other parameter zeroed. The engine must load them from its own slot mirror: same
/// pictures as FFmpeg. The stream must have rewritten frames whose parameters differ from
/// the frame decoded before them and from another slot they reference, so that loading
/// the previous frame's or another slot's parameters would change the pictures.
#[test]
fn film_grain_update_grain_0_loads_the_reference_slot() {
    if !need_tool("AV1 update_grain = 0 test", "aomenc") {
        return;
    }
    let Some(dir) = ffmpeg_tmpdir("AV1 update_grain test", "av1-grain0") else {
        return;
    };
    let table = dir.join("grain.tbl");
    std::fs::write(&table, grain_table()).unwrap();
    let table_arg = format!("--film-grain-table={}", table.display());
    let f = aomenc(
        &dir,
        "grain",
        "testsrc2=size=176x144:rate=25",
        15,
        "yuv420p",
        &["--lag-in-frames=0", &table_arg],
    );

    // Which inter frames can load their parameters from a slot they reference.
    let data = std::fs::read(&f).unwrap();
    let mut slots: [Option<FilmGrain>; 8] = [None; 8];
    let mut previous: Option<FilmGrain> = None;
    let mut load_from = std::collections::HashMap::new();
    let (mut not_previous, mut not_other_slot) = (0, 0);
    for ev in Av1Builder::build_ivf(&data).unwrap() {
        let Av1Event::Decode(r) = ev else { continue };
        let g = r
            .film_grain
            .filter(|g| g.flags.contains(FilmGrainFlags::APPLY_GRAIN))
            .map(|g| grain_params(&g));
        if let (Some(g), 1) = (g, r.frame.frame_type) {
            let refs: Vec<usize> = r.frame.ref_frame_idx.iter().map(|&i| i as usize).collect();
            if let Some(&i) = refs.iter().find(|&&i| slots[i] == Some(g)) {
                load_from.insert(r.decode_index, i as u8);
                not_previous += usize::from(previous != Some(g));
                not_other_slot += usize::from(refs.iter().any(|&j| slots[j] != Some(g)));
            }
        }
        for (i, s) in slots.iter_mut().enumerate() {
            if r.frame.refresh_frame_flags & (1 << i) != 0 {
                *s = g;
            }
        }
        previous = g;
    }
    eprintln!(
        "{} inter frames rewritten as update_grain = 0 ({not_previous} with other parameters \
         than the frame before, {not_other_slot} referencing a slot with other parameters)",
        load_from.len()
    );
    assert!(
        not_previous > 0 && not_other_slot > 0,
        "the stream does not tell the right slot from the previous frame or another slot"
    );
    check(&f, |index, c| {
        if let (Some(&i), Some(g)) = (load_from.get(&index), c.film_grain.as_mut()) {
            *g = FilmGrain {
                flags: FilmGrainFlags::APPLY_GRAIN,
                grain_seed: g.grain_seed,
                film_grain_params_ref_idx: i,
                ..Default::default()
            };
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
