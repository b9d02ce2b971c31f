// SPDX-License-Identifier: GPL-2.0
/*
 * Daedalus: formats, ioctls and vb2 queues.
 */

#include <media/v4l2-event.h>
#include <media/v4l2-ioctl.h>
#include <media/videobuf2-v4l2.h>
#include <media/videobuf2-vmalloc.h>

#include "daedalus.h"
#include "daedalus-compat.h"

#define DAEDALUS_MIN_CODED_SIZE	(256U * 1024U)
/*
 * The largest OUTPUT buffer: three bytes per pixel of the coded size (more
 * than any codec's worst-case picture: H.264 PCM macroblocks take at most
 * 384 bytes of 10-bit 4:2:0 samples per 256 pixels), at least 4 MiB, at most
 * 32 MiB.
 */
#define DAEDALUS_MIN_CODED_BOUND	(4U * 1024U * 1024U)
#define DAEDALUS_MAX_CODED_SIZE	(32U * 1024U * 1024U)
#define DAEDALUS_MB_SIZE	16U
/* The OUTPUT size of a new context, within every coded format's range. */
#define DAEDALUS_DEFAULT_WIDTH	64U
#define DAEDALUS_DEFAULT_HEIGHT	64U

static const u32 daedalus_decoded_fmts[] = {
	V4L2_PIX_FMT_NV12,
	V4L2_PIX_FMT_NV12M,
	V4L2_PIX_FMT_YUV420,
	V4L2_PIX_FMT_P010,
};

static const struct daedalus_coded_fmt *daedalus_find_coded_fmt(u32 fourcc)
{
	unsigned int i;

	for (i = 0; i < daedalus_num_coded_fmts; i++)
		if (daedalus_coded_fmts[i].fourcc == fourcc)
			return &daedalus_coded_fmts[i];
	return NULL;
}

static unsigned int daedalus_decoded_fmt_depth(u32 fourcc)
{
	return fourcc == V4L2_PIX_FMT_P010 ? 10 : 8;
}

/* The index-th CAPTURE format for streams of this bit depth, or 0. */
static u32 daedalus_decoded_fmt(unsigned int bit_depth, unsigned int index)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(daedalus_decoded_fmts); i++) {
		if (daedalus_decoded_fmt_depth(daedalus_decoded_fmts[i]) != bit_depth)
			continue;
		if (!index--)
			return daedalus_decoded_fmts[i];
	}
	return 0;
}

static bool daedalus_is_decoded_fmt(u32 fourcc, unsigned int bit_depth)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(daedalus_decoded_fmts); i++)
		if (daedalus_decoded_fmts[i] == fourcc)
			return daedalus_decoded_fmt_depth(fourcc) == bit_depth;
	return false;
}

static u32 daedalus_coded_bound(const struct v4l2_pix_format_mplane *pix_mp)
{
	/* Both at most 8192: no overflow. */
	return clamp(pix_mp->width * pix_mp->height * 3,
		     DAEDALUS_MIN_CODED_BOUND, DAEDALUS_MAX_CODED_SIZE);
}

/* The largest plane CREATE_BUFS allocates on a queue of this context. */
static u32 daedalus_create_bound(struct daedalus_ctx *ctx,
				 enum v4l2_buf_type type)
{
	const struct v4l2_frmsize_stepwise *r = &ctx->coded_desc->frmsize;

	if (V4L2_TYPE_IS_OUTPUT(type))
		return DAEDALUS_MAX_CODED_SIZE;
	return round_up(r->max_width, DAEDALUS_MB_SIZE) *
	       round_up(r->max_height, DAEDALUS_MB_SIZE) * 3;
}

static void daedalus_init_fmt(struct v4l2_format *f, enum v4l2_buf_type type,
			      u32 fourcc)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->fmt.pix_mp.pixelformat = fourcc;
	f->fmt.pix_mp.field = V4L2_FIELD_NONE;
	f->fmt.pix_mp.colorspace = V4L2_COLORSPACE_REC709;
	f->fmt.pix_mp.ycbcr_enc = V4L2_YCBCR_ENC_DEFAULT;
	f->fmt.pix_mp.quantization = V4L2_QUANTIZATION_DEFAULT;
	f->fmt.pix_mp.xfer_func = V4L2_XFER_FUNC_DEFAULT;
}

