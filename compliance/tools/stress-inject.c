// SPDX-License-Identifier: GPL-2.0
/*
 * stress-inject: kmod-stress commands that force the kernel's hand (#14)
 * instead of hoping for a race: the scheduler (a real-time thread pinned to
 * the completer's CPU runs at the first preemption point after it is woken,
 * which on a CONFIG_PREEMPT kernel puts it inside a window of a few
 * instructions every time) and the allocator (fail-nth: the Nth allocation
 * of one syscall fails, N = 1, 2, ... until the syscall allocates no more).
 * Each needs /dev/daedalus free (no daedalusd); the fail-nth ones need
 * CONFIG_FAULT_INJECTION and CONFIG_FAILSLAB (the debug kernel).
 *
 *   stress preempt-close -n N  N contexts closed from inside the daemon's
 *                           JOB_DONE: the closer (real-time, same CPU, polling
 *                           CAPTURE) runs as soon as the completion drops the
 *                           m2m job lock, before v4l2_m2m_buf_done_and_job_finish()
 *                           has rescheduled the context (defect 1: KASAN
 *                           use-after-free before the fix)
 *   stress failnth          every slab allocation of every step of a decode
 *                           (attach, open, formats, buffers, STREAMON, request,
 *                           the daemon's read, EXPBUF and JOB_DONE, DQBUF,
 *                           STREAMOFF, close) fails in turn: each step fails
 *                           cleanly or copes, and a clean decode works after
 *   stress probe-failnth    the same for the driver's probe (sysfs bind):
 *                           every allocation of the probe fails in turn, then
 *                           a bind without faults gives a working device
 *
 * These two need compliance/tools/kdelay loaded (a kprobe busy-waiting at
 * a function's entry, armed by the command), which holds a window open:
 *
 *   stress abort-window     kdelay on daedalus_device_run (workers only):
 *                           STREAMOFF while the m2m workqueue is inside
 *                           device_run, before its job lock; the abort must
 *                           fail the job there, not wait for the daemon's
 *                           deadline (defect 5)
 *   stress create-race      kdelay on vb2_vmalloc_alloc (the creating
 *                           thread only): a job built from the workqueue
 *                           while CREATE_BUFS has added a CAPTURE buffer but
 *                           not yet allocated or initialised it; the job
 *                           must not list that buffer (defect 4)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stress.h"

#define FAILSLAB "/sys/kernel/debug/failslab/"
#define KDELAY "/sys/module/kdelay/parameters/"
/* How long kdelay holds its window open. */
#define KDELAY_MS 600
#define DRIVER "/sys/bus/platform/drivers/daedalus/"
/* Far more allocations than any step makes: a bound, not a target. */
#define MAX_NTH 3000

static int failed;

static void expect(int ok, const char *what)
{
	say("  %s: %s", ok ? "ok" : "FAILED", what);
	if (!ok)
		failed = 1;
}

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int pin_to_cpu0(void)
{
	return pin_to_cpu(0);
}

struct closer {
	sem_t go, done;
	struct ctx *c;
	volatile int stop;
	long long ms;
	int polled;
};

/* Real-time on CPU 0: on "go", waits for CAPTURE to complete, then closes. */
static void *closer_main(void *arg)
{
	struct sched_param sp = { .sched_priority = 10 };
	struct closer *k = arg;
	struct pollfd p;
	long long t;

	if (pin_to_cpu0() || pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp)) {
		say("preempt-close: cannot run the closer real-time on CPU 0");
		k->stop = 2;
		sem_post(&k->done);
		return NULL;
	}
	for (;;) {
		sem_wait(&k->go);
		if (k->stop)
			break;
		p.fd = k->c->vfd;
		p.events = POLLIN;
		k->polled = poll(&p, 1, 10000) == 1;
		t = now_ms();
		close_nodes(k->c);
		k->ms = now_ms() - t;
		sem_post(&k->done);
	}
	return NULL;
}

