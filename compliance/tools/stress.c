// SPDX-License-Identifier: GPL-2.0
/*
 * stress: a small V4L2 stateless (request API) client for the kmod-stress
 * suite. It drives one decoding context through the H.264 request path and
 * reports, for each request, how it ended. It knows nothing about pixels: the
 * bitstream is a fixed IDR-looking NAL and the controls describe a
 * 320x240 4:2:0 8-bit baseline stream, so a real decoder may well answer with
 * an error; what is checked here is that every request completes (with DONE or
 * ERROR as the caller expects) within a deadline and that nothing hangs.
 *
 *   stress open-close -d VIDEO -m MEDIA [-n N]
 *       open/close the nodes N times, allocating a request each time
 *   stress decode -d VIDEO -m MEDIA [-n N] [-t TIMEOUT_MS]
 *       [--expect any|done|error] [--expect-error-from I] [--expect-error-at I]
 *       [--hook-at I] [--pre-hook CMD] [--post-hook CMD] [--after-hook CMD]
 *       [--streamoff-pending]
 *   stress bitdepth -d VIDEO -m MEDIA
 *       per coded format with a sequence control (H.264 SPS, VP9 FRAME, AV1
 *       SEQUENCE): 10-bit offers P010 only, 8-bit the 8-bit formats only,
 *       12-bit is refused, and the depth cannot change under CAPTURE buffers
 *       hooks run (system()) around request I: pre before it is queued, post
 *       right after MEDIA_REQUEST_IOC_QUEUE, after once it completed
 *
 *   stress data-offset -d VIDEO -m MEDIA
 *       an OUTPUT plane with a non-zero data_offset (DMABUF imported from a
 *       second context's EXPBUF, and MMAP) is refused by PREPARE_BUF with
 *       EINVAL; data_offset 0 is accepted
 *
 *   stress framesizes -d VIDEO -m MEDIA
 *       every OUTPUT format reports its sizes in steps of 1 (continuous or
 *       stepwise) from a small minimum (16, MPEG-2 12); TRY_FMT and S_FMT
 *       OUTPUT keep every in-range size of the test vectors (1920x1080,
 *       642x362, 12x12, ...) and clamp others into the range; CAPTURE holds
 *       the picture in whole macroblocks
 *
 * The commands below play the daemon themselves: /dev/daedalus must be free.
 *
 *   stress reason -d VIDEO -m MEDIA
 *       fails a job with a 64-byte reason holding control characters and no
 *       NUL: the kernel log must show exactly those 64 bytes, escaped
 *   stress ctx-closed -d VIDEO -m MEDIA -n N
 *       attaches without reading, opens and closes the video node N times
 *       then reads: N distinct CTX_CLOSED messages must be waiting
 *   stress ctrl-setup-fail -d VIDEO -m MEDIA
 *       a request whose controls cannot be applied when it runs (a 10-bit SPS
 *       while 8-bit CAPTURE buffers exist: EBUSY) ends in ERROR without a job
 *       for the daemon; requests before and after it reach the daemon
 *
 * Every line of output starts with "stress:"; the exit status is 0 when every
 * expectation held, 1 when one did not, 2 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

const char *video_path;
const char *media_path;
unsigned int out_extra_flags;
long long out_timestamp_us = -1;

int say_quiet;

void say(const char *fmt, ...)
{
	va_list ap;

	if (say_quiet)
		return;
	va_start(ap, fmt);
	fputs("stress: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r;
}

int open_nodes(struct ctx *c)
{
	struct v4l2_capability cap;

	memset(c, 0, sizeof(*c));
	c->vfd = open(video_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (c->vfd < 0) {
		say("open %s: %s", video_path, strerror(errno));
		return -1;
	}
	c->mfd = open(media_path, O_RDWR | O_CLOEXEC);
	if (c->mfd < 0) {
		say("open %s: %s", media_path, strerror(errno));
		close(c->vfd);
		return -1;
	}
	memset(&cap, 0, sizeof(cap));
	if (xioctl(c->vfd, VIDIOC_QUERYCAP, &cap) < 0) {
		say("QUERYCAP: %s", strerror(errno));
		goto err;
	}
	{
		__u32 caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps :
								       cap.capabilities;

		if (caps & V4L2_CAP_VIDEO_M2M_MPLANE) {
			c->mplane = 1;
			c->out_type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
			c->cap_type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
		} else if (caps & V4L2_CAP_VIDEO_M2M) {
			c->out_type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
			c->cap_type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		} else {
			say("%s is not a mem2mem device (caps 0x%08x)", video_path, caps);
			goto err;
		}
	}
	return 0;
err:
	close(c->mfd);
	close(c->vfd);
	return -1;
}

void close_nodes(struct ctx *c)
{
	unsigned int i;

	for (i = 0; i < c->n_out; i++)
		if (c->out[i].addr)
			munmap(c->out[i].addr, c->out[i].len);
	close(c->vfd);
	close(c->mfd);
}

int alloc_request(struct ctx *c)
{
	int fd = -1;

	if (xioctl(c->mfd, MEDIA_IOC_REQUEST_ALLOC, &fd) < 0) {
		say("MEDIA_IOC_REQUEST_ALLOC: %s", strerror(errno));
		return -1;
	}
	return fd;
}

static int cmd_open_close(int n)
{
	struct ctx c;
	int i, fd;

	for (i = 0; i < n; i++) {
		if (open_nodes(&c) < 0)
			return 2;
		fd = alloc_request(&c);
		if (fd < 0) {
			close_nodes(&c);
			return 1;
		}
		close(fd);
		close_nodes(&c);
	}
	say("open-close: %d iterations ok", n);
	return 0;
}

int set_formats(struct ctx *c)
{
	struct v4l2_format f;

	memset(&f, 0, sizeof(f));
	f.type = c->out_type;
	if (c->mplane) {
		f.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_H264_SLICE;
		f.fmt.pix_mp.width = WIDTH;
		f.fmt.pix_mp.height = HEIGHT;
		f.fmt.pix_mp.num_planes = 1;
		f.fmt.pix_mp.plane_fmt[0].sizeimage = 256 * 1024;
	} else {
		f.fmt.pix.pixelformat = V4L2_PIX_FMT_H264_SLICE;
		f.fmt.pix.width = WIDTH;
		f.fmt.pix.height = HEIGHT;
		f.fmt.pix.sizeimage = 256 * 1024;
	}
	if (xioctl(c->vfd, VIDIOC_S_FMT, &f) < 0) {
		say("S_FMT OUTPUT S264: %s", strerror(errno));
		return -1;
	}
	if ((c->mplane ? f.fmt.pix_mp.pixelformat : f.fmt.pix.pixelformat) !=
	    V4L2_PIX_FMT_H264_SLICE) {
		say("S_FMT OUTPUT: driver did not take S264");
		return -1;
	}
	memset(&f, 0, sizeof(f));
	f.type = c->cap_type;
	if (xioctl(c->vfd, VIDIOC_G_FMT, &f) < 0) {
		say("G_FMT CAPTURE: %s", strerror(errno));
		return -1;
	}
	say("formats: OUTPUT S264 %ux%u, CAPTURE %.4s %ux%u (%s)", WIDTH, HEIGHT,
	    (char *)(c->mplane ? &f.fmt.pix_mp.pixelformat : &f.fmt.pix.pixelformat),
	    c->mplane ? f.fmt.pix_mp.width : f.fmt.pix.width,
	    c->mplane ? f.fmt.pix_mp.height : f.fmt.pix.height,
	    c->mplane ? "mplane" : "single-plane");
	return 0;
}

static int reqbufs(struct ctx *c, enum v4l2_buf_type type, unsigned int count)
{
	struct v4l2_requestbuffers rb;

	memset(&rb, 0, sizeof(rb));
	rb.count = count;
	rb.type = type;
	rb.memory = V4L2_MEMORY_MMAP;
	if (xioctl(c->vfd, VIDIOC_REQBUFS, &rb) < 0) {
		say("REQBUFS(%u, type %u): %s", count, type, strerror(errno));
		return -1;
	}
	if (count && !(rb.capabilities & V4L2_BUF_CAP_SUPPORTS_REQUESTS) &&
	    type == c->out_type) {
		say("OUTPUT queue does not support requests");
		return -1;
	}
	return (int)rb.count;
}

void init_buffer(struct ctx *c, struct v4l2_buffer *b, struct v4l2_plane *planes,
			enum v4l2_buf_type type, unsigned int index)
{
	memset(b, 0, sizeof(*b));
	b->type = type;
	b->memory = V4L2_MEMORY_MMAP;
	b->index = index;
	if (c->mplane) {
		memset(planes, 0, sizeof(*planes) * VIDEO_MAX_PLANES);
		b->m.planes = planes;
		b->length = VIDEO_MAX_PLANES;
	}
}

int setup_buffers(struct ctx *c)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b;
	unsigned int i;
	int n;

	n = reqbufs(c, c->out_type, NUM_BUFS);
	if (n <= 0)
		return -1;
	c->n_out = (unsigned int)n > NUM_BUFS ? NUM_BUFS : (unsigned int)n;
	for (i = 0; i < c->n_out; i++) {
		off_t off;

		init_buffer(c, &b, planes, c->out_type, i);
		if (xioctl(c->vfd, VIDIOC_QUERYBUF, &b) < 0) {
			say("QUERYBUF OUTPUT %u: %s", i, strerror(errno));
			return -1;
		}
		c->out[i].len = c->mplane ? planes[0].length : b.length;
		off = c->mplane ? planes[0].m.mem_offset : b.m.offset;
		c->out[i].addr = mmap(NULL, c->out[i].len, PROT_READ | PROT_WRITE, MAP_SHARED,
				      c->vfd, off);
		if (c->out[i].addr == MAP_FAILED) {
			c->out[i].addr = NULL;
			say("mmap OUTPUT %u: %s", i, strerror(errno));
			return -1;
		}
	}
	n = reqbufs(c, c->cap_type, NUM_BUFS);
	if (n <= 0)
		return -1;
	c->n_cap = (unsigned int)n;
	for (i = 0; i < c->n_cap; i++) {
		init_buffer(c, &b, planes, c->cap_type, i);
		if (xioctl(c->vfd, VIDIOC_QBUF, &b) < 0) {
			say("QBUF CAPTURE %u: %s", i, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int streamon(struct ctx *c)
{
	int t = c->out_type;

	if (xioctl(c->vfd, VIDIOC_STREAMON, &t) < 0) {
		say("STREAMON OUTPUT: %s", strerror(errno));
		return -1;
	}
	t = c->cap_type;
	if (xioctl(c->vfd, VIDIOC_STREAMON, &t) < 0) {
		say("STREAMON CAPTURE: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int streamoff(struct ctx *c)
{
	int t = c->out_type, r = 0;

	if (xioctl(c->vfd, VIDIOC_STREAMOFF, &t) < 0) {
		say("STREAMOFF OUTPUT: %s", strerror(errno));
		r = -1;
	}
	t = c->cap_type;
	if (xioctl(c->vfd, VIDIOC_STREAMOFF, &t) < 0) {
		say("STREAMOFF CAPTURE: %s", strerror(errno));
		r = -1;
	}
	return r;
}

/*
 * Fills the controls of one IDR frame of a 320x240 stream: baseline, or High
 * 10 when depth is 10.
 */
