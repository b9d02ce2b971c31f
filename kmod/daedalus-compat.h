/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API differences the module meets out of tree (DKMS), from the
 * pinned 6.12 to the newest Debian kernel (7.3), all in this one file: the
 * rest of the module uses these names and never tests a kernel version.
 * (In tree, this file would go: each change is the newest kernel's API.)
 */
#ifndef _DAEDALUS_COMPAT_H
#define _DAEDALUS_COMPAT_H

#include <linux/version.h>
#include <media/v4l2-fh.h>
#include <media/v4l2-mem2mem.h>

/*
 * 6.18: v4l2_fh_add() and v4l2_fh_del() take the file, whose private_data
 * they set and clear (the module sets it at open for every kernel).
 */
static inline void daedalus_fh_add(struct v4l2_fh *fh, struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
	v4l2_fh_add(fh, file);
#else
	v4l2_fh_add(fh);
#endif
}

static inline void daedalus_fh_del(struct v4l2_fh *fh, struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
	v4l2_fh_del(fh, file);
#else
	v4l2_fh_del(fh);
#endif
}

/* 6.13: MODULE_IMPORT_NS() takes a string, no longer a bare name. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define DAEDALUS_NS_DMA_BUF	"DMA_BUF"
#else
#define DAEDALUS_NS_DMA_BUF	DMA_BUF
#endif

/*
 * 7.0: vb2 drops and retakes the queue's lock itself while it waits; the
 * wait_prepare and wait_finish ops (and their vb2_ops_* helpers) are gone.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 0, 0)
#define DAEDALUS_VB2_WAIT_OPS	1
#else
#define DAEDALUS_VB2_WAIT_OPS	0
#endif

/*
 * 6.19: v4l2_m2m_buf_copy_metadata() no longer copies the KEYFRAME, PFRAME
 * and BFRAME flags (its copy_frame_flags argument is gone); the module still
 * hands them from the OUTPUT buffer to the CAPTURE buffer.
 */
static inline void daedalus_copy_metadata(const struct vb2_v4l2_buffer *src,
					  struct vb2_v4l2_buffer *dst)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
	const u32 frame = V4L2_BUF_FLAG_KEYFRAME | V4L2_BUF_FLAG_PFRAME |
			  V4L2_BUF_FLAG_BFRAME;

	v4l2_m2m_buf_copy_metadata(src, dst);
	dst->flags = (dst->flags & ~frame) | (src->flags & frame);
#else
	v4l2_m2m_buf_copy_metadata(src, dst, true);
#endif
}

#endif /* _DAEDALUS_COMPAT_H */