static int cmd_preempt_close(int n)
{
	struct closer k = { 0 };
	const struct daedalus_job *j;
	int dfd, i, req, polled = 0, done = 0;
	long long worst = 0;
	pthread_t th;
	struct ctx c;

	dfd = daemon_attach();
	if (dfd < 0 || pin_to_cpu0()) {
		say("preempt-close: no daemon attach or no CPU 0");
		return 2;
	}
	sem_init(&k.go, 0, 0);
	sem_init(&k.done, 0, 0);
	k.c = &c;
	pthread_create(&th, NULL, closer_main, &k);
	for (i = 0; i < n && !k.stop; i++) {
		if (open_streaming(&c) < 0) {
			failed = 1;
			break;
		}
		req = queue_request(&c, 0, (unsigned int)i, 8);
		j = req < 0 ? NULL : daemon_wait_job(dfd, 5000);
		if (!j) {
			say("preempt-close: no job for context %d", i);
			failed = 1;
			close_nodes(&c);
			break;
		}
		/*
		 * The closer runs at once (real-time, this CPU) and sleeps in
		 * poll(); this thread goes on only then. JOB_DONE wakes it from
		 * inside v4l2_m2m_buf_done_and_job_finish().
		 */
		sem_post(&k.go);
		done += daemon_job_done(dfd, j, 0, "", 0) == 0;
		sem_wait(&k.done);
		polled += k.polled;
		worst = k.ms > worst ? k.ms : worst;
		close(req);
	}
	k.stop = k.stop ? k.stop : 1;
	sem_post(&k.go);
	pthread_join(th, NULL);
	say("preempt-close: %d contexts closed from inside JOB_DONE (%d answered, %d woken by "
	    "CAPTURE), slowest close %lld ms",
	    i, done, polled, worst);
	expect(i == n && k.stop == 1, "every context opened, streamed and was closed");
	expect(polled == n && done == n,
	       "each close ran from the CAPTURE wake-up of an accepted JOB_DONE");
	close(dfd);
	return failed;
}

/* fail-nth of this thread: arm with n > 0, disarm with 0. */
static int fail_nth_fd = -1;

static int fail_nth_open(void)
{
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fail_nth_fd < 0)
		say("/proc/thread-self/fail-nth: %s (a kernel without CONFIG_FAULT_INJECTION)",
		    strerror(errno));
	return fail_nth_fd;
}

static void fail_nth_arm(unsigned int n)
{
	char v[16];
	int len = snprintf(v, sizeof(v), "%u", n);

	if (pwrite(fail_nth_fd, v, (size_t)len, 0) != len)
		say("fail-nth %u: %s", n, strerror(errno));
}

/* Disarms; returns whether the armed fault was injected. */
static int fail_nth_disarm(void)
{
	char v[16] = "";
	ssize_t r = pread(fail_nth_fd, v, sizeof(v) - 1, 0);

	fail_nth_arm(0);
	return r > 0 && atoi(v) == 0;
}

static int write_attr(const char *path, const char *val, char *saved, size_t saved_len)
{
	int fd = open(path, (saved ? O_RDWR : O_WRONLY) | O_CLOEXEC);
	ssize_t r;

	if (fd < 0) {
		say("open %s: %s", path, strerror(errno));
		return -1;
	}
	if (saved) {
		r = read(fd, saved, saved_len - 1);
		saved[r > 0 ? r : 0] = 0;
		lseek(fd, 0, SEEK_SET);
	}
	r = write(fd, val, strlen(val));
	close(fd);
	return r < 0 ? -1 : 0;
}

/*
 * failslab for sleeping allocations too (its default skips them, and the
 * module's are all GFP_KERNEL), without a stack dump per injected fault.
 * Page allocations are left alone: the page allocator warns with a trace
 * on every failure, which the suites' dmesg check rightly counts.
 */
static char saved_wait[8], saved_verbose[8];

static int failslab_setup(void)
{
	if (write_attr(FAILSLAB "ignore-gfp-wait", "N", saved_wait, sizeof(saved_wait)) < 0 ||
	    write_attr(FAILSLAB "verbose", "0", saved_verbose, sizeof(saved_verbose)) < 0)
		return -1;
	return 0;
}

static void failslab_restore(void)
{
	write_attr(FAILSLAB "ignore-gfp-wait", saved_wait, NULL, 0);
	write_attr(FAILSLAB "verbose", saved_verbose, NULL, 0);
}

