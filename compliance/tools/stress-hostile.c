// SPDX-License-Identifier: GPL-2.0
/*
 * stress-hostile: the kmod-stress commands that play a hostile client or a
 * misbehaving daemon (#14). Each needs /dev/daedalus free (no daedalusd).
 *
 *   stress sizes            OUTPUT sizeimage clamped (<= 32 MiB), CREATE_BUFS
 *                           of 1 GiB refused on both queues, twice the
 *                           CAPTURE need accepted (v4l2-compliance asks it)
 *   stress hold-error       a failed slice of a held CAPTURE buffer: the
 *                           last slice's request and the buffer end ERROR
 *   stress read-faults      read() into a too small buffer (EMSGSIZE) and into
 *                           unmapped memory (EFAULT) loses no job
 *   stress misbehave        wrong job/ctx ids, bytesused past the plane,
 *                           EXPBUF out of range and of a closed context, a
 *                           second attach (EBUSY), attach without
 *                           CAP_SYS_ADMIN (EPERM)
 *   stress close-race -n N  N contexts closed while their job is answered at
 *                           once by a daemon thread (KASAN: no use-after-free)
 *   stress abort-race -n N  N STREAMOFFs right after queueing, the daemon never
 *                           answering: each returns well within the timeout
 *   stress ctx-ids          context ids stay distinct across the cyclic wrap
 *                           (debugfs next_ctx_id)
 *   stress ctrl-stall       a compound control whose payload faults forever
 *                           (userfaultfd) blocks only its own context: another
 *                           context opens, sets formats and closes meanwhile
 *   stress ctrl-stall-run   the same stall while that context has a job
 *                           queued and the daemon answers: its job still
 *                           runs, answers return at once, others decode on
 *   stress fairness -n S    context A's jobs take longer than the deadline,
 *                           B's are instant: over S seconds > 90 % of B's
 *                           requests are DONE, and B's jobs are with the
 *                           daemon while A's are (two cores)
 *   stress faults           the fault-injection parameters: fail every Nth,
 *                           wrong timestamp, latency (+ jitter), hang the Nth
 *   stress ctx-faults       the same knobs per context (debugfs ctx/<id>/):
 *                           fail every 2nd job of A while B is left alone,
 *                           and reorder: every 2nd job of a context decodes
 *                           into the second queued CAPTURE buffer
 *   stress unbind           sysfs unbind with the daemon and a context open:
 *                           the daemon reads ENODEV, everything closes, bind
 *                           brings the device back
 *   stress hold-request -n S  allocate a request, close everything else, hold
 *                           the request fd S seconds (rmmod must be refused)
 *   stress hold-contexts -n N  with daedalusd: N contexts decode a request
 *                           each, then close together on SIGUSR1
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/userfaultfd.h>
#include <linux/v4l2-controls.h>

#include "stress.h"

#define PARAMS "/sys/module/daedalus/parameters/"
#define DEBUGFS "/sys/kernel/debug/daedalus/"

static int failed;

static void expect(int ok, const char *what)
{
	say("  %s: %s", ok ? "ok" : "FAILED", what);
	if (!ok)
		failed = 1;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		say("open %s: %s", path, strerror(errno));
		return -1;
	}
	n = write(fd, val, strlen(val));
	close(fd);
	if (n < 0) {
		say("write %s to %s: %s", val, path, strerror(errno));
		return -1;
	}
	return 0;
}

static int set_param(const char *name, unsigned int val)
{
	char path[128], v[16];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	snprintf(v, sizeof(v), "%u", val);
	return write_file(path, v);
}

static unsigned int job_timeout_ms(int dfd)
{
	struct daedalus_info info;

	memset(&info, 0, sizeof(info));
	if (xioctl(dfd, DAEDALUS_IOC_INFO, &info) < 0)
		return 2000;
	return info.job_timeout_ms;
}

/* Waits for request req_fd and dequeues its OUTPUT buffer only. */
static int wait_output(struct ctx *c, int req_fd, int timeout_ms)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct pollfd rp = { .fd = req_fd, .events = POLLPRI };
	struct v4l2_buffer b;
	int r;

	do {
		r = poll(&rp, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	if (dqbuf(c, c->out_type, &b, planes) < 0)
		return -1;
	return (int)b.flags;
}

/* CREATE_BUFS of one MMAP buffer of plane size sz on queue type. */
static int create_one(struct ctx *c, enum v4l2_buf_type type, __u32 sz)
{
	struct v4l2_create_buffers cb;

	memset(&cb, 0, sizeof(cb));
	cb.count = 1;
	cb.memory = V4L2_MEMORY_MMAP;
	cb.format.type = type;
	if (xioctl(c->vfd, VIDIOC_G_FMT, &cb.format) < 0)
		return -errno;
	cb.format.fmt.pix_mp.plane_fmt[0].sizeimage = sz;
	return xioctl(c->vfd, VIDIOC_CREATE_BUFS, &cb) < 0 ? -errno : 0;
}

static int cmd_sizes(void)
{
	static const struct {
		__u32 w, h;
	} sizes[] = { { 320, 240 }, { 4096, 2304 } };
	struct v4l2_format f;
	struct ctx c;
	unsigned int i;
	__u32 need;
	int r;

	if (open_nodes(&c) < 0)
		return 2;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&f, 0, sizeof(f));
		f.type = c.out_type;
		f.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_H264_SLICE;
		f.fmt.pix_mp.width = sizes[i].w;
		f.fmt.pix_mp.height = sizes[i].h;
		f.fmt.pix_mp.num_planes = 1;
		f.fmt.pix_mp.plane_fmt[0].sizeimage = UINT32_MAX;
		r = xioctl(c.vfd, VIDIOC_S_FMT, &f);
		say("S_FMT OUTPUT %ux%u sizeimage 4 GiB: %s, sizeimage %u", sizes[i].w,
		    sizes[i].h, r < 0 ? strerror(errno) : "ok", f.fmt.pix_mp.plane_fmt[0].sizeimage);
		expect(!r && f.fmt.pix_mp.plane_fmt[0].sizeimage <= 32U << 20 &&
			       f.fmt.pix_mp.plane_fmt[0].sizeimage >= 256U << 10,
		       "OUTPUT sizeimage clamped into [256 KiB, 32 MiB]");
	}
	if (set_formats(&c) < 0) {
		close_nodes(&c);
		return 2;
	}
	r = create_one(&c, c.out_type, 1U << 30);
	expect(r == -EINVAL, "CREATE_BUFS OUTPUT 1 GiB refused with EINVAL");
	r = create_one(&c, c.cap_type, 1U << 30);
	expect(r == -EINVAL, "CREATE_BUFS CAPTURE 1 GiB refused with EINVAL");
	memset(&f, 0, sizeof(f));
	f.type = c.cap_type;
	xioctl(c.vfd, VIDIOC_G_FMT, &f);
	need = f.fmt.pix_mp.plane_fmt[0].sizeimage;
	r = create_one(&c, c.cap_type, need * 2);
	expect(!r, "CREATE_BUFS CAPTURE of twice the need accepted");
	r = create_one(&c, c.cap_type, need / 2);
	expect(r == -EINVAL, "CREATE_BUFS CAPTURE of half the need refused");
	close_nodes(&c);
	return failed;
}

