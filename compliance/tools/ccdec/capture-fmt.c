// SPDX-License-Identifier: GPL-2.0
/*
 * capture-fmt.so: an LD_PRELOAD shim for ccdec (cros-codecs 0.0.6), which
 * never sets the CAPTURE format of a stateless decoder: it takes the one
 * the driver defaults to after its OUTPUT S_FMT and expects it to have as
 * many planes as its NV12 frames (two, as MediaTek's MM21 has). After every
 * successful VIDIOC_S_FMT of an OUTPUT_MPLANE queue this sets the CAPTURE
 * format to $CAPTURE_FOURCC (e.g. NM12), as a client that negotiates would.
 * One line "capture-fmt: ..." to stderr per S_FMT it makes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/videodev2.h>

static int (*real_ioctl)(int, unsigned long, ...);

static void set_capture(int fd)
{
	const char *cc = getenv("CAPTURE_FOURCC");
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE };
	int saved = errno, r;

	if (!cc || strlen(cc) != 4 || real_ioctl(fd, VIDIOC_G_FMT, &f) < 0)
		goto out;
	f.fmt.pix_mp.pixelformat = v4l2_fourcc(cc[0], cc[1], cc[2], cc[3]);
	r = real_ioctl(fd, VIDIOC_S_FMT, &f);
	fprintf(stderr, "capture-fmt: S_FMT CAPTURE %s: %s, %u planes\n", cc,
		r < 0 ? strerror(errno) : "ok", f.fmt.pix_mp.num_planes);
out:
	errno = saved;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real_ioctl)
		real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	ret = real_ioctl(fd, req, arg);
	if (ret == 0 && req == VIDIOC_S_FMT &&
	    ((struct v4l2_format *)arg)->type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE)
		set_capture(fd);
	return ret;
}
