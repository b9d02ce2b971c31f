/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Daedalus: a V4L2 stateless decoder whose jobs are decoded by a userspace
 * daemon attached through /dev/daedalus.
 */
#ifndef _DAEDALUS_H_
#define _DAEDALUS_H_

#include <linux/completion.h>
#include <linux/idr.h>
#include <linux/kref.h>
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

/*
 * Fault injection for client developers (see README): module parameters
 * for every context, and the same knobs per context in debugfs, which win
 * where they are not 0.
 */
enum daedalus_fault {
	DAEDALUS_FAULT_LATENCY_MS,
	DAEDALUS_FAULT_JITTER_MS,
	DAEDALUS_FAULT_SEED,
	DAEDALUS_FAULT_FAIL_EVERY,
	DAEDALUS_FAULT_HANG_JOB,
	DAEDALUS_FAULT_BAD_TIMESTAMP_EVERY,
	DAEDALUS_FAULT_REORDER_EVERY,
	DAEDALUS_NUM_FAULTS
};

extern unsigned int daedalus_faults[DAEDALUS_NUM_FAULTS];
extern const char * const daedalus_fault_names[DAEDALUS_NUM_FAULTS];

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

#define DAEDALUS_MAX_CODED_FMTS	8

extern const struct daedalus_coded_fmt daedalus_coded_fmts[];
extern const unsigned int daedalus_num_coded_fmts;

/* Runs the deferred control work of every context (daedalus-core.c). */
extern struct workqueue_struct *daedalus_ctrl_wq;

/*
 * The value a job gives one control when its request does not set it: the
 * last value set outside a request, or by a request that reached
 * device_run, whichever came last (what v4l2_ctrl_request_setup() would have
 * left current). device_run reads it without the handler lock.
 */
struct daedalus_ctrl_shadow {
	struct v4l2_ctrl	*ctrl;
	void			*p;
	u32			elems;
	size_t			alloc;
};

/*
 * A media request of this device. Once its job ended, @hold keeps it from
 * completing until the deferred control work applied and completed its
 * controls, then @ctrls_done (daedalus-dec.c).
 */
struct daedalus_request {
	struct media_request	req;
	struct media_request_object hold;
	struct list_head	ctrl_node;
	bool			apply;
	struct completion	ctrls_done;
};

struct daedalus_run;

#define DAEDALUS_MAX_CORES	8

/*
 * One m2m device: it runs one job at a time, so several of them let jobs of
 * different contexts be with the daemon at once, the way multi-core decoders
 * schedule contexts on their cores. Each context is put on the core with
 * the fewest contexts when it is opened. Only the first core's m2m device
 * has media controller entities: the topology stays that of one decoder.
 */
struct daedalus_core {
	struct v4l2_m2m_dev	*m2m_dev;
	/* The job with the daemon (under dev->job_lock). */
	struct daedalus_run	*run;
	/* Open contexts on this core (under dev->ctx_lock). */
	unsigned int		nctx;
};

struct daedalus_dev {
	struct v4l2_device	v4l2_dev;
	struct video_device	vfd;
	struct media_device	mdev;
	unsigned int		num_cores;
	struct daedalus_core	cores[DAEDALUS_MAX_CORES];
	/*
	 * Held by the video device (until its last file is closed) and by an
	 * attached daemon: the device outlives an unbind under either.
	 */
	struct kref		ref;
	bool			vfd_released;

	/*
	 * Live contexts by id (allocated cyclically, never two alike), and
	 * their debugfs directories (under debugfs_ctx, while it exists).
	 */
	struct mutex		ctx_lock;
	struct idr		ctx_idr;
	atomic64_t		next_buf_id;
	struct dentry		*debugfs;
	struct dentry		*debugfs_ctx;
	bool			debugfs_gone;

	/* The daemon link, see daedalus-daemon.c. */
	struct miscdevice	misc;
	bool			misc_registered;
	/* Protects everything below and daedalus_ctx.run_state/abort_pending. */
	spinlock_t		job_lock;
	bool			daemon_attached;
	/* The platform device is gone (unbind, rmmod): no more jobs. */
	bool			removed;
	struct list_head	msg_queue;
	unsigned int		msg_count;
	wait_queue_head_t	msg_wait;
	u64			next_job_id;
	struct delayed_work	timeout_work;
};

enum daedalus_run_state {
	DAEDALUS_IDLE,
	DAEDALUS_STARTING,	/* in device_run, job not yet handed over */
	DAEDALUS_WITH_DAEMON,	/* ctx->core->run belongs to this context */
};

/* What the daemon may know of one allocated CAPTURE buffer. */
struct daedalus_cap_desc {
	bool			valid;
	u64			timestamp;
	u64			buf_id;
};

struct daedalus_ctx {
	struct v4l2_fh		fh;
	struct daedalus_dev	*dev;
	struct v4l2_ctrl_handler hdl;
	/*
	 * Lock of both vb2 queues, of the m2m queue ioctls and of the format
	 * ioctls (taken before hdl.lock).
	 */
	struct mutex		vb_mutex;
	u32			id;
	/* Where its jobs run, from open to release. */
	struct daedalus_core	*core;