static int cmd_hold_error(void)
{
	const struct daedalus_job *j;
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b;
	int dfd, req0 = -1, req1 = -1, flags;
	struct ctx c;

	dfd = daemon_attach();
	if (dfd < 0)
		return 2;
	if (open_streaming(&c) < 0) {
		close(dfd);
		return 2;
	}
	/* Two slices of one picture: same timestamp, the first holds. */
	out_timestamp_us = 40000;
	out_extra_flags = V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF;
	req0 = queue_request(&c, 0, 0, 8);
	j = req0 < 0 ? NULL : daemon_wait_job(dfd, 5000);
	if (!j) {
		say("hold-error: no job for slice 0");
		failed = 1;
		goto out;
	}
	expect(j->flags & DAEDALUS_JOB_FL_HOLD_CAPTURE_BUF, "slice 0's job holds CAPTURE");
	daemon_job_done(dfd, j, -EIO, "slice 0 fails", 13);
	flags = wait_output(&c, req0, 3000);
	expect(flags >= 0 && (flags & V4L2_BUF_FLAG_ERROR), "slice 0's OUTPUT is ERROR");
	init_buffer(&c, &b, planes, c.cap_type, 0);
	expect(dqbuf(&c, c.cap_type, &b, planes) < 0 && errno == EAGAIN,
	       "the held CAPTURE buffer is not returned yet");

	out_extra_flags = 0;
	req1 = queue_request(&c, 1, 1, 8);
	j = req1 < 0 ? NULL : daemon_wait_job(dfd, 5000);
	if (!j) {
		say("hold-error: no job for slice 1");
		failed = 1;
		goto out;
	}
	expect(j->flags & DAEDALUS_JOB_FL_DST_CONTINUED, "slice 1 continues the held buffer");
	daemon_job_done(dfd, j, 0, "", 0);
	flags = wait_output(&c, req1, 3000);
	expect(flags >= 0 && (flags & V4L2_BUF_FLAG_ERROR),
	       "slice 1's OUTPUT is ERROR too: the picture failed");
	if (wait_capture(&c, now_ms() + 2000) < 0 || dqbuf(&c, c.cap_type, &b, planes) < 0) {
		say("hold-error: DQBUF CAPTURE: %s", strerror(errno));
		failed = 1;
	} else {
		say("hold-error: CAPTURE flags 0x%x", b.flags);
		expect(b.flags & V4L2_BUF_FLAG_ERROR, "the picture's CAPTURE buffer is ERROR");
	}
out:
	out_timestamp_us = -1;
	out_extra_flags = 0;
	if (req0 >= 0)
		close(req0);
	if (req1 >= 0)
		close(req1);
	streamoff(&c);
	close_nodes(&c);
	close(dfd);
	return failed;
}

static int cmd_read_faults(void)
{
	const struct daedalus_job *j;
	struct pollfd p;
	char small[8];
	void *bad;
	int dfd, req, flags;
	ssize_t n;
	struct ctx c;

	dfd = daemon_attach();
	if (dfd < 0)
		return 2;
	bad = mmap(NULL, DAEDALUS_MSG_MAX_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad == MAP_FAILED || open_streaming(&c) < 0) {
		close(dfd);
		return 2;
	}
	req = queue_request(&c, 0, 0, 8);
	p.fd = dfd;
	p.events = POLLIN;
	expect(req >= 0 && poll(&p, 1, 5000) == 1, "a job is ready to read");
	n = read(dfd, small, sizeof(small));
	expect(n < 0 && errno == EMSGSIZE, "read into 8 bytes: EMSGSIZE");
	n = read(dfd, bad, DAEDALUS_MSG_MAX_SIZE);
	expect(n < 0 && errno == EFAULT, "read into unmapped memory: EFAULT");
	j = daemon_wait_job(dfd, 1000);
	expect(j != NULL, "the job is still there after EMSGSIZE and EFAULT");
	if (j) {
		daemon_job_done(dfd, j, 0, "", 0);
		flags = wait_request(&c, req, 3000);
		expect(flags >= 0 && !(flags & V4L2_BUF_FLAG_ERROR), "and completes DONE");
	}
	if (req >= 0)
		close(req);
	streamoff(&c);
	close_nodes(&c);
	munmap(bad, DAEDALUS_MSG_MAX_SIZE);
	close(dfd);
	return failed;
}

static int job_done_raw(int dfd, __u64 job, __u32 ctx_id, int status, __u32 used)
{
	struct daedalus_job_result res;
	unsigned int i;

	memset(&res, 0, sizeof(res));
	res.job_id = job;
	res.ctx_id = ctx_id;
	res.status = status;
	for (i = 0; i < DAEDALUS_MAX_PLANES; i++)
		res.bytesused[i] = used;
	return xioctl(dfd, DAEDALUS_IOC_JOB_DONE, &res) < 0 ? -errno : 0;
}

static int expbuf(int dfd, __u32 ctx_id, __u32 queue, __u32 index, __u32 plane)
{
	struct daedalus_expbuf e;

	memset(&e, 0, sizeof(e));
	e.ctx_id = ctx_id;
	e.queue = queue;
	e.index = index;
	e.plane = plane;
	e.flags = O_RDWR | O_CLOEXEC;
	if (xioctl(dfd, DAEDALUS_IOC_EXPBUF, &e) < 0)
		return -errno;
	close(e.fd);
	return 0;
}

