// SPDX-License-Identifier: GPL-2.0
/*
 * Daedalus: /dev/daedalus, the link to the userspace daemon.
 *
 * Messages for the daemon (jobs, "context closed") wait on dev->msg_queue
 * until read(). The running job of each core is core->run: it is taken (set
 * to NULL) under dev->job_lock by exactly one of its possible ends. The
 * reader owns a message once it dequeued it, so a job may end while its
 * message is being copied out. One delayed work times out the jobs of all
 * cores: it is armed for the earliest deadline.
 */

#include <linux/capability.h>
#include <linux/dma-buf.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <media/videobuf2-v4l2.h>

#include "daedalus.h"

struct daedalus_msg *daedalus_msg_alloc(u32 size)
{
	struct daedalus_msg *msg;

	msg = kvzalloc(struct_size(msg, data, size), GFP_KERNEL);
	if (!msg)
		return NULL;
	INIT_LIST_HEAD(&msg->node);
	msg->size = size;
	return msg;
}

static unsigned int daedalus_timeout_ms(void)
{
	return max(READ_ONCE(daedalus_job_timeout_ms), 1U);
}

/* Arm the timeout work for the earliest deadline of the cores' jobs. */
static void daedalus_arm_timeout_locked(struct daedalus_dev *dev)
{
	unsigned long first = 0;
	bool any = false;
	unsigned int i;

	lockdep_assert_held(&dev->job_lock);
	for (i = 0; i < dev->num_cores; i++) {
		struct daedalus_run *run = dev->cores[i].run;

		if (!run || run->hang)
			continue;
		if (!any || time_before(run->deadline, first))
			first = run->deadline;
		any = true;
	}
	if (any)
		mod_delayed_work(system_wq, &dev->timeout_work,
				 time_after(first, jiffies) ? first - jiffies : 0);
}

/* The job whose message is @msg or whose id is @id (0: any). */
static struct daedalus_run *daedalus_find_run_locked(struct daedalus_dev *dev,
						     const struct daedalus_msg *msg,
						     u64 id)
{
	unsigned int i;

	lockdep_assert_held(&dev->job_lock);
	for (i = 0; i < dev->num_cores; i++) {
		struct daedalus_run *run = dev->cores[i].run;

		if (run && ((msg && run->msg == msg) || (id && run->id == id)))
			return run;
	}
	return NULL;
}

void daedalus_queue_run_locked(struct daedalus_dev *dev,
			       struct daedalus_run *run)
{
	unsigned long delay = msecs_to_jiffies(daedalus_timeout_ms());
	struct daedalus_core *core = run->ctx->core;

	lockdep_assert_held(&dev->job_lock);
	WARN_ON(core->run);

	run->id = ++dev->next_job_id;
	core->run = run;
	run->ctx->run_state = DAEDALUS_WITH_DAEMON;
	if (run->hang)
		return;
	((struct daedalus_job *)run->msg->data)->job_id = run->id;
	list_add_tail(&run->msg->node, &dev->msg_queue);
	dev->msg_count++;
	/*
	 * Unread for twice the timeout fails it (the daemon may still be busy
	 * with other jobs: that time is not this job's); reading it restarts
	 * the clock at one timeout.
	 */
	run->deadline = jiffies + 2 * delay;
	daedalus_arm_timeout_locked(dev);
}

struct daedalus_run *daedalus_take_run_locked(struct daedalus_dev *dev,
					      struct daedalus_core *core)
{
	struct daedalus_run *run = core->run;

	lockdep_assert_held(&dev->job_lock);
	if (!run)
		return NULL;

	core->run = NULL;
	run->ctx->run_state = DAEDALUS_IDLE;
	run->ctx->abort_pending = false;
	/* daedalus_run_complete() ends it and drops this. */
	run->ctx->completing++;
	if (run->msg) {
		/* Not read yet: drop it; daedalus_run_complete() frees it. */
		list_del_init(&run->msg->node);
		dev->msg_count--;
	}
	return run;
}

