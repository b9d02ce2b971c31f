//! Makes the shared VP9/AV1 test streams (tests/common/fixtures.rs) if they are not made
//! yet and prints their folder: `cargo run -p libdaedalus --example fixtures`. Root:
//! DAEDALUS_FIXTURES, else target/fixtures. Exits 1 when an encoder is missing.

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

fn main() {
    match fixtures::ensure() {
        Ok(dir) => println!("{}", dir.display()),
        Err(why) => {
            eprintln!("fixtures: cannot make the test streams: {why}");
            std::process::exit(1);
        }
    }
}