int set_controls_depth(struct ctx *c, int req_fd, unsigned int frame,
			      unsigned int depth)
{
	struct v4l2_ctrl_h264_sps sps;
	struct v4l2_ctrl_h264_pps pps;
	struct v4l2_ctrl_h264_decode_params dp;
	struct v4l2_ext_control ctrl[3];
	struct v4l2_ext_controls ctrls;

	memset(&sps, 0, sizeof(sps));
	sps.profile_idc = 66;
	sps.level_idc = 30;
	sps.chroma_format_idc = 1;
	sps.log2_max_frame_num_minus4 = 0;
	sps.pic_order_cnt_type = 2;
	sps.max_num_ref_frames = 1;
	sps.pic_width_in_mbs_minus1 = WIDTH / 16 - 1;
	sps.pic_height_in_map_units_minus1 = HEIGHT / 16 - 1;
	sps.flags = V4L2_H264_SPS_FLAG_FRAME_MBS_ONLY | V4L2_H264_SPS_FLAG_DIRECT_8X8_INFERENCE;
	if (depth > 8) {
		sps.profile_idc = 110;
		sps.bit_depth_luma_minus8 = (__u8)(depth - 8);
		sps.bit_depth_chroma_minus8 = (__u8)(depth - 8);
	}

	memset(&pps, 0, sizeof(pps));
	pps.num_ref_idx_l0_default_active_minus1 = 0;
	pps.flags = V4L2_H264_PPS_FLAG_DEBLOCKING_FILTER_CONTROL_PRESENT;

	memset(&dp, 0, sizeof(dp));
	dp.nal_ref_idc = 3;
	dp.frame_num = 0;
	dp.idr_pic_id = (__u16)frame;
	dp.flags = V4L2_H264_DECODE_PARAM_FLAG_IDR_PIC;

	memset(ctrl, 0, sizeof(ctrl));
	ctrl[0].id = V4L2_CID_STATELESS_H264_SPS;
	ctrl[0].size = sizeof(sps);
	ctrl[0].ptr = &sps;
	ctrl[1].id = V4L2_CID_STATELESS_H264_PPS;
	ctrl[1].size = sizeof(pps);
	ctrl[1].ptr = &pps;
	ctrl[2].id = V4L2_CID_STATELESS_H264_DECODE_PARAMS;
	ctrl[2].size = sizeof(dp);
	ctrl[2].ptr = &dp;

	memset(&ctrls, 0, sizeof(ctrls));
	ctrls.which = V4L2_CTRL_WHICH_REQUEST_VAL;
	ctrls.request_fd = req_fd;
	ctrls.count = 3;
	ctrls.controls = ctrl;
	if (xioctl(c->vfd, VIDIOC_S_EXT_CTRLS, &ctrls) < 0) {
		say("S_EXT_CTRLS (request): %s (error_idx %u)", strerror(errno), ctrls.error_idx);
		return -1;
	}
	return 0;
}