/* Take every core's job (the daemon or the device goes away). */
static unsigned int daedalus_take_all_locked(struct daedalus_dev *dev,
					     struct daedalus_run **runs)
{
	unsigned int i, n = 0;

	for (i = 0; i < dev->num_cores; i++) {
		runs[n] = daedalus_take_run_locked(dev, &dev->cores[i]);
		if (runs[n])
			n++;
	}
	return n;
}

static void daedalus_timeout_work(struct work_struct *work)
{
	struct daedalus_dev *dev = container_of(to_delayed_work(work),
						struct daedalus_dev,
						timeout_work);
	struct daedalus_run *runs[DAEDALUS_MAX_CORES];
	unsigned int i, n = 0;

	spin_lock(&dev->job_lock);
	for (i = 0; i < dev->num_cores; i++) {
		struct daedalus_run *run = dev->cores[i].run;

		/* A later job, a read job or a held answer: not yet. */
		if (!run || run->hang || time_before(jiffies, run->deadline))
			continue;
		runs[n++] = daedalus_take_run_locked(dev, &dev->cores[i]);
	}
	daedalus_arm_timeout_locked(dev);
	spin_unlock(&dev->job_lock);

	for (i = 0; i < n; i++) {
		struct daedalus_run *run = runs[i];

		if (run->answered) {
			daedalus_run_complete(run, run->status ?
					      VB2_BUF_STATE_ERROR :
					      VB2_BUF_STATE_DONE,
					      run->bytesused);
			continue;
		}
		dev_warn_ratelimited(dev->v4l2_dev.dev,
				     "ctx %u: job %llu unanswered, failing it\n",
				     run->ctx->id, run->id);
		daedalus_run_complete(run, VB2_BUF_STATE_ERROR, NULL);
	}
}

/* The CTX_CLOSED message of a context, allocated when it is opened. */
struct daedalus_msg *daedalus_ctx_closed_msg_alloc(void)
{
	struct daedalus_msg_header *hdr;
	struct daedalus_msg *msg;

	msg = daedalus_msg_alloc(sizeof(*hdr));
	if (!msg)
		return NULL;
	hdr = (struct daedalus_msg_header *)msg->data;
	hdr->kind = DAEDALUS_MSG_CTX_CLOSED;
	hdr->size = sizeof(*hdr);
	hdr->version = DAEDALUS_PROTO_VERSION;
	return msg;
}

/*
 * Queue the closed context's preallocated message, which is never refused
 * (no allocation, no bound on the queue): a daemon that missed it would keep
 * that context's state forever. Without a daemon there is nobody to tell.
 */
void daedalus_notify_ctx_closed(struct daedalus_dev *dev,
				struct daedalus_msg *msg, u32 ctx_id)
{
	((struct daedalus_msg_header *)msg->data)->ctx_id = ctx_id;

	spin_lock(&dev->job_lock);
	if (dev->daemon_attached && !dev->removed) {
		list_add_tail(&msg->node, &dev->msg_queue);
		dev->msg_count++;
		msg = NULL;
	}
	spin_unlock(&dev->job_lock);

	if (msg)
		kvfree(msg);
	else
		wake_up_interruptible(&dev->msg_wait);
}

static bool daedalus_msg_ready(struct daedalus_dev *dev)
{
	bool ready;

	spin_lock(&dev->job_lock);
	ready = !list_empty(&dev->msg_queue) || dev->removed;
	spin_unlock(&dev->job_lock);
	return ready;
}