/* In a child: drop CAP_SYS_ADMIN, stay root, open /dev/daedalus. */
static int attach_without_cap(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		memset(d, 0, sizeof(d));
		if (syscall(SYS_capget, &h, d) < 0)
			_exit(3);
		d[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(3);
		if (open(DAEMON_PATH, O_RDWR | O_CLOEXEC) >= 0)
			_exit(0);
		_exit(errno == EPERM ? 1 : 2);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int cmd_misbehave(void)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	const struct daedalus_job *j;
	struct v4l2_buffer b;
	__u32 closed_id;
	int dfd, req, r, flags;
	struct ctx c, gone;

	dfd = daemon_attach();
	if (dfd < 0)
		return 2;
	r = open(DAEMON_PATH, O_RDWR | O_CLOEXEC);
	expect(r < 0 && errno == EBUSY, "a second attach: EBUSY");
	if (r >= 0)
		close(r);
	r = attach_without_cap();
	expect(r == 1, "attach without CAP_SYS_ADMIN: EPERM");

	/* A context that is closed again: its id must be dead for EXPBUF. */
	if (open_streaming(&gone) < 0 || open_streaming(&c) < 0) {
		close(dfd);
		return 2;
	}
	req = queue_request(&gone, 0, 0, 8);
	j = req < 0 ? NULL : daemon_wait_job(dfd, 5000);
	if (!j) {
		say("misbehave: no job");
		close(dfd);
		return 2;
	}
	closed_id = j->hdr.ctx_id;
	daemon_job_done(dfd, j, 0, "", 0);
	wait_request(&gone, req, 3000);
	close(req);
	streamoff(&gone);
	close_nodes(&gone);
	r = expbuf(dfd, closed_id, DAEDALUS_QUEUE_CAPTURE, 0, 0);
	expect(r == -ENOENT, "EXPBUF of a closed context: ENOENT");

	req = queue_request(&c, 0, 0, 8);
	j = req < 0 ? NULL : daemon_wait_job(dfd, 5000);
	if (!j) {
		say("misbehave: no job");
		close(dfd);
		return 2;
	}
	r = expbuf(dfd, j->hdr.ctx_id, DAEDALUS_QUEUE_CAPTURE, 1000, 0);
	expect(r == -EINVAL, "EXPBUF of buffer index 1000: EINVAL");
	r = expbuf(dfd, j->hdr.ctx_id, DAEDALUS_QUEUE_CAPTURE, 0, 7);
	expect(r == -EINVAL, "EXPBUF of plane 7: EINVAL");
	r = expbuf(dfd, j->hdr.ctx_id, 9, 0, 0);
	expect(r == -EINVAL, "EXPBUF of queue 9: EINVAL");
	r = expbuf(dfd, 0xfffffff0U, DAEDALUS_QUEUE_CAPTURE, 0, 0);
	expect(r == -ENOENT, "EXPBUF of context 0xfffffff0: ENOENT");
	r = job_done_raw(dfd, j->job_id + 1000, j->hdr.ctx_id, 0, 0);
	expect(r == -ENOENT, "JOB_DONE with a wrong job id: ENOENT");
	r = job_done_raw(dfd, j->job_id, j->hdr.ctx_id + 1, 0, 0);
	expect(r == -ENOENT, "JOB_DONE with a wrong context id: ENOENT");
	r = job_done_raw(dfd, j->job_id, j->hdr.ctx_id, 0, UINT32_MAX);
	expect(!r, "JOB_DONE with bytesused past the plane: accepted");
	flags = wait_output(&c, req, 3000);
	init_buffer(&c, &b, planes, c.cap_type, 0);
	if (flags < 0 || wait_capture(&c, now_ms() + 2000) < 0 ||
	    dqbuf(&c, c.cap_type, &b, planes) < 0) {
		say("misbehave: request or CAPTURE did not complete");
		failed = 1;
	} else {
		say("misbehave: CAPTURE plane 0 bytesused %u of %u", planes[0].bytesused,
		    planes[0].length);
		expect(planes[0].bytesused <= planes[0].length,
		       "bytesused clamped to the plane's length");
	}
	close(req);
	streamoff(&c);
	close_nodes(&c);
	close(dfd);
	return failed;
}

struct answerer {
	int dfd;
	volatile int stop;
	int answer;
	unsigned long jobs;
};

/* Fake daemon thread: reads every job and answers it at once (or never). */
static void *answer_loop(void *arg)
{
	struct answerer *a = arg;
	static unsigned char buf[DAEDALUS_MSG_MAX_SIZE] __attribute__((aligned(8)));
	const struct daedalus_job *j = (const void *)buf;
	struct pollfd p = { .fd = a->dfd, .events = POLLIN };

	while (!a->stop) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		if (read(a->dfd, buf, sizeof(buf)) <= 0 || j->hdr.kind != DAEDALUS_MSG_JOB)
			continue;
		a->jobs++;
		if (a->answer)
			job_done_raw(a->dfd, j->job_id, j->hdr.ctx_id, 0, 0);
	}
	return NULL;
}

static int race(int n, int answer)
{
	struct answerer a = { .answer = answer };
	long long worst = 0, t;
	unsigned int tmo;
	pthread_t th;
	struct ctx c;
	int i, req;

	a.dfd = daemon_attach();
	if (a.dfd < 0)
		return 2;
	tmo = job_timeout_ms(a.dfd);
	pthread_create(&th, NULL, answer_loop, &a);
	for (i = 0; i < n; i++) {
		if (open_streaming(&c) < 0) {
			failed = 1;
			break;
		}
		req = queue_request(&c, 0, (unsigned int)i, 8);
		if (i & 1)
			usleep((useconds_t)(i % 7) * 100);
		t = now_ms();
		if (answer) {
			/* Close with the job in flight or being answered. */
			close_nodes(&c);
		} else {
			streamoff(&c);
			close_nodes(&c);
		}
		t = now_ms() - t;
		worst = t > worst ? t : worst;
		if (req >= 0)
			close(req);
	}
	a.stop = 1;
	pthread_join(th, NULL);
	say("%s: %d contexts, %lu jobs seen by the daemon, slowest %s %lld ms (timeout %u ms)",
	    answer ? "close-race" : "abort-race", i, a.jobs, answer ? "close" : "STREAMOFF+close",
	    worst, tmo);
	expect(i == n, "every context opened and streamed");
	expect(worst < (long long)tmo / 2, "no close or STREAMOFF waited for the job timeout");
	close(a.dfd);
	return failed;
}