/*
 * CAPTURE buffers cover the coded size rounded up to whole 16x16 macroblocks,
 * so a decoder may always write whole macroblocks (the engine decodes H.264
 * without the SPS cropping: 1920x1080 comes out 1920x1088).
 */
static void daedalus_fill_decoded(struct daedalus_ctx *ctx,
				  struct v4l2_pix_format_mplane *pix_mp)
{
	const struct v4l2_frmsize_stepwise *coded = &ctx->coded_desc->frmsize;
	const struct v4l2_frmsize_stepwise mbs = {
		.min_width = round_up(coded->min_width, DAEDALUS_MB_SIZE),
		.max_width = round_up(coded->max_width, DAEDALUS_MB_SIZE),
		.step_width = DAEDALUS_MB_SIZE,
		.min_height = round_up(coded->min_height, DAEDALUS_MB_SIZE),
		.max_height = round_up(coded->max_height, DAEDALUS_MB_SIZE),
		.step_height = DAEDALUS_MB_SIZE,
	};

	if (!daedalus_is_decoded_fmt(pix_mp->pixelformat, ctx->bit_depth))
		pix_mp->pixelformat = daedalus_decoded_fmt(ctx->bit_depth, 0);

	v4l2_apply_frmsize_constraints(&pix_mp->width, &pix_mp->height, &mbs);
	v4l2_fill_pixfmt_mp(pix_mp, pix_mp->pixelformat,
			    pix_mp->width, pix_mp->height);
	pix_mp->field = V4L2_FIELD_NONE;
}

static void daedalus_reset_decoded_fmt(struct daedalus_ctx *ctx)
{
	struct v4l2_pix_format_mplane *coded = &ctx->coded_fmt.fmt.pix_mp;
	struct v4l2_pix_format_mplane *pix_mp = &ctx->decoded_fmt.fmt.pix_mp;

	daedalus_init_fmt(&ctx->decoded_fmt, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
			  daedalus_decoded_fmt(ctx->bit_depth, 0));
	pix_mp->width = coded->width;
	pix_mp->height = coded->height;
	daedalus_fill_decoded(ctx, pix_mp);

	pix_mp->colorspace = coded->colorspace;
	pix_mp->xfer_func = coded->xfer_func;
	pix_mp->ycbcr_enc = coded->ycbcr_enc;
	pix_mp->quantization = coded->quantization;
}

void daedalus_set_default_formats(struct daedalus_ctx *ctx)
{
	struct v4l2_pix_format_mplane *pix_mp = &ctx->coded_fmt.fmt.pix_mp;

	lockdep_assert_held(ctx->hdl.lock);
	spin_lock(&ctx->fmt_lock);
	ctx->coded_desc = &daedalus_coded_fmts[0];
	ctx->bit_depth = daedalus_current_bit_depth(ctx);
	daedalus_init_fmt(&ctx->coded_fmt, V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE,
			  ctx->coded_desc->fourcc);
	pix_mp->width = DAEDALUS_DEFAULT_WIDTH;
	pix_mp->height = DAEDALUS_DEFAULT_HEIGHT;
	v4l2_apply_frmsize_constraints(&pix_mp->width, &pix_mp->height,
				       &ctx->coded_desc->frmsize);
	pix_mp->num_planes = 1;
	pix_mp->plane_fmt[0].sizeimage = DAEDALUS_MIN_CODED_SIZE;

	daedalus_reset_decoded_fmt(ctx);
	spin_unlock(&ctx->fmt_lock);
}

/*
 * The sequence control of the coded format changed the stream's bit depth:
 * offer the CAPTURE formats of that depth and reset the CAPTURE format, as
 * long as no CAPTURE buffer is allocated.
 */
