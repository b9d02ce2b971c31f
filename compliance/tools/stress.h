/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What stress.c shares with the other commands of the stress tool
 * (stress-hostile.c): one H.264 request context and a fake daemon.
 */
#ifndef STRESS_H
#define STRESS_H

#include <stddef.h>
#include <sys/types.h>

#include <linux/media.h>
#include <linux/videodev2.h>

#include "../../kmod/include/uapi/daedalus.h"

#define WIDTH 320
#define HEIGHT 240
#define NUM_BUFS 4
#define DAEMON_PATH "/dev/daedalus"

struct buf {
	void *addr;
	size_t len;
};

struct ctx {
	int vfd;
	int mfd;
	int mplane;
	enum v4l2_buf_type out_type;
	enum v4l2_buf_type cap_type;
	struct buf out[NUM_BUFS];
	unsigned int n_out;
	unsigned int n_cap;
};

extern const char *video_path;
extern const char *media_path;
/* Added to every OUTPUT QBUF's flags (e.g. HOLD_CAPTURE_BUF). */
extern unsigned int out_extra_flags;
/* When >= 0, every OUTPUT buffer's timestamp in microseconds. */
extern long long out_timestamp_us;
extern unsigned char msg_buf[DAEDALUS_MSG_MAX_SIZE];

/* Set: say() prints nothing (the fail-nth loops' thousands of errors). */
extern int say_quiet;
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
long long now_ms(void);
int xioctl(int fd, unsigned long req, void *arg);

int open_nodes(struct ctx *c);
void close_nodes(struct ctx *c);
int alloc_request(struct ctx *c);
int set_formats(struct ctx *c);
void init_buffer(struct ctx *c, struct v4l2_buffer *b, struct v4l2_plane *planes,
		 enum v4l2_buf_type type, unsigned int index);
int setup_buffers(struct ctx *c);
int streamon(struct ctx *c);
int streamoff(struct ctx *c);
int open_streaming(struct ctx *c);
int set_controls_depth(struct ctx *c, int req_fd, unsigned int frame, unsigned int depth);
int queue_output(struct ctx *c, unsigned int index, int req_fd, unsigned int frame);
int queue_request(struct ctx *c, unsigned int index, unsigned int frame, unsigned int depth);
int dqbuf(struct ctx *c, enum v4l2_buf_type type, struct v4l2_buffer *b,
	  struct v4l2_plane *planes);
int wait_capture(struct ctx *c, long long deadline);
int wait_request(struct ctx *c, int req_fd, int timeout_ms);

int daemon_attach(void);
ssize_t daemon_read(int dfd, int timeout_ms);
const struct daedalus_job *daemon_wait_job(int dfd, int timeout_ms);
int daemon_job_done(int dfd, const struct daedalus_job *j, int status, const char *reason,
		    size_t reason_len);

/* stress-hostile.c: returns the exit status, or -1 for an unknown command. */
int hostile_main(const char *cmd, int n);
/* stress-inject.c: the same. */
int inject_main(const char *cmd, int n);

#endif