/* The live context ids (debugfs contexts): count, and whether all differ. */
static int live_ids(unsigned int *ids, int max)
{
	FILE *f = fopen(DEBUGFS "contexts", "r");
	int n = 0;

	if (!f) {
		say("open " DEBUGFS "contexts: %s", strerror(errno));
		return -1;
	}
	while (n < max && fscanf(f, "%u", &ids[n]) == 1)
		n++;
	fclose(f);
	return n;
}

static int cmd_ctx_ids(void)
{
	unsigned int ids[64];
	int fds[4], i, k, n, dup = 0;
	char v[16];

	fds[0] = open(video_path, O_RDWR | O_CLOEXEC);
	n = live_ids(ids, 64);
	if (fds[0] < 0 || n < 1)
		return 2;
	/* Aim the allocator at the live id, then at the end of the range. */
	snprintf(v, sizeof(v), "%u", ids[n - 1]);
	write_file(DEBUGFS "next_ctx_id", v);
	fds[1] = open(video_path, O_RDWR | O_CLOEXEC);
	snprintf(v, sizeof(v), "%d", INT_MAX - 1);
	write_file(DEBUGFS "next_ctx_id", v);
	fds[2] = open(video_path, O_RDWR | O_CLOEXEC);
	fds[3] = open(video_path, O_RDWR | O_CLOEXEC);
	n = live_ids(ids, 64);
	for (i = 0; i < n; i++) {
		say("ctx-ids: live context %u", ids[i]);
		for (k = 0; k < i; k++)
			dup += ids[i] == ids[k];
	}
	expect(fds[1] >= 0 && fds[2] >= 0 && fds[3] >= 0, "four contexts open");
	expect(n == 4 && !dup, "four live contexts, four distinct ids across the wrap");
	for (i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return failed;
}

/*
 * A page whose first touch faults until released (userfaultfd): *uffd gets
 * the descriptor. NULL (and said why) when userfaultfd is not available.
 */
static void *faulting_page(const char *who, int *uffd)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	*uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (*uffd < 0 || ioctl(*uffd, UFFDIO_API, &api) < 0) {
		say("%s: userfaultfd: %s", who, strerror(errno));
		return NULL;
	}
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (unsigned long)p;
	reg.range.len = (unsigned long)page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (p == MAP_FAILED || ioctl(*uffd, UFFDIO_REGISTER, &reg) < 0) {
		say("%s: UFFDIO_REGISTER: %s", who, strerror(errno));
		return NULL;
	}
	return p;
}

/* Lets the faulting copy go on (a zero page). */
static void release_page(int uffd, void *p)
{
	struct uffdio_zeropage zp;

	memset(&zp, 0, sizeof(zp));
	zp.range.start = (unsigned long)p;
	zp.range.len = (unsigned long)sysconf(_SC_PAGESIZE);
	ioctl(uffd, UFFDIO_ZEROPAGE, &zp);
}

struct stalled {
	int vfd;
	void *payload;
	int ret;
	int err;
};

static void *stall_ctrl(void *arg)
{
	struct stalled *s = arg;
	struct v4l2_ext_controls cs;
	struct v4l2_ext_control ctl;

	memset(&cs, 0, sizeof(cs));
	memset(&ctl, 0, sizeof(ctl));
	ctl.id = V4L2_CID_STATELESS_H264_SPS;
	ctl.size = sizeof(struct v4l2_ctrl_h264_sps);
	ctl.ptr = s->payload;
	cs.which = V4L2_CTRL_WHICH_CUR_VAL;
	cs.count = 1;
	cs.controls = &ctl;
	s->ret = ioctl(s->vfd, VIDIOC_S_EXT_CTRLS, &cs);
	s->err = errno;
	return NULL;
}

static int cmd_ctrl_stall(void)
{
	struct stalled s = { .ret = 1 };
	long long t;
	pthread_t th;
	struct ctx b;
	int uffd;

	s.payload = faulting_page("ctrl-stall", &uffd);
	if (!s.payload)
		return 2;
	s.vfd = open(video_path, O_RDWR | O_CLOEXEC);
	if (s.vfd < 0)
		return 2;
	pthread_create(&th, NULL, stall_ctrl, &s);
	usleep(300 * 1000);
	expect(s.ret == 1, "S_EXT_CTRLS with the faulting payload is stalled");

	t = now_ms();
	if (open_nodes(&b) < 0 || set_formats(&b) < 0) {
		failed = 1;
	} else {
		close_nodes(&b);
	}
	t = now_ms() - t;
	say("ctrl-stall: another context opened, set formats and closed in %lld ms", t);
	expect(t < 1000, "another context is not blocked by the stalled one");

	/* Let the copy go on (a zero SPS), then the stalled ioctl returns. */
	release_page(uffd, s.payload);
	pthread_join(th, NULL);
	say("ctrl-stall: the stalled S_EXT_CTRLS returned %d (%s)", s.ret,
	    s.ret < 0 ? strerror(s.err) : "ok");
	close(s.vfd);
	close(uffd);
	return failed;
}

/* A job as the fake daemon saw it (msg_buf is reused by the next read). */
struct seen_job {
	__u64 id;
	__u32 ctx_id;
	__u16 idr_pic_id;
	__u32 width_mbs;
	int ok;
};

static const void *job_ctrl(const struct daedalus_job *j, size_t n, __u32 id, size_t size)
{
	unsigned int i;

	for (i = 0; i < j->num_ctrls && i < DAEDALUS_MAX_CTRLS; i++) {
		const struct daedalus_ctrl *c = &j->ctrls[i];

		if (c->id == id && c->size >= size && c->offset + (size_t)c->size <= n)
			return (const unsigned char *)j + c->offset;
	}
	return NULL;
}

