// SPDX-License-Identifier: GPL-2.0
/*
 * Daedalus: the coded formats and their stateless controls.
 */

#include <media/v4l2-ctrls.h>

#include "daedalus.h"

#define DAEDALUS_CTRL(_id)	{ .cfg.id = (_id), .cfg.ops = &daedalus_ctrl_ops }
/* A sequence-level control: it carries the bit depth of the stream. */
#define DAEDALUS_SEQ_CTRL(_id)	{ .cfg.id = (_id), .cfg.ops = &daedalus_seq_ctrl_ops }

static unsigned int daedalus_ctrl_bit_depth(u32 id, union v4l2_ctrl_ptr p)
{
	switch (id) {
	case V4L2_CID_STATELESS_H264_SPS:
		return p.p_h264_sps->bit_depth_luma_minus8 + 8;
	case V4L2_CID_STATELESS_HEVC_SPS:
		return p.p_hevc_sps->bit_depth_luma_minus8 + 8;
	case V4L2_CID_STATELESS_VP9_FRAME:
		return p.p_vp9_frame->bit_depth;
	case V4L2_CID_STATELESS_AV1_SEQUENCE:
		return p.p_av1_sequence->bit_depth;
	}
	return 8;
}

static struct daedalus_ctx *daedalus_ctrl_to_ctx(struct v4l2_ctrl *ctrl)
{
	return container_of(ctrl->handler, struct daedalus_ctx, hdl);
}

/* Copy elems elements of a control's value into its shadow. */
static int daedalus_shadow_store(struct daedalus_ctrl_shadow *s,
				 const void *p, u32 elems)
{
	size_t len = (size_t)elems * s->ctrl->elem_size;

	if (len > s->alloc) {
		void *n = kvmalloc(len, GFP_KERNEL_ACCOUNT);

		if (!n)
			return -ENOMEM;
		kvfree(s->p);
		s->p = n;
		s->alloc = len;
	}
	memcpy(s->p, p, len);
	s->elems = elems;
	return 0;
}

/*
 * A value set outside a request (or by the handler setup at open) becomes
 * the shadow; one the control work applies from a request is there already.
 */
static int daedalus_shadow_s_ctrl(struct v4l2_ctrl *ctrl)
{
	struct daedalus_ctx *ctx = daedalus_ctrl_to_ctx(ctrl);
	int ret;

	if (READ_ONCE(ctx->ctrl_applier) == current || WARN_ON(!ctrl->priv))
		return 0;
	mutex_lock(&ctx->shadow_lock);
	ret = daedalus_shadow_store(ctrl->priv, ctrl->p_new.p,
				    ctrl->is_dyn_array ? ctrl->new_elems :
							 ctrl->elems);
	mutex_unlock(&ctx->shadow_lock);
	return ret;
}

static const struct v4l2_ctrl_ops daedalus_ctrl_ops = {
	.s_ctrl = daedalus_shadow_s_ctrl,
};

/* CAPTURE formats exist for 8-bit (NV12, NV12M, YUV420) and 10-bit (P010). */
static int daedalus_seq_try_ctrl(struct v4l2_ctrl *ctrl)
{
	unsigned int depth = daedalus_ctrl_bit_depth(ctrl->id, ctrl->p_new);

	if (depth != 8 && depth != 10)
		return -EINVAL;
	if (ctrl->id == V4L2_CID_STATELESS_H264_SPS &&
	    ctrl->p_new.p_h264_sps->bit_depth_chroma_minus8 !=
	    ctrl->p_new.p_h264_sps->bit_depth_luma_minus8)
		return -EINVAL;
	if (ctrl->id == V4L2_CID_STATELESS_HEVC_SPS &&
	    ctrl->p_new.p_hevc_sps->bit_depth_chroma_minus8 !=
	    ctrl->p_new.p_hevc_sps->bit_depth_luma_minus8)
		return -EINVAL;
	return 0;
}

/* Whether ctrl is the sequence control of the context's coded format. */
static bool daedalus_is_current_seq_ctrl(struct daedalus_ctx *ctx,
					 struct v4l2_ctrl *ctrl)
{
	return ctx->coded_desc && ctx->fh.m2m_ctx &&
	       ctx->coded_desc->ctrls[0].cfg.id == ctrl->id;
}

/*
 * A new bit depth switches the CAPTURE formats (-EBUSY while CAPTURE buffers
 * exist). Only the current coded format's control counts; during handler
 * setup at open the context has no formats yet.
 */
static int daedalus_seq_s_ctrl(struct v4l2_ctrl *ctrl)
{
	struct daedalus_ctx *ctx = daedalus_ctrl_to_ctx(ctrl);
	int ret;

	if (daedalus_is_current_seq_ctrl(ctx, ctrl)) {
		ret = daedalus_set_bit_depth(ctx,
					     daedalus_ctrl_bit_depth(ctrl->id,
								     ctrl->p_new));
		if (ret)
			return ret;
	}
	return daedalus_shadow_s_ctrl(ctrl);
}

