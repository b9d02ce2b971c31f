//! HEVC through the engine, as `daedalusd replay --codec hevc --md5` runs it:
//! every shared HEVC vector (../shared/vectors/hevc: AMVP_A_MTK_4 with the
//! JCT-VC MD5, the Chromium streams with FFmpeg's), built into the controls
//! v4l2slh265dec sends, decoded request by request into CAPTURE-sized
//! pictures, cropped and hashed in display order: the published MD5s.

use libdaedalus::replay::{replay, ReplayOptions};

mod common;

#[test]
fn hevc_vectors_bit_exact_through_the_engine() {
    let Some(dir) = common::hevc_vectors() else {
        return;
    };
    let list = std::fs::read_to_string(dir.join("md5.txt")).unwrap();
    let mut n = 0;
    for line in list.lines() {
        let Some((want, name)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let name = name.trim();
        let data = std::fs::read(dir.join(name)).unwrap();
        let mut md5 = md5::Md5::default();
        let summary = replay(
            ctrls::Codec::Hevc,
            &data,
            &ReplayOptions::default(),
            |frame| {
                md5::Digest::update(&mut md5, frame);
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = format!("{:x}", md5::Digest::finalize(md5));
        println!("{name}: {summary:?}");
        assert_eq!(got, want, "{name}");
        n += 1;
    }
    assert_eq!(n, 7, "the 7 vectors of md5.txt");
}