int daedalus_set_bit_depth(struct daedalus_ctx *ctx, unsigned int depth)
{
	struct vb2_queue *vq;

	if (depth == ctx->bit_depth)
		return 0;
	vq = v4l2_m2m_get_vq(ctx->fh.m2m_ctx, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
	if (vb2_is_busy(vq))
		return -EBUSY;
	spin_lock(&ctx->fmt_lock);
	ctx->bit_depth = depth;
	daedalus_reset_decoded_fmt(ctx);
	spin_unlock(&ctx->fmt_lock);
	return 0;
}

static int daedalus_querycap(struct file *file, void *priv,
			     struct v4l2_capability *cap)
{
	strscpy(cap->driver, DAEDALUS_NAME, sizeof(cap->driver));
	strscpy(cap->card, DAEDALUS_MODEL, sizeof(cap->card));
	snprintf(cap->bus_info, sizeof(cap->bus_info), "platform:%s",
		 DAEDALUS_NAME);
	return 0;
}

static int daedalus_enum_fmt_vid_cap(struct file *file, void *priv,
				     struct v4l2_fmtdesc *f)
{
	struct daedalus_ctx *ctx = daedalus_file_to_ctx(file);
	u32 fourcc = daedalus_decoded_fmt(READ_ONCE(ctx->bit_depth), f->index);

	if (!fourcc)
		return -EINVAL;
	f->pixelformat = fourcc;
	return 0;
}

static int daedalus_enum_fmt_vid_out(struct file *file, void *priv,
				     struct v4l2_fmtdesc *f)
{
	if (f->index >= daedalus_num_coded_fmts)
		return -EINVAL;
	f->pixelformat = daedalus_coded_fmts[f->index].fourcc;
	return 0;
}

static int daedalus_g_fmt_vid_cap(struct file *file, void *priv,
				  struct v4l2_format *f)
{
	struct daedalus_ctx *ctx = daedalus_file_to_ctx(file);

	mutex_lock(ctx->hdl.lock);
	*f = ctx->decoded_fmt;
	mutex_unlock(ctx->hdl.lock);
	return 0;
}

static int daedalus_g_fmt_vid_out(struct file *file, void *priv,
				  struct v4l2_format *f)
{
	struct daedalus_ctx *ctx = daedalus_file_to_ctx(file);

	mutex_lock(ctx->hdl.lock);
	*f = ctx->coded_fmt;
	mutex_unlock(ctx->hdl.lock);
	return 0;
}

static int daedalus_try_fmt_vid_cap(struct file *file, void *priv,
				    struct v4l2_format *f)
{
	struct daedalus_ctx *ctx = daedalus_file_to_ctx(file);

	mutex_lock(ctx->hdl.lock);
	daedalus_fill_decoded(ctx, &f->fmt.pix_mp);
	mutex_unlock(ctx->hdl.lock);
	return 0;
}

static int daedalus_try_fmt_vid_out(struct file *file, void *priv,
				    struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix_mp = &f->fmt.pix_mp;
	const struct daedalus_coded_fmt *desc;

	desc = daedalus_find_coded_fmt(pix_mp->pixelformat);
	if (!desc) {
		desc = &daedalus_coded_fmts[0];
		pix_mp->pixelformat = desc->fourcc;
	}

	/* Any size in range: CAPTURE rounds up to whole macroblocks. */
	v4l2_apply_frmsize_constraints(&pix_mp->width, &pix_mp->height,
				       &desc->frmsize);
	pix_mp->field = V4L2_FIELD_NONE;
	pix_mp->num_planes = 1;
	pix_mp->plane_fmt[0].bytesperline = 0;
	/*
	 * At least two bytes per pixel: a picture of PCM blocks (H.264 I_PCM,
	 * HEVC pcm_flag), 8-bit or 10-bit, and its headers fit; the raw 4:2:0
	 * size that clients ask for (GStreamer) does not.
	 */
	pix_mp->plane_fmt[0].sizeimage =
		max3(pix_mp->plane_fmt[0].sizeimage, DAEDALUS_MIN_CODED_SIZE,
		     pix_mp->width * pix_mp->height * 2);
	pix_mp->plane_fmt[0].sizeimage = min(pix_mp->plane_fmt[0].sizeimage,
					     daedalus_coded_bound(pix_mp));
	return 0;
}

static int daedalus_s_fmt_vid_out(struct file *file, void *priv,
				  struct v4l2_format *f)
{
	struct daedalus_ctx *ctx = daedalus_file_to_ctx(file);
	struct v4l2_m2m_ctx *m2m_ctx = ctx->fh.m2m_ctx;
	struct vb2_queue *vq, *peer_vq;
	int ret = 0;

	/* The queue lock keeps the busy checks true until we are done. */
	if (mutex_lock_interruptible(&ctx->vb_mutex))
		return -ERESTARTSYS;
	peer_vq = v4l2_m2m_get_vq(m2m_ctx, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
	if (vb2_is_busy(peer_vq)) {
		ret = -EBUSY;
		goto unlock;
	}

	daedalus_try_fmt_vid_out(file, priv, f);

	vq = v4l2_m2m_get_vq(m2m_ctx, f->type);
	mutex_lock(ctx->hdl.lock);
	if (vb2_is_busy(vq) &&
	    f->fmt.pix_mp.pixelformat != ctx->coded_fmt.fmt.pix_mp.pixelformat) {
		ret = -EBUSY;
	} else {
		spin_lock(&ctx->fmt_lock);
		ctx->coded_desc =
			daedalus_find_coded_fmt(f->fmt.pix_mp.pixelformat);
		ctx->coded_fmt = *f;
		ctx->bit_depth = daedalus_current_bit_depth(ctx);
		daedalus_reset_decoded_fmt(ctx);
		spin_unlock(&ctx->fmt_lock);
	}
	mutex_unlock(ctx->hdl.lock);
unlock:
	mutex_unlock(&ctx->vb_mutex);
	return ret;
}

static int daedalus_s_fmt_vid_cap(struct file *file, void *priv,
				  struct v4l2_format *f)
{
	struct daedalus_ctx *ctx = daedalus_file_to_ctx(file);
	struct vb2_queue *vq;
	int ret = 0;

	if (mutex_lock_interruptible(&ctx->vb_mutex))
		return -ERESTARTSYS;
	vq = v4l2_m2m_get_vq(ctx->fh.m2m_ctx, f->type);
	mutex_lock(ctx->hdl.lock);
	if (vb2_is_busy(vq)) {
		ret = -EBUSY;
	} else {
		daedalus_fill_decoded(ctx, &f->fmt.pix_mp);
		spin_lock(&ctx->fmt_lock);
		ctx->decoded_fmt = *f;
		spin_unlock(&ctx->fmt_lock);
	}
	mutex_unlock(ctx->hdl.lock);
	mutex_unlock(&ctx->vb_mutex);
	return ret;
}

/* Not a queue ioctl to the v4l2 core, but it acts on both queues. */
static int daedalus_decoder_cmd(struct file *file, void *priv,
				struct v4l2_decoder_cmd *dc)
{
	struct daedalus_ctx *ctx = daedalus_file_to_ctx(file);
	int ret;

	if (mutex_lock_interruptible(&ctx->vb_mutex))
		return -ERESTARTSYS;
	ret = v4l2_m2m_ioctl_stateless_decoder_cmd(file, priv, dc);
	mutex_unlock(&ctx->vb_mutex);
	return ret;
}

static int daedalus_enum_framesizes(struct file *file, void *priv,
				    struct v4l2_frmsizeenum *fsize)
{
	const struct daedalus_coded_fmt *desc;

	if (fsize->index)
		return -EINVAL;

	desc = daedalus_find_coded_fmt(fsize->pixel_format);
	if (!desc)
		return -EINVAL;

	fsize->type = V4L2_FRMSIZE_TYPE_CONTINUOUS;
	fsize->stepwise = desc->frmsize;
	return 0;
}

const struct v4l2_ioctl_ops daedalus_ioctl_ops = {
	.vidioc_querycap		= daedalus_querycap,
	.vidioc_enum_framesizes		= daedalus_enum_framesizes,

	.vidioc_enum_fmt_vid_cap	= daedalus_enum_fmt_vid_cap,
	.vidioc_g_fmt_vid_cap_mplane	= daedalus_g_fmt_vid_cap,
	.vidioc_try_fmt_vid_cap_mplane	= daedalus_try_fmt_vid_cap,
	.vidioc_s_fmt_vid_cap_mplane	= daedalus_s_fmt_vid_cap,

	.vidioc_enum_fmt_vid_out	= daedalus_enum_fmt_vid_out,
	.vidioc_g_fmt_vid_out_mplane	= daedalus_g_fmt_vid_out,
	.vidioc_try_fmt_vid_out_mplane	= daedalus_try_fmt_vid_out,
	.vidioc_s_fmt_vid_out_mplane	= daedalus_s_fmt_vid_out,

	.vidioc_reqbufs			= v4l2_m2m_ioctl_reqbufs,
	.vidioc_querybuf		= v4l2_m2m_ioctl_querybuf,
	.vidioc_qbuf			= v4l2_m2m_ioctl_qbuf,
	.vidioc_dqbuf			= v4l2_m2m_ioctl_dqbuf,
	.vidioc_prepare_buf		= v4l2_m2m_ioctl_prepare_buf,
	.vidioc_create_bufs		= v4l2_m2m_ioctl_create_bufs,
	.vidioc_expbuf			= v4l2_m2m_ioctl_expbuf,

	.vidioc_streamon		= v4l2_m2m_ioctl_streamon,
	.vidioc_streamoff		= v4l2_m2m_ioctl_streamoff,

	.vidioc_decoder_cmd		= daedalus_decoder_cmd,
	.vidioc_try_decoder_cmd		= v4l2_m2m_ioctl_stateless_try_decoder_cmd,

	.vidioc_subscribe_event		= v4l2_ctrl_subscribe_event,
	.vidioc_unsubscribe_event	= v4l2_event_unsubscribe,
};

static int daedalus_queue_setup(struct vb2_queue *vq, unsigned int *nbuffers,
				unsigned int *num_planes, unsigned int sizes[],
				struct device *alloc_devs[])
{
	struct daedalus_ctx *ctx = vb2_get_drv_priv(vq);
	struct v4l2_pix_format_mplane *pix_mp;
	unsigned int i;
	int ret = 0;

	/*
	 * Not hdl.lock: REQBUFS holds the media device's request queue lock,
	 * and a client may stall in S_EXT_CTRLS holding hdl.lock.
	 */
	spin_lock(&ctx->fmt_lock);
	if (V4L2_TYPE_IS_OUTPUT(vq->type))
		pix_mp = &ctx->coded_fmt.fmt.pix_mp;
	else
		pix_mp = &ctx->decoded_fmt.fmt.pix_mp;

	if (!*num_planes) {
		*num_planes = pix_mp->num_planes;
		for (i = 0; i < pix_mp->num_planes; i++)
			sizes[i] = pix_mp->plane_fmt[i].sizeimage;
		goto unlock;
	}

	/*
	 * CREATE_BUFS: at least the current format's size. At most what any
	 * format of this codec may need: 32 MiB for OUTPUT, the largest
	 * picture at 3 bytes per pixel (P010) for CAPTURE; and always twice
	 * the current size (v4l2-compliance asks for that, and for sizes of
	 * other formats than the current one).
	 */
	if (*num_planes != pix_mp->num_planes) {
		ret = -EINVAL;
		goto unlock;
	}
	for (i = 0; i < pix_mp->num_planes; i++) {
		u32 need = pix_mp->plane_fmt[i].sizeimage;
		u32 max = max(daedalus_create_bound(ctx, vq->type),
			      2 * PAGE_ALIGN(need));

		if (sizes[i] < need || sizes[i] > max) {
			dev_dbg(ctx->dev->v4l2_dev.dev,
				"ctx %u: buffer size %u outside [%u, %u]\n",
				ctx->id, sizes[i], need, max);
			ret = -EINVAL;
			goto unlock;
		}
	}
unlock:
	spin_unlock(&ctx->fmt_lock);
	return ret;
}

static void daedalus_queue_cleanup(struct vb2_queue *vq,
				   enum vb2_buffer_state state)
{
	struct daedalus_ctx *ctx = vb2_get_drv_priv(vq);
	struct vb2_v4l2_buffer *vbuf;

	for (;;) {
		if (V4L2_TYPE_IS_OUTPUT(vq->type))
			vbuf = v4l2_m2m_src_buf_remove(ctx->fh.m2m_ctx);
		else
			vbuf = v4l2_m2m_dst_buf_remove(ctx->fh.m2m_ctx);
		if (!vbuf)
			break;
		/* STREAMOFF holds the request queue lock: no hdl.lock here. */
		if (vbuf->vb2_buf.req_obj.req)
			daedalus_defer_ctrls(ctx, vbuf->vb2_buf.req_obj.req,
					     false);
		v4l2_m2m_buf_done(vbuf, state);
	}
}

/* Mirror a CAPTURE buffer's identity and timestamp into the table. */
void daedalus_cap_update(struct daedalus_ctx *ctx, struct vb2_buffer *vb)
{
	if (V4L2_TYPE_IS_OUTPUT(vb->vb2_queue->type) ||
	    WARN_ON_ONCE(vb->index >= DAEDALUS_MAX_CAPTURE_BUFS))
		return;
	spin_lock(&ctx->cap_lock);
	ctx->cap[vb->index].valid = true;
	ctx->cap[vb->index].buf_id = to_daedalus_buf(vb)->buf_id;
	ctx->cap[vb->index].timestamp = vb->timestamp;
	spin_unlock(&ctx->cap_lock);
}

static int daedalus_buf_init(struct vb2_buffer *vb)
{
	struct daedalus_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);

	/* Called again whenever a DMABUF queue imports new memory. */
	to_daedalus_buf(vb)->buf_id = atomic64_inc_return(&ctx->dev->next_buf_id);
	daedalus_cap_update(ctx, vb);
	return 0;
}

static void daedalus_buf_cleanup(struct vb2_buffer *vb)
{
	struct daedalus_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);

	if (V4L2_TYPE_IS_OUTPUT(vb->vb2_queue->type) ||
	    vb->index >= DAEDALUS_MAX_CAPTURE_BUFS)
		return;
	spin_lock(&ctx->cap_lock);
	ctx->cap[vb->index].valid = false;
	spin_unlock(&ctx->cap_lock);
}

