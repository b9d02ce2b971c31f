//! Helpers shared by the request-api integration tests.

use std::process::Command;

/// Compiles the C `program` with `$CC` (default `cc`) in a fresh temporary
/// directory named after `tag`, runs it and returns what it printed. `what`
/// names the probe in the failure message.
pub fn c_probe_output(tag: &str, program: &str, what: &str) -> String {
    let dir = std::env::temp_dir().join(format!("request-api-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, program).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("this test needs a C compiler ({cc}): {e}"));
    assert!(st.success(), "compiling {what} failed");
    let out = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout).unwrap()
}
