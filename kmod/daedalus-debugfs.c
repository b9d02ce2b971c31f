// SPDX-License-Identifier: GPL-2.0
/*
 * Daedalus: debugfs, for tests and client developers.
 *
 *   /sys/kernel/debug/daedalus/contexts     one line per open context: its id
 *   /sys/kernel/debug/daedalus/next_ctx_id  where the cyclic id allocation
 *                                           resumes (write to test the wrap)
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
		seq_printf(m, "%u\n", ctx->id);
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
}
