//! The serve loop on the host: a fake /dev/daedalus (buffers are files the
//! daemon maps exactly as it maps the module's dmabufs, answers are recorded)
//! fed job messages generated from real streams the way the module writes
//! them. Every output is compared with FFmpeg's decode of the original file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use ctrls::build::annexb;
use ctrls::build::av1::{Av1Builder, Av1Event};
use ctrls::build::h264::{display_order, H264Builder, H264Picture};
use ctrls::build::vp8::Vp8Builder;
use ctrls::build::vp9::{Vp9Builder, Vp9Event};
use ctrls::h264::{DecodeMode, H264Controls};
use ctrls::{CaptureFormat, Codec, Payload, RawControl};
use daemon::dmabuf::PlaneKey;
use daemon::proto::{self, Job, JobResult};
use daemon::serve::{Device, EngineDecoder, Server};
use daemon::supervisor::{Supervisor, WorkerCommand, WorkerOptions};
use libdaedalus::OwnedBuffer;
use md5::{Digest, Md5};
use std::time::Duration;
use zerocopy::FromZeros;

/// A fake module: plane files by (ctx, queue, index, plane) with their
/// buffer id, and every JOB_DONE answer.
struct FakeDevice {
    planes: RefCell<HashMap<PlaneKey, (File, u64)>>,
    answers: RefCell<Vec<JobResult>>,
    dir: PathBuf,
}

impl FakeDevice {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("daedalus-serve-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        FakeDevice {
            planes: RefCell::default(),
            answers: RefCell::default(),
            dir,
        }
    }

    /// Creates (or replaces) one plane of `len` bytes holding `data`.
    fn set_plane(&self, key: (u32, u32, u32, u32), buf_id: u64, len: usize, data: &[u8]) {
        let path = self
            .dir
            .join(format!("{}-{}-{}-{}", key.0, key.1, key.2, key.3));
        let mut bytes = data.to_vec();
        bytes.resize(len, 0);
        std::fs::write(&path, &bytes).unwrap();
        let f = File::options().read(true).write(true).open(&path).unwrap();
        self.planes.borrow_mut().insert(key, (f, buf_id));
    }

    fn plane(&self, key: (u32, u32, u32, u32)) -> Vec<u8> {
        let path = self
            .dir
            .join(format!("{}-{}-{}-{}", key.0, key.1, key.2, key.3));
        std::fs::read(path).unwrap()
    }

    fn take_answers(&self) -> Vec<JobResult> {
        std::mem::take(&mut self.answers.borrow_mut())
    }
}

impl Drop for FakeDevice {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Device for FakeDevice {
    fn expbuf(
        &self,
        ctx: u32,
        queue: u32,
        index: u32,
        plane: u32,
        _flags: i32,
    ) -> nix::Result<(OwnedFd, u64)> {
        let planes = self.planes.borrow();
        let (f, id) = planes
            .get(&(ctx, queue, index, plane))
            .ok_or(nix::errno::Errno::EINVAL)?;
        let f = f.try_clone().map_err(|_| nix::errno::Errno::EMFILE)?;
        Ok((OwnedFd::from(f), *id))
    }

    fn job_done(&self, result: &JobResult) -> nix::Result<()> {
        self.answers.borrow_mut().push(*result);
        Ok(())
    }
}

/// One request as a client queues it.
struct Req {
    codec: Codec,
    controls: Vec<Payload>,
    bitstream: Vec<u8>,
    timestamp: u64,
    hold: bool,
    /// CAPTURE buffer index and size.
    dst: u32,
    width: u32,
    height: u32,
}

/// Plays the module's part for one context: OUTPUT buffer 0 holds each
/// request's bitstream, CAPTURE buffer `dst` the picture (NV12, one plane).
struct Context<'a> {
    dev: &'a FakeDevice,
    ctx: u32,
    next_job: u64,
    /// Buffer ids: a new one each time a buffer is (re)allocated.
    next_buf_id: u64,
    capture: HashMap<u32, u64>,
}

const OUT_SIZE: usize = 1 << 20;

impl<'a> Context<'a> {
    fn new(dev: &'a FakeDevice, ctx: u32) -> Self {
        Context {
            dev,
            ctx,
            next_job: 1,
            next_buf_id: u64::from(ctx) << 32,
            capture: HashMap::new(),
        }
    }

    fn capture_len(w: u32, h: u32) -> usize {
        CaptureFormat::Nv12.plane_layout(w, h, w as usize)[0].1
    }