static int wait_seen_job(int dfd, int timeout_ms, struct seen_job *sj)
{
	const struct daedalus_job *j = daemon_wait_job(dfd, timeout_ms);
	const struct v4l2_ctrl_h264_decode_params *dp;
	const struct v4l2_ctrl_h264_sps *sps;

	memset(sj, 0, sizeof(*sj));
	if (!j)
		return -1;
	sj->id = j->job_id;
	sj->ctx_id = j->hdr.ctx_id;
	sps = job_ctrl(j, j->hdr.size, V4L2_CID_STATELESS_H264_SPS, sizeof(*sps));
	dp = job_ctrl(j, j->hdr.size, V4L2_CID_STATELESS_H264_DECODE_PARAMS, sizeof(*dp));
	if (sps && dp) {
		sj->width_mbs = sps->pic_width_in_mbs_minus1 + 1U;
		sj->idr_pic_id = dp->idr_pic_id;
		sj->ok = 1;
	}
	return 0;
}

struct late_answer {
	int dfd;
	struct seen_job job;
	volatile int returned;
};

static void *answer_job(void *arg)
{
	struct late_answer *a = arg;

	job_done_raw(a->dfd, a->job.id, a->job.ctx_id, 0, 0);
	a->returned = 1;
	return NULL;
}

/*
 * Answers a job from a thread: whether DAEDALUS_IOC_JOB_DONE returned within
 * ms (a completion waiting for a stalled client's lock would not).
 */
static int answer_within(struct late_answer *a, pthread_t *th, int ms)
{
	long long end = now_ms() + ms;

	a->returned = 0;
	pthread_create(th, NULL, answer_job, a);
	while (!a->returned && now_ms() < end)
		usleep(5000);
	return a->returned;
}

/* A request with no controls: the job takes the last ones (the shadows). */
static int queue_bare_request(struct ctx *c, unsigned int index, unsigned int frame)
{
	int req = alloc_request(c);

	if (req < 0)
		return -1;
	if (queue_output(c, index, req, frame) < 0 ||
	    xioctl(req, MEDIA_REQUEST_IOC_QUEUE, NULL) < 0) {
		say("queueing a request without controls: %s", strerror(errno));
		close(req);
		return -1;
	}
	return req;
}

static int request_done(int req_fd)
{
	struct pollfd p = { .fd = req_fd, .events = POLLPRI };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLPRI);
}

/*
 * Client A stalls in its own S_EXT_CTRLS (holding its control handler's
 * lock) while it has a job queued behind B's and while the daemon answers:
 * A's job still reaches the daemon with its request's controls, both answers
 * return at once, B decodes on, and only A's request waits for the stall.
 */
static int cmd_ctrl_stall_run(void)
{
	struct late_answer ans[3];
	struct stalled s = { .ret = 1 };
	int ra = -1, rb0 = -1, rb1 = -1, dfd, uffd, i;
	pthread_t th, ath[3];
	int started[3] = { 0 };
	struct ctx a, b;
	int answered = 0;

	dfd = daemon_attach();
	if (dfd < 0)
		return 2;
	s.payload = faulting_page("ctrl-stall-run", &uffd);
	if (!s.payload)
		return 2;
	if (open_streaming(&a) < 0 || open_streaming(&b) < 0)
		return 2;
	for (i = 0; i < 3; i++)
		ans[i].dfd = dfd;

	/* B's job is with the daemon; A's (idr_pic_id 7) waits behind it. */
	rb0 = queue_request(&b, 0, 3, 8);
	expect(rb0 >= 0 && !wait_seen_job(dfd, 2000, &ans[0].job), "B's first job reaches the daemon");
	ra = queue_request(&a, 0, 7, 8);
	expect(ra >= 0, "A queues a request behind it");

	s.vfd = a.vfd;
	pthread_create(&th, NULL, stall_ctrl, &s);
	usleep(300 * 1000);
	expect(s.ret == 1, "A's S_EXT_CTRLS with the faulting payload is stalled");

	/* Answering B starts A's job: neither may wait for A's lock. */
	answered |= (started[0] = 1, answer_within(&ans[0], &ath[0], 1000));
	expect(answered & 1, "answer to B's job returns at once");
	expect(!wait_seen_job(dfd, 1000, &ans[1].job), "A's job reaches the daemon during A's stall");
	say("ctrl-stall-run: A's job: ctx %u, SPS %u MBs wide, idr_pic_id %u",
	    ans[1].job.ctx_id, ans[1].job.width_mbs, ans[1].job.idr_pic_id);
	expect(ans[1].job.ok && ans[1].job.width_mbs == WIDTH / 16 && ans[1].job.idr_pic_id == 7,
	       "A's job carries its request's controls");
	expect(ans[1].job.ctx_id != ans[0].job.ctx_id, "the job is A's");
	if ((started[1] = 1, answer_within(&ans[1], &ath[1], 1000)))
		answered |= 2;
	expect(answered & 2, "answer to A's job returns at once");

	/* B decodes on: a request without controls takes B's last ones. */
	expect(wait_request(&b, rb0, 1000) >= 0, "B's first request completes");
	rb1 = queue_bare_request(&b, 1, 4);
	expect(rb1 >= 0 && !wait_seen_job(dfd, 1000, &ans[2].job), "B's second job reaches the daemon");
	expect(ans[2].job.ok && ans[2].job.idr_pic_id == 3 && ans[2].job.width_mbs == WIDTH / 16,
	       "a request without controls carries the previous request's");
	if ((started[2] = 1, answer_within(&ans[2], &ath[2], 1000)))
		answered |= 4;
	expect(answered & 4, "answer to B's second job returns at once");
	expect(rb1 >= 0 && wait_request(&b, rb1, 1000) >= 0,
	       "B's second request completes while A is stalled");
	expect(ra >= 0 && !request_done(ra), "A's request waits for its controls (A's stall)");

	/* The stall ends: A's request completes with its controls. */
	release_page(uffd, s.payload);
	pthread_join(th, NULL);
	for (i = 0; i < 3; i++)
		if (started[i])
			pthread_join(ath[i], NULL);
	expect(ra >= 0 && wait_request(&a, ra, 2000) >= 0, "A's request completes after the stall");

	close(ra);
	close(rb0);
	close(rb1);
	close_nodes(&a);
	close_nodes(&b);
	close(dfd);
	close(uffd);
	return failed;
}