static const struct v4l2_ctrl_ops daedalus_seq_ctrl_ops = {
	.try_ctrl = daedalus_seq_try_ctrl,
	.s_ctrl = daedalus_seq_s_ctrl,
};

static const struct daedalus_ctrl_desc daedalus_h264_ctrls[] = {
	DAEDALUS_SEQ_CTRL(V4L2_CID_STATELESS_H264_SPS),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_H264_PPS),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_H264_SCALING_MATRIX),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_H264_PRED_WEIGHTS),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_H264_SLICE_PARAMS),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_H264_DECODE_PARAMS),
	{
		.cfg.id = V4L2_CID_STATELESS_H264_DECODE_MODE,
		.cfg.ops = &daedalus_ctrl_ops,
		.cfg.min = V4L2_STATELESS_H264_DECODE_MODE_SLICE_BASED,
		.cfg.max = V4L2_STATELESS_H264_DECODE_MODE_FRAME_BASED,
		.cfg.def = V4L2_STATELESS_H264_DECODE_MODE_FRAME_BASED,
	},
	{
		.cfg.id = V4L2_CID_STATELESS_H264_START_CODE,
		.cfg.ops = &daedalus_ctrl_ops,
		.cfg.min = V4L2_STATELESS_H264_START_CODE_ANNEX_B,
		.cfg.max = V4L2_STATELESS_H264_START_CODE_ANNEX_B,
		.cfg.def = V4L2_STATELESS_H264_START_CODE_ANNEX_B,
	},
};

static const struct daedalus_ctrl_desc daedalus_hevc_ctrls[] = {
	DAEDALUS_SEQ_CTRL(V4L2_CID_STATELESS_HEVC_SPS),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_HEVC_PPS),
	{
		.cfg.id = V4L2_CID_STATELESS_HEVC_SLICE_PARAMS,
		.cfg.ops = &daedalus_ctrl_ops,
		/* The maximum number of slices of a picture for level > 6. */
		.cfg.dims = { 600 },
	},
	DAEDALUS_CTRL(V4L2_CID_STATELESS_HEVC_SCALING_MATRIX),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_HEVC_DECODE_PARAMS),
	{
		.cfg.id = V4L2_CID_STATELESS_HEVC_DECODE_MODE,
		.cfg.ops = &daedalus_ctrl_ops,
		.cfg.min = V4L2_STATELESS_HEVC_DECODE_MODE_SLICE_BASED,
		.cfg.max = V4L2_STATELESS_HEVC_DECODE_MODE_FRAME_BASED,
		.cfg.def = V4L2_STATELESS_HEVC_DECODE_MODE_FRAME_BASED,
	},
	{
		.cfg.id = V4L2_CID_STATELESS_HEVC_START_CODE,
		.cfg.ops = &daedalus_ctrl_ops,
		.cfg.min = V4L2_STATELESS_HEVC_START_CODE_NONE,
		.cfg.max = V4L2_STATELESS_HEVC_START_CODE_ANNEX_B,
		.cfg.def = V4L2_STATELESS_HEVC_START_CODE_ANNEX_B,
	},
	{
		.cfg.id = V4L2_CID_STATELESS_HEVC_ENTRY_POINT_OFFSETS,
		.cfg.ops = &daedalus_ctrl_ops,
		.cfg.dims = { 256 },
		.cfg.max = 0xffffffff,
		.cfg.step = 1,
	},
#ifdef V4L2_CID_STATELESS_HEVC_EXT_SPS_ST_RPS
	/*
	 * Linux 7.0+: the SPS's RPS tables, which the 6.12 SPS control only
	 * counts (num_short_term_ref_pic_sets <= 64, num_long_term_ref_pics_sps
	 * <= 32); dynamic arrays of that many elements.
	 */
	{
		.cfg.id = V4L2_CID_STATELESS_HEVC_EXT_SPS_ST_RPS,
		.cfg.ops = &daedalus_ctrl_ops,
		.cfg.dims = { 64 },
	},
	{
		.cfg.id = V4L2_CID_STATELESS_HEVC_EXT_SPS_LT_RPS,
		.cfg.ops = &daedalus_ctrl_ops,
		.cfg.dims = { 32 },
	},
#endif
};

static const struct daedalus_ctrl_desc daedalus_vp8_ctrls[] = {
	DAEDALUS_CTRL(V4L2_CID_STATELESS_VP8_FRAME),
};

static const struct daedalus_ctrl_desc daedalus_vp9_ctrls[] = {
	DAEDALUS_SEQ_CTRL(V4L2_CID_STATELESS_VP9_FRAME),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_VP9_COMPRESSED_HDR),
};