    /// The job message of `r`, its OUTPUT bytes written like a client would.
    fn job(&mut self, r: &Req) -> Vec<u8> {
        self.next_buf_id += 1;
        let src_id = self.next_buf_id;
        self.dev.set_plane(
            (self.ctx, proto::QUEUE_OUTPUT, 0, 0),
            src_id,
            OUT_SIZE,
            &r.bitstream,
        );
        let len = Self::capture_len(r.width, r.height);
        let dst_id = *self.capture.entry(r.dst).or_insert_with(|| {
            self.next_buf_id += 1;
            self.dev.set_plane(
                (self.ctx, proto::QUEUE_CAPTURE, r.dst, 0),
                self.next_buf_id,
                len,
                &[],
            );
            self.next_buf_id
        });
        let mut j = Job::new_zeroed();
        j.hdr.ctx_id = self.ctx;
        j.job_id = self.next_job;
        self.next_job += 1;
        j.codec = r.codec.proto_id();
        j.flags = if r.hold {
            proto::JOB_FL_HOLD_CAPTURE_BUF
        } else {
            0
        };
        j.src_fourcc = u32::from_le_bytes(r.codec.fourcc());
        j.src_width = r.width;
        j.src_height = r.height;
        j.src_index = 0;
        j.src_size = OUT_SIZE as u32;
        j.src_bytesused = r.bitstream.len() as u32;
        j.src_timestamp = r.timestamp;
        j.src_buf_id = src_id;
        j.dst_fourcc = CaptureFormat::Nv12.fourcc_u32();
        j.dst_width = r.width;
        j.dst_height = r.height;
        j.dst_num_planes = 1;
        j.dst_planes[0] = proto::Plane {
            bytesperline: r.width,
            sizeimage: len as u32,
        };
        j.dst_index = r.dst;
        j.dst_timestamp = r.timestamp;
        j.dst_buf_id = dst_id;
        let raw: Vec<RawControl<'_>> = r.controls.iter().map(Payload::raw).collect();
        proto::encode_job(j, &raw).unwrap()
    }

    /// The CAPTURE buffer `dst` as an engine buffer (to crop it to I420).
    fn picture(&self, dst: u32, w: u32, h: u32) -> OwnedBuffer {
        OwnedBuffer {
            format: CaptureFormat::Nv12,
            width: w,
            height: h,
            planes: vec![(
                w as usize,
                self.dev.plane((self.ctx, proto::QUEUE_CAPTURE, dst, 0)),
            )],
        }
    }
}

/// A temporary folder for `test`'s streams, or `None` (said, NOT a pass) when
/// ffmpeg is missing; under CI=true a missing ffmpeg fails the test.
fn stream_dir(test: &str) -> Option<Tmp> {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "ffmpeg is not installed: {test} cannot make its streams (CI=true)"
        );
        eprintln!("ffmpeg not found: {test} NOT run (this is NOT a pass)");
        return None;
    }
    Some(Tmp::new(test))
}