struct fair_ctx {
	int seconds;
	int done, error, lost;
	/* Set once the first request is queued; *after's is waited for first. */
	volatile int queued;
	struct fair_ctx *after;
};

static void *fair_client(void *arg)
{
	struct fair_ctx *f = arg;
	long long end = now_ms() + f->seconds * 1000LL;
	unsigned int i = 0;
	struct ctx c;
	int req, flags;

	while (f->after && !f->after->queued && f->after->lost >= 0 && now_ms() < end)
		usleep(10 * 1000);
	if (open_streaming(&c) < 0) {
		f->lost = -1;
		return NULL;
	}
	while (now_ms() < end) {
		req = queue_request(&c, i % c.n_out, i, 8);
		if (req < 0) {
			f->lost++;
			break;
		}
		f->queued = 1;
		flags = wait_request(&c, req, 20000);
		close(req);
		if (flags < 0) {
			f->lost++;
			break;
		}
		if (flags & V4L2_BUF_FLAG_ERROR)
			f->error++;
		else
			f->done++;
		i++;
	}
	streamoff(&c);
	close_nodes(&c);
	return NULL;
}

/*
 * The fake daemon reads every job as it comes, as daedalusd's supervisor
 * does, and answers like one worker per context: the first context it sees
 * is A (B opens only once A queued its first request), whose every job it
 * holds for 2.5 deadlines (A's jobs fail by their deadline); B's it answers
 * at once. The contexts are on two cores of the module, so B's jobs are with
 * the daemon while A's are: B must not wait for A's, and its jobs' deadlines
 * are their own.
 */
struct fair_held {
	__u64 job_id;
	__u32 ctx_id;
	long long due;
};

static int cmd_fairness(int seconds)
{
	struct fair_ctx a = { .seconds = seconds }, b = { .seconds = seconds, .after = &a };
	struct fair_held held[16];
	const struct daedalus_job *j;
	unsigned int tmo = 300, a_id = 0, saved, nheld = 0, overlap = 0, i;
	long long end, now, wait;
	pthread_t ta, tb;
	int dfd;

	dfd = daemon_attach();
	if (dfd < 0)
		return 2;
	saved = job_timeout_ms(dfd);
	if (set_param("job_timeout_ms", tmo) < 0)
		return 2;
	pthread_create(&ta, NULL, fair_client, &a);
	pthread_create(&tb, NULL, fair_client, &b);
	end = now_ms() + seconds * 1000LL + 3000;
	while ((now = now_ms()) < end) {
		wait = nheld ? held[0].due - now : 200;
		j = daemon_wait_job(dfd, wait > 0 ? (int)wait : 0);
		now = now_ms();
		/* A's late answers (the module refuses them: ENOENT). */
		while (nheld && held[0].due <= now) {
			job_done_raw(dfd, held[0].job_id, held[0].ctx_id, 0, 0);
			memmove(held, held + 1, --nheld * sizeof(held[0]));
		}
		if (!j)
			continue;
		if (!a_id)
			a_id = j->hdr.ctx_id;
		if (j->hdr.ctx_id == a_id && nheld < sizeof(held) / sizeof(held[0])) {
			held[nheld++] = (struct fair_held){ j->job_id, j->hdr.ctx_id,
							   now + tmo * 5 / 2 };
		} else if (j->hdr.ctx_id != a_id) {
			for (i = 0; i < nheld; i++)
				if (held[i].due - tmo * 3 / 2 > now)
					break;
			/* One of A's jobs is with the daemon, within its deadline. */
			if (i < nheld)
				overlap++;
			daemon_job_done(dfd, j, 0, "", 0);
		}
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	set_param("job_timeout_ms", saved);
	say("fairness: %d s, A %d DONE %d ERROR, B %d DONE %d ERROR (%d lost)", seconds, a.done,
	    a.error, b.done, b.error, a.lost + b.lost);
	expect(!a.lost && !b.lost, "every request of both contexts completed");
	expect(b.done + b.error >= 5, "B had at least 5 requests");
	expect(b.done * 10 > (b.done + b.error) * 9, "more than 90 % of B's requests are DONE");
	say("fairness: %u of B's jobs came while one of A's was with the daemon", overlap);
	expect(overlap * 2 > (unsigned int)b.done,
	       "B's jobs were with the daemon while A's were (A and B on two cores)");
	close(dfd);
	return failed;
}

/* One request through the answering fake daemon: CAPTURE flags, time. */
static unsigned int fault_last_index;

static int fault_one(struct ctx *c, int dfd, unsigned int frame, long long *ms, __u64 *ts)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	const struct daedalus_job *j;
	struct v4l2_buffer b;
	long long t0 = now_ms();
	int req, flags;

	req = queue_request(c, frame % c->n_out, frame, 8);
	if (req < 0)
		return -1;
	j = daemon_wait_job(dfd, 300);
	if (j)
		daemon_job_done(dfd, j, 0, "", 0);
	flags = wait_output(c, req, 5000);
	close(req);
	if (flags < 0 || wait_capture(c, now_ms() + 2000) < 0)
		return -1;
	init_buffer(c, &b, planes, c->cap_type, 0);
	if (dqbuf(c, c->cap_type, &b, planes) < 0)
		return -1;
	*ms = now_ms() - t0;
	*ts = (__u64)b.timestamp.tv_sec * 1000000 + (__u64)b.timestamp.tv_usec;
	fault_last_index = b.index;
	flags = (int)b.flags;
	init_buffer(c, &b, planes, c->cap_type, b.index);
	xioctl(c->vfd, VIDIOC_QBUF, &b);
	return flags | (j ? 0 : 1 << 30);
}

