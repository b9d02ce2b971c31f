// SPDX-License-Identifier: GPL-2.0
/*
 * Daedalus: a V4L2 stateless (request API) decoder. The module handles the
 * V4L2 side like a hardware decoder driver would; every decode job is handed
 * to a userspace daemon attached to /dev/daedalus, which writes the picture
 * into the CAPTURE buffer (see include/uapi/daedalus.h).
 */

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <media/v4l2-ctrls.h>
#include <media/v4l2-device.h>
#include <media/v4l2-ioctl.h>
#include <media/v4l2-mem2mem.h>

#include "daedalus.h"
#include "daedalus-compat.h"

unsigned int daedalus_job_timeout_ms = 2000;
module_param_named(job_timeout_ms, daedalus_job_timeout_ms, uint, 0644);
MODULE_PARM_DESC(job_timeout_ms,
		 "a job the daemon has not answered this many ms after reading it, or twice that after it was queued, fails (default 2000)");

static unsigned int daedalus_cores;
module_param_named(cores, daedalus_cores, uint, 0444);
MODULE_PARM_DESC(cores,
		 "jobs of this many contexts may be with the daemon at once (default 0: one per online CPU, at most 8)");

/*
 * Fault injection for client developers: see kmod/README.md. The names are
 * the parameters' and the per-context debugfs files'.
 */
unsigned int daedalus_faults[DAEDALUS_NUM_FAULTS];
const char * const daedalus_fault_names[DAEDALUS_NUM_FAULTS] = {
	[DAEDALUS_FAULT_LATENCY_MS]		= "fault_latency_ms",
	[DAEDALUS_FAULT_JITTER_MS]		= "fault_jitter_ms",
	[DAEDALUS_FAULT_SEED]			= "fault_seed",
	[DAEDALUS_FAULT_FAIL_EVERY]		= "fault_fail_every",
	[DAEDALUS_FAULT_HANG_JOB]		= "fault_hang_job",
	[DAEDALUS_FAULT_BAD_TIMESTAMP_EVERY]	= "fault_bad_timestamp_every",
	[DAEDALUS_FAULT_REORDER_EVERY]		= "fault_reorder_every",
};

module_param_named(fault_latency_ms, daedalus_faults[DAEDALUS_FAULT_LATENCY_MS],
		   uint, 0644);
MODULE_PARM_DESC(fault_latency_ms,
		 "no job completes sooner than this many ms after it started (default 0)");
module_param_named(fault_jitter_ms, daedalus_faults[DAEDALUS_FAULT_JITTER_MS],
		   uint, 0644);
MODULE_PARM_DESC(fault_jitter_ms,
		 "plus up to this many ms, from fault_seed, the context and the job (default 0)");
module_param_named(fault_seed, daedalus_faults[DAEDALUS_FAULT_SEED], uint, 0644);
MODULE_PARM_DESC(fault_seed, "seed of the latency jitter (default 0)");
module_param_named(fault_fail_every, daedalus_faults[DAEDALUS_FAULT_FAIL_EVERY],
		   uint, 0644);
MODULE_PARM_DESC(fault_fail_every,
		 "every Nth job of a context ends with ERROR (default 0: never)");
module_param_named(fault_hang_job, daedalus_faults[DAEDALUS_FAULT_HANG_JOB],
		   uint, 0644);
MODULE_PARM_DESC(fault_hang_job,
		 "the Nth job of a context never completes until aborted (default 0: none)");
module_param_named(fault_bad_timestamp_every,
		   daedalus_faults[DAEDALUS_FAULT_BAD_TIMESTAMP_EVERY], uint, 0644);
MODULE_PARM_DESC(fault_bad_timestamp_every,
		 "every Nth job's CAPTURE buffer comes back with a wrong timestamp (default 0)");
module_param_named(fault_reorder_every,
		   daedalus_faults[DAEDALUS_FAULT_REORDER_EVERY], uint, 0644);
MODULE_PARM_DESC(fault_reorder_every,
		 "every Nth job decodes into the second queued CAPTURE buffer, not the first (default 0)");

