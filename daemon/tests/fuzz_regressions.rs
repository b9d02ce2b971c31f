//! The fuzz harnesses (`daemon::fuzzing`) outside cargo-fuzz: the seeds made
//! from real streams must decode through them (a harness that refused every
//! input would fuzz nothing), and every input in `fuzz/regressions/TARGET/`
//! (each once a crash) must run through its target without one.

use std::path::Path;

use ctrls::Codec;
use daemon::fuzzing::{self, seeds};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn seeds_decode_through_the_harnesses() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let mut seen = Vec::new();
    for (codec, path) in seeds::streams(root()) {
        let Ok(data) = std::fs::read(&path) else {
            eprintln!("{}: missing, not seeded", path.display());
            assert!(!ci, "{} is missing under CI=true", path.display());
            continue;
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let s = seeds::seed(codec, &name, &data).unwrap();
        let n = s.messages.len();
        assert!(n > 0, "{name}: no pictures");
        let engine_ok = fuzzing::engine::run(codec, &s.engine);
        let serve_done = fuzzing::serve::run(&s.serve);
        eprintln!("{name}: {n} pictures, engine {engine_ok} ok, serve {serve_done} DONE");
        assert_eq!(
            engine_ok, n,
            "{name}: every seed picture decodes in the engine harness"
        );
        assert_eq!(
            serve_done, n,
            "{name}: every seed job is answered DONE by the serve loop"
        );
        assert!(
            s.messages.iter().all(|m| fuzzing::proto(m)),
            "{name}: messages parse"
        );
        seen.push(codec);
    }
    for c in Codec::ALL {
        assert!(seen.contains(&c), "no seed stream of {c:?}");
    }
}

#[test]
fn regression_inputs_run_clean() {
    let dir = root().join("daemon/fuzz/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let target = entry.unwrap().path();
        let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        // The controls target's body lives in the fuzz crate only; its
        // regression inputs are run by scripts/fuzz (-runs=0 before fuzzing).
        if !target.is_dir() || name == "controls" {
            continue;
        }
        for input in std::fs::read_dir(&target).unwrap() {
            let data = std::fs::read(input.unwrap().path()).unwrap();
            match name.as_str() {
                "proto" => {
                    fuzzing::proto(&data);
                }
                "serve" => {
                    fuzzing::serve::run(&data);
                }
                t => {
                    let codec = Codec::ALL
                        .into_iter()
                        .find(|&c| seeds::engine_target(c) == t)
                        .unwrap_or_else(|| panic!("regressions/{t}: no such target"));
                    fuzzing::engine::run(codec, &data);
                }
            }
            n += 1;
        }
    }
    eprintln!("{n} regression inputs");
}