static int cmd_faults(void)
{
	const struct daedalus_job *j;
	unsigned int i;
	long long ms, lo = 1 << 30, hi = 0, t;
	int dfd, flags, req;
	__u64 ts;
	struct ctx c;

	dfd = daemon_attach();
	if (dfd < 0)
		return 2;

	set_param("fault_fail_every", 3);
	if (open_streaming(&c) < 0)
		return 2;
	for (i = 0; i < 6; i++) {
		flags = fault_one(&c, dfd, i, &ms, &ts);
		say("faults: fail_every=3: request %u: %s%s", i + 1,
		    flags < 0 ? "lost" : flags & V4L2_BUF_FLAG_ERROR ? "ERROR" : "DONE",
		    flags >= 0 && (flags & (1 << 30)) ? " (no job for the daemon)" : "");
		expect(flags >= 0 && !!(flags & V4L2_BUF_FLAG_ERROR) == (i % 3 == 2),
		       "every third request, and only those, ends in ERROR");
	}
	streamoff(&c);
	close_nodes(&c);
	set_param("fault_fail_every", 0);

	set_param("fault_bad_timestamp_every", 2);
	open_streaming(&c);
	for (i = 0; i < 4; i++) {
		flags = fault_one(&c, dfd, i, &ms, &ts);
		say("faults: bad_timestamp_every=2: request %u: CAPTURE timestamp %llu us, OUTPUT %u",
		    i + 1, (unsigned long long)ts, (i + 1) * 1000);
		expect(flags >= 0 && (ts != (i + 1) * 1000ULL) == (i % 2 == 1),
		       "every second CAPTURE buffer, and only those, has a wrong timestamp");
	}
	streamoff(&c);
	close_nodes(&c);
	set_param("fault_bad_timestamp_every", 0);

	set_param("fault_latency_ms", 300);
	set_param("fault_jitter_ms", 200);
	set_param("fault_seed", 7);
	open_streaming(&c);
	for (i = 0; i < 5; i++) {
		flags = fault_one(&c, dfd, i, &ms, &ts);
		lo = ms < lo ? ms : lo;
		hi = ms > hi ? ms : hi;
	}
	say("faults: latency 300 ms + jitter 200 ms: requests took %lld..%lld ms", lo, hi);
	expect(lo >= 300 && hi < 500 + 400, "every request took 300..500 ms (+ margin)");
	streamoff(&c);
	close_nodes(&c);
	set_param("fault_latency_ms", 0);

	/* jitter + 1 wrapped to 0 at UINT_MAX (a divide error under job_lock). */
	set_param("fault_jitter_ms", UINT_MAX);
	open_streaming(&c);
	req = queue_request(&c, 0, 0, 8);
	j = req < 0 ? NULL : daemon_wait_job(dfd, 2000);
	expect(j != NULL, "jitter UINT_MAX: the job reaches the daemon (clamped to 60 s)");
	if (j)
		daemon_job_done(dfd, j, 0, "", 0);
	t = now_ms();
	streamoff(&c);
	say("faults: jitter UINT_MAX: STREAMOFF of the held answer took %lld ms", now_ms() - t);
	if (req >= 0)
		close(req);
	close_nodes(&c);
	set_param("fault_jitter_ms", 0);

	set_param("fault_hang_job", 2);
	open_streaming(&c);
	flags = fault_one(&c, dfd, 0, &ms, &ts);
	expect(flags >= 0 && !(flags & V4L2_BUF_FLAG_ERROR), "request 1 is DONE");
	req = queue_request(&c, 1, 1, 8);
	expect(daemon_wait_job(dfd, 500) == NULL, "request 2 never reaches the daemon");
	flags = req < 0 ? -1 : wait_output(&c, req, (int)job_timeout_ms(dfd) * 2);
	expect(flags < 0, "request 2 has not completed after twice the job timeout");
	t = now_ms();
	streamoff(&c);
	t = now_ms() - t;
	say("faults: hang_job=2: STREAMOFF took %lld ms", t);
	expect(t < 1000, "STREAMOFF ends the held job at once");
	if (req >= 0)
		close(req);
	close_nodes(&c);
	set_param("fault_hang_job", 0);
	close(dfd);
	return failed;
}

