// SPDX-License-Identifier: GPL-2.0
/*
 * Daedalus: a V4L2 stateless (request API) decoder. The module handles the
 * V4L2 side like a hardware decoder driver would; every decode job is handed
 * to a userspace daemon attached to /dev/daedalus, which writes the picture
 * into the CAPTURE buffer (see include/uapi/daedalus.h).
 */

#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <media/v4l2-ctrls.h>
#include <media/v4l2-device.h>
#include <media/v4l2-ioctl.h>
#include <media/v4l2-mem2mem.h>

#include "daedalus.h"

unsigned int daedalus_job_timeout_ms = 2000;
module_param_named(job_timeout_ms, daedalus_job_timeout_ms, uint, 0644);
MODULE_PARM_DESC(job_timeout_ms,
		 "a job the daemon has not answered after this many ms fails (default 2000)");

static int daedalus_open(struct file *file)
{
	struct daedalus_dev *dev = video_drvdata(file);
	struct daedalus_ctx *ctx;
	int ret;

	if (mutex_lock_interruptible(&dev->dev_mutex))
		return -ERESTARTSYS;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx) {
		ret = -ENOMEM;
		goto unlock;
	}

	ctx->closed_msg = daedalus_ctx_closed_msg_alloc();
	if (!ctx->closed_msg) {
		ret = -ENOMEM;
		goto free_ctx_mem;
	}

	v4l2_fh_init(&ctx->fh, video_devdata(file));
	file->private_data = &ctx->fh;
	ctx->dev = dev;
	mutex_init(&ctx->vb_mutex);
	INIT_LIST_HEAD(&ctx->node);

	ret = daedalus_init_ctrls(ctx);
	if (ret)
		goto free_ctx;

	daedalus_set_default_formats(ctx);

	ctx->fh.m2m_ctx = v4l2_m2m_ctx_init(dev->m2m_dev, ctx,
					    daedalus_queue_init);
	if (IS_ERR(ctx->fh.m2m_ctx)) {
		ret = PTR_ERR(ctx->fh.m2m_ctx);
		goto free_hdl;
	}

	mutex_lock(&dev->ctx_lock);
	ctx->id = ++dev->next_ctx_id;
	if (!ctx->id)
		ctx->id = ++dev->next_ctx_id;
	list_add_tail(&ctx->node, &dev->ctx_list);
	mutex_unlock(&dev->ctx_lock);

	v4l2_fh_add(&ctx->fh);
	mutex_unlock(&dev->dev_mutex);
	return 0;

free_hdl:
	v4l2_ctrl_handler_free(&ctx->hdl);
free_ctx:
	v4l2_fh_exit(&ctx->fh);
	mutex_destroy(&ctx->vb_mutex);
	kvfree(ctx->closed_msg);
free_ctx_mem:
	kfree(ctx);
unlock:
	mutex_unlock(&dev->dev_mutex);
	return ret;
}

static int daedalus_release(struct file *file)
{
	struct daedalus_dev *dev = video_drvdata(file);
	struct daedalus_ctx *ctx = daedalus_file_to_ctx(file);
	struct daedalus_msg *closed_msg = ctx->closed_msg;
	u32 id = ctx->id;

	/* From here on the daemon cannot reach this context's buffers. */
	mutex_lock(&dev->ctx_lock);
	list_del(&ctx->node);
	mutex_unlock(&dev->ctx_lock);

	/* Aborts a job of this context that is with the daemon. */
	mutex_lock(&dev->dev_mutex);
	v4l2_m2m_ctx_release(ctx->fh.m2m_ctx);
	mutex_unlock(&dev->dev_mutex);

	v4l2_fh_del(&ctx->fh);
	v4l2_fh_exit(&ctx->fh);
	v4l2_ctrl_handler_free(&ctx->hdl);
	mutex_destroy(&ctx->vb_mutex);
	kfree(ctx);

	daedalus_notify_ctx_closed(dev, closed_msg, id);
	return 0;
}

static const struct v4l2_file_operations daedalus_fops = {
	.owner		= THIS_MODULE,
	.open		= daedalus_open,
	.release	= daedalus_release,
	.poll		= v4l2_m2m_fop_poll,
	.unlocked_ioctl	= video_ioctl2,
	.mmap		= v4l2_m2m_fop_mmap,
};

static void daedalus_vfd_release(struct video_device *vdev)
{
	struct daedalus_dev *dev = container_of(vdev, struct daedalus_dev, vfd);

	v4l2_device_unregister(&dev->v4l2_dev);
	v4l2_m2m_release(dev->m2m_dev);
	media_device_cleanup(&dev->mdev);
	mutex_destroy(&dev->ctx_lock);
	mutex_destroy(&dev->dev_mutex);
	kfree(dev);
}

static const struct video_device daedalus_videodev = {
	.name		= DAEDALUS_NAME,
	.vfl_dir	= VFL_DIR_M2M,
	.fops		= &daedalus_fops,
	.ioctl_ops	= &daedalus_ioctl_ops,
	.minor		= -1,
	.release	= daedalus_vfd_release,
	.device_caps	= V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_STREAMING,
};

