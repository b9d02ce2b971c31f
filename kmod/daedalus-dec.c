// SPDX-License-Identifier: GPL-2.0
/*
 * Daedalus: running m2m jobs through the daemon.
 *
 * device_run() applies the request's controls, builds a job message and
 * queues it for the daemon. The job then ends exactly once, by whichever
 * comes first: the daemon's answer, the timeout, an abort (STREAMOFF or
 * close of the context) or the daemon detaching. Each of those takes the job
 * from dev->cur_run under dev->job_lock, so only one of them completes it.
 */

#include <linux/slab.h>
#include <media/v4l2-ctrls.h>
#include <media/videobuf2-v4l2.h>

#include "daedalus.h"

static u32 daedalus_ctrl_payload(const struct v4l2_ctrl *ctrl)
{
	return ctrl->elems * ctrl->elem_size;
}

static void daedalus_fill_buffers(struct daedalus_ctx *ctx,
				  struct daedalus_job *j,
				  struct vb2_v4l2_buffer *src,
				  struct vb2_v4l2_buffer *dst)
{
	struct v4l2_pix_format_mplane *coded = &ctx->coded_fmt.fmt.pix_mp;
	struct v4l2_pix_format_mplane *dec = &ctx->decoded_fmt.fmt.pix_mp;
	struct vb2_queue *cap_q = v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx);
	unsigned int i, n = 0;

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

	for (i = 0; i < cap_q->max_num_buffers && n < DAEDALUS_MAX_CAPTURE_BUFS;
	     i++) {
		struct vb2_buffer *vb = vb2_get_buffer(cap_q, i);
		struct daedalus_buf_desc *d;

		if (!vb)
			continue;
		d = &j->capture_bufs[n++];
		d->index = i;
		d->timestamp = vb->timestamp;
		d->buf_id = to_daedalus_buf(vb)->buf_id;
		if (vb == &dst->vb2_buf)
			d->flags |= DAEDALUS_BUF_FL_DESTINATION;
		if (vb->state == VB2_BUF_STATE_QUEUED ||
		    vb->state == VB2_BUF_STATE_ACTIVE)
			d->flags |= DAEDALUS_BUF_FL_QUEUED;
	}
	j->num_capture_bufs = n;
}

/*
 * Build the job message. The handler's current values are the request's
 * (v4l2_ctrl_request_setup() ran): copy them under the handler lock.
 */
static struct daedalus_msg *daedalus_build_msg(struct daedalus_ctx *ctx,
					       struct vb2_v4l2_buffer *src,
					       struct vb2_v4l2_buffer *dst,
					       u32 flags)
{
	const struct daedalus_coded_fmt *desc = ctx->coded_desc;
	struct v4l2_ctrl *ctrls[DAEDALUS_MAX_CTRLS];
	struct daedalus_msg *msg = NULL;
	struct daedalus_job *j;
	size_t size = sizeof(*j);
	unsigned int i;
	u32 offset;

	if (WARN_ON(desc->num_ctrls > DAEDALUS_MAX_CTRLS))
		return NULL;

	for (i = 0; i < desc->num_ctrls; i++) {
		ctrls[i] = v4l2_ctrl_find(&ctx->hdl, desc->ctrls[i].cfg.id);
		if (WARN_ON(!ctrls[i]))
			return NULL;
	}

	mutex_lock(ctx->hdl.lock);
	for (i = 0; i < desc->num_ctrls; i++)
		size += ALIGN(daedalus_ctrl_payload(ctrls[i]), 8);
	if (size > DAEDALUS_MSG_MAX_SIZE)
		goto unlock;
	msg = daedalus_msg_alloc(size);
	if (!msg)
		goto unlock;

	j = (struct daedalus_job *)msg->data;
	offset = sizeof(*j);
	for (i = 0; i < desc->num_ctrls; i++) {
		struct daedalus_ctrl *c = &j->ctrls[i];
		u32 len = daedalus_ctrl_payload(ctrls[i]);

		c->id = ctrls[i]->id;
		c->offset = offset;
		c->size = len;
		c->elems = ctrls[i]->elems;
		c->elem_size = ctrls[i]->elem_size;
		if (ctrls[i]->flags & V4L2_CTRL_FLAG_DYNAMIC_ARRAY)
			c->flags |= DAEDALUS_CTRL_FL_DYN_ARRAY;
		memcpy(msg->data + offset, ctrls[i]->p_cur.p, len);
		offset += ALIGN(len, 8);
	}
	j->num_ctrls = desc->num_ctrls;
unlock:
	mutex_unlock(ctx->hdl.lock);
	if (!msg)
		return NULL;

	j->hdr.kind = DAEDALUS_MSG_JOB;
	j->hdr.size = size;
	j->hdr.version = DAEDALUS_PROTO_VERSION;
	j->hdr.ctx_id = ctx->id;
	j->codec = desc->codec;
	j->flags = flags;
	daedalus_fill_buffers(ctx, j, src, dst);
	return msg;
}