/* The id of one of our contexts (its debugfs owner_pid is us), not "other". */
static long own_ctx_id(long other)
{
	DIR *d = opendir(DEBUGFS "ctx");
	long id, found = -1;
	struct dirent *e;
	char path[160];
	int fd, n;

	if (!d) {
		say("opendir " DEBUGFS "ctx: %s", strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char v[32] = "";

		id = atol(e->d_name);
		if (id <= 0 || id == other)
			continue;
		snprintf(path, sizeof(path), DEBUGFS "ctx/%ld/owner_pid", id);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = (int)read(fd, v, sizeof(v) - 1);
		close(fd);
		if (n > 0 && atol(v) == (long)getpid())
			found = id;
	}
	closedir(d);
	return found;
}

static int set_ctx_fault(long id, const char *name, unsigned int val)
{
	char path[160], v[16];

	snprintf(path, sizeof(path), DEBUGFS "ctx/%ld/%s", id, name);
	snprintf(v, sizeof(v), "%u", val);
	return write_file(path, v);
}

static int cmd_ctx_faults(void)
{
	struct ctx a, b;
	unsigned int i, fifo[NUM_BUFS], n, want;
	long ida, idb;
	long long ms;
	int dfd, fa, fb;
	__u64 ts;

	dfd = daemon_attach();
	if (dfd < 0 || open_streaming(&a) < 0)
		return 2;
	ida = own_ctx_id(-1);
	if (open_streaming(&b) < 0)
		return 2;
	idb = own_ctx_id(ida);
	say("ctx-faults: contexts A %ld and B %ld (debugfs ctx/<id>/owner_pid)", ida, idb);
	expect(ida > 0 && idb > 0, "each context has its debugfs directory, owned by us");
	if (ida <= 0 || idb <= 0)
		return 1;

	/* fail_every=2 on A only: A's jobs 2 and 4 fail, B's never. */
	set_ctx_fault(ida, "fault_fail_every", 2);
	for (i = 0; i < 4; i++) {
		fa = fault_one(&a, dfd, i, &ms, &ts);
		fb = fault_one(&b, dfd, i, &ms, &ts);
		say("ctx-faults: fail_every=2 on A: request %u: A %s, B %s", i + 1,
		    fa < 0 ? "lost" : fa & V4L2_BUF_FLAG_ERROR ? "ERROR" : "DONE",
		    fb < 0 ? "lost" : fb & V4L2_BUF_FLAG_ERROR ? "ERROR" : "DONE");
		expect(fa >= 0 && !!(fa & V4L2_BUF_FLAG_ERROR) == (i % 2 == 1),
		       "A: every second request, and only those, ends in ERROR");
		expect(fb >= 0 && !(fb & V4L2_BUF_FLAG_ERROR), "B: every request is DONE");
	}
	set_ctx_fault(ida, "fault_fail_every", 0);
	streamoff(&a);
	close_nodes(&a);

	/*
	 * reorder_every=2 on B, whose 4 jobs so far took its CAPTURE buffers
	 * 0..3 in turn (each re-queued at once, so the queue is 0 1 2 3 again).
	 * Its 6th, 8th ... job takes the second buffer and the first goes back.
	 */
	for (i = 0; i < NUM_BUFS; i++)
		fifo[i] = i;
	n = b.n_cap < NUM_BUFS ? b.n_cap : NUM_BUFS;
	set_ctx_fault(idb, "fault_reorder_every", 2);
	for (i = 0; i < 4; i++) {
		unsigned int seq = 5 + i, k;

		if (!(seq % 2) && n >= 2) {
			/* first to the back, then the (new) first is taken */
			unsigned int first = fifo[0];

			for (k = 0; k + 1 < n; k++)
				fifo[k] = fifo[k + 1];
			fifo[n - 1] = first;
		}
		want = fifo[0];
		fb = fault_one(&b, dfd, 4 + i, &ms, &ts);
		say("ctx-faults: reorder_every=2 on B: job %u decoded into CAPTURE %u (expected %u), "
		    "timestamp %llu us", seq, fault_last_index, want, (unsigned long long)ts);
		expect(fb >= 0 && fault_last_index == want,
		       "B: every second job takes the second queued CAPTURE buffer");
		expect(fb >= 0 && ts == (5 + i) * 1000ULL,
		       "B: each CAPTURE buffer still carries its own request's timestamp");
		/* dequeued and re-queued: it goes to the back */
		for (k = 0; k + 1 < n; k++)
			fifo[k] = fifo[k + 1];
		fifo[n - 1] = want;
	}
	set_ctx_fault(idb, "fault_reorder_every", 0);
	streamoff(&b);
	close_nodes(&b);
	close(dfd);
	return failed;
}

static int cmd_unbind(void)
{
	struct v4l2_capability cap;
	char buf[64];
	int dfd, vfd;
	ssize_t n;

	dfd = daemon_attach();
	vfd = open(video_path, O_RDWR | O_CLOEXEC);
	if (dfd < 0 || vfd < 0)
		return 2;
	if (write_file("/sys/bus/platform/drivers/daedalus/unbind", "daedalus") < 0)
		return 2;
	n = read(dfd, buf, sizeof(buf));
	expect(n < 0 && errno == ENODEV, "the daemon reads ENODEV after unbind");
	expect(expbuf(dfd, 1, DAEDALUS_QUEUE_CAPTURE, 0, 0) == -ENODEV, "EXPBUF: ENODEV");
	expect(ioctl(vfd, VIDIOC_QUERYCAP, &cap) < 0 && errno == ENODEV,
	       "the open video node answers ENODEV");
	close(vfd);
	close(dfd);
	if (write_file("/sys/bus/platform/drivers/daedalus/bind", "daedalus") < 0)
		return 2;
	usleep(500 * 1000);
	dfd = open(DAEMON_PATH, O_RDWR | O_CLOEXEC);
	expect(dfd >= 0, "after bind a daemon attaches again");
	if (dfd >= 0)
		close(dfd);
	return failed;
}

static int cmd_hold_request(int seconds)
{
	struct ctx c;
	int req;

	if (open_nodes(&c) < 0)
		return 2;
	req = alloc_request(&c);
	close_nodes(&c);
	if (req < 0)
		return 2;
	say("hold-request: holding request fd %d, every other file closed", req);
	sleep((unsigned int)seconds);
	close(req);
	return 0;
}

static volatile sig_atomic_t go_on;

static void on_usr1(int sig)
{
	(void)sig;
	go_on = 1;
}

/*
 * With the real daemon attached: n contexts each decode one request (so the
 * daemon maps their buffers), then wait for SIGUSR1 and close together.
 */
static int cmd_hold_contexts(int n)
{
	struct ctx *c = calloc((size_t)n, sizeof(*c));
	int i, req, opened = 0;

	if (!c)
		return 2;
	signal(SIGUSR1, on_usr1);
	for (i = 0; i < n; i++) {
		if (open_streaming(&c[i]) < 0)
			break;
		opened++;
		req = queue_request(&c[i], 0, 0, 8);
		if (req < 0 || wait_request(&c[i], req, 10000) < 0) {
			if (req >= 0)
				close(req);
			break;
		}
		close(req);
	}
	say("hold-contexts: %d of %d contexts decoded a request; waiting for SIGUSR1", opened, n);
	while (!go_on)
		pause();
	for (i = 0; i < opened; i++)
		close_nodes(&c[i]);
	say("hold-contexts: closed %d contexts", opened);
	free(c);
	return opened == n ? 0 : 1;
}

static int cmd_close_race(int n)
{
	return race(n, 1);
}

static int cmd_abort_race(int n)
{
	return race(n, 0);
}

/* Commands by name; the int is -n (a count or seconds) where they take it. */
static const struct {
	const char *name;
	int (*run)(void);
	int (*run_n)(int n);
} commands[] = {
	{ "sizes", cmd_sizes, NULL },
	{ "hold-error", cmd_hold_error, NULL },
	{ "read-faults", cmd_read_faults, NULL },
	{ "misbehave", cmd_misbehave, NULL },
	{ "close-race", NULL, cmd_close_race },
	{ "abort-race", NULL, cmd_abort_race },
	{ "ctx-ids", cmd_ctx_ids, NULL },
	{ "ctrl-stall", cmd_ctrl_stall, NULL },
	{ "ctrl-stall-run", cmd_ctrl_stall_run, NULL },
	{ "fairness", NULL, cmd_fairness },
	{ "faults", cmd_faults, NULL },
	{ "ctx-faults", cmd_ctx_faults, NULL },
	{ "unbind", cmd_unbind, NULL },
	{ "hold-request", NULL, cmd_hold_request },
	{ "hold-contexts", NULL, cmd_hold_contexts },
};

int hostile_main(const char *cmd, int n)
{
	unsigned int i;

	failed = 0;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run ? commands[i].run() : commands[i].run_n(n);
	return -1;
}