static int set_controls(struct ctx *c, int req_fd, unsigned int frame)
{
	return set_controls_depth(c, req_fd, frame, 8);
}

/* Annex B start code + an IDR slice NAL header and some slice payload. */
static size_t fill_bitstream(struct buf *b, unsigned int frame)
{
	static const unsigned char nal[] = { 0x00, 0x00, 0x00, 0x01, 0x65, 0x88, 0x84, 0x00,
					     0x33, 0xff, 0xfe, 0xf6, 0xf0, 0xfe, 0x05, 0x36 };
	size_t n = sizeof(nal) + 64;
	unsigned char *p = b->addr;
	size_t i;

	if (n > b->len)
		n = b->len;
	memcpy(p, nal, sizeof(nal) < n ? sizeof(nal) : n);
	for (i = sizeof(nal); i < n; i++)
		p[i] = (unsigned char)(0x5a ^ (i * 7 + frame));
	return n;
}

int queue_output(struct ctx *c, unsigned int index, int req_fd, unsigned int frame)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b;
	size_t used = fill_bitstream(&c->out[index], frame);

	init_buffer(c, &b, planes, c->out_type, index);
	if (c->mplane) {
		b.length = 1;
		planes[0].bytesused = (__u32)used;
	} else {
		b.bytesused = (__u32)used;
	}
	b.timestamp.tv_sec = 0;
	b.timestamp.tv_usec = out_timestamp_us >= 0 ? (long)out_timestamp_us :
						      (long)(frame + 1) * 1000;
	b.flags = V4L2_BUF_FLAG_REQUEST_FD | out_extra_flags;
	b.request_fd = req_fd;
	if (xioctl(c->vfd, VIDIOC_QBUF, &b) < 0) {
		say("QBUF OUTPUT %u (request): %s", index, strerror(errno));
		return -1;
	}
	return 0;
}

int dqbuf(struct ctx *c, enum v4l2_buf_type type, struct v4l2_buffer *b,
		 struct v4l2_plane *planes)
{
	init_buffer(c, b, planes, type, 0);
	return xioctl(c->vfd, VIDIOC_DQBUF, b);
}

/* Waits until a CAPTURE buffer can be dequeued (POLLIN on the video fd). */
int wait_capture(struct ctx *c, long long deadline)
{
	struct pollfd p = { .fd = c->vfd, .events = POLLIN };
	long long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		return 0;
	}
}

enum expect { EXPECT_ANY, EXPECT_DONE, EXPECT_ERROR };

struct decode_opts {
	int count;
	int timeout_ms;
	enum expect expect;
	int expect_error_from;
	int expect_error_at;
	int hook_at;
	const char *pre_hook;
	const char *post_hook;
	const char *after_hook;
	int streamoff_pending;
};

static int run_hook(const char *what, const char *cmd)
{
	int r;

	if (!cmd)
		return 0;
	say("%s: %s", what, cmd);
	r = system(cmd);
	if (r != 0)
		say("%s exited with status %d", what, r);
	return 0;
}