static const struct v4l2_m2m_ops daedalus_m2m_ops = {
	.device_run	= daedalus_device_run,
	.job_abort	= daedalus_job_abort,
};

static const struct media_device_ops daedalus_media_ops = {
	.req_validate	= daedalus_request_validate,
	.req_queue	= v4l2_m2m_request_queue,
};

static int daedalus_probe(struct platform_device *pdev)
{
	struct daedalus_dev *dev;
	struct video_device *vfd;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;

	ret = v4l2_device_register(&pdev->dev, &dev->v4l2_dev);
	if (ret)
		goto free_dev;

	mutex_init(&dev->dev_mutex);
	mutex_init(&dev->ctx_lock);
	INIT_LIST_HEAD(&dev->ctx_list);
	atomic64_set(&dev->next_buf_id, 0);

	dev->vfd = daedalus_videodev;
	vfd = &dev->vfd;
	vfd->lock = &dev->dev_mutex;
	vfd->v4l2_dev = &dev->v4l2_dev;
	video_set_drvdata(vfd, dev);
	platform_set_drvdata(pdev, dev);

	dev->m2m_dev = v4l2_m2m_init(&daedalus_m2m_ops);
	if (IS_ERR(dev->m2m_dev)) {
		ret = PTR_ERR(dev->m2m_dev);
		v4l2_err(&dev->v4l2_dev, "failed to init mem2mem: %d\n", ret);
		goto unreg_v4l2;
	}

	dev->mdev.dev = &pdev->dev;
	strscpy(dev->mdev.driver_name, DAEDALUS_NAME,
		sizeof(dev->mdev.driver_name));
	strscpy(dev->mdev.model, DAEDALUS_MODEL, sizeof(dev->mdev.model));
	snprintf(dev->mdev.bus_info, sizeof(dev->mdev.bus_info),
		 "platform:%s", DAEDALUS_NAME);
	media_device_init(&dev->mdev);
	dev->mdev.ops = &daedalus_media_ops;
	dev->v4l2_dev.mdev = &dev->mdev;

	ret = daedalus_daemon_init(dev);
	if (ret) {
		v4l2_err(&dev->v4l2_dev, "failed to register /dev/%s: %d\n",
			 DAEDALUS_NAME, ret);
		goto release_m2m;
	}

	ret = video_register_device(vfd, VFL_TYPE_VIDEO, -1);
	if (ret) {
		v4l2_err(&dev->v4l2_dev, "failed to register video device\n");
		goto daemon_exit;
	}

	ret = v4l2_m2m_register_media_controller(dev->m2m_dev, vfd,
						 MEDIA_ENT_F_PROC_VIDEO_DECODER);
	if (ret) {
		v4l2_err(&dev->v4l2_dev, "failed to init the media controller\n");
		goto unreg_vfd;
	}

	ret = media_device_register(&dev->mdev);
	if (ret) {
		v4l2_err(&dev->v4l2_dev, "failed to register the media device\n");
		goto unreg_mc;
	}

	v4l2_info(&dev->v4l2_dev, "registered /dev/video%d and /dev/%s\n",
		  vfd->num, DAEDALUS_NAME);
	return 0;

unreg_mc:
	v4l2_m2m_unregister_media_controller(dev->m2m_dev);
unreg_vfd:
	daedalus_daemon_exit(dev);
	/* daedalus_vfd_release() frees the rest. */
	video_unregister_device(vfd);
	return ret;
daemon_exit:
	daedalus_daemon_exit(dev);
release_m2m:
	media_device_cleanup(&dev->mdev);
	v4l2_m2m_release(dev->m2m_dev);
unreg_v4l2:
	v4l2_device_unregister(&dev->v4l2_dev);
free_dev:
	kfree(dev);
	return ret;
}

static void daedalus_remove(struct platform_device *pdev)
{
	struct daedalus_dev *dev = platform_get_drvdata(pdev);

	media_device_unregister(&dev->mdev);
	v4l2_m2m_unregister_media_controller(dev->m2m_dev);
	daedalus_daemon_exit(dev);
	video_unregister_device(&dev->vfd);
}

static struct platform_driver daedalus_pdrv = {
	.probe		= daedalus_probe,
	.remove_new	= daedalus_remove,
	.driver		= {
		.name	= DAEDALUS_NAME,
	},
};

static void daedalus_pdev_release(struct device *dev)
{
}

static struct platform_device daedalus_pdev = {
	.name		= DAEDALUS_NAME,
	.id		= PLATFORM_DEVID_NONE,
	.dev.release	= daedalus_pdev_release,
};

static int __init daedalus_init(void)
{
	int ret;

	ret = platform_device_register(&daedalus_pdev);
	if (ret)
		return ret;

	ret = platform_driver_register(&daedalus_pdrv);
	if (ret)
		platform_device_unregister(&daedalus_pdev);
	return ret;
}

static void __exit daedalus_exit(void)
{
	platform_driver_unregister(&daedalus_pdrv);
	platform_device_unregister(&daedalus_pdev);
}

module_init(daedalus_init);
module_exit(daedalus_exit);

MODULE_DESCRIPTION("Daedalus: V4L2 stateless decoder backed by a userspace daemon");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