/* The core with the fewest contexts; dropped by daedalus_put_core(). */
static struct daedalus_core *daedalus_get_core(struct daedalus_dev *dev)
{
	struct daedalus_core *core = &dev->cores[0];
	unsigned int i;

	mutex_lock(&dev->ctx_lock);
	for (i = 1; i < dev->num_cores; i++)
		if (dev->cores[i].nctx < core->nctx)
			core = &dev->cores[i];
	core->nctx++;
	mutex_unlock(&dev->ctx_lock);
	return core;
}

static void daedalus_put_core(struct daedalus_dev *dev,
			      struct daedalus_core *core)
{
	mutex_lock(&dev->ctx_lock);
	core->nctx--;
	mutex_unlock(&dev->ctx_lock);
}

static int daedalus_open(struct file *file)
{
	struct daedalus_dev *dev = video_drvdata(file);
	struct daedalus_ctx *ctx;
	int ret;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;

	ctx->closed_msg = daedalus_ctx_closed_msg_alloc();
	if (!ctx->closed_msg) {
		ret = -ENOMEM;
		goto free_ctx_mem;
	}

	v4l2_fh_init(&ctx->fh, video_devdata(file));
	file->private_data = &ctx->fh;
	ctx->dev = dev;
	mutex_init(&ctx->vb_mutex);
	spin_lock_init(&ctx->cap_lock);
	init_waitqueue_head(&ctx->idle_wait);
	mutex_init(&ctx->shadow_lock);
	spin_lock_init(&ctx->fmt_lock);
	spin_lock_init(&ctx->ctrl_lock);
	INIT_LIST_HEAD(&ctx->ctrl_done);
	INIT_WORK(&ctx->ctrl_work, daedalus_ctrl_work);

	ret = daedalus_init_ctrls(ctx);
	if (ret)
		goto free_ctx;

	mutex_lock(ctx->hdl.lock);
	daedalus_set_default_formats(ctx);
	mutex_unlock(ctx->hdl.lock);

	ctx->core = daedalus_get_core(dev);
	ctx->fh.m2m_ctx = v4l2_m2m_ctx_init(ctx->core->m2m_dev, ctx,
					    daedalus_queue_init);
	if (IS_ERR(ctx->fh.m2m_ctx)) {
		ret = PTR_ERR(ctx->fh.m2m_ctx);
		goto put_core;
	}
	/* The queue ioctls take this context's lock, not a device-wide one. */
	ctx->fh.m2m_ctx->q_lock = &ctx->vb_mutex;

	/*
	 * Cyclic: an id comes back only after every other one was used, and
	 * never while its context is open.
	 */
	mutex_lock(&dev->ctx_lock);
	ret = idr_alloc_cyclic(&dev->ctx_idr, ctx, 1, INT_MAX, GFP_KERNEL);
	mutex_unlock(&dev->ctx_lock);
	if (ret < 0)
		goto release_m2m;
	ctx->id = ret;
	ctx->owner_pid = task_tgid_nr(current);
	daedalus_debugfs_ctx_add(ctx);

	daedalus_fh_add(&ctx->fh, file);
	return 0;

release_m2m:
	v4l2_m2m_ctx_release(ctx->fh.m2m_ctx);
put_core:
	daedalus_put_core(dev, ctx->core);
	daedalus_free_ctrls(ctx);
free_ctx:
	v4l2_fh_exit(&ctx->fh);
	mutex_destroy(&ctx->shadow_lock);
	mutex_destroy(&ctx->vb_mutex);
	kvfree(ctx->closed_msg);
free_ctx_mem:
	kfree(ctx);
	return ret;
}