static void daedalus_finish(struct daedalus_ctx *ctx,
			    struct vb2_v4l2_buffer *src,
			    struct vb2_v4l2_buffer *dst,
			    enum vb2_buffer_state state, const u32 *bytesused)
{
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

	if (req)
		v4l2_ctrl_request_complete(req, &ctx->hdl);
	v4l2_m2m_buf_done_and_job_finish(ctx->dev->m2m_dev, ctx->fh.m2m_ctx,
					 state);
}

/*
 * End a job taken from dev->cur_run. The context stays alive until
 * v4l2_m2m_buf_done_and_job_finish() returns: its release waits for it.
 */
void daedalus_run_complete(struct daedalus_run *run,
			   enum vb2_buffer_state state, const u32 *bytesused)
{
	struct daedalus_ctx *ctx = run->ctx;
	struct vb2_v4l2_buffer *src = run->src;
	struct vb2_v4l2_buffer *dst = run->dst;

	kvfree(run->msg);
	kfree(run);
	daedalus_finish(ctx, src, dst, state, bytesused);
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
	int setup_ret = 0;
	u32 flags = 0;

	spin_lock(&dev->job_lock);
	ctx->run_state = DAEDALUS_STARTING;
	ctx->abort_pending = false;
	spin_unlock(&dev->job_lock);

	src = v4l2_m2m_next_src_buf(ctx->fh.m2m_ctx);
	dst = v4l2_m2m_next_dst_buf(ctx->fh.m2m_ctx);

	/*
	 * A failed setup may have applied part of the request's controls:
	 * such a job never reaches the daemon, it fails.
	 */
	req = src->vb2_buf.req_obj.req;
	if (req)
		setup_ret = v4l2_ctrl_request_setup(req, &ctx->hdl);

	if (src->flags & V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF)
		flags |= DAEDALUS_JOB_FL_HOLD_CAPTURE_BUF;
	if (dst->is_held)
		flags |= DAEDALUS_JOB_FL_DST_CONTINUED;
	v4l2_m2m_buf_copy_metadata(src, dst, true);
	src->sequence = ctx->src_sequence++;
	if (!dst->is_held)
		dst->sequence = ctx->dst_sequence++;
	dst->field = V4L2_FIELD_NONE;

	if (!setup_ret) {
		run = kzalloc(sizeof(*run), GFP_KERNEL);
		if (run)
			msg = daedalus_build_msg(ctx, src, dst, flags);
	}

	spin_lock(&dev->job_lock);
	if (setup_ret)
		why = "cannot apply the request's controls";
	else if (!dev->daemon_attached)
		why = "no daemon attached";
	else if (ctx->abort_pending)
		why = "aborted";
	else if (!run || !msg)
		why = "cannot build the job message";

	if (why) {
		ctx->run_state = DAEDALUS_IDLE;
		ctx->abort_pending = false;
		spin_unlock(&dev->job_lock);
		dev_dbg(dev->v4l2_dev.dev, "ctx %u: job fails: %s (%d)\n",
			ctx->id, why, setup_ret);
		kvfree(msg);
		kfree(run);
		daedalus_finish(ctx, src, dst, VB2_BUF_STATE_ERROR, NULL);
		return;
	}

	run->ctx = ctx;
	run->src = src;
	run->dst = dst;
	run->msg = msg;
	daedalus_queue_run_locked(dev, run);
	spin_unlock(&dev->job_lock);
	wake_up_interruptible(&dev->msg_wait);
}

void daedalus_job_abort(void *priv)
{
	struct daedalus_ctx *ctx = priv;
	struct daedalus_dev *dev = ctx->dev;
	struct daedalus_run *run = NULL;

	spin_lock(&dev->job_lock);
	if (dev->cur_run && dev->cur_run->ctx == ctx)
		run = daedalus_take_run_locked(dev);
	else if (ctx->run_state == DAEDALUS_STARTING)
		ctx->abort_pending = true;
	spin_unlock(&dev->job_lock);

	if (run)
		daedalus_run_complete(run, VB2_BUF_STATE_ERROR, NULL);
}