static const struct daedalus_ctrl_desc daedalus_av1_ctrls[] = {
	DAEDALUS_SEQ_CTRL(V4L2_CID_STATELESS_AV1_SEQUENCE),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_AV1_FRAME),
	{
		.cfg.id = V4L2_CID_STATELESS_AV1_TILE_GROUP_ENTRY,
		.cfg.ops = &daedalus_ctrl_ops,
		.cfg.dims = { V4L2_AV1_MAX_TILE_COUNT },
	},
	DAEDALUS_CTRL(V4L2_CID_STATELESS_AV1_FILM_GRAIN),
};

static const struct daedalus_ctrl_desc daedalus_mpeg2_ctrls[] = {
	DAEDALUS_CTRL(V4L2_CID_STATELESS_MPEG2_SEQUENCE),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_MPEG2_PICTURE),
	DAEDALUS_CTRL(V4L2_CID_STATELESS_MPEG2_QUANTISATION),
};

/*
 * The picture sizes a coded format accepts: any size from the codec's
 * smallest picture to our maximum, in steps of one pixel (reported as
 * V4L2_FRMSIZE_TYPE_CONTINUOUS). CAPTURE buffers round them up to whole
 * macroblocks (daedalus-video.c).
 */
#define DAEDALUS_FRMSIZE(_minw, _minh, _maxw, _maxh) {			\
		.min_width = (_minw), .max_width = (_maxw), .step_width = 1,	\
		.min_height = (_minh), .max_height = (_maxh), .step_height = 1,	\
	}

const struct daedalus_coded_fmt daedalus_coded_fmts[] = {
	{
		.fourcc = V4L2_PIX_FMT_H264_SLICE,
		.codec = DAEDALUS_CODEC_H264,
		/* The coded size is whole 16x16 macroblocks. */
		.frmsize = DAEDALUS_FRMSIZE(16, 16, 4096, 2304),
		.ctrls = daedalus_h264_ctrls,
		.num_ctrls = ARRAY_SIZE(daedalus_h264_ctrls),
	},
	{
		.fourcc = V4L2_PIX_FMT_VP9_FRAME,
		.codec = DAEDALUS_CODEC_VP9,
		.frmsize = DAEDALUS_FRMSIZE(1, 1, 8192, 4352),
		.ctrls = daedalus_vp9_ctrls,
		.num_ctrls = ARRAY_SIZE(daedalus_vp9_ctrls),
	},
	{
		.fourcc = V4L2_PIX_FMT_AV1_FRAME,
		.codec = DAEDALUS_CODEC_AV1,
		.frmsize = DAEDALUS_FRMSIZE(1, 1, 8192, 4352),
		.ctrls = daedalus_av1_ctrls,
		.num_ctrls = ARRAY_SIZE(daedalus_av1_ctrls),
	},
	{
		.fourcc = V4L2_PIX_FMT_HEVC_SLICE,
		.codec = DAEDALUS_CODEC_HEVC,
		/* The coded size is whole minimum coding blocks (8x8 or more). */
		.frmsize = DAEDALUS_FRMSIZE(8, 8, 8192, 4352),
		.ctrls = daedalus_hevc_ctrls,
		.num_ctrls = ARRAY_SIZE(daedalus_hevc_ctrls),
	},
	{
		.fourcc = V4L2_PIX_FMT_VP8_FRAME,
		.codec = DAEDALUS_CODEC_VP8,
		.frmsize = DAEDALUS_FRMSIZE(1, 1, 8192, 4352),
		.ctrls = daedalus_vp8_ctrls,
		.num_ctrls = ARRAY_SIZE(daedalus_vp8_ctrls),
	},
	{
		.fourcc = V4L2_PIX_FMT_MPEG2_SLICE,
		.codec = DAEDALUS_CODEC_MPEG2,
		/*
		 * Sizes are 14 bits (ISO/IEC 13818-2 6.3.3); the conformance
		 * streams include a 16x16368 picture.
		 */
		.frmsize = DAEDALUS_FRMSIZE(1, 1, 8192, 16383),
		.ctrls = daedalus_mpeg2_ctrls,
		.num_ctrls = ARRAY_SIZE(daedalus_mpeg2_ctrls),
	},
};

const unsigned int daedalus_num_coded_fmts = ARRAY_SIZE(daedalus_coded_fmts);

/*
 * The bit depth the current value of the coded format's sequence control
 * (its first control) gives; 8 for formats without one. Called with the
 * handler lock held.
 */