static int daedalus_buf_out_validate(struct vb2_buffer *vb)
{
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);

	vbuf->field = V4L2_FIELD_NONE;
	return 0;
}

static int daedalus_buf_prepare(struct vb2_buffer *vb)
{
	struct vb2_queue *vq = vb->vb2_queue;
	struct daedalus_ctx *ctx = vb2_get_drv_priv(vq);
	struct v4l2_pix_format_mplane *pix_mp;
	unsigned int i;
	int ret = 0;

	spin_lock(&ctx->fmt_lock);
	if (V4L2_TYPE_IS_OUTPUT(vq->type))
		pix_mp = &ctx->coded_fmt.fmt.pix_mp;
	else
		pix_mp = &ctx->decoded_fmt.fmt.pix_mp;

	if (vb->num_planes != pix_mp->num_planes) {
		ret = -EINVAL;
		goto unlock;
	}

	for (i = 0; i < pix_mp->num_planes; i++) {
		if (vb2_plane_size(vb, i) < pix_mp->plane_fmt[i].sizeimage) {
			ret = -EINVAL;
			goto unlock;
		}
		/*
		 * The daemon reads the bitstream from the start of the plane:
		 * an offset to it is refused rather than silently ignored.
		 */
		if (V4L2_TYPE_IS_OUTPUT(vq->type) && vb->planes[i].data_offset) {
			dev_dbg(ctx->dev->v4l2_dev.dev,
				"ctx %u: OUTPUT data_offset %u not supported\n",
				ctx->id, vb->planes[i].data_offset);
			ret = -EINVAL;
			goto unlock;
		}
		if (V4L2_TYPE_IS_CAPTURE(vq->type))
			vb2_set_plane_payload(vb, i,
					      pix_mp->plane_fmt[i].sizeimage);
	}
unlock:
	spin_unlock(&ctx->fmt_lock);
	/*
	 * QBUF set the OUTPUT timestamp just before; a CAPTURE buffer keeps
	 * the one of the picture it last held until device_run copies its
	 * request's in.
	 */
	if (!ret)
		daedalus_cap_update(ctx, vb);
	return ret;
}

