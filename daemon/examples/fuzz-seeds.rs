//! `fuzz-seeds OUT_DIR`: writes the fuzz targets' first corpora from real
//! streams (see `daemon::fuzzing::seeds`); `scripts/fuzz` runs it.

use std::path::{Path, PathBuf};

use daemon::fuzzing::seeds;

fn main() {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz-seeds OUT_DIR");
        std::process::exit(2);
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut failed = false;
    for (codec, path) in seeds::streams(&root) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let made = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|data| seeds::seed(codec, &name, &data))
            .and_then(|s| {
                seeds::write(&out, &s)
                    .map(|()| s)
                    .map_err(|e| e.to_string())
            });
        match made {
            Ok(s) => println!("{codec:?} {name}: {} pictures", s.messages.len()),
            Err(e) => {
                eprintln!("{codec:?} {}: {e}", path.display());
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