/// Encodes `frames` frames of testsrc2 at `size` with `args` (codec options) into `file`.
fn encode(dir: &Path, file: &str, size: &str, frames: u32, args: &[&str]) -> PathBuf {
    let out = dir.join(file);
    let st = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=25"))
        .args(["-frames:v", &frames.to_string(), "-pix_fmt", "yuv420p"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg could not encode {file}");
    out
}

/// FFmpeg's MD5 of the whole cropped I420 output (the project's reference convention).
fn ffmpeg_md5(file: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-threads", "1", "-i"])
        .arg(file)
        .args(["-fps_mode", "passthrough", "-noautoscale", "-f", "rawvideo"])
        .args(["-pix_fmt", "yuv420p", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    format!("{:x}", Md5::digest(&out.stdout))
}

fn h264_controls(p: &H264Picture, mode: DecodeMode) -> H264Controls {
    H264Controls {
        sps: p.sps,
        pps: p.pps,
        scaling_matrix: p.scaling_matrix,
        decode_params: p.decode_params,
        slice_params: if mode == DecodeMode::SliceBased {
            p.slice_params.clone()
        } else {
            Vec::new()
        },
        pred_weights: p.pred_weights,
        decode_mode: mode,
        ..H264Controls::default()
    }
}

/// Requests of an H.264 stream; slice-based: one per slice, HOLD on all but
/// the last slice of a picture (and on the first field of a pair).
fn h264_requests(pics: &[H264Picture], mode: DecodeMode) -> Vec<Req> {
    let mut dst = HashMap::new();
    let mut reqs = Vec::new();
    for p in pics {
        let n = dst.len() as u32;
        let index = *dst.entry(p.timestamp).or_insert(n);
        let (width, height) = p.sps.coded_size();
        let base = |c: &H264Controls, bitstream: Vec<u8>, hold| Req {
            codec: Codec::H264,
            controls: c.to_payloads(),
            bitstream,
            timestamp: p.timestamp,
            hold,
            dst: index,
            width,
            height,
        };
        let c = h264_controls(p, mode);
        if mode == DecodeMode::FrameBased {
            reqs.push(base(&c, p.bitstream.clone(), p.hold_capture));
            continue;
        }
        let nals: Vec<_> = annexb::split(&p.bitstream).collect();
        assert_eq!(nals.len(), p.slice_params.len());
        for (i, nal) in nals.iter().enumerate() {
            let mut one = c.clone();
            one.slice_params = vec![p.slice_params[i]];
            let mut bytes = vec![0, 0, 1];
            bytes.extend_from_slice(nal.data);
            let last = i + 1 == nals.len();
            reqs.push(base(&one, bytes, p.hold_capture || !last));
        }
    }
    reqs
}

/// What takes a job message and leaves its answers with the fake device: the
/// in-process [`Server`] (what a worker runs) or the [`Supervisor`] with its
/// worker processes.
trait Runner {
    fn run(&mut self, dev: &FakeDevice, msg: &[u8]) -> Vec<JobResult>;
}

impl Runner for Server<&FakeDevice, EngineDecoder> {
    fn run(&mut self, dev: &FakeDevice, msg: &[u8]) -> Vec<JobResult> {
        self.handle_message(msg).unwrap();
        dev.take_answers()
    }
}

impl Runner for Supervisor<&FakeDevice> {
    fn run(&mut self, dev: &FakeDevice, msg: &[u8]) -> Vec<JobResult> {
        self.handle_message(msg).unwrap();
        assert!(
            self.settle(Duration::from_secs(60)).unwrap(),
            "the worker answers within 60 s"
        );
        dev.take_answers()
    }
}

/// A supervisor whose workers are this package's daedalusd, seccomp on (both
/// the supervisor's filter, which a real supervisor's workers inherit, and
/// their own), no warm-up (so every codec's first use happens under them).
fn supervisor(
    dev: &FakeDevice,
    strict: bool,
    test_hooks: bool,
    memory_mb: u64,
) -> Supervisor<&FakeDevice> {
    let opts = WorkerOptions {
        strict,
        warm_up: false,
        seccomp: true,
        memory_mb,
        test_hooks,
        threads: 2,
        stack_supervisor_filter: true,
    };
    let cmd = WorkerCommand::new(env!("CARGO_BIN_EXE_daedalusd").into(), &opts);
    Supervisor::new(dev, cmd, strict, Duration::from_secs(30))
}

/// Runs `reqs` through `runner` for `ctx`; every answer must be status 0.
fn run_ok(runner: &mut impl Runner, ctx: &mut Context<'_>, reqs: &[Req]) {
    for r in reqs {
        let msg = ctx.job(r);
        let answers = runner.run(ctx.dev, &msg);
        assert_eq!(answers.len(), 1, "one answer per job");
        assert_eq!(
            answers[0].status,
            0,
            "job {} failed: {}",
            answers[0].job_id,
            answers[0].reason_str()
        );
    }
}

/// MD5 of an H.264 stream's pictures, from their CAPTURE buffers, in display order.
fn h264_output_md5(ctx: &Context<'_>, pics: &[H264Picture]) -> String {
    let mut dst = HashMap::new();
    for p in pics {
        let n = dst.len() as u32;
        dst.entry(p.timestamp).or_insert(n);
    }
    let mut md5 = Md5::new();
    let mut frame = Vec::new();
    for i in display_order(pics) {
        let p = &pics[i];
        let (w, h) = p.sps.coded_size();
        let c = p.display.crop;
        frame.clear();
        ctx.picture(dst[&p.timestamp], w, h)
            .append_planar(c.left, c.top, c.width, c.height, &mut frame);
        md5.update(&frame);
    }
    format!("{:x}", md5.finalize())
}

struct Tmp(PathBuf);
impl Tmp {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!(
            "daedalus-serve-streams-{tag}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        Tmp(d)
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn h264_stream(tmp: &Tmp, name: &str, params: &str) -> (Vec<H264Picture>, String) {
    let f = encode(
        &tmp.0,
        name,
        "128x96",
        12,
        &["-c:v", "libx264", "-x264-params", params],
    );
    let pics = H264Builder::build_stream(&std::fs::read(&f).unwrap()).unwrap();
    (pics, ffmpeg_md5(&f))
}

#[test]
fn h264_frame_based_jobs_bit_exact() {
    let Some(tmp) = stream_dir("h264-frame") else {
        return;
    };
    let (pics, want) = h264_stream(&tmp, "f.264", "bframes=2:weightp=2:keyint=6");
    let dev = FakeDevice::new("h264-frame");
    let mut server = Server::new(&dev, EngineDecoder::new(true), true);
    let mut ctx = Context::new(&dev, 1);
    run_ok(
        &mut server,
        &mut ctx,
        &h264_requests(&pics, DecodeMode::FrameBased),
    );
    assert_eq!(h264_output_md5(&ctx, &pics), want);
    assert_eq!(server.stats().jobs, pics.len() as u64);
    assert_eq!(server.stats().failed, 0);
}

/// Lenient mode: controls that say something else than the bitstream, as
/// libva-v4l2-request sends them (an SPS with level_idc 0; every order count
/// plus 65536), still decode bit-exactly, and the context's findings count each
/// field where it is checked (the SPS when it is new, DECODE_PARAMS on every
/// request), with the bitstream's value and the control's.
#[test]
fn h264_findings_tallied_per_context() {
    let Some(tmp) = stream_dir("h264-findings") else {
        return;
    };
    let (mut pics, want) = h264_stream(&tmp, "f.264", "bframes=1:keyint=5");
    let level = pics[0].sps.level_idc;
    assert_ne!(level, 0, "x264 writes a level");
    for p in &mut pics {
        p.sps.level_idc = 0;
        p.decode_params.top_field_order_cnt += 1 << 16;
    }
    let dev = FakeDevice::new("h264-findings");
    let mut server = Server::new(&dev, EngineDecoder::new(false), false);
    let mut ctx = Context::new(&dev, 7);
    run_ok(
        &mut server,
        &mut ctx,
        &h264_requests(&pics, DecodeMode::FrameBased),
    );
    assert_eq!(h264_output_md5(&ctx, &pics), want);
    let n = pics.len() as u64;
    let f = server
        .decoder_mut()
        .findings(7)
        .expect("context 7 has findings");
    assert_eq!(f.codec, Some(Codec::H264));
    assert_eq!((f.requests, f.with_findings), (n, n));
    let sps = &f.fields["H264_SPS.level_idc"];
    assert_eq!(sps.count, 1, "{sps:?}");
    assert_eq!(sps.got, "0");
    assert!(sps.expected.contains(&level.to_string()), "{sps:?}");
    let dp = &f.fields["H264_DECODE_PARAMS.top_field_order_cnt"];
    assert_eq!(dp.count, n, "{f:?}");
    let first = pics[0].decode_params.top_field_order_cnt;
    assert!(dp.got.starts_with(&first.to_string()), "{dp:?}");
    assert!(
        dp.expected.starts_with(&(first - (1 << 16)).to_string()),
        "{dp:?}"
    );
    // Closing the context logs and forgets them.
    server.handle_message(&proto::encode_ctx_closed(7)).unwrap();
    assert!(server.decoder_mut().findings(7).is_none());
}

#[test]
fn h264_slice_based_jobs_with_hold_capture_bit_exact() {
    let Some(tmp) = stream_dir("h264-slice") else {
        return;
    };
    let (pics, want) = h264_stream(&tmp, "s.264", "slices=4:bframes=2:keyint=6");
    assert!(
        pics.iter().all(|p| p.slice_params.len() == 4),
        "4 slices per picture"
    );
    let dev = FakeDevice::new("h264-slice");
    let mut server = Server::new(&dev, EngineDecoder::new(true), true);
    let mut ctx = Context::new(&dev, 1);
    let reqs = h264_requests(&pics, DecodeMode::SliceBased);
    assert_eq!(reqs.len(), 4 * pics.len());
    assert_eq!(reqs.iter().filter(|r| r.hold).count(), 3 * pics.len());
    run_ok(&mut server, &mut ctx, &reqs);
    assert_eq!(h264_output_md5(&ctx, &pics), want);

    // The same slices sent as if each were a picture (what serve did before it
    // read H264_DECODE_MODE): the output is not the stream's.
    let dev2 = FakeDevice::new("h264-slice-as-frames");
    let mut server2 = Server::new(&dev2, EngineDecoder::new(false), false);
    let mut ctx2 = Context::new(&dev2, 1);
    let mut as_frames = h264_requests(&pics, DecodeMode::SliceBased);
    for r in &mut as_frames {
        let mut c = H264Controls::default();
        let set = ctrls::ControlSet::parse_payloads(Codec::H264, &r.controls).unwrap();
        if let ctrls::ControlSet::H264(h) = set {
            c = *h;
        }
        c.decode_mode = DecodeMode::FrameBased;
        c.slice_params.clear();
        r.controls = c.to_payloads();
        r.hold = false;
    }
    for r in &as_frames {
        server2.handle_message(&ctx2.job(r)).unwrap();
    }
    assert_ne!(h264_output_md5(&ctx2, &pics), want);
}

/// VP8 / VP9 / AV1 streams without hidden frames, MPEG-2 without B pictures: one shown
/// frame per request, in order.
fn ivf_requests(codec: Codec, data: &[u8]) -> Vec<Req> {
    let mut reqs = Vec::new();
    let mut push = |controls: Vec<Payload>, bitstream: &[u8], ts: u64, w: u32, h: u32| {
        let dst = reqs.len() as u32 % 8;
        reqs.push(Req {
            codec,
            controls,
            bitstream: bitstream.to_vec(),
            timestamp: ts,
            hold: false,
            dst,
            width: w,
            height: h,
        });
    };
    match codec {
        Codec::Vp8 => {
            for r in Vp8Builder::build_ivf(data).unwrap() {
                assert!(r.shown);
                let c = ctrls::vp8::Vp8Controls { frame: r.frame };
                push(
                    c.to_payloads(),
                    &r.bitstream,
                    r.timestamp,
                    u32::from(r.frame.width),
                    u32::from(r.frame.height),
                );
            }
        }
        Codec::Mpeg2 => {
            for p in ctrls::build::mpeg2::build_stream(data).unwrap() {
                assert_eq!(p.field, 0, "frame pictures");
                assert_ne!(
                    p.picture.picture_coding_type, 3,
                    "no B pictures: decode order"
                );
                let c = ctrls::source::mpeg2::mpeg2_set(&p);
                push(
                    c.to_payloads(),
                    &p.bitstream,
                    p.timestamp,
                    p.display.width,
                    p.display.height,
                );
            }
        }
        Codec::Vp9 => {
            for ev in Vp9Builder::build_ivf(data).unwrap() {
                let Vp9Event::Decode(r) = ev else {
                    panic!("no show_existing_frame expected");
                };
                assert!(r.display.shown);
                let c = ctrls::vp9::Vp9Controls {
                    frame: r.frame,
                    compressed_hdr: Some(r.compressed_hdr),
                };
                push(
                    c.to_payloads(),
                    &r.bitstream,
                    r.timestamp,
                    r.display.width,
                    r.display.height,
                );
            }
        }
        Codec::Av1 => {
            for ev in Av1Builder::build_ivf(data).unwrap() {
                let Av1Event::Decode(r) = ev else {
                    panic!("no show_existing_frame expected");
                };
                assert!(r.display.shown);
                let c = ctrls::av1::Av1Controls {
                    sequence: r.sequence,
                    frame: r.frame,
                    tile_group_entries: r.tiles.clone(),
                    film_grain: r.film_grain,
                };
                push(
                    c.to_payloads(),
                    &r.bitstream,
                    r.timestamp,
                    r.display.width,
                    r.display.height,
                );
            }
        }
        _ => unreachable!(),
    }
    reqs
}

fn ivf_bit_exact(codec: Codec, args: &[&str]) {
    let Some(tmp) = stream_dir(codec.name()) else {
        return;
    };
    let ext = if codec == Codec::Mpeg2 { "m2v" } else { "ivf" };
    let f = encode(
        &tmp.0,
        &format!("s.{}.{ext}", codec.name()),
        "96x64",
        6,
        args,
    );
    let want = ffmpeg_md5(&f);
    let reqs = ivf_requests(codec, &std::fs::read(&f).unwrap());
    assert_eq!(reqs.len(), 6);
    let dev = FakeDevice::new(codec.name());
    let mut server = Server::new(&dev, EngineDecoder::new(true), true);
    assert_eq!(ivf_md5(&mut server, &dev, &reqs), want, "in process");
    let sdev = FakeDevice::new(&format!("{}-sup", codec.name()));
    let mut sup = supervisor(&sdev, true, false, 3072);
    assert_eq!(ivf_md5(&mut sup, &sdev, &reqs), want, "through a worker");
    assert!(sup.deaths().is_empty(), "{:?}", sup.deaths());
}

fn ivf_md5(runner: &mut impl Runner, dev: &FakeDevice, reqs: &[Req]) -> String {
    let mut ctx = Context::new(dev, 3);
    let mut md5 = Md5::new();
    let mut frame = Vec::new();
    for r in reqs {
        run_ok(runner, &mut ctx, std::slice::from_ref(r));
        frame.clear();
        ctx.picture(r.dst, r.width, r.height)
            .append_planar(0, 0, r.width, r.height, &mut frame);
        md5.update(&frame);
    }
    format!("{:x}", md5.finalize())
}

#[test]
fn vp9_jobs_bit_exact() {
    ivf_bit_exact(
        Codec::Vp9,
        &[
            "-c:v",
            "libvpx-vp9",
            "-lag-in-frames",
            "0",
            "-auto-alt-ref",
            "0",
            "-b:v",
            "200k",
        ],
    );
}

#[test]
fn vp8_jobs_bit_exact() {
    ivf_bit_exact(
        Codec::Vp8,
        &[
            "-c:v",
            "libvpx",
            "-lag-in-frames",
            "0",
            "-auto-alt-ref",
            "0",
            "-b:v",
            "200k",
        ],
    );
}

#[test]
fn mpeg2_jobs_bit_exact() {
    ivf_bit_exact(
        Codec::Mpeg2,
        &[
            "-c:v",
            "mpeg2video",
            "-bf",
            "0",
            "-b:v",
            "300k",
            "-f",
            "mpeg2video",
        ],
    );
}

#[test]
fn av1_jobs_bit_exact() {
    ivf_bit_exact(
        Codec::Av1,
        &[
            "-c:v",
            "libaom-av1",
            "-lag-in-frames",
            "0",
            "-cpu-used",
            "8",
            "-b:v",
            "200k",
        ],
    );
}

#[test]
fn context_closed_mid_stream_drops_only_that_context() {
    let Some(tmp) = stream_dir("close") else {
        return;
    };
    let (pics, want) = h264_stream(&tmp, "c.264", "bframes=2:keyint=6");
    let reqs = h264_requests(&pics, DecodeMode::FrameBased);
    let dev = FakeDevice::new("close");
    let mut server = Server::new(&dev, EngineDecoder::new(true), true);
    let (mut a, mut b) = (Context::new(&dev, 1), Context::new(&dev, 2));
    let half = reqs.len() / 2;
    run_ok(&mut server, &mut a, &reqs[..half]);
    run_ok(&mut server, &mut b, &reqs[..half]);
    assert_eq!(server.decoder().contexts(), 2);
    let mapped = server.mapped_planes();

    server.handle_message(&proto::encode_ctx_closed(1)).unwrap();
    assert!(dev.take_answers().is_empty(), "CTX_CLOSED is not answered");
    assert_eq!(server.decoder().contexts(), 1, "context 1's engine dropped");
    assert!(
        server.mapped_planes() < mapped,
        "context 1's mappings dropped"
    );
    assert!(server.mapped_planes() > 0, "context 2's mappings kept");

    run_ok(&mut server, &mut b, &reqs[half..]);
    assert_eq!(h264_output_md5(&b, &pics), want, "context 2 unaffected");
}

#[test]
fn codec_without_engine_and_missing_controls_fail_only_their_job() {
    let dev = FakeDevice::new("noengine");
    let mut server = Server::new(&dev, EngineDecoder::new(false), false);
    let mut ctx = Context::new(&dev, 5);
    for (codec, want) in [
        (Codec::Hevc, "request lacks HEVC_SPS"),
        (Codec::Vp8, "request lacks VP8_FRAME"),
        (Codec::Mpeg2, "request lacks MPEG2_SEQUENCE"),
        (Codec::H264, "request lacks H264_SPS"),
        (Codec::Av1, "request lacks AV1_TILE_GROUP_ENTRY"),
    ] {
        let r = Req {
            codec,
            controls: Vec::new(),
            bitstream: vec![0, 0, 1, 0x65],
            timestamp: 1000,
            hold: false,
            dst: 0,
            width: 64,
            height: 64,
        };
        server.handle_message(&ctx.job(&r)).unwrap();
        let a = dev.take_answers();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].status, -(nix::errno::Errno::EIO as i32));
        assert!(
            a[0].reason_str().contains(want),
            "{codec}: {}",
            a[0].reason_str()
        );
    }
    assert_eq!(server.stats().failed, 5);
    // An unknown protocol codec id fails the job too.
    let r = Req {
        codec: Codec::H264,
        controls: Vec::new(),
        bitstream: vec![1],
        timestamp: 2000,
        hold: false,
        dst: 0,
        width: 64,
        height: 64,
    };
    let mut msg = ctx.job(&r);
    let codec_at = std::mem::offset_of!(Job, codec);
    msg[codec_at..codec_at + 4].copy_from_slice(&99u32.to_ne_bytes());
    server.handle_message(&msg).unwrap();
    let a = dev.take_answers();
    assert!(
        a[0].reason_str().contains("unknown codec id 99"),
        "{}",
        a[0].reason_str()
    );
}

#[test]
fn malformed_messages_are_refused_without_an_answer() {
    let dev = FakeDevice::new("malformed");
    let mut lenient = Server::new(&dev, EngineDecoder::new(false), false);
    let mut ctx = Context::new(&dev, 9);
    let r = Req {
        codec: Codec::H264,
        controls: vec![Payload::menu(ctrls::h264::CID_DECODE_MODE, 1)],
        bitstream: vec![0, 0, 1, 0x65],
        timestamp: 1000,
        hold: false,
        dst: 0,
        width: 64,
        height: 64,
    };
    let good = ctx.job(&r);
    let mut bad_version = good.clone();
    bad_version[8..12].copy_from_slice(&7u32.to_ne_bytes());
    let truncated = good[..100].to_vec();
    let mut bad_ctrl = good.clone();
    let ctrl0 = std::mem::offset_of!(Job, ctrls);
    // First control's payload offset far past the message.
    bad_ctrl[ctrl0 + 4..ctrl0 + 8].copy_from_slice(&u32::MAX.to_ne_bytes());
    let mut unknown_kind = proto::encode_ctx_closed(9);
    unknown_kind[0..4].copy_from_slice(&77u32.to_ne_bytes());
    for msg in [&bad_version, &truncated, &bad_ctrl, &unknown_kind] {
        lenient.handle_message(msg).unwrap();
    }
    assert!(dev.take_answers().is_empty());
    assert_eq!(lenient.stats().jobs, 0);

    // --strict: the loop ends on a bad message.
    let mut strict = Server::new(&dev, EngineDecoder::new(true), true);
    assert!(strict.handle_message(&truncated).is_err());
}

/// FFmpeg's MD5 of each cropped I420 frame, in output order.
fn ffmpeg_frame_md5s(file: &Path) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-threads", "1", "-i"])
        .arg(file)
        .args(["-fps_mode", "passthrough", "-noautoscale", "-f", "framemd5"])
        .args(["-pix_fmt", "yuv420p", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit(',').next().unwrap().trim().to_owned())
        .collect()
}

/// MD5 of one H.264 picture from its CAPTURE buffer, cropped.
fn h264_picture_md5(ctx: &Context<'_>, p: &H264Picture, dst: u32) -> String {
    let (w, h) = p.sps.coded_size();
    let c = p.display.crop;
    let mut frame = Vec::new();
    ctx.picture(dst, w, h)
        .append_planar(c.left, c.top, c.width, c.height, &mut frame);
    format!("{:x}", Md5::digest(&frame))
}

fn status_field(pid: u32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
        .unwrap()
}

fn kill(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).unwrap();
}

/// Two H.264 contexts through their workers; ctx 1's worker is killed (the
/// way `how` says) while it holds a job. Only that job fails; ctx 2 stays
/// bit-exact; ctx 1 is bit-exact again from its next IDR.
fn worker_crash(tag: &str, strict: bool, how: impl Fn(u32), want_cause: &str) {
    let Some(tmp) = stream_dir(tag) else {
        return;
    };
    // No B-frames: decode order is output order; IDR every 6 pictures.
    let f = encode(
        &tmp.0,
        "k.264",
        "128x96",
        18,
        &[
            "-c:v",
            "libx264",
            "-x264-params",
            "bframes=0:keyint=6:min-keyint=6:scenecut=0",
        ],
    );
    let want = ffmpeg_frame_md5s(&f);
    let pics = H264Builder::build_stream(&std::fs::read(&f).unwrap()).unwrap();
    assert_eq!((pics.len(), want.len()), (18, 18));
    let reqs = h264_requests(&pics, DecodeMode::FrameBased);
    let dev = FakeDevice::new(tag);
    let mut sup = supervisor(&dev, strict, true, 1024);
    let (mut a, mut b) = (Context::new(&dev, 1), Context::new(&dev, 2));
    let crash_at = 7;
    for (i, r) in reqs.iter().enumerate() {
        run_ok(&mut sup, &mut b, std::slice::from_ref(r));
        if i != crash_at {
            let answers = sup.run(&dev, &a.job(r));
            assert_eq!(answers.len(), 1);
            if i < crash_at || i >= 12 {
                assert_eq!(
                    answers[0].status,
                    0,
                    "ctx 1 job {i}: {}",
                    answers[0].reason_str()
                );
            }
            if i > crash_at && i < 12 {
                // Pictures whose references died with the worker fail (never
                // a wrong picture marked good) until the IDR at 12.
                assert_ne!(
                    answers[0].status, 0,
                    "ctx 1 picture {i} DONE without its references"
                );
                assert!(
                    answers[0].reason_str().contains("context state lost"),
                    "{}",
                    answers[0].reason_str()
                );
            }
            continue;
        }
        let pid = sup.worker_pids()[&1];
        assert_ne!(pid, sup.worker_pids()[&2], "one worker per context");
        assert_eq!(status_field(pid, "Seccomp:"), "2", "worker under seccomp");
        // Stopped, the worker holds the job until it is killed.
        kill(pid, nix::sys::signal::Signal::SIGSTOP);
        sup.handle_message(&a.job(r)).unwrap();
        assert_eq!(sup.pending(), 1);
        how(pid);
        kill(pid, nix::sys::signal::Signal::SIGCONT);
        assert!(sup.settle(Duration::from_secs(30)).unwrap());
        let answers = dev.take_answers();
        assert_eq!(answers.len(), 1, "the held job is answered");
        assert_eq!(answers[0].status, -(nix::errno::Errno::EIO as i32));
        assert!(
            answers[0].reason_str().contains("decoder worker"),
            "{}",
            answers[0].reason_str()
        );
        assert_eq!(sup.deaths().len(), 1);
        assert_eq!(sup.deaths()[0].ctx, Some(1));
        assert_eq!(sup.deaths()[0].failed_jobs, 1);
        assert!(
            sup.deaths()[0].cause.contains(want_cause),
            "{}",
            sup.deaths()[0].cause
        );
    }
    for (i, r) in reqs.iter().enumerate() {
        assert_eq!(
            h264_picture_md5(&b, &pics[i], r.dst),
            want[i],
            "ctx 2 picture {i}"
        );
    }
    for (i, r) in reqs.iter().enumerate().skip(12) {
        assert_eq!(
            h264_picture_md5(&a, &pics[i], r.dst),
            want[i],
            "ctx 1 picture {i}"
        );
    }
    assert_eq!(sup.deaths().len(), 1, "{:?}", sup.deaths());
    assert_ne!(sup.worker_pids()[&1], sup.deaths()[0].pid, "a fresh worker");
}

#[test]
fn a_killed_worker_fails_only_its_contexts_job() {
    worker_crash(
        "sigkill",
        false,
        |pid| kill(pid, nix::sys::signal::Signal::SIGKILL),
        "SIGKILL",
    );
}

#[test]
fn a_segfaulting_worker_fails_only_its_contexts_job() {
    worker_crash(
        "sigsegv",
        true,
        |pid| kill(pid, nix::sys::signal::Signal::SIGSEGV),
        "SIGSEGV",
    );
}

#[test]
fn a_forbidden_system_call_kills_only_that_worker() {
    // The hook runs when the worker next polls, before it reads the job.
    worker_crash(
        "seccomp",
        false,
        |pid| kill(pid, nix::sys::signal::Signal::SIGUSR2),
        "SIGSYS",
    );
}

#[test]
fn a_worker_over_its_memory_limit_fails_only_its_contexts_job() {
    worker_crash(
        "oom",
        true,
        |pid| kill(pid, nix::sys::signal::Signal::SIGUSR1),
        "killed by SIGABRT",
    );
}

#[test]
fn context_closed_ends_its_worker() {
    let Some(tmp) = stream_dir("sup-close") else {
        return;
    };
    let (pics, want) = h264_stream(&tmp, "c.264", "bframes=2:keyint=6");
    let reqs = h264_requests(&pics, DecodeMode::FrameBased);
    let dev = FakeDevice::new("sup-close");
    let mut sup = supervisor(&dev, true, false, 3072);
    let (mut a, mut b) = (Context::new(&dev, 1), Context::new(&dev, 2));
    let half = reqs.len() / 2;
    run_ok(&mut sup, &mut a, &reqs[..half]);
    run_ok(&mut sup, &mut b, &reqs[..half]);
    let pid = sup.worker_pids()[&1];
    sup.handle_message(&proto::encode_ctx_closed(1)).unwrap();
    assert!(dev.take_answers().is_empty(), "CTX_CLOSED is not answered");
    assert!(!sup.worker_pids().contains_key(&1));
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(std::time::Instant::now() < end, "worker {pid} still there");
        sup.poll(&[], Some(Duration::from_millis(50))).unwrap();
    }
    run_ok(&mut sup, &mut b, &reqs[half..]);
    assert_eq!(h264_output_md5(&b, &pics), want, "context 2 unaffected");
    assert!(sup.deaths().is_empty(), "{:?}", sup.deaths());
}
