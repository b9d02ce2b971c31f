// SPDX-License-Identifier: GPL-2.0
/*
 * Daedalus: running m2m jobs through the daemon.
 *
 * device_run() takes the request's controls, builds a job message and
 * queues it for the daemon. The job then ends exactly once, by whichever
 * comes first: the daemon's answer, the timeout, an abort (STREAMOFF or
 * close of the context) or the daemon detaching. Each of those takes the job
 * from its core (ctx->core->run) under dev->job_lock, so only one of them
 * completes it.
 */

#include <linux/hash.h>
#include <linux/slab.h>
#include <media/v4l2-ctrls.h>
#include <media/videobuf2-v4l2.h>

#include "daedalus.h"
#include "daedalus-compat.h"

static void daedalus_fill_buffers(struct daedalus_ctx *ctx,
				  struct daedalus_job *j,
				  struct vb2_v4l2_buffer *src,
				  struct vb2_v4l2_buffer *dst)
{
	struct v4l2_pix_format_mplane coded_fmt, dec_fmt;
	struct v4l2_pix_format_mplane *coded = &coded_fmt, *dec = &dec_fmt;
	struct v4l2_m2m_buffer *b;
	unsigned long flags;
	unsigned int i, n = 0;
	u64 queued = 0;

	BUILD_BUG_ON(DAEDALUS_MAX_CAPTURE_BUFS > 64);

	/* Under fmt_lock, not hdl.lock (see struct daedalus_ctx). */
	spin_lock(&ctx->fmt_lock);
	coded_fmt = ctx->coded_fmt.fmt.pix_mp;
	dec_fmt = ctx->decoded_fmt.fmt.pix_mp;
	spin_unlock(&ctx->fmt_lock);

	j->src_fourcc = coded->pixelformat;
	j->src_width = coded->width;
	j->src_height = coded->height;
	j->src_index = src->vb2_buf.index;
	j->src_size = vb2_plane_size(&src->vb2_buf, 0);
	j->src_bytesused = vb2_get_plane_payload(&src->vb2_buf, 0);
	j->src_timestamp = src->vb2_buf.timestamp;
	j->src_buf_id = to_daedalus_buf(&src->vb2_buf)->buf_id;

	j->dst_fourcc = dec->pixelformat;
	j->dst_width = dec->width;
	j->dst_height = dec->height;
	j->dst_num_planes = min_t(u32, dec->num_planes, DAEDALUS_MAX_PLANES);
	j->colorspace = dec->colorspace;
	j->xfer_func = dec->xfer_func;
	j->ycbcr_enc = dec->ycbcr_enc;
	j->quantization = dec->quantization;
	for (i = 0; i < j->dst_num_planes; i++) {
		j->dst_planes[i].bytesperline = dec->plane_fmt[i].bytesperline;
		j->dst_planes[i].sizeimage = vb2_plane_size(&dst->vb2_buf, i);
	}
	j->dst_index = dst->vb2_buf.index;
	j->dst_timestamp = dst->vb2_buf.timestamp;
	j->dst_buf_id = to_daedalus_buf(&dst->vb2_buf)->buf_id;

	/*
	 * Queued = waiting in the m2m ready list (the destination is still
	 * there too); the rest comes from the context's table, not the queue,
	 * whose buffers a failing CREATE_BUFS may free under us.
	 */
	spin_lock_irqsave(&ctx->fh.m2m_ctx->cap_q_ctx.rdy_spinlock, flags);
	v4l2_m2m_for_each_dst_buf(ctx->fh.m2m_ctx, b) {
		unsigned int idx = b->vb.vb2_buf.index;

		if (idx < DAEDALUS_MAX_CAPTURE_BUFS)
			queued |= BIT_ULL(idx);
	}
	spin_unlock_irqrestore(&ctx->fh.m2m_ctx->cap_q_ctx.rdy_spinlock, flags);

	spin_lock(&ctx->cap_lock);
	for (i = 0; i < DAEDALUS_MAX_CAPTURE_BUFS; i++) {
		struct daedalus_buf_desc *d;

		if (!ctx->cap[i].valid)
			continue;
		d = &j->capture_bufs[n++];
		d->index = i;
		d->timestamp = ctx->cap[i].timestamp;
		d->buf_id = ctx->cap[i].buf_id;
		if (i == dst->vb2_buf.index)
			d->flags |= DAEDALUS_BUF_FL_DESTINATION;
		if (queued & BIT_ULL(i))
			d->flags |= DAEDALUS_BUF_FL_QUEUED;
	}
	spin_unlock(&ctx->cap_lock);
	j->num_capture_bufs = n;
}