static int daedalus_release(struct file *file)
{
	struct daedalus_dev *dev = video_drvdata(file);
	struct daedalus_ctx *ctx = daedalus_file_to_ctx(file);
	struct daedalus_msg *closed_msg = ctx->closed_msg;
	u32 id = ctx->id;

	/* From here on the daemon cannot reach this context's buffers. */
	daedalus_debugfs_ctx_remove(ctx);
	mutex_lock(&dev->ctx_lock);
	idr_remove(&dev->ctx_idr, id);
	mutex_unlock(&dev->ctx_lock);

	/* No job of this context runs, or is still being completed. */
	daedalus_ctx_quiesce(ctx);
	v4l2_m2m_ctx_release(ctx->fh.m2m_ctx);
	daedalus_put_core(dev, ctx->core);
	/* The requests of ended jobs complete before their handler goes. */
	flush_work(&ctx->ctrl_work);

	daedalus_fh_del(&ctx->fh, file);
	v4l2_fh_exit(&ctx->fh);
	daedalus_free_ctrls(ctx);
	mutex_destroy(&ctx->shadow_lock);
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

static const struct v4l2_m2m_ops daedalus_m2m_ops = {
	.device_run	= daedalus_device_run,
	.job_abort	= daedalus_job_abort,
};

static void daedalus_release_cores(struct daedalus_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->num_cores; i++)
		v4l2_m2m_release(dev->cores[i].m2m_dev);
}

static int daedalus_init_cores(struct daedalus_dev *dev)
{
	unsigned int n = daedalus_cores ? daedalus_cores : num_online_cpus();

	for (n = clamp(n, 1U, DAEDALUS_MAX_CORES); dev->num_cores < n;
	     dev->num_cores++) {
		struct v4l2_m2m_dev *m2m_dev = v4l2_m2m_init(&daedalus_m2m_ops);

		if (IS_ERR(m2m_dev)) {
			daedalus_release_cores(dev);
			return PTR_ERR(m2m_dev);
		}
		dev->cores[dev->num_cores].m2m_dev = m2m_dev;
	}
	return 0;
}

static void daedalus_dev_free(struct kref *ref)
{
	struct daedalus_dev *dev = container_of(ref, struct daedalus_dev, ref);

	v4l2_device_unregister(&dev->v4l2_dev);
	daedalus_release_cores(dev);
	media_device_cleanup(&dev->mdev);
	idr_destroy(&dev->ctx_idr);
	mutex_destroy(&dev->ctx_lock);
	kfree(dev);
}

void daedalus_dev_put(struct daedalus_dev *dev)
{
	kref_put(&dev->ref, daedalus_dev_free);
}

static void daedalus_vfd_release(struct video_device *vdev)
{
	struct daedalus_dev *dev = container_of(vdev, struct daedalus_dev, vfd);

	dev->vfd_released = true;
	daedalus_dev_put(dev);
}

/*
 * A request fd may outlive every other file of the device: it holds the
 * module (rmmod is refused) and the device (an unbind does not free the
 * media device under it).
 */
static struct media_request *daedalus_req_alloc(struct media_device *mdev)
{
	struct daedalus_dev *dev = container_of(mdev, struct daedalus_dev, mdev);
	struct daedalus_request *dreq;
	struct media_request *req;

	if (!try_module_get(THIS_MODULE))
		return NULL;
	dreq = kzalloc(sizeof(*dreq), GFP_KERNEL_ACCOUNT);
	if (!dreq) {
		module_put(THIS_MODULE);
		return NULL;
	}
	INIT_LIST_HEAD(&dreq->ctrl_node);
	init_completion(&dreq->ctrls_done);
	req = &dreq->req;
	/*
	 * media_request_alloc() sets req->mdev only once the request has its
	 * file, and frees it through daedalus_req_free() if that fails.
	 */
	req->mdev = mdev;
	kref_get(&dev->ref);
	return req;
}

