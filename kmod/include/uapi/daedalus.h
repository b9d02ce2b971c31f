/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Daedalus: protocol between the daedalus V4L2 stateless decoder module and
 * its userspace daemon, spoken over the misc device /dev/daedalus.
 *
 * One process with CAP_SYS_ADMIN attaches by opening /dev/daedalus (a second
 * opener gets EBUSY). It then loops:
 *
 *   read()   one message: struct daedalus_job (kind DAEDALUS_MSG_JOB) or a bare
 *            struct daedalus_msg_header (kind DAEDALUS_MSG_CTX_CLOSED). A read
 *            returns exactly one whole message; a buffer smaller than the
 *            message fails with EMSGSIZE and leaves it queued. poll() reports
 *            EPOLLIN when a message is waiting. DAEDALUS_MSG_MAX_SIZE bytes
 *            are always enough.
 *   DAEDALUS_IOC_EXPBUF   a dmabuf fd of one plane of an OUTPUT or CAPTURE
 *            buffer of a context (pass O_RDWR | O_CLOEXEC in flags to map it
 *            writable), plus the buffer's identity buf_id.
 *   DAEDALUS_IOC_JOB_DONE the answer to a job: status 0 (picture written into
 *            the destination buffer) or an error with a short reason.
 *
 * All multi-byte fields are in host byte order. Every struct has explicit
 * padding and a size that is a multiple of 8.
 */
#ifndef _UAPI_DAEDALUS_H
#define _UAPI_DAEDALUS_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DAEDALUS_PROTO_VERSION		1

#define DAEDALUS_MAX_PLANES		4
#define DAEDALUS_MAX_CTRLS		16
#define DAEDALUS_MAX_CAPTURE_BUFS	32
#define DAEDALUS_REASON_LEN		64
#define DAEDALUS_MSG_MAX_SIZE		(1U << 20)

/* struct daedalus_msg_header.kind */
#define DAEDALUS_MSG_JOB		1
#define DAEDALUS_MSG_CTX_CLOSED		2

/* struct daedalus_job.codec */
#define DAEDALUS_CODEC_H264		1
#define DAEDALUS_CODEC_HEVC		2
#define DAEDALUS_CODEC_VP8		3
#define DAEDALUS_CODEC_VP9		4
#define DAEDALUS_CODEC_AV1		5
#define DAEDALUS_CODEC_MPEG2		6

/* struct daedalus_job.flags */
/* The OUTPUT buffer had V4L2_BUF_FLAG_M2M_HOLD_CAPTURE_BUF (more slices follow). */
#define DAEDALUS_JOB_FL_HOLD_CAPTURE_BUF	(1U << 0)
/* The destination was held by the previous job: this job adds slices to it. */
#define DAEDALUS_JOB_FL_DST_CONTINUED		(1U << 1)

/* struct daedalus_ctrl.flags */
/* The control is a dynamic array: elems is the number of elements sent. */
#define DAEDALUS_CTRL_FL_DYN_ARRAY	(1U << 0)

/* struct daedalus_buf_desc.flags */
/* This CAPTURE buffer is the job's destination. */
#define DAEDALUS_BUF_FL_DESTINATION	(1U << 0)
/* This CAPTURE buffer is queued to the driver (not held by the client). */
#define DAEDALUS_BUF_FL_QUEUED		(1U << 1)

/* struct daedalus_expbuf.queue */
#define DAEDALUS_QUEUE_OUTPUT		0
#define DAEDALUS_QUEUE_CAPTURE		1

/**
 * struct daedalus_msg_header - start of every message
 * @kind:	DAEDALUS_MSG_*
 * @size:	size of the whole message in bytes, header included
 * @version:	DAEDALUS_PROTO_VERSION
 * @ctx_id:	the decoding context (one per open of the video node)
 */
struct daedalus_msg_header {
	__u32 kind;
	__u32 size;
	__u32 version;
	__u32 ctx_id;
};

/**
 * struct daedalus_plane - one memory plane of the CAPTURE format
 * @bytesperline:	line stride in bytes
 * @sizeimage:		plane size in bytes
 */
struct daedalus_plane {
	__u32 bytesperline;
	__u32 sizeimage;
};

/**
 * struct daedalus_ctrl - where one control's payload sits in the message
 * @id:		V4L2 control id (V4L2_CID_STATELESS_*)
 * @offset:	byte offset of the payload from the start of the message
 *		(8-byte aligned)
 * @size:	payload size in bytes (elems * elem_size)
 * @elems:	number of elements (1 unless a dynamic array)
 * @elem_size:	size of one element: the raw UAPI struct, or 4 for menus
 * @flags:	DAEDALUS_CTRL_FL_*
 */
struct daedalus_ctrl {
	__u32 id;
	__u32 offset;
	__u32 size;
	__u32 elems;
	__u32 elem_size;
	__u32 flags;
};

/**
 * struct daedalus_buf_desc - one allocated buffer of the CAPTURE queue
 * @index:	vb2 buffer index
 * @flags:	DAEDALUS_BUF_FL_*
 * @timestamp:	the buffer's timestamp in ns (the OUTPUT timestamp of the job
 *		that last decoded into it); references are found by it
 * @buf_id:	identity of the buffer's memory: changes whenever the memory
 *		behind this index changes (REQBUFS, new DMABUF import)
 */
struct daedalus_buf_desc {
	__u32 index;
	__u32 flags;
	__u64 timestamp;
	__u64 buf_id;
};