/*
 * Build the job message from the shadows, which apply_request has given the
 * request's values: no handler lock (see struct daedalus_ctx).
 */
static struct daedalus_msg *daedalus_build_msg(struct daedalus_ctx *ctx,
					       struct vb2_v4l2_buffer *src,
					       struct vb2_v4l2_buffer *dst,
					       u32 flags)
{
	const struct daedalus_coded_fmt *desc = ctx->coded_desc;
	struct daedalus_ctrl_shadow *shadows =
		ctx->fmt_shadows[desc - daedalus_coded_fmts];
	struct daedalus_msg *msg;
	struct daedalus_job *j;
	size_t size = sizeof(*j);
	unsigned int i;
	u32 offset;

	lockdep_assert_held(&ctx->shadow_lock);
	if (WARN_ON(desc->num_ctrls > DAEDALUS_MAX_CTRLS))
		return NULL;

	for (i = 0; i < desc->num_ctrls; i++)
		size += ALIGN((size_t)shadows[i].elems *
			      shadows[i].ctrl->elem_size, 8);
	if (size > DAEDALUS_MSG_MAX_SIZE)
		return NULL;
	msg = daedalus_msg_alloc(size);
	if (!msg)
		return NULL;

	j = (struct daedalus_job *)msg->data;
	offset = sizeof(*j);
	for (i = 0; i < desc->num_ctrls; i++) {
		const struct daedalus_ctrl_shadow *sh = &shadows[i];
		struct daedalus_ctrl *c = &j->ctrls[i];
		u32 len = sh->elems * sh->ctrl->elem_size;

		c->id = sh->ctrl->id;
		c->offset = offset;
		c->size = len;
		c->elems = sh->elems;
		c->elem_size = sh->ctrl->elem_size;
		if (sh->ctrl->flags & V4L2_CTRL_FLAG_DYNAMIC_ARRAY)
			c->flags |= DAEDALUS_CTRL_FL_DYN_ARRAY;
		memcpy(msg->data + offset, sh->p, len);
		offset += ALIGN(len, 8);
	}
	j->num_ctrls = desc->num_ctrls;
	j->hdr.kind = DAEDALUS_MSG_JOB;
	j->hdr.size = size;
	j->hdr.version = DAEDALUS_PROTO_VERSION;
	j->hdr.ctx_id = ctx->id;
	j->codec = desc->codec;
	j->flags = flags;
	daedalus_fill_buffers(ctx, j, src, dst);
	return msg;
}

static void daedalus_hold_release(struct media_request_object *obj)
{
	/* Part of struct daedalus_request, which the media core frees. */
}

static const struct media_request_object_ops daedalus_hold_ops = {
	.release = daedalus_hold_release,
};

/* How long a completion waits for the control work when hdl.lock is free. */
#define DAEDALUS_CTRLS_WAIT_MS	20

/*
 * The buffer of req is about to be done: its controls are completed by
 * ctrl_work, which may wait for hdl.lock (held by a client stalled in its own
 * S_EXT_CTRLS) where the daemon's answer, the timeout or a STREAMOFF (which
 * holds the media device's request queue lock) must not. A request whose job
 * ran is applied first (apply), so the current values are the request's as
 * on every driver; @hold keeps the request from completing until then.
 *
 * When hdl.lock is free the work is done in microseconds: wait for it (a
 * little), so the request completes when its OUTPUT buffer is done, as with
 * the stock helpers, for clients that REINIT a request right after DQBUF.
 * If hold cannot be bound (never: the request is queued), they complete here.
 */
void daedalus_defer_ctrls(struct daedalus_ctx *ctx, struct media_request *req,
			  bool apply)
{
	struct daedalus_request *dreq =
		container_of(req, struct daedalus_request, req);

	media_request_object_init(&dreq->hold);
	if (WARN_ON(media_request_object_bind(req, &daedalus_hold_ops, ctx,
					      false, &dreq->hold))) {
		v4l2_ctrl_request_complete(req, &ctx->hdl);
		return;
	}
	media_request_get(req);
	dreq->apply = apply;
	reinit_completion(&dreq->ctrls_done);
	spin_lock(&ctx->ctrl_lock);
	list_add_tail(&dreq->ctrl_node, &ctx->ctrl_done);
	spin_unlock(&ctx->ctrl_lock);
	queue_work(daedalus_ctrl_wq, &ctx->ctrl_work);
	if (!mutex_is_locked(ctx->hdl.lock))
		wait_for_completion_timeout(&dreq->ctrls_done,
					    msecs_to_jiffies(DAEDALUS_CTRLS_WAIT_MS));
}