static void daedalus_req_free(struct media_request *req)
{
	struct daedalus_dev *dev = container_of(req->mdev, struct daedalus_dev,
						mdev);

	kfree(container_of(req, struct daedalus_request, req));
	daedalus_dev_put(dev);
	module_put(THIS_MODULE);
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

static const struct media_device_ops daedalus_media_ops = {
	.req_alloc	= daedalus_req_alloc,
	.req_free	= daedalus_req_free,
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

	kref_init(&dev->ref);
	mutex_init(&dev->ctx_lock);
	idr_init(&dev->ctx_idr);
	atomic64_set(&dev->next_buf_id, 0);

	/*
	 * No device-wide ioctl lock: the queue and format ioctls take the
	 * context's vb_mutex, the control ioctls its handler lock.
	 */
	dev->vfd = daedalus_videodev;
	vfd = &dev->vfd;
	vfd->v4l2_dev = &dev->v4l2_dev;
	video_set_drvdata(vfd, dev);
	platform_set_drvdata(pdev, dev);

	ret = daedalus_init_cores(dev);
	if (ret) {
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

	/*
	 * From here on a daemon may hold the device: failures drop the probe's
	 * reference instead of freeing it. The video device holds one of its
	 * own, dropped by its release, which video_register_device() may
	 * already have called when it fails.
	 */
	kref_get(&dev->ref);
	ret = video_register_device(vfd, VFL_TYPE_VIDEO, -1);
	if (ret) {
		v4l2_err(&dev->v4l2_dev, "failed to register video device\n");
		if (!dev->vfd_released)
			daedalus_dev_put(dev);
		goto daemon_exit;
	}

	ret = v4l2_m2m_register_media_controller(dev->cores[0].m2m_dev, vfd,
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

	daedalus_debugfs_init(dev);
	v4l2_info(&dev->v4l2_dev, "registered /dev/video%d and /dev/%s (%u cores)\n",
		  vfd->num, DAEDALUS_NAME, dev->num_cores);
	return 0;

unreg_mc:
	v4l2_m2m_unregister_media_controller(dev->cores[0].m2m_dev);
unreg_vfd:
	video_unregister_device(vfd);
daemon_exit:
	daedalus_daemon_remove(dev);
	daedalus_dev_put(dev);
	return ret;
release_m2m:
	media_device_cleanup(&dev->mdev);
	daedalus_release_cores(dev);
unreg_v4l2:
	v4l2_device_unregister(&dev->v4l2_dev);
free_dev:
	kfree(dev);
	return ret;
}

static void daedalus_remove(struct platform_device *pdev)
{
	struct daedalus_dev *dev = platform_get_drvdata(pdev);

	daedalus_debugfs_remove(dev);
	media_device_unregister(&dev->mdev);
	v4l2_m2m_unregister_media_controller(dev->cores[0].m2m_dev);
	daedalus_daemon_remove(dev);
	video_unregister_device(&dev->vfd);
	/* Open files, a request or the daemon may still hold it. */
	daedalus_dev_put(dev);
}

static struct platform_driver daedalus_pdrv = {
	.probe		= daedalus_probe,
	.remove		= daedalus_remove,
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

struct workqueue_struct *daedalus_ctrl_wq;

static int __init daedalus_init(void)
{
	int ret;

	/* Unbound: a work item waiting for its client's lock holds no CPU. */
	daedalus_ctrl_wq = alloc_workqueue("daedalus-ctrl", WQ_UNBOUND, 0);
	if (!daedalus_ctrl_wq)
		return -ENOMEM;

	ret = platform_device_register(&daedalus_pdev);
	if (ret)
		goto destroy_wq;

	ret = platform_driver_register(&daedalus_pdrv);
	if (ret)
		goto unregister_pdev;
	return 0;

unregister_pdev:
	platform_device_unregister(&daedalus_pdev);
destroy_wq:
	destroy_workqueue(daedalus_ctrl_wq);
	return ret;
}

/* No file or request is left (each holds the module): no work either. */
static void __exit daedalus_exit(void)
{
	platform_driver_unregister(&daedalus_pdrv);
	platform_device_unregister(&daedalus_pdev);
	destroy_workqueue(daedalus_ctrl_wq);
}

module_init(daedalus_init);
module_exit(daedalus_exit);

MODULE_DESCRIPTION("Daedalus: V4L2 stateless decoder backed by a userspace daemon");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DAEDALUS_NS_DMA_BUF);
