// SPDX-License-Identifier: GPL-2.0
/*
 * setfmt-preload.so: an LD_PRELOAD shim that makes every open of one V4L2
 * mem2mem node start with a chosen OUTPUT (coded) pixel format.
 *
 * v4l2-compliance has no option to pick the coded format of a stateless
 * decoder (its --stream-all-formats refuses decoders), and each open of an
 * m2m node is a fresh context with the driver's default format, so a format
 * set with v4l2-ctl beforehand does not carry over. With this shim the
 * context v4l2-compliance opens (and every re-open) already has the format,
 * which v4l2-compliance saves as the state it restores before streaming.
 *
 *   DAEDALUS_SETFMT_DEV=/dev/videoN  the node (matched by device number)
 *   DAEDALUS_SETFMT_FOURCC=VP9F      the OUTPUT pixel format to set
 *
 * Each open it touches logs one line "setfmt: ..." to stderr; a format the
 * driver does not take logs "setfmt: REFUSED ..." so the harness can fail.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/videodev2.h>

static void apply(int fd)
{
	const char *dev = getenv("DAEDALUS_SETFMT_DEV");
	const char *cc = getenv("DAEDALUS_SETFMT_FOURCC");
	struct v4l2_capability cap;
	struct v4l2_format f;
	struct stat want, got;
	__u32 fourcc, caps, type;
	int saved = errno;

	if (fd < 0 || !dev || !cc || strlen(cc) != 4)
		return;
	if (stat(dev, &want) < 0 || fstat(fd, &got) < 0 || !S_ISCHR(got.st_mode) ||
	    got.st_rdev != want.st_rdev)
		goto out;
	fourcc = v4l2_fourcc(cc[0], cc[1], cc[2], cc[3]);
	memset(&cap, 0, sizeof(cap));
	if (ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0)
		goto out;
	caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
	type = caps & V4L2_CAP_VIDEO_M2M_MPLANE ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE :
						  V4L2_BUF_TYPE_VIDEO_OUTPUT;
	memset(&f, 0, sizeof(f));
	f.type = type;
	if (ioctl(fd, VIDIOC_G_FMT, &f) < 0) {
		fprintf(stderr, "setfmt: REFUSED G_FMT on %s: %s\n", dev, strerror(errno));
		goto out;
	}
	if (type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE)
		f.fmt.pix_mp.pixelformat = fourcc;
	else
		f.fmt.pix.pixelformat = fourcc;
	if (ioctl(fd, VIDIOC_S_FMT, &f) < 0) {
		fprintf(stderr, "setfmt: REFUSED S_FMT %s on %s: %s\n", cc, dev, strerror(errno));
		goto out;
	}
	if ((type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE ? f.fmt.pix_mp.pixelformat :
							 f.fmt.pix.pixelformat) != fourcc) {
		fprintf(stderr, "setfmt: REFUSED %s on %s (driver kept another format)\n", cc, dev);
		goto out;
	}
	fprintf(stderr, "setfmt: OUTPUT %s set on fd %d (%s)\n", cc, fd, dev);
out:
	errno = saved;
}

/* open() and friends may carry a mode argument; forward it when present. */
#define WRAP_OPEN(name, ...)                                                            \
	int name(const char *path, int flags, ...)                                      \
	{                                                                               \
		static int (*real)(const char *, int, ...);                            \
		mode_t mode = 0;                                                        \
		int fd;                                                                 \
		if (!real)                                                              \
			real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name); \
		if (flags & (O_CREAT | O_TMPFILE)) {                                    \
			va_list ap;                                                     \
			va_start(ap, flags);                                            \
			mode = va_arg(ap, mode_t);                                      \
			va_end(ap);                                                     \
		}                                                                       \
		fd = real(path, flags, mode);                                           \
		apply(fd);                                                              \
		return fd;                                                              \
	}

WRAP_OPEN(open)
WRAP_OPEN(open64)

int openat(int dirfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t mode = 0;
	int fd;

	if (!real)
		real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	fd = real(dirfd, path, flags, mode);
	apply(fd);
	return fd;
}

/* _FORTIFY_SOURCE builds call these instead of open(). */
int __open_2(const char *path, int flags)
{
	static int (*real)(const char *, int);
	int fd;

	if (!real)
		real = (int (*)(const char *, int))dlsym(RTLD_NEXT, "__open_2");
	fd = real(path, flags);
	apply(fd);
	return fd;
}

int __open64_2(const char *path, int flags)
{
	static int (*real)(const char *, int);
	int fd;

	if (!real)
		real = (int (*)(const char *, int))dlsym(RTLD_NEXT, "__open64_2");
	fd = real(path, flags);
	apply(fd);
	return fd;
}