/* Queues opts->count requests, two at a time at most, and waits for each. */
static int cmd_decode(const struct decode_opts *o)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b;
	struct ctx c;
	int failed = 0, i;

	if (open_nodes(&c) < 0)
		return 2;
	if (set_formats(&c) < 0 || setup_buffers(&c) < 0 || streamon(&c) < 0) {
		close_nodes(&c);
		return 2;
	}

	if (o->streamoff_pending) {
		long long t0;
		int q = 0;

		/* Queue every OUTPUT buffer in its own request, then stop at once. */
		for (i = 0; i < (int)c.n_out; i++) {
			int req = alloc_request(&c);

			if (req < 0 || set_controls(&c, req, (unsigned int)i) < 0 ||
			    queue_output(&c, (unsigned int)i, req, (unsigned int)i) < 0 ||
			    xioctl(req, MEDIA_REQUEST_IOC_QUEUE, NULL) < 0) {
				say("queueing request %d failed: %s", i, strerror(errno));
				failed = 1;
				if (req >= 0)
					close(req);
				break;
			}
			close(req);
			q++;
		}
		t0 = now_ms();
		if (streamoff(&c) < 0)
			failed = 1;
		say("streamoff-pending: %d requests queued, STREAMOFF took %lld ms", q,
		    now_ms() - t0);
		if (now_ms() - t0 > o->timeout_ms) {
			say("STREAMOFF slower than %d ms", o->timeout_ms);
			failed = 1;
		}
		/* Every buffer must be back with userspace now. */
		if (dqbuf(&c, c.cap_type, &b, planes) == 0 || errno != EINVAL) {
			/* After STREAMOFF, DQBUF fails with EINVAL (not streaming). */
			say("DQBUF after STREAMOFF: unexpected %s", strerror(errno));
		}
		t0 = now_ms();
		close_nodes(&c);
		say("close took %lld ms", now_ms() - t0);
		return failed ? 1 : 0;
	}

	for (i = 0; i < o->count; i++) {
		unsigned int idx = (unsigned int)i % c.n_out;
		long long t0, deadline;
		int req, cap_flags, out_flags;
		struct pollfd rp;
		enum expect want = o->expect;
		const char *state;

		if ((o->expect_error_from >= 0 && i >= o->expect_error_from) ||
		    i == o->expect_error_at)
			want = EXPECT_ERROR;
		if (i == o->hook_at)
			run_hook("pre-hook", o->pre_hook);

		req = alloc_request(&c);
		if (req < 0) {
			failed = 1;
			break;
		}
		if (set_controls(&c, req, (unsigned int)i) < 0 ||
		    queue_output(&c, idx, req, (unsigned int)i) < 0) {
			close(req);
			failed = 1;
			break;
		}
		t0 = now_ms();
		if (xioctl(req, MEDIA_REQUEST_IOC_QUEUE, NULL) < 0) {
			say("MEDIA_REQUEST_IOC_QUEUE: %s", strerror(errno));
			close(req);
			failed = 1;
			break;
		}
		if (i == o->hook_at)
			run_hook("post-hook", o->post_hook);

		deadline = t0 + o->timeout_ms;
		rp.fd = req;
		rp.events = POLLPRI;
		rp.revents = 0;
		for (;;) {
			long long left = deadline - now_ms();
			int r;

			r = poll(&rp, 1, left > 0 ? (int)left : 0);
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		if (!(rp.revents & POLLPRI)) {
			say("request %d: not completed within %d ms", i, o->timeout_ms);
			close(req);
			failed = 1;
			break;
		}
		if (dqbuf(&c, c.out_type, &b, planes) < 0) {
			say("request %d: DQBUF OUTPUT: %s", i, strerror(errno));
			close(req);
			failed = 1;
			break;
		}
		out_flags = (int)b.flags;
		/* The CAPTURE buffer is returned together with the request. */
		if (wait_capture(&c, now_ms() + 1000) < 0 ||
		    dqbuf(&c, c.cap_type, &b, planes) < 0) {
			say("request %d: DQBUF CAPTURE: %s", i, strerror(errno));
			close(req);
			failed = 1;
			break;
		}
		cap_flags = (int)b.flags;
		state = cap_flags & V4L2_BUF_FLAG_ERROR ? "ERROR" : "DONE";
		say("request %d: %s after %lld ms (OUTPUT flags 0x%x, CAPTURE flags 0x%x, ts %ld.%06ld)",
		    i, state, now_ms() - t0, out_flags, cap_flags, (long)b.timestamp.tv_sec,
		    (long)b.timestamp.tv_usec);
		if ((want == EXPECT_ERROR && !(cap_flags & V4L2_BUF_FLAG_ERROR)) ||
		    (want == EXPECT_DONE && (cap_flags & V4L2_BUF_FLAG_ERROR))) {
			say("request %d: expected %s", i, want == EXPECT_ERROR ? "ERROR" : "DONE");
			failed = 1;
		}
		/* Give the CAPTURE buffer back for the next request. */
		{
			unsigned int ci = b.index;

			init_buffer(&c, &b, planes, c.cap_type, ci);
			if (xioctl(c.vfd, VIDIOC_QBUF, &b) < 0) {
				say("re-QBUF CAPTURE %u: %s", ci, strerror(errno));
				close(req);
				failed = 1;
				break;
			}
		}
		if (i == o->hook_at)
			run_hook("after-hook", o->after_hook);
		if (xioctl(req, MEDIA_REQUEST_IOC_REINIT, NULL) < 0) {
			say("MEDIA_REQUEST_IOC_REINIT: %s", strerror(errno));
			failed = 1;
		}
		close(req);
	}
	if (streamoff(&c) < 0)
		failed = 1;
	close_nodes(&c);
	say("decode: %d requests, %s", o->count, failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}

/* One coded format whose sequence control carries the bit depth. */
struct depth_case {
	const char *name;
	__u32 fourcc;
	__u32 cid;
	__u32 size;
};

static const struct depth_case depth_cases[] = {
	{ "H.264", V4L2_PIX_FMT_H264_SLICE, V4L2_CID_STATELESS_H264_SPS,
	  sizeof(struct v4l2_ctrl_h264_sps) },
	{ "VP9", V4L2_PIX_FMT_VP9_FRAME, V4L2_CID_STATELESS_VP9_FRAME,
	  sizeof(struct v4l2_ctrl_vp9_frame) },
	{ "AV1", V4L2_PIX_FMT_AV1_FRAME, V4L2_CID_STATELESS_AV1_SEQUENCE,
	  sizeof(struct v4l2_ctrl_av1_sequence) },
};

/* Gets (set = 0) or sets the sequence control; returns the ioctl result. */
static int seq_ctrl(struct ctx *c, const struct depth_case *d, void *payload, int set)
{
	struct v4l2_ext_control ctrl;
	struct v4l2_ext_controls ctrls;

	memset(&ctrl, 0, sizeof(ctrl));
	memset(&ctrls, 0, sizeof(ctrls));
	ctrl.id = d->cid;
	ctrl.size = d->size;
	ctrl.ptr = payload;
	ctrls.which = V4L2_CTRL_WHICH_CUR_VAL;
	ctrls.count = 1;
	ctrls.controls = &ctrl;
	return xioctl(c->vfd, set ? VIDIOC_S_EXT_CTRLS : VIDIOC_G_EXT_CTRLS, &ctrls);
}

static void set_depth(const struct depth_case *d, void *payload, unsigned int depth)
{
	if (d->cid == V4L2_CID_STATELESS_H264_SPS) {
		struct v4l2_ctrl_h264_sps *sps = payload;

		sps->profile_idc = depth > 8 ? 110 : 100;
		sps->bit_depth_luma_minus8 = depth - 8;
		sps->bit_depth_chroma_minus8 = depth - 8;
	} else if (d->cid == V4L2_CID_STATELESS_VP9_FRAME) {
		struct v4l2_ctrl_vp9_frame *f = payload;

		f->profile = depth > 8 ? 2 : 0;
		f->bit_depth = depth;
	} else {
		struct v4l2_ctrl_av1_sequence *s = payload;

		s->seq_profile = depth > 10 ? 2 : 0;
		s->bit_depth = depth;
	}
}

/* The CAPTURE formats offered (space-separated fourccs) and G_FMT's. */
static void cap_formats(struct ctx *c, char *list, size_t len, __u32 *cur)
{
	struct v4l2_fmtdesc fd;
	struct v4l2_format f;
	size_t n = 0;

	list[0] = 0;
	for (fd.index = 0;; fd.index++) {
		memset(&fd.type, 0, sizeof(fd) - sizeof(fd.index));
		fd.type = c->cap_type;
		if (xioctl(c->vfd, VIDIOC_ENUM_FMT, &fd) < 0 || n + 6 > len)
			break;
		n += snprintf(list + n, len - n, "%s%.4s", n ? " " : "",
			      (char *)&fd.pixelformat);
	}
	memset(&f, 0, sizeof(f));
	f.type = c->cap_type;
	*cur = 0;
	if (xioctl(c->vfd, VIDIOC_G_FMT, &f) == 0)
		*cur = c->mplane ? f.fmt.pix_mp.pixelformat : f.fmt.pix.pixelformat;
}

static int depth_expect(struct ctx *c, const struct depth_case *d, unsigned int depth,
			const char *want_list, __u32 want_cur)
{
	char list[64];
	__u32 cur;

	cap_formats(c, list, sizeof(list), &cur);
	if (strcmp(list, want_list) || cur != want_cur) {
		say("bitdepth: %s %u-bit: CAPTURE formats [%s] current %.4s, expected [%s] %.4s",
		    d->name, depth, list, (char *)&cur, want_list, (char *)&want_cur);
		return -1;
	}
	say("bitdepth: %s %u-bit: CAPTURE formats [%s], current %.4s", d->name, depth, list,
	    (char *)&cur);
	return 0;
}

static int depth_one(const struct depth_case *d)
{
	union {
		struct v4l2_ctrl_h264_sps h264;
		struct v4l2_ctrl_vp9_frame vp9;
		struct v4l2_ctrl_av1_sequence av1;
	} u;
	void *payload = &u;
	struct v4l2_format f;
	struct ctx c;
	int failed = 0;

	if (open_nodes(&c) < 0)
		return 2;
	memset(&f, 0, sizeof(f));
	f.type = c.out_type;
	f.fmt.pix_mp.pixelformat = d->fourcc;
	f.fmt.pix_mp.width = WIDTH;
	f.fmt.pix_mp.height = HEIGHT;
	f.fmt.pix_mp.num_planes = 1;
	if (!c.mplane || xioctl(c.vfd, VIDIOC_S_FMT, &f) < 0 ||
	    f.fmt.pix_mp.pixelformat != d->fourcc) {
		say("bitdepth: %s: S_FMT OUTPUT failed", d->name);
		close_nodes(&c);
		return 1;
	}
	memset(&u, 0, sizeof(u));
	if (seq_ctrl(&c, d, payload, 0) < 0) {
		say("bitdepth: %s: G_EXT_CTRLS: %s", d->name, strerror(errno));
		close_nodes(&c);
		return 1;
	}
	failed |= depth_expect(&c, d, 8, "NV12 NM12 YU12", V4L2_PIX_FMT_NV12);
	set_depth(d, payload, 10);
	if (seq_ctrl(&c, d, payload, 1) < 0) {
		say("bitdepth: %s: S_EXT_CTRLS 10-bit: %s", d->name, strerror(errno));
		failed = 1;
	} else {
		failed |= depth_expect(&c, d, 10, "P010", V4L2_PIX_FMT_P010);
	}
	set_depth(d, payload, 12);
	if (seq_ctrl(&c, d, payload, 1) == 0) {
		say("bitdepth: %s: a 12-bit sequence was accepted", d->name);
		failed = 1;
	}
	set_depth(d, payload, 8);
	if (seq_ctrl(&c, d, payload, 1) < 0) {
		say("bitdepth: %s: S_EXT_CTRLS 8-bit: %s", d->name, strerror(errno));
		failed = 1;
	} else {
		failed |= depth_expect(&c, d, 8, "NV12 NM12 YU12", V4L2_PIX_FMT_NV12);
	}
	/* With CAPTURE buffers the depth (and so the format) is fixed. */
	if (reqbufs(&c, c.cap_type, 2) < 0) {
		failed = 1;
	} else {
		set_depth(d, payload, 10);
		errno = 0;
		if (seq_ctrl(&c, d, payload, 1) == 0 || errno != EBUSY) {
			say("bitdepth: %s: 10-bit with CAPTURE buffers: %s, expected EBUSY",
			    d->name, errno ? strerror(errno) : "accepted");
			failed = 1;
		} else {
			say("bitdepth: %s: 10-bit with CAPTURE buffers: EBUSY", d->name);
		}
		reqbufs(&c, c.cap_type, 0);
	}
	close_nodes(&c);
	return failed ? 1 : 0;
}

static int cmd_bitdepth(void)
{
	unsigned int i;
	int failed = 0;

	for (i = 0; i < sizeof(depth_cases) / sizeof(depth_cases[0]); i++)
		failed |= depth_one(&depth_cases[i]);
	say("bitdepth: %s", failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}

int daemon_attach(void)
{
	int fd = open(DAEMON_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		say("open %s: %s (is a daemon attached?)", DAEMON_PATH, strerror(errno));
	return fd;
}

unsigned char msg_buf[DAEDALUS_MSG_MAX_SIZE] __attribute__((aligned(8)));

/* Reads one message within timeout_ms: its size, 0 if none came, -1 on error. */
ssize_t daemon_read(int dfd, int timeout_ms)
{
	struct pollfd p = { .fd = dfd, .events = POLLIN };
	ssize_t n;
	int r;

	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r < 0 ? -1 : 0;
	n = read(dfd, msg_buf, sizeof(msg_buf));
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0)
		say("read %s: %s", DAEMON_PATH, strerror(errno));
	else if ((size_t)n < sizeof(struct daedalus_msg_header))
		say("read %s: short message (%zd bytes)", DAEMON_PATH, n);
	return n;
}

/* Reads until a job arrives within timeout_ms (skipping CTX_CLOSED). */
const struct daedalus_job *daemon_wait_job(int dfd, int timeout_ms)
{
	const struct daedalus_msg_header *h = (const void *)msg_buf;
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		long long left = deadline - now_ms();
		ssize_t n = daemon_read(dfd, left > 0 ? (int)left : 0);

		if (n <= 0)
			return NULL;
		if (h->kind == DAEDALUS_MSG_JOB && (size_t)n >= sizeof(struct daedalus_job))
			return (const void *)msg_buf;
	}
}

int daemon_job_done(int dfd, const struct daedalus_job *j, int status,
			   const char *reason, size_t reason_len)
{
	struct daedalus_job_result res;

	memset(&res, 0, sizeof(res));
	res.job_id = j->job_id;
	res.ctx_id = j->hdr.ctx_id;
	res.status = status;
	memcpy(res.reason, reason, reason_len < sizeof(res.reason) ? reason_len :
								   sizeof(res.reason));
	if (xioctl(dfd, DAEDALUS_IOC_JOB_DONE, &res) < 0) {
		say("DAEDALUS_IOC_JOB_DONE: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Waits for request req_fd to complete and dequeues both buffers; returns the
 * CAPTURE flags (the CAPTURE buffer is queued again), -1 on error.
 */
int wait_request(struct ctx *c, int req_fd, int timeout_ms)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct pollfd rp = { .fd = req_fd, .events = POLLPRI };
	struct v4l2_buffer b;
	int r, flags;

	do {
		r = poll(&rp, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r <= 0 || !(rp.revents & POLLPRI)) {
		say("request not completed within %d ms", timeout_ms);
		return -1;
	}
	if (dqbuf(c, c->out_type, &b, planes) < 0) {
		say("DQBUF OUTPUT: %s", strerror(errno));
		return -1;
	}
	if (wait_capture(c, now_ms() + 1000) < 0 || dqbuf(c, c->cap_type, &b, planes) < 0) {
		say("DQBUF CAPTURE: %s", strerror(errno));
		return -1;
	}
	flags = (int)b.flags;
	init_buffer(c, &b, planes, c->cap_type, b.index);
	if (xioctl(c->vfd, VIDIOC_QBUF, &b) < 0) {
		say("re-QBUF CAPTURE: %s", strerror(errno));
		return -1;
	}
	return flags;
}

/*
 * Queues one request for frame on OUTPUT buffer index, its SPS of bit depth
 * depth; returns its fd.
 */
int queue_request(struct ctx *c, unsigned int index, unsigned int frame,
			 unsigned int depth)
{
	int req = alloc_request(c);

	if (req < 0)
		return -1;
	if (set_controls_depth(c, req, frame, depth) < 0 || queue_output(c, index, req, frame) < 0 ||
	    xioctl(req, MEDIA_REQUEST_IOC_QUEUE, NULL) < 0) {
		say("queueing request %u: %s", frame, strerror(errno));
		close(req);
		return -1;
	}
	return req;
}

/* Opens a context with formats and buffers set and both queues streaming. */
int open_streaming(struct ctx *c)
{
	if (open_nodes(c) < 0)
		return -1;
	if (set_formats(c) < 0 || setup_buffers(c) < 0 || streamon(c) < 0) {
		close_nodes(c);
		return -1;
	}
	return 0;
}

/*
 * Appends the kernel's %pE rendering (ESCAPE_ANY_NP) of byte ch: printable
 * bytes as they are, \n \r \t \v \f \a \e as such, others as octal.
 */
static size_t kernel_escape(char *out, unsigned char ch)
{
	static const char named[] = "\n\r\t\v\f\a\033";
	static const char names[] = "nrtvfae";
	const char *p;

	if (ch >= 0x20 && ch < 0x7f) {
		out[0] = (char)ch;
		return 1;
	}
	p = ch ? memchr(named, ch, sizeof(named) - 1) : NULL;
	if (p) {
		out[0] = '\\';
		out[1] = names[p - named];
		return 2;
	}
	if (!ch) {
		out[0] = '\\';
		out[1] = '0';
		return 2;
	}
	return (size_t)sprintf(out, "\\%03o", ch);
}

/* /dev/kmsg shows control bytes, bytes >= 127 and '\\' as \xNN: undo it. */
static void kmsg_unescape(char *s)
{
	char *o = s;
	unsigned int v;

	while (*s) {
		if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1) {
			*o++ = (char)v;
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
}

/*
 * Reads /dev/kmsg records (from the position kfd was at) until one holds
 * needle; copies its text after needle (up to the end of the record's text,
 * kmsg escapes undone) into out.
 */
static int kmsg_find(int kfd, const char *needle, char *out, size_t len)
{
	char rec[8192];
	long long deadline = now_ms() + 3000;

	while (now_ms() < deadline) {
		ssize_t n = read(kfd, rec, sizeof(rec) - 1);
		char *text, *end, *hit;

		if (n < 0 && errno == EAGAIN) {
			usleep(50 * 1000);
			continue;
		}
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		end = strchr(text, '\n');
		if (end)
			*end = 0;
		kmsg_unescape(text);
		hit = strstr(text, needle);
		if (hit) {
			snprintf(out, len, "%s", hit + strlen(needle));
			return 0;
		}
	}
	return -1;
}

static int cmd_reason(void)
{
	static const char head[] = "esc:\033[31mred\033[0m cr:\r lf:\n tab:\t bel:\a soh:\001 ";
	char reason[DAEDALUS_REASON_LEN], want[DAEDALUS_REASON_LEN * 4 + 1];
	char needle[96], got[1024];
	const struct daedalus_job *j;
	size_t i, w = 0;
	int dfd, kfd, req, flags, failed = 0;
	struct ctx c;

	/* 64 bytes, no NUL: the head, dots, and a last 'Z'. */
	memset(reason, '.', sizeof(reason));
	memcpy(reason, head, sizeof(head) - 1);
	reason[sizeof(reason) - 1] = 'Z';
	for (i = 0; i < sizeof(reason); i++)
		w += kernel_escape(want + w, (unsigned char)reason[i]);
	want[w] = 0;

	dfd = daemon_attach();
	if (dfd < 0)
		return 2;
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kfd < 0 || lseek(kfd, 0, SEEK_END) < 0) {
		say("open /dev/kmsg: %s", strerror(errno));
		close(dfd);
		return 2;
	}
	if (open_streaming(&c) < 0) {
		close(kfd);
		close(dfd);
		return 2;
	}
	req = queue_request(&c, 0, 0, 8);
	j = req < 0 ? NULL : daemon_wait_job(dfd, 5000);
	if (!j) {
		say("reason: no job arrived");
		failed = 1;
		goto out;
	}
	snprintf(needle, sizeof(needle), "job %llu failed (-5): ", (unsigned long long)j->job_id);
	if (daemon_job_done(dfd, j, -EIO, reason, sizeof(reason)) < 0) {
		failed = 1;
		goto out;
	}
	flags = wait_request(&c, req, 3000);
	if (flags < 0 || !(flags & V4L2_BUF_FLAG_ERROR)) {
		say("reason: the failed job's CAPTURE buffer is not ERROR (flags 0x%x)", flags);
		failed = 1;
	}
	if (kmsg_find(kfd, needle, got, sizeof(got)) < 0) {
		say("reason: no kernel log line with \"%s\"", needle);
		failed = 1;
	} else if (strcmp(got, want)) {
		say("reason: logged  [%s]", got);
		say("reason: expected [%s] (the 64 bytes escaped, nothing after)", want);
		failed = 1;
	} else {
		say("reason: logged escaped, all 64 bytes and no more: [%s]", got);
	}
out:
	if (req >= 0)
		close(req);
	streamoff(&c);
	close_nodes(&c);
	close(kfd);
	close(dfd);
	say("reason: %s", failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}

/*
 * One request through the fake daemon: the job must (want_job) or must not
 * arrive; a job is answered with success. Returns 0 when the request ended
 * as expected (DONE with a job, ERROR without).
 */
static int setup_fail_one(struct ctx *c, int dfd, unsigned int frame, unsigned int depth,
			  int want_job)
{
	const struct daedalus_job *j;
	int req, flags, failed = 0;

	req = queue_request(c, frame % c->n_out, frame, depth);
	if (req < 0)
		return -1;
	j = daemon_wait_job(dfd, want_job ? 5000 : 1000);
	if (j) {
		if (!want_job) {
			say("ctrl-setup-fail: request %u (%u-bit SPS) reached the daemon as job %llu",
			    frame, depth, (unsigned long long)j->job_id);
			failed = 1;
		}
		if (daemon_job_done(dfd, j, 0, "", 0) < 0)
			failed = 1;
	} else if (want_job) {
		say("ctrl-setup-fail: request %u: no job arrived", frame);
		failed = 1;
	}
	flags = wait_request(c, req, 4000);
	close(req);
	if (flags < 0)
		return -1;
	say("ctrl-setup-fail: request %u (%u-bit SPS): %s, %s", frame, depth,
	    flags & V4L2_BUF_FLAG_ERROR ? "ERROR" : "DONE", j ? "job sent" : "no job");
	if (!!(flags & V4L2_BUF_FLAG_ERROR) == want_job) {
		say("ctrl-setup-fail: request %u: expected %s", frame, want_job ? "DONE" : "ERROR");
		failed = 1;
	}
	return failed ? -1 : 0;
}

static int cmd_ctrl_setup_fail(void)
{
	struct ctx c;
	int dfd, failed = 0;

	dfd = daemon_attach();
	if (dfd < 0)
		return 2;
	if (open_streaming(&c) < 0) {
		close(dfd);
		return 2;
	}
	failed |= setup_fail_one(&c, dfd, 0, 8, 1) < 0;
	failed |= setup_fail_one(&c, dfd, 1, 10, 0) < 0;
	failed |= setup_fail_one(&c, dfd, 2, 8, 1) < 0;
	streamoff(&c);
	close_nodes(&c);
	close(dfd);
	say("ctrl-setup-fail: %s", failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}

/*
 * PREPARE_BUF of OUTPUT buffer index with data_offset off; returns errno or
 * 0. (A prepared buffer cannot be prepared again: one index per call.)
 */
static int prepare_output(struct ctx *c, unsigned int index, enum v4l2_memory mem, int fd,
			  __u32 length, __u32 off)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b;

	init_buffer(c, &b, planes, c->out_type, index);
	b.memory = mem;
	b.length = 1;
	planes[0].bytesused = 256;
	planes[0].data_offset = off;
	if (mem == V4L2_MEMORY_DMABUF) {
		planes[0].m.fd = fd;
		planes[0].length = length;
	}
	return xioctl(c->vfd, VIDIOC_PREPARE_BUF, &b) < 0 ? errno : 0;
}

static int data_offset_expect(const char *what, int got, int want)
{
	say("data-offset: %s: %s", what, got ? strerror(got) : "accepted");
	if (got != want) {
		say("data-offset: %s: expected %s", what, want ? strerror(want) : "accepted");
		return 1;
	}
	return 0;
}

static int cmd_data_offset(void)
{
	struct v4l2_requestbuffers rb;
	struct v4l2_exportbuffer eb;
	struct ctx exp, imp;
	int failed = 0, fd;

	if (open_nodes(&exp) < 0)
		return 2;
	if (open_nodes(&imp) < 0) {
		close_nodes(&exp);
		return 2;
	}
	if (!exp.mplane || set_formats(&exp) < 0 || set_formats(&imp) < 0 ||
	    reqbufs(&exp, exp.out_type, 2) < 2) {
		failed = 2;
		goto out;
	}
	memset(&eb, 0, sizeof(eb));
	eb.type = exp.out_type;
	eb.index = 1;
	eb.flags = O_RDWR | O_CLOEXEC;
	if (xioctl(exp.vfd, VIDIOC_EXPBUF, &eb) < 0) {
		say("EXPBUF OUTPUT: %s", strerror(errno));
		failed = 2;
		goto out;
	}
	fd = eb.fd;
	memset(&rb, 0, sizeof(rb));
	rb.count = 2;
	rb.type = imp.out_type;
	rb.memory = V4L2_MEMORY_DMABUF;
	if (xioctl(imp.vfd, VIDIOC_REQBUFS, &rb) < 0 || rb.count < 2) {
		say("REQBUFS DMABUF OUTPUT: %s", strerror(errno));
		close(fd);
		failed = 2;
		goto out;
	}
	failed |= data_offset_expect("DMABUF data_offset 16",
				     prepare_output(&imp, 0, V4L2_MEMORY_DMABUF, fd,
						    (__u32)lseek(fd, 0, SEEK_END), 16),
				     EINVAL);
	failed |= data_offset_expect("DMABUF data_offset 0",
				     prepare_output(&imp, 1, V4L2_MEMORY_DMABUF, fd,
						    (__u32)lseek(fd, 0, SEEK_END), 0),
				     0);
	failed |= data_offset_expect("MMAP data_offset 16",
				     prepare_output(&exp, 0, V4L2_MEMORY_MMAP, -1, 0, 16), EINVAL);
	failed |= data_offset_expect("MMAP data_offset 0",
				     prepare_output(&exp, 1, V4L2_MEMORY_MMAP, -1, 0, 0), 0);
	close(fd);
out:
	close_nodes(&imp);
	close_nodes(&exp);
	say("data-offset: %s", failed ? "FAILED" : "ok");
	return failed;
}

static int cmd_ctx_closed(int n)
{
	const struct daedalus_msg_header *h = (const void *)msg_buf;
	unsigned char *seen;
	__u32 lo = UINT32_MAX, hi = 0, id;
	int dfd, i, got = 0, dup = 0, other = 0, failed = 0;
	long long t0;
	ssize_t r;

	dfd = daemon_attach();
	if (dfd < 0)
		return 2;
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		int fd = open(video_path, O_RDWR | O_CLOEXEC);

		if (fd < 0) {
			say("ctx-closed: open %s #%d: %s", video_path, i, strerror(errno));
			close(dfd);
			return 2;
		}
		close(fd);
	}
	say("ctx-closed: %d opens and closes in %lld ms, none read yet", n, now_ms() - t0);
	seen = calloc((size_t)n * 2 + 1, 1);
	if (!seen) {
		close(dfd);
		return 2;
	}
	while ((r = daemon_read(dfd, 0)) > 0) {
		if (h->kind != DAEDALUS_MSG_CTX_CLOSED) {
			other++;
			continue;
		}
		got++;
		id = h->ctx_id;
		lo = id < lo ? id : lo;
		hi = id > hi ? id : hi;
		/* Ids are consecutive: index them from the first one read. */
		if (id - lo < (__u32)n * 2 && seen[id - lo]++)
			dup++;
	}
	if (r < 0)
		failed = 1;
	say("ctx-closed: read %d CTX_CLOSED (ids %u..%u, %d duplicates), %d other messages",
	    got, got ? lo : 0, got ? hi : 0, dup, other);
	if (got != n || dup || hi - lo + 1 != (__u32)n) {
		say("ctx-closed: expected %d distinct consecutive ids", n);
		failed = 1;
	}
	free(seen);
	close(dfd);
	say("ctx-closed: %s", failed ? "FAILED" : "ok");
	return failed;
}

struct size {
	__u32 w, h;
};

/* Picture sizes of the shared test vectors, and a few edges. */
static const struct size vector_sizes[] = {
	{ 1920, 1080 }, { 642, 362 }, { 12, 12 }, { 16, 16 }, { 176, 144 },
	{ 352, 288 }, { 16, 16368 }, { 1, 1 }, { 4096, 2304 }, { 8192, 4352 },
};

static int in_range(const struct v4l2_frmsize_stepwise *r, __u32 w, __u32 h)
{
	return w >= r->min_width && w <= r->max_width && h >= r->min_height &&
	       h <= r->max_height;
}

/* TRY_FMT (try) or S_FMT OUTPUT of fourcc at w x h, checked against r. */
static int framesize_fmt(struct ctx *c, __u32 fourcc, const struct v4l2_frmsize_stepwise *r,
			 __u32 w, __u32 h, int try)
{
	const char *op = try ? "TRY_FMT" : "S_FMT";
	struct v4l2_format f;
	__u32 gw, gh;

	memset(&f, 0, sizeof(f));
	f.type = c->out_type;
	f.fmt.pix_mp.pixelformat = fourcc;
	f.fmt.pix_mp.width = w;
	f.fmt.pix_mp.height = h;
	f.fmt.pix_mp.num_planes = 1;
	if (xioctl(c->vfd, try ? VIDIOC_TRY_FMT : VIDIOC_S_FMT, &f) < 0) {
		say("framesizes: %.4s %ux%u: %s: %s", (char *)&fourcc, w, h, op, strerror(errno));
		return 1;
	}
	gw = f.fmt.pix_mp.width;
	gh = f.fmt.pix_mp.height;
	if (f.fmt.pix_mp.pixelformat != fourcc || !in_range(r, gw, gh) ||
	    (in_range(r, w, h) && (gw != w || gh != h)) ||
	    (w <= r->max_width && gw < w) || (h <= r->max_height && gh < h)) {
		say("framesizes: %.4s %ux%u: %s gave %.4s %ux%u (range %ux%u - %ux%u)",
		    (char *)&fourcc, w, h, op, (char *)&f.fmt.pix_mp.pixelformat, gw, gh,
		    r->min_width, r->min_height, r->max_width, r->max_height);
		return 1;
	}
	if (try)
		return 0;
	/* CAPTURE follows: the picture in whole macroblocks. */
	memset(&f, 0, sizeof(f));
	f.type = c->cap_type;
	if (xioctl(c->vfd, VIDIOC_G_FMT, &f) < 0) {
		say("framesizes: G_FMT CAPTURE: %s", strerror(errno));
		return 1;
	}
	if (f.fmt.pix_mp.width < gw || f.fmt.pix_mp.height < gh || f.fmt.pix_mp.width % 16 ||
	    f.fmt.pix_mp.height % 16 ||
	    f.fmt.pix_mp.plane_fmt[0].bytesperline < f.fmt.pix_mp.width) {
		say("framesizes: %.4s %ux%u: CAPTURE %ux%u bytesperline %u", (char *)&fourcc, gw,
		    gh, f.fmt.pix_mp.width, f.fmt.pix_mp.height,
		    f.fmt.pix_mp.plane_fmt[0].bytesperline);
		return 1;
	}
	return 0;
}

static int cmd_framesizes(void)
{
	struct v4l2_frmsizeenum fs;
	struct v4l2_fmtdesc fd;
	struct ctx c;
	unsigned int i;
	int failed = 0, nfmt = 0;

	if (open_nodes(&c) < 0)
		return 2;
	if (!c.mplane) {
		close_nodes(&c);
		return 2;
	}
	for (fd.index = 0;; fd.index++) {
		const struct v4l2_frmsize_stepwise *r = &fs.stepwise;
		__u32 fourcc, want_min;
		int bad = 0;

		memset(&fd.type, 0, sizeof(fd) - sizeof(fd.index));
		fd.type = c.out_type;
		if (xioctl(c.vfd, VIDIOC_ENUM_FMT, &fd) < 0)
			break;
		nfmt++;
		fourcc = fd.pixelformat;
		memset(&fs, 0, sizeof(fs));
		fs.pixel_format = fourcc;
		if (xioctl(c.vfd, VIDIOC_ENUM_FRAMESIZES, &fs) < 0) {
			say("framesizes: %.4s: ENUM_FRAMESIZES: %s", (char *)&fourcc,
			    strerror(errno));
			failed = 1;
			continue;
		}
		/* The MPEG-2 vectors go down to 12x12; the others to 16x16. */
		want_min = fourcc == V4L2_PIX_FMT_MPEG2_SLICE ? 12 : 16;
		say("framesizes: %.4s: %s %ux%u - %ux%u step %u/%u", (char *)&fourcc,
		    fs.type == V4L2_FRMSIZE_TYPE_CONTINUOUS ? "continuous" :
		    fs.type == V4L2_FRMSIZE_TYPE_STEPWISE   ? "stepwise" :
							      "discrete",
		    r->min_width, r->min_height, r->max_width, r->max_height, r->step_width,
		    r->step_height);
		if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE || r->step_width != 1 ||
		    r->step_height != 1 || r->min_width > want_min || r->min_height > want_min) {
			say("framesizes: %.4s: expected steps of 1 from at most %ux%u",
			    (char *)&fourcc, want_min, want_min);
			bad = 1;
		}
		for (i = 0; i < sizeof(vector_sizes) / sizeof(vector_sizes[0]); i++) {
			__u32 w = vector_sizes[i].w, h = vector_sizes[i].h;

			bad |= framesize_fmt(&c, fourcc, r, w, h, 1);
			bad |= framesize_fmt(&c, fourcc, r, w, h, 0);
		}
		if (!bad)
			say("framesizes: %.4s: TRY_FMT/S_FMT keep the %zu sizes when in range",
			    (char *)&fourcc, sizeof(vector_sizes) / sizeof(vector_sizes[0]));
		failed |= bad;
	}
	close_nodes(&c);
	if (!nfmt)
		failed = 1;
	say("framesizes: %d OUTPUT formats, %s", nfmt, failed ? "FAILED" : "ok");
	return failed;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: stress open-close -d VIDEO -m MEDIA [-n N]\n"
		"       stress decode -d VIDEO -m MEDIA [-n N] [-t TIMEOUT_MS]\n"
		"              [--expect any|done|error] [--expect-error-from I]\n"
		"              [--expect-error-at I] [--hook-at I] [--pre-hook CMD]\n"
		"              [--post-hook CMD] [--after-hook CMD]\n"
		"              [--streamoff-pending]\n"
		"       stress bitdepth -d VIDEO -m MEDIA\n"
		"       stress framesizes -d VIDEO -m MEDIA\n"
		"       stress data-offset -d VIDEO -m MEDIA\n"
		"       stress ctx-closed -d VIDEO -m MEDIA -n N\n"
		"       stress reason -d VIDEO -m MEDIA\n"
		"       stress ctrl-setup-fail -d VIDEO -m MEDIA\n"
		"       stress sizes|hold-error|read-faults|misbehave|ctx-ids|ctrl-stall|ctrl-stall-run|\n"
		"              faults|ctx-faults|unbind -d VIDEO -m MEDIA\n"
		"       stress close-race|abort-race|fairness|hold-request|hold-contexts -d VIDEO -m MEDIA -n N\n"
		"              (stress-hostile.c says what each checks)\n"
		"       stress preempt-close -d VIDEO -m MEDIA -n N\n"
		"       stress failnth|probe-failnth|abort-window|create-race -d VIDEO -m MEDIA\n"
		"              (stress-inject.c says what each checks)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ "expect-error-from", required_argument, NULL, 'E' },
		{ "hook-at", required_argument, NULL, 'H' },
		{ "pre-hook", required_argument, NULL, 'P' },
		{ "post-hook", required_argument, NULL, 'Q' },
		{ "after-hook", required_argument, NULL, 'A' },
		{ "expect-error-at", required_argument, NULL, 'I' },
		{ "streamoff-pending", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct decode_opts o = {
		.count = 4,
		.timeout_ms = 5000,
		.expect = EXPECT_ANY,
		.expect_error_from = -1,
		.expect_error_at = -1,
		.hook_at = -1,
	};
	const char *cmd;
	int opt;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "d:m:n:t:", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			video_path = optarg;
			break;
		case 'm':
			media_path = optarg;
			break;
		case 'n':
			o.count = atoi(optarg);
			break;
		case 't':
			o.timeout_ms = atoi(optarg);
			break;
		case 'e':
			if (!strcmp(optarg, "any"))
				o.expect = EXPECT_ANY;
			else if (!strcmp(optarg, "done"))
				o.expect = EXPECT_DONE;
			else if (!strcmp(optarg, "error"))
				o.expect = EXPECT_ERROR;
			else
				usage();
			break;
		case 'E':
			o.expect_error_from = atoi(optarg);
			break;
		case 'H':
			o.hook_at = atoi(optarg);
			break;
		case 'P':
			o.pre_hook = optarg;
			break;
		case 'Q':
			o.post_hook = optarg;
			break;
		case 'S':
			o.streamoff_pending = 1;
			break;
		case 'A':
			o.after_hook = optarg;
			break;
		case 'I':
			o.expect_error_at = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!video_path || !media_path)
		usage();
	if (!strcmp(cmd, "open-close"))
		return cmd_open_close(o.count);
	if (!strcmp(cmd, "decode"))
		return cmd_decode(&o);
	if (!strcmp(cmd, "bitdepth"))
		return cmd_bitdepth();
	if (!strcmp(cmd, "data-offset"))
		return cmd_data_offset();
	if (!strcmp(cmd, "framesizes"))
		return cmd_framesizes();
	if (!strcmp(cmd, "reason"))
		return cmd_reason();
	if (!strcmp(cmd, "ctx-closed"))
		return cmd_ctx_closed(o.count);
	if (!strcmp(cmd, "ctrl-setup-fail"))
		return cmd_ctrl_setup_fail();
	opt = hostile_main(cmd, o.count);
	if (opt < 0)
		opt = inject_main(cmd, o.count);
	if (opt >= 0)
		return opt;
	usage();
	return 2;
}
