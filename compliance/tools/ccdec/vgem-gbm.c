// SPDX-License-Identifier: GPL-2.0
/*
 * vgem-gbm: the few GBM calls ccdec (cros-codecs 0.0.6) makes, over dumb
 * buffers of a DRM device (vgem in the VM), built as a libgbm.so.1 that
 * LD_LIBRARY_PATH puts before the system's.
 *
 * Why: ccdec allocates each CAPTURE frame as one NV12 buffer object with
 * minigbm's GBM_BO_USE_HW_VIDEO_DECODER flag (ChromeOS's GBM), and imports
 * it into the decoder as a dma-buf. Mesa's GBM (bookworm 22.3, trixie 25)
 * refuses that allocation on vgem ("Error allocating contiguous buffer"),
 * and a TCG VM has no GPU. minigbm lays a decoder's frames out as the
 * decoder does; so does this: width and height rounded up to 16 (whole
 * macroblocks, the daedalus module's CAPTURE layout, as rkvdec and hantro),
 * the planes one after the other in one buffer, linear.
 *
 * Formats: NV12 and P010 (two planes), R8 (one; cros-codecs' per-plane and
 * compressed buffers).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/drm_mode.h>

#define FOURCC(a, b, c, d) \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define FMT_NV12 FOURCC('N', 'V', '1', '2')
#define FMT_P010 FOURCC('P', '0', '1', '0')
#define FMT_R8 FOURCC('R', '8', ' ', ' ')
#define ALIGN16(x) (((x) + 15u) & ~15u)

struct gbm_device {
	int fd;		/* the caller's (a render node) */
	int card;	/* where the buffers are made: dumb buffers need a card node */
};

struct gbm_bo {
	struct gbm_device *dev;
	uint32_t handle, width, height, format, planes;
	uint32_t stride[2], offset[2];
};

/* $VGEM_GBM_CARD, else /dev/dri/card0. */
struct gbm_device *gbm_create_device(int fd)
{
	struct gbm_device *dev = calloc(1, sizeof(*dev));
	const char *card = getenv("VGEM_GBM_CARD");

	if (!dev)
		return NULL;
	dev->fd = fd;
	dev->card = open(card ? card : "/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (dev->card < 0) {
		fprintf(stderr, "vgem-gbm: open %s: %s\n", card ? card : "/dev/dri/card0",
			strerror(errno));
		free(dev);
		return NULL;
	}
	return dev;
}

void gbm_device_destroy(struct gbm_device *dev)
{
	close(dev->card);
	free(dev);
}

int gbm_device_get_fd(struct gbm_device *dev)
{
	return dev->fd;
}

struct gbm_bo *gbm_bo_create(struct gbm_device *dev, uint32_t width, uint32_t height,
			     uint32_t format, uint32_t flags)
{
	struct drm_mode_create_dumb req = { 0 };
	uint32_t cpp, rows, h;
	struct gbm_bo *bo;

	(void)flags;
	switch (format) {
	case FMT_NV12:
		cpp = 1;
		break;
	case FMT_P010:
		cpp = 2;
		break;
	case FMT_R8:
		cpp = 1;
		break;
	default:
		errno = EINVAL;
		return NULL;
	}
	bo = calloc(1, sizeof(*bo));
	if (!bo)
		return NULL;
	bo->dev = dev;
	bo->width = width;
	bo->height = height;
	bo->format = format;
	if (format == FMT_R8) {
		bo->planes = 1;
		h = height;
		rows = height;
		req.width = width;
	} else {
		bo->planes = 2;
		h = ALIGN16(height);
		rows = h + h / 2;
		req.width = ALIGN16(width) * cpp;
	}
	req.height = rows;
	req.bpp = 8;
	if (ioctl(dev->card, DRM_IOCTL_MODE_CREATE_DUMB, &req)) {
		fprintf(stderr, "vgem-gbm: DRM_IOCTL_MODE_CREATE_DUMB %ux%u: %s\n", req.width,
			req.height, strerror(errno));
		free(bo);
		return NULL;
	}
	bo->handle = req.handle;
	bo->stride[0] = req.pitch;
	bo->stride[1] = req.pitch;
	bo->offset[0] = 0;
	bo->offset[1] = req.pitch * h;
	return bo;
}

void gbm_bo_destroy(struct gbm_bo *bo)
{
	struct drm_mode_destroy_dumb req = { .handle = bo->handle };

	ioctl(bo->dev->card, DRM_IOCTL_MODE_DESTROY_DUMB, &req);
	free(bo);
}

/* A new dma-buf fd on each call, which the caller owns (as Mesa's). */
int gbm_bo_get_fd(struct gbm_bo *bo)
{
	struct drm_prime_handle req = {
		.handle = bo->handle,
		.flags = DRM_CLOEXEC | DRM_RDWR,
		.fd = -1,
	};

	if (ioctl(bo->dev->card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &req))
		return -1;
	return req.fd;
}

int gbm_bo_get_fd_for_plane(struct gbm_bo *bo, int plane)
{
	(void)plane;
	return gbm_bo_get_fd(bo);
}

uint64_t gbm_bo_get_modifier(struct gbm_bo *bo)
{
	(void)bo;
	return 0; /* DRM_FORMAT_MOD_LINEAR */
}

int gbm_bo_get_plane_count(struct gbm_bo *bo)
{
	return (int)bo->planes;
}

uint32_t gbm_bo_get_offset(struct gbm_bo *bo, int plane)
{
	return plane >= 0 && (uint32_t)plane < bo->planes ? bo->offset[plane] : 0;
}

uint32_t gbm_bo_get_stride_for_plane(struct gbm_bo *bo, int plane)
{
	return plane >= 0 && (uint32_t)plane < bo->planes ? bo->stride[plane] : 0;
}

uint32_t gbm_bo_get_stride(struct gbm_bo *bo)
{
	return bo->stride[0];
}

uint32_t gbm_bo_get_width(struct gbm_bo *bo)
{
	return bo->width;
}

uint32_t gbm_bo_get_height(struct gbm_bo *bo)
{
	return bo->height;
}

uint32_t gbm_bo_get_format(struct gbm_bo *bo)
{
	return bo->format;
}