/* One decode, step by step; the state a later step and the cleanup need. */
struct flow {
	int dfd;
	int opened, streaming;
	struct ctx c;
	int req;
	const struct daedalus_job *job;
	int cap_done;
};

static int step_attach(struct flow *f)
{
	f->dfd = daemon_attach();
	return f->dfd < 0 ? -1 : 0;
}

static int step_open(struct flow *f)
{
	if (open_nodes(&f->c) < 0)
		return -1;
	f->opened = 1;
	return 0;
}

static int step_formats(struct flow *f)
{
	return set_formats(&f->c);
}

static int step_buffers(struct flow *f)
{
	return setup_buffers(&f->c);
}

static int step_streamon(struct flow *f)
{
	if (streamon(&f->c) < 0)
		return -1;
	f->streaming = 1;
	return 0;
}

static int step_request(struct flow *f)
{
	f->req = queue_request(&f->c, 0, 0, 8);
	return f->req < 0 ? -1 : 0;
}

static int step_read(struct flow *f)
{
	f->job = daemon_wait_job(f->dfd, 10000);
	return f->job ? 0 : -1;
}

static int step_expbuf(struct flow *f)
{
	struct daedalus_expbuf e;

	memset(&e, 0, sizeof(e));
	e.ctx_id = f->job->hdr.ctx_id;
	e.queue = DAEDALUS_QUEUE_CAPTURE;
	e.flags = O_RDWR | O_CLOEXEC;
	if (xioctl(f->dfd, DAEDALUS_IOC_EXPBUF, &e) < 0)
		return -1;
	close(e.fd);
	return 0;
}

static int step_job_done(struct flow *f)
{
	return daemon_job_done(f->dfd, f->job, 0, "", 0);
}

static int step_dequeue(struct flow *f)
{
	int flags = wait_request(&f->c, f->req, 30000);

	if (flags < 0)
		return -1;
	f->cap_done = !(flags & V4L2_BUF_FLAG_ERROR);
	return 0;
}

static int step_streamoff(struct flow *f)
{
	f->streaming = 0;
	return streamoff(&f->c);
}

static int step_close(struct flow *f)
{
	f->opened = 0;
	close_nodes(&f->c);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct flow *f);
} steps[] = {
	{ "attach /dev/daedalus", step_attach },
	{ "open the video and media nodes", step_open },
	{ "S_FMT both queues", step_formats },
	{ "REQBUFS, mmap, QBUF CAPTURE", step_buffers },
	{ "STREAMON both queues", step_streamon },
	{ "request: alloc, controls, QBUF, queue", step_request },
	{ "the daemon reads the job", step_read },
	{ "the daemon's EXPBUF", step_expbuf },
	{ "the daemon's JOB_DONE", step_job_done },
	{ "wait for the request, DQBUF both", step_dequeue },
	{ "STREAMOFF", step_streamoff },
	{ "close", step_close },
};

#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

static void flow_cleanup(struct flow *f)
{
	if (f->streaming)
		streamoff(&f->c);
	if (f->opened)
		close_nodes(&f->c);
	if (f->req >= 0)
		close(f->req);
	if (f->dfd >= 0)
		close(f->dfd);
}

/*
 * One decode with the nth allocation of step `faulty` failing (0: none).
 * Steps after a failed one are not run. Returns the steps that completed
 * (N_STEPS: all); *injected says whether the fault was injected.
 */
static unsigned int flow_run(unsigned int faulty, unsigned int nth, int *injected, int *cap_done)
{
	struct flow f = { .dfd = -1, .req = -1 };
	unsigned int s;
	int r;

	*injected = 0;
	for (s = 0; s < N_STEPS; s++) {
		if (s == faulty && nth)
			fail_nth_arm(nth);
		r = steps[s].run(&f);
		if (s == faulty && nth)
			*injected = fail_nth_disarm();
		if (r < 0)
			break;
	}
	*cap_done = f.cap_done;
	flow_cleanup(&f);
	return s;
}

