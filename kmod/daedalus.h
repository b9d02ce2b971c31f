/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Daedalus: a V4L2 stateless decoder whose jobs are decoded by a userspace
 * daemon attached through /dev/daedalus.
 */
#ifndef _DAEDALUS_H_
#define _DAEDALUS_H_

#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <media/media-device.h>
#include <media/v4l2-ctrls.h>
#include <media/v4l2-device.h>
#include <media/v4l2-fh.h>
#include <media/v4l2-mem2mem.h>

#include "include/uapi/daedalus.h"

#define DAEDALUS_NAME		"daedalus"
#define DAEDALUS_MODEL		"Daedalus stateless decoder"

extern unsigned int daedalus_job_timeout_ms;

struct daedalus_ctrl_desc {
	struct v4l2_ctrl_config cfg;
};

struct daedalus_coded_fmt {
	u32 fourcc;
	u32 codec;
	struct v4l2_frmsize_stepwise frmsize;
	const struct daedalus_ctrl_desc *ctrls;
	unsigned int num_ctrls;
};

extern const struct daedalus_coded_fmt daedalus_coded_fmts[];
extern const unsigned int daedalus_num_coded_fmts;

struct daedalus_run;

struct daedalus_dev {
	struct v4l2_device	v4l2_dev;
	struct video_device	vfd;
	struct media_device	mdev;
	/* Serializes the video node's non-queue ioctls, open and release. */
	struct mutex		dev_mutex;
	struct v4l2_m2m_dev	*m2m_dev;

	/* Contexts the daemon may refer to by id. */
	struct mutex		ctx_lock;
	struct list_head	ctx_list;
	u32			next_ctx_id;
	atomic64_t		next_buf_id;

	/* The daemon link, see daedalus-daemon.c. */
	struct miscdevice	misc;
	bool			misc_registered;
	/* Protects everything below and daedalus_ctx.run_state/abort_pending. */
	spinlock_t		job_lock;
	bool			daemon_attached;
	struct list_head	msg_queue;
	unsigned int		msg_count;
	wait_queue_head_t	msg_wait;
	struct daedalus_run	*cur_run;
	u64			next_job_id;
	struct delayed_work	timeout_work;
};

enum daedalus_run_state {
	DAEDALUS_IDLE,
	DAEDALUS_STARTING,	/* in device_run, job not yet handed over */
	DAEDALUS_WITH_DAEMON,	/* dev->cur_run belongs to this context */
};

struct daedalus_ctx {
	struct v4l2_fh		fh;
	struct daedalus_dev	*dev;
	struct v4l2_ctrl_handler hdl;
	/* Lock of both vb2 queues (and of the m2m queue ioctls). */
	struct mutex		vb_mutex;
	u32			id;
	struct list_head	node;

	const struct daedalus_coded_fmt *coded_desc;
	struct v4l2_format	coded_fmt;
	struct v4l2_format	decoded_fmt;
	/*
	 * Luma bit depth of the stream, from the coded format's sequence
	 * control (H.264/HEVC SPS, VP9 FRAME, AV1 SEQUENCE): 8 or 10. It
	 * decides which CAPTURE formats are offered (P010 for 10).
	 */
	unsigned int		bit_depth;

	/* Sequence numbers of the next OUTPUT and CAPTURE buffers. */
	u32			src_sequence;
	u32			dst_sequence;

	enum daedalus_run_state	run_state;
	bool			abort_pending;

	/* Queued for the daemon at release: allocated at open, never lost. */
	struct daedalus_msg	*closed_msg;
};

/* A vb2 buffer with the identity of its memory. */
struct daedalus_buffer {
	struct v4l2_m2m_buffer	m2m_buf;
	u64			buf_id;
};

static inline struct daedalus_buffer *to_daedalus_buf(struct vb2_buffer *vb)
{
	return container_of(to_vb2_v4l2_buffer(vb), struct daedalus_buffer,
			    m2m_buf.vb);
}

/* A queued message for the daemon. */
struct daedalus_msg {
	struct list_head	node;
	u32			size;
	u8			data[] __aligned(8);
};

/* The job the daemon is working on (at most one: m2m runs one at a time). */
struct daedalus_run {
	u64			id;
	struct daedalus_ctx	*ctx;
	struct vb2_v4l2_buffer	*src;
	struct vb2_v4l2_buffer	*dst;
	/* Still queued for read(); owned by the reader once dequeued. */
	struct daedalus_msg	*msg;
	unsigned long		deadline;
};

static inline struct daedalus_ctx *daedalus_file_to_ctx(struct file *file)
{
	return container_of(file->private_data, struct daedalus_ctx, fh);
}

/* daedalus-video.c */
extern const struct v4l2_ioctl_ops daedalus_ioctl_ops;
int daedalus_queue_init(void *priv, struct vb2_queue *src_vq,
			struct vb2_queue *dst_vq);
int daedalus_request_validate(struct media_request *req);
void daedalus_set_default_formats(struct daedalus_ctx *ctx);
int daedalus_set_bit_depth(struct daedalus_ctx *ctx, unsigned int depth);

/* daedalus-ctrls.c */
int daedalus_init_ctrls(struct daedalus_ctx *ctx);
unsigned int daedalus_current_bit_depth(struct daedalus_ctx *ctx);

/* daedalus-dec.c */
void daedalus_device_run(void *priv);
void daedalus_job_abort(void *priv);
void daedalus_run_complete(struct daedalus_run *run,
			   enum vb2_buffer_state state,
			   const u32 *bytesused);

/* daedalus-daemon.c */
int daedalus_daemon_init(struct daedalus_dev *dev);
void daedalus_daemon_exit(struct daedalus_dev *dev);
struct daedalus_run *daedalus_take_run_locked(struct daedalus_dev *dev);
void daedalus_queue_run_locked(struct daedalus_dev *dev,
			       struct daedalus_run *run);
struct daedalus_msg *daedalus_ctx_closed_msg_alloc(void);
void daedalus_notify_ctx_closed(struct daedalus_dev *dev,
				struct daedalus_msg *msg, u32 ctx_id);
struct daedalus_msg *daedalus_msg_alloc(u32 size);

#endif /* _DAEDALUS_H_ */