unsigned int daedalus_current_bit_depth(struct daedalus_ctx *ctx)
{
	const struct daedalus_coded_fmt *desc = ctx->coded_desc;
	struct v4l2_ctrl *ctrl;

	lockdep_assert_held(ctx->hdl.lock);
	if (!desc->num_ctrls || desc->ctrls[0].cfg.ops != &daedalus_seq_ctrl_ops)
		return 8;
	/* Not v4l2_ctrl_find(): it takes the lock we hold. */
	ctrl = ctx->fmt_shadows[desc - daedalus_coded_fmts][0].ctrl;
	if (!ctrl)
		return 8;
	return daedalus_ctrl_bit_depth(ctrl->id, ctrl->p_cur);
}

/*
 * Give the shadows the values a request sets, as v4l2_ctrl_request_setup()
 * would have given them to the controls; the handler lock is not needed:
 * a queued request's values do not change. A sequence control of another
 * bit depth than the CAPTURE buffers' is refused before anything changes
 * (-EBUSY, as its s_ctrl would). Called by device_run with shadow_lock held.
 */
int daedalus_shadow_apply_request(struct daedalus_ctx *ctx,
				  struct media_request *req)
{
	struct v4l2_ctrl_handler *rhdl;
	struct v4l2_ctrl_ref *ref;
	int ret = 0;

	lockdep_assert_held(&ctx->shadow_lock);
	rhdl = v4l2_ctrl_request_hdl_find(req, &ctx->hdl);
	if (!rhdl)
		return 0;

	mutex_lock(rhdl->lock);
	list_for_each_entry(ref, &rhdl->ctrl_refs, node) {
		if (ref->p_req_valid && ref->ctrl->priv &&
		    daedalus_is_current_seq_ctrl(ctx, ref->ctrl) &&
		    daedalus_ctrl_bit_depth(ref->ctrl->id, ref->p_req) !=
		    READ_ONCE(ctx->bit_depth)) {
			ret = -EBUSY;
			goto unlock;
		}
	}
	list_for_each_entry(ref, &rhdl->ctrl_refs, node) {
		struct v4l2_ctrl *ctrl = ref->ctrl;

		if (!ref->p_req_valid || !ctrl->priv)
			continue;
		ret = daedalus_shadow_store(ctrl->priv, ref->p_req.p,
					    ctrl->is_dyn_array ?
					    ref->p_req_elems : ctrl->elems);
		if (ret)
			break;
	}
unlock:
	mutex_unlock(rhdl->lock);
	v4l2_ctrl_request_hdl_put(rhdl);
	return ret;
}

int daedalus_init_ctrls(struct daedalus_ctx *ctx)
{
	struct v4l2_ctrl_handler *hdl = &ctx->hdl;
	unsigned int count = 0;
	unsigned int i, j, k = 0;
	int ret;

	for (i = 0; i < daedalus_num_coded_fmts; i++)
		count += daedalus_coded_fmts[i].num_ctrls;

	ctx->shadows = kcalloc(count, sizeof(*ctx->shadows), GFP_KERNEL_ACCOUNT);
	if (!ctx->shadows)
		return -ENOMEM;
	ctx->num_shadows = count;

	v4l2_ctrl_handler_init(hdl, count);

	for (i = 0; i < daedalus_num_coded_fmts; i++) {
		const struct daedalus_coded_fmt *fmt = &daedalus_coded_fmts[i];

		BUILD_BUG_ON(ARRAY_SIZE(daedalus_h264_ctrls) > DAEDALUS_MAX_CTRLS);
		BUILD_BUG_ON(ARRAY_SIZE(daedalus_hevc_ctrls) > DAEDALUS_MAX_CTRLS);
		BUILD_BUG_ON(ARRAY_SIZE(daedalus_coded_fmts) >
			     DAEDALUS_MAX_CODED_FMTS);
		ctx->fmt_shadows[i] = &ctx->shadows[k];
		for (j = 0; j < fmt->num_ctrls; j++, k++) {
			struct v4l2_ctrl *c;

			c = v4l2_ctrl_new_custom(hdl, &fmt->ctrls[j].cfg,
						 &ctx->shadows[k]);
			ctx->shadows[k].ctrl = c;
		}
	}

	if (hdl->error) {
		ret = hdl->error;
		v4l2_err(&ctx->dev->v4l2_dev,
			 "failed to create the controls: %d\n", ret);
		goto free;
	}

	ctx->fh.ctrl_handler = hdl;
	/* Every s_ctrl runs: this fills the shadows with the defaults. */
	ret = v4l2_ctrl_handler_setup(hdl);
	if (!ret)
		return 0;
free:
	daedalus_free_ctrls(ctx);
	return ret;
}

void daedalus_free_ctrls(struct daedalus_ctx *ctx)
{
	unsigned int i;

	v4l2_ctrl_handler_free(&ctx->hdl);
	for (i = 0; i < ctx->num_shadows; i++)
		kvfree(ctx->shadows[i].p);
	kfree(ctx->shadows);
	ctx->shadows = NULL;
	ctx->num_shadows = 0;
}