	/*
	 * The formats and bit depth are changed with hdl.lock and fmt_lock
	 * held (the sequence control's s_ctrl, called with hdl.lock, changes
	 * them too), and read under either: under fmt_lock where a client
	 * stalled in its own S_EXT_CTRLS (holding hdl.lock) must not block,
	 * in device_run and under the media device's request queue lock.
	 */
	spinlock_t		fmt_lock;
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
	/*
	 * Completions of this context's jobs still inside
	 * v4l2_m2m_buf_done_and_job_finish(), which touches the m2m context
	 * after waking the closer: release waits for none (under job_lock).
	 */
	unsigned int		completing;
	wait_queue_head_t	idle_wait;
	/*
	 * A slice of the picture in the held CAPTURE buffer failed (only the
	 * m2m job of this context touches it: no lock).
	 */
	bool			held_failed;
	/* Jobs started (device_run), for the fault-injection counters. */
	u32			job_seq;
	/* This context's fault knobs (debugfs; 0: the module parameter). */
	unsigned int		faults[DAEDALUS_NUM_FAULTS];
	/* The opener's thread group, for debugfs. */
	u32			owner_pid;
	/* debugfs ctx/<id>/ (under dev->ctx_lock). */
	struct dentry		*debugfs;

	/*
	 * The CAPTURE buffers as device_run may describe them to the daemon:
	 * device_run may run without the queue lock, so it reads this table
	 * (kept by buf_init/buf_prepare/buf_cleanup) rather than the queue.
	 */
	spinlock_t		cap_lock;
	struct daedalus_cap_desc cap[DAEDALUS_MAX_CAPTURE_BUFS];

	/* Queued for the daemon at release: allocated at open, never lost. */
	struct daedalus_msg	*closed_msg;

	/*
	 * Every control's shadow, and each coded format's first one. Under
	 * shadow_lock (taken after hdl.lock, never across a user copy), so a
	 * client stalled in its own S_EXT_CTRLS holding hdl.lock does not stall
	 * device_run.
	 */
	struct mutex		shadow_lock;
	struct daedalus_ctrl_shadow *shadows;
	unsigned int		num_shadows;
	struct daedalus_ctrl_shadow *fmt_shadows[DAEDALUS_MAX_CODED_FMTS];
	/*
	 * Requests whose job ended, for ctrl_work to apply and complete their
	 * controls (under ctrl_lock). Both need hdl.lock, which the client may
	 * hold: the completion paths (the daemon's answer, the timeout) must not
	 * wait for it. ctrl_applier is the worker while it applies a request
	 * (v4l2_ctrl_request_setup() calls s_ctrl): the shadows are already past
	 * that request and stay as they are.
	 */
	spinlock_t		ctrl_lock;
	struct list_head	ctrl_done;
	struct work_struct	ctrl_work;
	struct task_struct	*ctrl_applier;
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
	/* Fault injection: the answer is held until not_before. */
	unsigned long		not_before;
	bool			answered;
	int			status;
	u32			bytesused[DAEDALUS_MAX_PLANES];
	/* Fault injection: never handed to the daemon, never times out. */
	bool			hang;
	bool			bad_timestamp;
};

/* A fault knob as it applies to ctx: its own, else the module's. */
static inline unsigned int daedalus_fault(const struct daedalus_ctx *ctx,
					  enum daedalus_fault f)
{
	return READ_ONCE(ctx->faults[f]) ?: READ_ONCE(daedalus_faults[f]);
}

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
void daedalus_cap_update(struct daedalus_ctx *ctx, struct vb2_buffer *vb);

/* daedalus-ctrls.c */
int daedalus_init_ctrls(struct daedalus_ctx *ctx);
void daedalus_free_ctrls(struct daedalus_ctx *ctx);
unsigned int daedalus_current_bit_depth(struct daedalus_ctx *ctx);
int daedalus_shadow_apply_request(struct daedalus_ctx *ctx,
				  struct media_request *req);

/* daedalus-dec.c */
void daedalus_device_run(void *priv);
void daedalus_job_abort(void *priv);
void daedalus_run_complete(struct daedalus_run *run,
			   enum vb2_buffer_state state,
			   const u32 *bytesused);
void daedalus_ctx_quiesce(struct daedalus_ctx *ctx);
void daedalus_ctrl_work(struct work_struct *work);
void daedalus_defer_ctrls(struct daedalus_ctx *ctx, struct media_request *req,
			  bool apply);

/* daedalus-daemon.c */
int daedalus_daemon_init(struct daedalus_dev *dev);
struct daedalus_run *daedalus_take_run_locked(struct daedalus_dev *dev,
					      struct daedalus_core *core);
void daedalus_queue_run_locked(struct daedalus_dev *dev,
			       struct daedalus_run *run);
struct daedalus_msg *daedalus_ctx_closed_msg_alloc(void);
void daedalus_notify_ctx_closed(struct daedalus_dev *dev,
				struct daedalus_msg *msg, u32 ctx_id);
struct daedalus_msg *daedalus_msg_alloc(u32 size);
void daedalus_daemon_remove(struct daedalus_dev *dev);

/* daedalus-core.c */
void daedalus_dev_put(struct daedalus_dev *dev);

/* daedalus-debugfs.c */
void daedalus_debugfs_init(struct daedalus_dev *dev);
void daedalus_debugfs_ctx_add(struct daedalus_ctx *ctx);
void daedalus_debugfs_ctx_remove(struct daedalus_ctx *ctx);
void daedalus_debugfs_remove(struct daedalus_dev *dev);

#endif /* _DAEDALUS_H_ */