void daedalus_ctrl_work(struct work_struct *work)
{
	struct daedalus_ctx *ctx = container_of(work, struct daedalus_ctx,
						ctrl_work);
	struct daedalus_request *dreq;

	for (;;) {
		spin_lock(&ctx->ctrl_lock);
		dreq = list_first_entry_or_null(&ctx->ctrl_done,
						struct daedalus_request,
						ctrl_node);
		if (dreq)
			list_del_init(&dreq->ctrl_node);
		spin_unlock(&ctx->ctrl_lock);
		if (!dreq)
			return;

		if (dreq->apply) {
			WRITE_ONCE(ctx->ctrl_applier, current);
			/* Its failure (a bit depth refused) failed the job. */
			v4l2_ctrl_request_setup(&dreq->req, &ctx->hdl);
			WRITE_ONCE(ctx->ctrl_applier, NULL);
		}
		v4l2_ctrl_request_complete(&dreq->req, &ctx->hdl);
		media_request_object_complete(&dreq->hold);
		complete(&dreq->ctrls_done);
		media_request_put(&dreq->req);
	}
}

static void daedalus_finish(struct daedalus_ctx *ctx,
			    struct vb2_v4l2_buffer *src,
			    struct vb2_v4l2_buffer *dst,
			    enum vb2_buffer_state state, const u32 *bytesused,
			    bool bad_timestamp)
{
	struct daedalus_dev *dev = ctx->dev;
	struct media_request *req = src->vb2_buf.req_obj.req;
	unsigned int n = min_t(unsigned int, dst->vb2_buf.num_planes,
			       DAEDALUS_MAX_PLANES);
	unsigned int i;

	if (state == VB2_BUF_STATE_DONE && bytesused) {
		for (i = 0; i < n; i++) {
			u32 len = bytesused[i];

			if (!len || len > vb2_plane_size(&dst->vb2_buf, i))
				len = vb2_plane_size(&dst->vb2_buf, i);
			vb2_set_plane_payload(&dst->vb2_buf, i, len);
		}
	}
	if (bad_timestamp && !(src->flags & V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF)) {
		dst->vb2_buf.timestamp += NSEC_PER_USEC;
		daedalus_cap_update(ctx, &dst->vb2_buf);
	}

	/*
	 * A failed slice of a picture whose CAPTURE buffer stays held: the
	 * picture's last slice (the job that returns the buffer) ends with
	 * ERROR too, so the buffer does. (The m2m core itself returns a held
	 * buffer DONE on a new timestamp or a flush: that we cannot flag.)
	 */
	if (src->flags & V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF) {
		if (state == VB2_BUF_STATE_ERROR)
			ctx->held_failed = true;
	} else if (ctx->held_failed) {
		state = VB2_BUF_STATE_ERROR;
		ctx->held_failed = false;
	}

	if (req)
		daedalus_defer_ctrls(ctx, req, true);
	v4l2_m2m_buf_done_and_job_finish(ctx->core->m2m_dev, ctx->fh.m2m_ctx,
					 state);

	/*
	 * Only now may the context go: the call above touches the m2m context
	 * after it woke a closer waiting in v4l2_m2m_cancel_job(). Woken
	 * under the lock, so the closer cannot free ctx before we let go.
	 */
	spin_lock(&dev->job_lock);
	if (!--ctx->completing)
		wake_up_all(&ctx->idle_wait);
	spin_unlock(&dev->job_lock);
}

/*
 * End a job taken from its core (daedalus_take_run_locked() counted it
 * in ctx->completing).
 */
void daedalus_run_complete(struct daedalus_run *run,
			   enum vb2_buffer_state state, const u32 *bytesused)
{
	struct daedalus_ctx *ctx = run->ctx;
	struct vb2_v4l2_buffer *src = run->src;
	struct vb2_v4l2_buffer *dst = run->dst;
	bool bad_timestamp = run->bad_timestamp && state == VB2_BUF_STATE_DONE;
	u32 used[DAEDALUS_MAX_PLANES];