static int daedalus_daemon_open(struct inode *inode, struct file *file)
{
	struct daedalus_dev *dev = container_of(file->private_data,
						struct daedalus_dev, misc);
	int ret = 0;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	spin_lock(&dev->job_lock);
	if (dev->removed)
		ret = -ENODEV;
	else if (dev->daemon_attached)
		ret = -EBUSY;
	else
		dev->daemon_attached = true;
	spin_unlock(&dev->job_lock);
	if (ret)
		return ret;

	/* Released with the file: an unbind does not free it under us. */
	kref_get(&dev->ref);
	file->private_data = dev;
	dev_info(dev->v4l2_dev.dev, "daemon attached (pid %d)\n",
		 task_pid_nr(current));
	return stream_open(inode, file);
}

static int daedalus_daemon_release(struct inode *inode, struct file *file)
{
	struct daedalus_dev *dev = file->private_data;
	struct daedalus_run *runs[DAEDALUS_MAX_CORES];
	struct daedalus_msg *msg, *tmp;
	unsigned int i, n;
	LIST_HEAD(stale);

	spin_lock(&dev->job_lock);
	n = daedalus_take_all_locked(dev, runs);
	dev->daemon_attached = false;
	list_splice_init(&dev->msg_queue, &stale);
	dev->msg_count = 0;
	spin_unlock(&dev->job_lock);

	list_for_each_entry_safe(msg, tmp, &stale, node) {
		list_del(&msg->node);
		kvfree(msg);
	}
	for (i = 0; i < n; i++)
		daedalus_run_complete(runs[i], VB2_BUF_STATE_ERROR, NULL);

	dev_info(dev->v4l2_dev.dev, "daemon detached\n");
	daedalus_dev_put(dev);
	return 0;
}

/*
 * A message whose copy to the reader faulted goes back to the head of the
 * queue, unless its job ended meanwhile: a bad read buffer loses nothing.
 */
static void daedalus_msg_requeue(struct daedalus_dev *dev,
				 struct daedalus_msg *msg)
{
	const struct daedalus_msg_header *hdr = (const void *)msg->data;
	const struct daedalus_job *j = (const void *)msg->data;
	struct daedalus_run *run = NULL;
	bool keep = true;

	spin_lock(&dev->job_lock);
	if (hdr->kind == DAEDALUS_MSG_JOB) {
		run = j->job_id ? daedalus_find_run_locked(dev, NULL, j->job_id) :
		      NULL;
		keep = run && !run->msg;
		if (keep)
			run->msg = msg;
	}
	if (keep && !dev->removed) {
		list_add(&msg->node, &dev->msg_queue);
		dev->msg_count++;
		msg = NULL;
	} else if (keep && run) {
		run->msg = NULL;
	}
	spin_unlock(&dev->job_lock);
	kvfree(msg);
}

static ssize_t daedalus_daemon_read(struct file *file, char __user *buf,
				    size_t count, loff_t *ppos)
{
	struct daedalus_dev *dev = file->private_data;
	struct daedalus_run *run;
	struct daedalus_msg *msg;
	ssize_t ret;

	for (;;) {
		spin_lock(&dev->job_lock);
		if (dev->removed) {
			spin_unlock(&dev->job_lock);
			return -ENODEV;
		}
		msg = list_first_entry_or_null(&dev->msg_queue,
					       struct daedalus_msg, node);
		if (msg) {
			if (count < msg->size) {
				spin_unlock(&dev->job_lock);
				return -EMSGSIZE;
			}
			list_del_init(&msg->node);
			dev->msg_count--;
			run = daedalus_find_run_locked(dev, msg, 0);
			if (run) {
				/* The daemon's time starts now. */
				run->msg = NULL;
				run->deadline = jiffies +
					msecs_to_jiffies(daedalus_timeout_ms());
				daedalus_arm_timeout_locked(dev);
			}
			spin_unlock(&dev->job_lock);
			break;
		}
		spin_unlock(&dev->job_lock);

		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(dev->msg_wait,
					       daedalus_msg_ready(dev));
		if (ret)
			return ret;
	}

	if (copy_to_user(buf, msg->data, msg->size)) {
		daedalus_msg_requeue(dev, msg);
		return -EFAULT;
	}
	ret = msg->size;
	kvfree(msg);
	return ret;
}

