// SPDX-License-Identifier: GPL-2.0
/*
 * Daedalus: debugfs, for tests and client developers.
 *
 *   /sys/kernel/debug/daedalus/contexts     one line per open context: its id
 *   /sys/kernel/debug/daedalus/next_ctx_id  where the cyclic id allocation
 *                                           resumes (write to test the wrap)
 *   /sys/kernel/debug/daedalus/ctx/<id>/    one directory per open context:
 *                                           owner_pid, and its own fault_*
 *                                           knobs (0: the module parameter)
 *
 * A context's directory is removed at its release or at the device's
 * removal, whichever comes first, under ctx_lock: its files never take
 * ctx_lock, so the removal's wait for their readers cannot deadlock.
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "daedalus.h"

static int daedalus_contexts_show(struct seq_file *m, void *unused)
{
	struct daedalus_dev *dev = m->private;
	struct daedalus_ctx *ctx;
	int id;

	mutex_lock(&dev->ctx_lock);
	idr_for_each_entry(&dev->ctx_idr, ctx, id)
		seq_printf(m, "%d\n", id);
	mutex_unlock(&dev->ctx_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(daedalus_contexts);

static int daedalus_next_ctx_id_get(void *data, u64 *val)
{
	struct daedalus_dev *dev = data;

	mutex_lock(&dev->ctx_lock);
	*val = idr_get_cursor(&dev->ctx_idr);
	mutex_unlock(&dev->ctx_lock);
	return 0;
}

static int daedalus_next_ctx_id_set(void *data, u64 val)
{
	struct daedalus_dev *dev = data;

	/* Ids are below INT_MAX (idr_for_each_entry() cannot step past it). */
	if (val >= INT_MAX)
		return -EINVAL;
	mutex_lock(&dev->ctx_lock);
	idr_set_cursor(&dev->ctx_idr, val);
	mutex_unlock(&dev->ctx_lock);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(daedalus_next_ctx_id_fops, daedalus_next_ctx_id_get,
			 daedalus_next_ctx_id_set, "%llu\n");

void daedalus_debugfs_init(struct daedalus_dev *dev)
{
	dev->debugfs = debugfs_create_dir(DAEDALUS_NAME, NULL);
	debugfs_create_file("contexts", 0444, dev->debugfs, dev,
			    &daedalus_contexts_fops);
	debugfs_create_file_unsafe("next_ctx_id", 0600, dev->debugfs, dev,
				   &daedalus_next_ctx_id_fops);
	/* Contexts may open already (udev probes new nodes): under ctx_lock. */
	mutex_lock(&dev->ctx_lock);
	dev->debugfs_ctx = debugfs_create_dir("ctx", dev->debugfs);
	mutex_unlock(&dev->ctx_lock);
}

void daedalus_debugfs_ctx_add(struct daedalus_ctx *ctx)
{
	struct daedalus_dev *dev = ctx->dev;
	struct dentry *dir;
	char name[16];
	unsigned int i;

	snprintf(name, sizeof(name), "%u", ctx->id);
	mutex_lock(&dev->ctx_lock);
	/* Not before debugfs_init (a context opened while the device registers). */
	if (!dev->debugfs_gone && !IS_ERR_OR_NULL(dev->debugfs_ctx)) {
		dir = debugfs_create_dir(name, dev->debugfs_ctx);
		debugfs_create_u32("owner_pid", 0444, dir, &ctx->owner_pid);
		for (i = 0; i < DAEDALUS_NUM_FAULTS; i++)
			debugfs_create_u32(daedalus_fault_names[i], 0600, dir,
					   &ctx->faults[i]);
		ctx->debugfs = dir;
	}
	mutex_unlock(&dev->ctx_lock);
}

void daedalus_debugfs_ctx_remove(struct daedalus_ctx *ctx)
{
	struct daedalus_dev *dev = ctx->dev;

	mutex_lock(&dev->ctx_lock);
	debugfs_remove_recursive(ctx->debugfs);
	ctx->debugfs = NULL;
	mutex_unlock(&dev->ctx_lock);
}

/* At the device's removal: contexts may stay open after it. */
void daedalus_debugfs_remove(struct daedalus_dev *dev)
{
	struct daedalus_ctx *ctx;
	int id;

	mutex_lock(&dev->ctx_lock);
	idr_for_each_entry(&dev->ctx_idr, ctx, id) {
		debugfs_remove_recursive(ctx->debugfs);
		ctx->debugfs = NULL;
	}
	dev->debugfs_gone = true;
	mutex_unlock(&dev->ctx_lock);
	/* Outside ctx_lock: "contexts" takes it, and removal waits for it. */
	debugfs_remove_recursive(dev->debugfs);
}