static int daedalus_start_streaming(struct vb2_queue *vq, unsigned int count)
{
	struct daedalus_ctx *ctx = vb2_get_drv_priv(vq);

	if (V4L2_TYPE_IS_OUTPUT(vq->type))
		ctx->src_sequence = 0;
	else
		ctx->dst_sequence = 0;
	/* A STREAMOFF's abort mark has nothing left to abort. */
	spin_lock(&ctx->dev->job_lock);
	ctx->abort_pending = false;
	spin_unlock(&ctx->dev->job_lock);
	return 0;
}

static void daedalus_stop_streaming(struct vb2_queue *vq)
{
	daedalus_queue_cleanup(vq, VB2_BUF_STATE_ERROR);
}

static void daedalus_buf_queue(struct vb2_buffer *vb)
{
	struct daedalus_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);

	v4l2_m2m_buf_queue(ctx->fh.m2m_ctx, to_vb2_v4l2_buffer(vb));
}

static void daedalus_buf_request_complete(struct vb2_buffer *vb)
{
	struct daedalus_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);

	daedalus_defer_ctrls(ctx, vb->req_obj.req, false);
}

static const struct vb2_ops daedalus_qops = {
	.queue_setup		= daedalus_queue_setup,
	.buf_init		= daedalus_buf_init,
	.buf_cleanup		= daedalus_buf_cleanup,
	.buf_out_validate	= daedalus_buf_out_validate,
	.buf_prepare		= daedalus_buf_prepare,
	.buf_queue		= daedalus_buf_queue,
	.start_streaming	= daedalus_start_streaming,
	.stop_streaming		= daedalus_stop_streaming,
#if DAEDALUS_VB2_WAIT_OPS
	.wait_prepare		= vb2_ops_wait_prepare,
	.wait_finish		= vb2_ops_wait_finish,
#endif
	.buf_request_complete	= daedalus_buf_request_complete,
};