static __poll_t daedalus_daemon_poll(struct file *file, poll_table *wait)
{
	struct daedalus_dev *dev = file->private_data;

	poll_wait(file, &dev->msg_wait, wait);
	if (READ_ONCE(dev->removed))
		return EPOLLERR | EPOLLHUP;
	return daedalus_msg_ready(dev) ? EPOLLIN | EPOLLRDNORM : 0;
}

static long daedalus_ioc_job_done(struct daedalus_dev *dev, void __user *arg)
{
	struct daedalus_job_result res;
	struct daedalus_run *run = NULL;
	bool held = false;

	if (copy_from_user(&res, arg, sizeof(res)))
		return -EFAULT;

	spin_lock(&dev->job_lock);
	run = res.job_id ? daedalus_find_run_locked(dev, NULL, res.job_id) :
	      NULL;
	if (!run || run->ctx->id != res.ctx_id || run->answered ||
	    run->hang || run->msg) {
		run = NULL;
	} else if (time_before(jiffies, run->not_before)) {
		/* Injected latency: the timeout work completes it later. */
		run->answered = true;
		run->status = res.status;
		memcpy(run->bytesused, res.bytesused, sizeof(run->bytesused));
		run->deadline = run->not_before;
		daedalus_arm_timeout_locked(dev);
		run = NULL;
		held = true;
	} else {
		run = daedalus_take_run_locked(dev, run->ctx->core);
	}
	spin_unlock(&dev->job_lock);

	/* A late answer: the job already ended (timeout, abort). */
	if (!run && !held)
		return -ENOENT;

	/*
	 * The reason comes from userspace: print at most its buffer, escaped,
	 * whether or not it holds a NUL.
	 */
	if (res.status)
		dev_err_ratelimited(dev->v4l2_dev.dev,
				    "ctx %u: job %llu failed (%d): %*pE\n",
				    res.ctx_id, res.job_id, res.status,
				    (int)strnlen(res.reason, sizeof(res.reason)),
				    res.reason);
	if (run)
		daedalus_run_complete(run, res.status ? VB2_BUF_STATE_ERROR :
				      VB2_BUF_STATE_DONE, res.bytesused);
	return 0;
}

static int daedalus_export(struct vb2_queue *vq, struct vb2_buffer *vb,
			   unsigned int plane, unsigned int flags, int *fd)
{
	struct dma_buf *dbuf;

	if (plane >= vb->num_planes)
		return -EINVAL;

	if (vq->memory == VB2_MEMORY_MMAP)
		return vb2_core_expbuf(vq, fd, vq->type, vb, plane, flags);

	if (vq->memory != VB2_MEMORY_DMABUF || !vb->planes[plane].dbuf)
		return -EINVAL;

	/* Imported memory: hand over the importer's dma_buf itself. */
	dbuf = vb->planes[plane].dbuf;
	get_dma_buf(dbuf);
	*fd = dma_buf_fd(dbuf, flags & O_CLOEXEC);
	if (*fd < 0) {
		dma_buf_put(dbuf);
		return *fd;
	}
	return 0;
}