static int cmd_failnth(void)
{
	unsigned int s, nth, faults, fails, total = 0, reached;
	int injected, cap_done;

	if (fail_nth_open() < 0 || failslab_setup() < 0)
		return 2;
	reached = flow_run(0, 0, &injected, &cap_done);
	expect(reached == N_STEPS && cap_done, "a decode without faults: every step, DONE");
	say_quiet = 1;
	for (s = 0; s < N_STEPS && !failed; s++) {
		faults = fails = 0;
		for (nth = 1; nth <= MAX_NTH; nth++) {
			reached = flow_run(s, nth, &injected, &cap_done);
			if (!injected)
				break;
			faults++;
			fails += reached == s;
		}
		say_quiet = 0;
		say("failnth: %-40s %3u allocations failed in turn: the step failed %u times, "
		    "coped %u times",
		    steps[s].name, faults, fails, faults - fails);
		say_quiet = 1;
		if (nth > MAX_NTH) {
			say_quiet = 0;
			expect(0, "the step ends within the allocation bound");
		}
		total += faults;
	}
	say_quiet = 0;
	failslab_restore();
	reached = flow_run(0, 0, &injected, &cap_done);
	say("failnth: %u allocations failed in all", total);
	expect(total > 0, "faults were injected");
	expect(reached == N_STEPS && cap_done, "after them a decode without faults: DONE");
	return failed;
}

static int bound(void)
{
	struct stat st;

	return lstat(DRIVER "daedalus", &st) == 0;
}

static int bind_write(const char *what)
{
	int fd = open(DRIVER "bind", O_WRONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = write(fd, what, strlen(what));
	close(fd);
	return r < 0 ? -1 : 0;
}

static int cmd_probe_failnth(void)
{
	unsigned int nth, faults = 0, probe_failed = 0;
	struct v4l2_capability cap;
	int injected, vfd, ok;

	if (fail_nth_open() < 0 || failslab_setup() < 0)
		return 2;
	if (write_attr(DRIVER "unbind", "daedalus", NULL, 0) < 0 || bound()) {
		say("probe-failnth: cannot unbind");
		failslab_restore();
		return 2;
	}
	for (nth = 1; nth <= MAX_NTH; nth++) {
		fail_nth_arm(nth);
		bind_write("daedalus");
		injected = fail_nth_disarm();
		ok = bound();
		if (!injected)
			break;
		faults++;
		if (!ok) {
			probe_failed++;
			continue;
		}
		/* The allocation was one the probe can do without. */
		write_attr(DRIVER "unbind", "daedalus", NULL, 0);
	}
	failslab_restore();
	if (!bound())
		bind_write("daedalus");
	say("probe-failnth: %u allocations of bind failed in turn; the probe failed %u times, "
	    "coped %u times",
	    faults, probe_failed, faults - probe_failed);
	expect(faults > 0 && nth <= MAX_NTH, "faults were injected, within the bound");
	expect(bound(), "bound after a bind without faults");
	usleep(500 * 1000);
	vfd = open(video_path, O_RDWR | O_CLOEXEC);
	expect(vfd >= 0 && ioctl(vfd, VIDIOC_QUERYCAP, &cap) == 0 &&
		       !strcmp((const char *)cap.driver, "daedalus"),
	       "the video node works after");
	if (vfd >= 0)
		close(vfd);
	return failed;
}

static int kdelay_set(const char *name, long v)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), KDELAY "%s", name);
	snprintf(val, sizeof(val), "%ld", v);
	return write_attr(path, val, NULL, 0);
}

static long kdelay_get(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), KDELAY "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Waits up to ms for a thread to be inside kdelay's window. */
static int kdelay_wait_inside(int ms)
{
	long long deadline = now_ms() + ms;

	while (now_ms() < deadline) {
		if (kdelay_get("inside") > 0)
			return 1;
		usleep(200);
	}
	return 0;
}