int daedalus_queue_init(void *priv, struct vb2_queue *src_vq,
			struct vb2_queue *dst_vq)
{
	struct daedalus_ctx *ctx = priv;
	int ret;

	src_vq->type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
	src_vq->io_modes = VB2_MMAP | VB2_DMABUF;
	src_vq->drv_priv = ctx;
	src_vq->buf_struct_size = sizeof(struct daedalus_buffer);
	src_vq->ops = &daedalus_qops;
	src_vq->mem_ops = &vb2_vmalloc_memops;
	src_vq->timestamp_flags = V4L2_BUF_FLAG_TIMESTAMP_COPY;
	src_vq->lock = &ctx->vb_mutex;
	src_vq->supports_requests = true;
	src_vq->subsystem_flags |= VB2_V4L2_FL_SUPPORTS_M2M_HOLD_CAPTURE_BUF;
	ret = vb2_queue_init(src_vq);
	if (ret)
		return ret;

	dst_vq->type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	dst_vq->io_modes = VB2_MMAP | VB2_DMABUF;
	dst_vq->drv_priv = ctx;
	dst_vq->buf_struct_size = sizeof(struct daedalus_buffer);
	dst_vq->ops = &daedalus_qops;
	dst_vq->mem_ops = &vb2_vmalloc_memops;
	dst_vq->timestamp_flags = V4L2_BUF_FLAG_TIMESTAMP_COPY;
	dst_vq->lock = &ctx->vb_mutex;
	dst_vq->max_num_buffers = DAEDALUS_MAX_CAPTURE_BUFS;
	return vb2_queue_init(dst_vq);
}

int daedalus_request_validate(struct media_request *req)
{
	struct media_request_object *obj;
	struct daedalus_ctx *ctx = NULL;
	unsigned int count;

	list_for_each_entry(obj, &req->objects, list) {
		if (vb2_request_object_is_buffer(obj)) {
			struct vb2_buffer *vb =
				container_of(obj, struct vb2_buffer, req_obj);

			ctx = vb2_get_drv_priv(vb->vb2_queue);
			break;
		}
	}
	if (!ctx)
		return -ENOENT;

	count = vb2_request_buffer_cnt(req);
	if (!count) {
		dev_info_ratelimited(ctx->dev->v4l2_dev.dev,
				     "no buffer was provided with the request\n");
		return -ENOENT;
	}
	if (count > 1) {
		dev_info_ratelimited(ctx->dev->v4l2_dev.dev,
				     "more than one buffer was provided with the request\n");
		return -EINVAL;
	}
	return vb2_request_validate(req);
}