static long daedalus_ioc_expbuf(struct daedalus_dev *dev, void __user *arg)
{
	struct daedalus_ctx *ctx;
	struct daedalus_expbuf e;
	struct vb2_queue *vq;
	struct vb2_buffer *vb;
	int fd = -1;
	int ret;

	if (copy_from_user(&e, arg, sizeof(e)))
		return -EFAULT;
	if (e.flags & ~(O_ACCMODE | O_CLOEXEC))
		return -EINVAL;
	if (e.queue != DAEDALUS_QUEUE_OUTPUT && e.queue != DAEDALUS_QUEUE_CAPTURE)
		return -EINVAL;

	if (READ_ONCE(dev->removed))
		return -ENODEV;

	/* Holding ctx_lock keeps the context from being released. */
	mutex_lock(&dev->ctx_lock);
	ctx = e.ctx_id <= INT_MAX ? idr_find(&dev->ctx_idr, e.ctx_id) : NULL;
	if (!ctx) {
		ret = -ENOENT;
		goto unlock_ctx;
	}

	/* The queue lock keeps the buffers from being freed. */
	mutex_lock(&ctx->vb_mutex);
	if (e.queue == DAEDALUS_QUEUE_OUTPUT)
		vq = v4l2_m2m_get_src_vq(ctx->fh.m2m_ctx);
	else
		vq = v4l2_m2m_get_dst_vq(ctx->fh.m2m_ctx);
	vb = vb2_get_buffer(vq, e.index);
	if (!vb) {
		ret = -EINVAL;
	} else {
		ret = daedalus_export(vq, vb, e.plane, e.flags, &fd);
		e.buf_id = to_daedalus_buf(vb)->buf_id;
	}
	mutex_unlock(&ctx->vb_mutex);
unlock_ctx:
	mutex_unlock(&dev->ctx_lock);
	if (ret)
		return ret;

	e.fd = fd;
	if (copy_to_user(arg, &e, sizeof(e)))
		return -EFAULT;
	return 0;
}

static long daedalus_daemon_ioctl(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	struct daedalus_dev *dev = file->private_data;
	void __user *argp = (void __user *)arg;
	struct daedalus_info info = {
		.version = DAEDALUS_PROTO_VERSION,
		.max_msg_size = DAEDALUS_MSG_MAX_SIZE,
	};

	switch (cmd) {
	case DAEDALUS_IOC_INFO:
		info.job_timeout_ms = daedalus_timeout_ms();
		return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
	case DAEDALUS_IOC_EXPBUF:
		return daedalus_ioc_expbuf(dev, argp);
	case DAEDALUS_IOC_JOB_DONE:
		return daedalus_ioc_job_done(dev, argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations daedalus_daemon_fops = {
	.owner		= THIS_MODULE,
	.open		= daedalus_daemon_open,
	.release	= daedalus_daemon_release,
	.read		= daedalus_daemon_read,
	.poll		= daedalus_daemon_poll,
	.unlocked_ioctl	= daedalus_daemon_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

int daedalus_daemon_init(struct daedalus_dev *dev)
{
	int ret;

	spin_lock_init(&dev->job_lock);
	INIT_LIST_HEAD(&dev->msg_queue);
	init_waitqueue_head(&dev->msg_wait);
	INIT_DELAYED_WORK(&dev->timeout_work, daedalus_timeout_work);

	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.name = DAEDALUS_NAME;
	dev->misc.fops = &daedalus_daemon_fops;
	dev->misc.parent = dev->v4l2_dev.dev;
	dev->misc.mode = 0600;
	ret = misc_register(&dev->misc);
	if (ret)
		return ret;
	dev->misc_registered = true;
	return 0;
}

/*
 * The device goes away (unbind, rmmod, failed probe): the running jobs fail,
 * no job starts any more, and an attached daemon reads -ENODEV.
 */
void daedalus_daemon_remove(struct daedalus_dev *dev)
{
	struct daedalus_run *runs[DAEDALUS_MAX_CORES];
	unsigned int i, n;

	spin_lock(&dev->job_lock);
	dev->removed = true;
	n = daedalus_take_all_locked(dev, runs);
	spin_unlock(&dev->job_lock);
	for (i = 0; i < n; i++)
		daedalus_run_complete(runs[i], VB2_BUF_STATE_ERROR, NULL);
	wake_up_interruptible(&dev->msg_wait);

	if (dev->misc_registered) {
		misc_deregister(&dev->misc);
		dev->misc_registered = false;
	}
	cancel_delayed_work_sync(&dev->timeout_work);
}