static long job_timeout_ms(void)
{
	FILE *f = fopen("/sys/module/daedalus/parameters/job_timeout_ms", "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/*
 * Two requests queued, the first one's job read (copied to *first, not yet
 * answered). Answering it makes the m2m core run the second one's
 * device_run from its workqueue, on the CPU the answer was written on: that
 * is where kdelay holds it, and where no ioctl lock serialises it.
 */
static int queue_two_jobs(struct ctx *c, int dfd, int *r0, int *r1, struct daedalus_job *first)
{
	const struct daedalus_job *j;

	*r0 = queue_request(c, 0, 0, 8);
	j = *r0 < 0 ? NULL : daemon_wait_job(dfd, 5000);
	if (!j) {
		say("no job for the first request");
		return -1;
	}
	memcpy(first, j, sizeof(*first));
	*r1 = queue_request(c, 1, 1, 8);
	return *r1 < 0 ? -1 : 0;
}

/* kdelay loaded, the daemon attached, this thread on CPU 0, c streaming. */
static int kdelay_begin(const char *who, struct ctx *c)
{
	int dfd;

	if (kdelay_get("hits") < 0) {
		say("%s: the kdelay module is not loaded", who);
		return -1;
	}
	dfd = daemon_attach();
	if (dfd < 0 || pin_to_cpu0() || open_streaming(c) < 0) {
		say("%s: no daemon attach, CPU 0 or context", who);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	return dfd;
}

static void kdelay_end(struct ctx *c, int dfd, int r0, int r1)
{
	kdelay_set("armed", 0);
	kdelay_set("pid", 0);
	if (r0 >= 0)
		close(r0);
	if (r1 >= 0)
		close(r1);
	close_nodes(c);
	close(dfd);
}

struct aborter {
	struct ctx *c;
	int saw_window;
	long long ms;
};

/* On CPU 1: as soon as device_run is held, STREAMOFF, timed. */
static void *aborter_main(void *arg)
{
	struct aborter *a = arg;
	long long t;

	pin_to_cpu(1);
	a->saw_window = kdelay_wait_inside(5000);
	t = now_ms();
	streamoff(a->c);
	a->ms = now_ms() - t;
	return NULL;
}

/*
 * One try: 1 when the window was seen (the checks ran), 0 when it never
 * opened (nothing was tested; the caller tries again), -1 on a setup error.
 */
static int abort_window_try(int last)
{
	struct aborter a = { 0 };
	struct daedalus_job first;
	long tmo = job_timeout_ms();
	int dfd, r0 = -1, r1 = -1, reached;
	pthread_t th;
	struct ctx c;

	dfd = kdelay_begin("abort-window", &c);
	if (dfd < 0)
		return -1;
	a.c = &c;
	kdelay_set("delay_ms", KDELAY_MS);
	kdelay_set("pid", 0);
	kdelay_set("workers_only", 1);
	kdelay_set("armed", 1);
	/* Waiting on CPU 1 before the worker can take CPU 0 for the hold. */
	pthread_create(&th, NULL, aborter_main, &a);
	if (queue_two_jobs(&c, dfd, &r0, &r1, &first) < 0 ||
	    daemon_job_done(dfd, &first, 0, "", 0) < 0)
		failed = 1;
	/* A stalled daemon: reads, never answers. */
	reached = daemon_wait_job(dfd, KDELAY_MS + 1500) != NULL;
	pthread_join(th, NULL);
	kdelay_end(&c, dfd, r0, r1);
	say("abort-window: STREAMOFF %s device_run was held; it took %lld ms (job timeout %ld ms); "
	    "the aborted job %s the daemon",
	    a.saw_window ? "while" : "NOT while", a.ms, tmo, reached ? "reached" : "never reached");
	if (!a.saw_window && !last)
		return 0;
	expect(a.saw_window, "STREAMOFF ran while device_run was held in the workqueue");
	expect(a.ms < KDELAY_MS + 1000 && (tmo < 0 || a.ms < tmo),
	       "STREAMOFF returned within the hold + 1 s, not after the job deadline");
	expect(!reached, "the aborted job never reached the daemon");
	return 1;
}

/*
 * The window depends on the worker's timing in the VM: a try in which it
 * never opened tested nothing and is made again, up to 3 tries; the checks
 * run on the first try that saw it (or on the last).
 */
static int cmd_abort_window(void)
{
	int i, r;

	for (i = 0; i < 3; i++) {
		r = abort_window_try(i == 2);
		if (r < 0)
			return 2;
		if (r > 0)
			break;
		say("abort-window: the window did not open (try %d of 3); again", i + 1);
	}
	return failed;
}

struct creator {
	struct ctx *c;
	pid_t tid;
	sem_t ready, armed;
	int ret, err;
	unsigned int index;
};

/* On CPU 1: one CAPTURE buffer by CREATE_BUFS, held by kdelay in its alloc. */
static void *creator_main(void *arg)
{
	struct creator *k = arg;
	struct v4l2_create_buffers cb;

	pin_to_cpu(1);
	k->tid = gettid();
	memset(&cb, 0, sizeof(cb));
	cb.count = 1;
	cb.memory = V4L2_MEMORY_MMAP;
	cb.format.type = k->c->cap_type;
	k->ret = xioctl(k->c->vfd, VIDIOC_G_FMT, &cb.format);
	sem_post(&k->ready);
	/* Armed for this thread by the main one in between. */
	sem_wait(&k->armed);
	if (!k->ret)
		k->ret = xioctl(k->c->vfd, VIDIOC_CREATE_BUFS, &cb);
	k->err = k->ret ? errno : 0;
	k->index = cb.index;
	return NULL;
}

static int cmd_create_race(void)
{
	struct creator k = { 0 };
	const struct daedalus_job *j = NULL;
	struct daedalus_job first;
	int dfd, r0 = -1, r1 = -1, during = 0, phantom = 0;
	unsigned int i, n = 0;
	pthread_t th;
	struct ctx c;

	dfd = kdelay_begin("create-race", &c);
	if (dfd < 0)
		return 2;
	k.c = &c;
	/* Queued first: QBUF would wait for the CREATE_BUFS' queue lock. */
	if (queue_two_jobs(&c, dfd, &r0, &r1, &first) < 0) {
		kdelay_end(&c, dfd, r0, r1);
		return 1;
	}
	sem_init(&k.ready, 0, 0);
	sem_init(&k.armed, 0, 0);
	pthread_create(&th, NULL, creator_main, &k);
	sem_wait(&k.ready);
	kdelay_set("delay_ms", KDELAY_MS);
	kdelay_set("workers_only", 0);
	kdelay_set("pid", k.tid);
	kdelay_set("armed", 1);
	sem_post(&k.armed);
	if (!kdelay_wait_inside(5000)) {
		say("create-race: CREATE_BUFS never reached vb2_vmalloc_alloc");
		failed = 1;
	} else if (daemon_job_done(dfd, &first, 0, "", 0) < 0) {
		failed = 1;
	} else {
		j = daemon_wait_job(dfd, 5000);
		during = kdelay_get("inside") > 0;
	}
	if (j) {
		n = j->num_capture_bufs;
		for (i = 0; i < n && i < DAEDALUS_MAX_CAPTURE_BUFS; i++) {
			if (j->capture_bufs[i].index >= c.n_cap) {
				say("create-race: the job lists CAPTURE buffer %u (buf_id %llu), "
				    "which CREATE_BUFS was still making",
				    j->capture_bufs[i].index,
				    (unsigned long long)j->capture_bufs[i].buf_id);
				phantom++;
			}
		}
		daemon_job_done(dfd, j, 0, "", 0);
	}
	pthread_join(th, NULL);
	kdelay_set("armed", 0);
	say("create-race: CREATE_BUFS %s (index %u); the second job, built %s it, lists %u "
	    "CAPTURE buffers, %d of them unfinished",
	    k.ret ? strerror(k.err) : "ok", k.index, during ? "during" : "NOT during", n, phantom);
	expect(j && during, "a job was built from the workqueue while CREATE_BUFS was held");
	expect(!k.ret && k.index == c.n_cap, "CREATE_BUFS made the next buffer after the hold");
	expect(j && !phantom, "the job lists only the CAPTURE buffers that are complete");
	if (r0 >= 0 && wait_request(&c, r0, 5000) < 0)
		failed = 1;
	if (r1 >= 0 && wait_request(&c, r1, 5000) < 0)
		failed = 1;
	kdelay_end(&c, dfd, r0, r1);
	return failed;
}

int inject_main(const char *cmd, int n)
{
	failed = 0;
	if (!strcmp(cmd, "preempt-close"))
		return cmd_preempt_close(n);
	if (!strcmp(cmd, "failnth"))
		return cmd_failnth();
	if (!strcmp(cmd, "probe-failnth"))
		return cmd_probe_failnth();
	if (!strcmp(cmd, "abort-window"))
		return cmd_abort_window();
	if (!strcmp(cmd, "create-race"))
		return cmd_create_race();
	return -1;
}