/**
 * struct daedalus_job - a decode job (kind DAEDALUS_MSG_JOB)
 * @hdr:		message header
 * @job_id:		to quote in struct daedalus_job_result
 * @codec:		DAEDALUS_CODEC_*
 * @flags:		DAEDALUS_JOB_FL_*
 * @src_fourcc:		OUTPUT pixel format (V4L2_PIX_FMT_*_SLICE / _FRAME)
 * @src_width:		OUTPUT format width
 * @src_height:		OUTPUT format height
 * @src_index:		OUTPUT buffer index
 * @src_size:		OUTPUT plane size in bytes
 * @src_bytesused:	bytes of bitstream in the OUTPUT plane
 * @src_timestamp:	OUTPUT buffer timestamp (ns)
 * @src_buf_id:		identity of the OUTPUT buffer's memory
 * @dst_fourcc:		CAPTURE pixel format (NV12, NV12M, YUV420, P010)
 * @dst_width:		CAPTURE format width
 * @dst_height:		CAPTURE format height
 * @dst_num_planes:	number of memory planes of the CAPTURE format
 * @colorspace:		V4L2 colorspace of the CAPTURE format
 * @xfer_func:		V4L2 transfer function
 * @ycbcr_enc:		V4L2 Y'CbCr encoding
 * @quantization:	V4L2 quantization range
 * @dst_planes:		per memory plane stride and size
 * @dst_index:		destination CAPTURE buffer index
 * @reserved0:		zero
 * @dst_timestamp:	destination timestamp (equal to @src_timestamp)
 * @dst_buf_id:		identity of the destination buffer's memory
 * @num_ctrls:		valid entries in @ctrls
 * @num_capture_bufs:	valid entries in @capture_bufs
 * @ctrls:		the codec's controls as set by the request
 * @capture_bufs:	every allocated CAPTURE buffer of the context
 *
 * The control payloads follow the struct, at ctrls[i].offset.
 */
struct daedalus_job {
	struct daedalus_msg_header hdr;
	__u64 job_id;
	__u32 codec;
	__u32 flags;

	__u32 src_fourcc;
	__u32 src_width;
	__u32 src_height;
	__u32 src_index;
	__u32 src_size;
	__u32 src_bytesused;
	__u64 src_timestamp;
	__u64 src_buf_id;

	__u32 dst_fourcc;
	__u32 dst_width;
	__u32 dst_height;
	__u32 dst_num_planes;
	__u32 colorspace;
	__u32 xfer_func;
	__u32 ycbcr_enc;
	__u32 quantization;
	struct daedalus_plane dst_planes[DAEDALUS_MAX_PLANES];
	__u32 dst_index;
	__u32 reserved0;
	__u64 dst_timestamp;
	__u64 dst_buf_id;

	__u32 num_ctrls;
	__u32 num_capture_bufs;
	struct daedalus_ctrl ctrls[DAEDALUS_MAX_CTRLS];
	struct daedalus_buf_desc capture_bufs[DAEDALUS_MAX_CAPTURE_BUFS];
};

/**
 * struct daedalus_job_result - argument of DAEDALUS_IOC_JOB_DONE
 * @job_id:	struct daedalus_job.job_id
 * @ctx_id:	struct daedalus_job.hdr.ctx_id
 * @status:	0: the picture is in the destination buffer; a negative errno:
 *		the job failed (buffers complete with V4L2_BUF_FLAG_ERROR)
 * @bytesused:	bytes written per CAPTURE memory plane; 0 means the plane's size
 * @reason:	a short reason, NUL-terminated unless it fills the array; on
 *		error it is logged rate-limited, non-printable bytes escaped
 *
 * An answer to a job that already ended (timeout, context closed) fails with
 * ENOENT and changes nothing.
 */
struct daedalus_job_result {
	__u64 job_id;
	__u32 ctx_id;
	__s32 status;
	__u32 bytesused[DAEDALUS_MAX_PLANES];
	char reason[DAEDALUS_REASON_LEN];
};

/**
 * struct daedalus_expbuf - argument of DAEDALUS_IOC_EXPBUF
 * @ctx_id:	context id
 * @queue:	DAEDALUS_QUEUE_OUTPUT or DAEDALUS_QUEUE_CAPTURE
 * @index:	buffer index
 * @plane:	memory plane
 * @flags:	O_RDWR / O_RDONLY, optionally | O_CLOEXEC
 * @fd:		out: a new dmabuf fd
 * @buf_id:	out: identity of the buffer's memory
 */
struct daedalus_expbuf {
	__u32 ctx_id;
	__u32 queue;
	__u32 index;
	__u32 plane;
	__u32 flags;
	__s32 fd;
	__u64 buf_id;
};

/**
 * struct daedalus_info - argument of DAEDALUS_IOC_INFO
 * @version:		DAEDALUS_PROTO_VERSION
 * @max_msg_size:	DAEDALUS_MSG_MAX_SIZE
 * @job_timeout_ms:	the module's current job timeout
 * @reserved:		zero
 */
struct daedalus_info {
	__u32 version;
	__u32 max_msg_size;
	__u32 job_timeout_ms;
	__u32 reserved;
};

#define DAEDALUS_IOC_INFO	_IOR('D', 0x00, struct daedalus_info)
#define DAEDALUS_IOC_EXPBUF	_IOWR('D', 0x01, struct daedalus_expbuf)
#define DAEDALUS_IOC_JOB_DONE	_IOW('D', 0x02, struct daedalus_job_result)

#endif /* _UAPI_DAEDALUS_H */