	if (bytesused)
		memcpy(used, bytesused, sizeof(used));
	kvfree(run->msg);
	kfree(run);
	daedalus_finish(ctx, src, dst, state, bytesused ? used : NULL,
			bad_timestamp);
}

static bool daedalus_ctx_idle(struct daedalus_ctx *ctx)
{
	bool idle;

	spin_lock(&ctx->dev->job_lock);
	idle = !ctx->completing && ctx->run_state == DAEDALUS_IDLE;
	spin_unlock(&ctx->dev->job_lock);
	return idle;
}

/*
 * Before the m2m context is released: stop both queues (which aborts and
 * waits for a running job, and keeps new ones from being scheduled), then
 * wait until no completion of this context is still running.
 */
void daedalus_ctx_quiesce(struct daedalus_ctx *ctx)
{
	struct v4l2_m2m_ctx *m2m_ctx = ctx->fh.m2m_ctx;

	mutex_lock(&ctx->vb_mutex);
	v4l2_m2m_streamoff(NULL, m2m_ctx, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE);
	v4l2_m2m_streamoff(NULL, m2m_ctx, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
	mutex_unlock(&ctx->vb_mutex);
	wait_event(ctx->idle_wait, daedalus_ctx_idle(ctx));
}

static bool daedalus_fault_every(unsigned int every, u32 seq)
{
	return every && !(seq % every);
}

/* Injected latency and jitter are each clamped to this (ms). */
#define DAEDALUS_FAULT_MAX_MS	60000

/* The injected latency of job seq of ctx, in jiffies. */
static unsigned long daedalus_fault_delay(struct daedalus_ctx *ctx, u32 seq)
{
	u32 ms = min_t(u32, daedalus_fault(ctx, DAEDALUS_FAULT_LATENCY_MS),
		       DAEDALUS_FAULT_MAX_MS);
	u32 jitter = min_t(u32, daedalus_fault(ctx, DAEDALUS_FAULT_JITTER_MS),
			   DAEDALUS_FAULT_MAX_MS);

	if (jitter) {
		u64 key = ((u64)daedalus_fault(ctx, DAEDALUS_FAULT_SEED) << 32) ^
			  ((u64)ctx->id << 20) ^ seq;

		ms += hash_64(key, 32) % (jitter + 1);
	}
	return msecs_to_jiffies(ms);
}

/*
 * Fault injection: this job decodes into the second CAPTURE buffer in
 * queue order (the first goes to the back), so CAPTURE buffers complete
 * out of the order they were queued in. Not mid-picture (a held buffer).
 */
static void daedalus_fault_reorder(struct daedalus_ctx *ctx, u32 seq)
{
	struct v4l2_m2m_ctx *m2m_ctx = ctx->fh.m2m_ctx;
	struct vb2_v4l2_buffer *first = v4l2_m2m_next_dst_buf(m2m_ctx);

	if (!first || first->is_held || v4l2_m2m_num_dst_bufs_ready(m2m_ctx) < 2)
		return;
	v4l2_m2m_dst_buf_remove(m2m_ctx);
	v4l2_m2m_buf_queue(m2m_ctx, first);
	dev_info_ratelimited(ctx->dev->v4l2_dev.dev,
			     "ctx %u: job %u skips CAPTURE buffer %u (fault_reorder_every)\n",
			     ctx->id, seq, first->vb2_buf.index);
}

void daedalus_device_run(void *priv)
{
	struct daedalus_ctx *ctx = priv;
	struct daedalus_dev *dev = ctx->dev;
	struct vb2_v4l2_buffer *src, *dst;
	struct daedalus_msg *msg = NULL;
	struct media_request *req;
	struct daedalus_run *run = NULL;
	const char *why = NULL;
	unsigned long delay;
	int setup_ret = 0;
	bool hang;
	u32 flags = 0;
	u32 seq;

	/* An abort that came before us is still pending: keep it. */
	spin_lock(&dev->job_lock);
	ctx->run_state = DAEDALUS_STARTING;
	seq = ++ctx->job_seq;
	spin_unlock(&dev->job_lock);

	if (daedalus_fault_every(daedalus_fault(ctx, DAEDALUS_FAULT_REORDER_EVERY), seq))
		daedalus_fault_reorder(ctx, seq);
	delay = daedalus_fault_delay(ctx, seq);
	src = v4l2_m2m_next_src_buf(ctx->fh.m2m_ctx);
	dst = v4l2_m2m_next_dst_buf(ctx->fh.m2m_ctx);

	req = src->vb2_buf.req_obj.req;

	if (src->flags & V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF)
		flags |= DAEDALUS_JOB_FL_HOLD_CAPTURE_BUF;
	if (dst->is_held)
		flags |= DAEDALUS_JOB_FL_DST_CONTINUED;
	daedalus_copy_metadata(src, dst);
	src->sequence = ctx->src_sequence++;
	if (!dst->is_held) {
		dst->sequence = ctx->dst_sequence++;
		/* A new picture: a failure of the last one is not its own. */
		ctx->held_failed = false;
	}
	dst->field = V4L2_FIELD_NONE;
	daedalus_cap_update(ctx, &dst->vb2_buf);

	/*
	 * The request's controls, without the handler lock: a client stalled
	 * in its own S_EXT_CTRLS must not stall the device. A failed apply
	 * may have taken part of them: such a job never reaches the daemon.
	 */
	mutex_lock(&ctx->shadow_lock);
	if (req)
		setup_ret = daedalus_shadow_apply_request(ctx, req);
	if (!setup_ret) {
		run = kzalloc(sizeof(*run), GFP_KERNEL);
		if (run)
			msg = daedalus_build_msg(ctx, src, dst, flags);
	}
	mutex_unlock(&ctx->shadow_lock);

	spin_lock(&dev->job_lock);
	if (setup_ret == -EBUSY)
		why = "the request's bit depth is not the CAPTURE buffers'";
	else if (setup_ret)
		why = "cannot apply the request's controls";
	else if (dev->removed)
		why = "device removed";
	else if (!dev->daemon_attached)
		why = "no daemon attached";
	else if (ctx->abort_pending)
		why = "aborted";
	else if (!run || !msg)
		why = "cannot build the job message";
	else if (daedalus_fault_every(daedalus_fault(ctx, DAEDALUS_FAULT_FAIL_EVERY),
				      seq))
		why = "fault injection (fault_fail_every)";

	if (why) {
		ctx->run_state = DAEDALUS_IDLE;
		ctx->abort_pending = false;
		ctx->completing++;
		spin_unlock(&dev->job_lock);
		dev_dbg(dev->v4l2_dev.dev, "ctx %u: job fails: %s (%d)\n",
			ctx->id, why, setup_ret);
		kvfree(msg);
		kfree(run);
		daedalus_finish(ctx, src, dst, VB2_BUF_STATE_ERROR, NULL, false);
		return;
	}

	run->ctx = ctx;
	run->src = src;
	run->dst = dst;
	run->msg = msg;
	run->not_before = jiffies + delay;
	run->bad_timestamp =
		daedalus_fault_every(daedalus_fault(ctx, DAEDALUS_FAULT_BAD_TIMESTAMP_EVERY),
				     seq);
	hang = daedalus_fault(ctx, DAEDALUS_FAULT_HANG_JOB) == seq;
	if (hang) {
		run->hang = true;
		run->msg = NULL;
	}
	daedalus_queue_run_locked(dev, run);
	spin_unlock(&dev->job_lock);
	if (hang) {
		dev_info_ratelimited(dev->v4l2_dev.dev,
				     "ctx %u: job %u held forever (fault_hang_job)\n",
				     ctx->id, seq);
		kvfree(msg);
	}
	wake_up_interruptible(&dev->msg_wait);
}

/*
 * Called by the m2m core while this context's job runs: before, in or after
 * device_run. A job with the daemon ends now; one not handed over yet fails
 * in device_run. Only STREAMOFF and close abort, so a mark left by a job
 * that was already completing is dropped at the next STREAMON.
 */
void daedalus_job_abort(void *priv)
{
	struct daedalus_ctx *ctx = priv;
	struct daedalus_dev *dev = ctx->dev;
	struct daedalus_run *run = NULL;

	spin_lock(&dev->job_lock);
	if (ctx->core->run && ctx->core->run->ctx == ctx)
		run = daedalus_take_run_locked(dev, ctx->core);
	else
		ctx->abort_pending = true;
	spin_unlock(&dev->job_lock);

	if (run)
		daedalus_run_complete(run, VB2_BUF_STATE_ERROR, NULL);
}
