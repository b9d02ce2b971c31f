// SPDX-License-Identifier: GPL-2.0
/*
 * kdelay: a test-only module of the daedalus VM suites (never for a real
 * system). It puts a kprobe on one kernel function and busy-waits in it, so
 * that a race window a few instructions wide stays open long enough for a
 * test to land in it every time. kmod-stress loads it for two scenarios:
 *
 *   symbol=daedalus_device_run workers_only=1
 *	device_run() entered from the m2m core's workqueue, before it
 *	takes the device's job lock (an abort arriving then: defect 5)
 *   symbol=vb2_vmalloc_alloc
 *	a CAPTURE buffer that CREATE_BUFS has added to the queue and not
 *	yet allocated or initialised (device_run walking it: defect 4)
 *
 * Parameters (/sys/module/kdelay/parameters/): armed (nothing is delayed
 * until it is set), delay_ms, pid (only that thread; 0: any), workers_only
 * (only in a workqueue worker); hits counts the delays, inside is how many
 * threads are in one now.
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sysfs.h>

#define KDELAY_MAX_MS	2000

static char *symbol = "daedalus_device_run";
module_param(symbol, charp, 0444);
MODULE_PARM_DESC(symbol, "the function to delay at its entry (set at load)");

static bool armed;
module_param(armed, bool, 0644);
MODULE_PARM_DESC(armed, "delay only while set");

static unsigned int delay_ms = 300;
module_param(delay_ms, uint, 0644);
MODULE_PARM_DESC(delay_ms, "busy-wait this long (at most 2000 ms)");

static int pid;
module_param(pid, int, 0644);
MODULE_PARM_DESC(pid, "delay only this thread (0: any)");

static bool workers_only;
module_param(workers_only, bool, 0644);
MODULE_PARM_DESC(workers_only, "delay only in workqueue workers");

static atomic_t hits = ATOMIC_INIT(0);
static atomic_t inside = ATOMIC_INIT(0);

static int kdelay_get_atomic(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(kp->arg));
}

static const struct kernel_param_ops kdelay_counter_ops = {
	.get = kdelay_get_atomic,
};

module_param_cb(hits, &kdelay_counter_ops, &hits, 0444);
MODULE_PARM_DESC(hits, "delays so far");
module_param_cb(inside, &kdelay_counter_ops, &inside, 0444);
MODULE_PARM_DESC(inside, "threads inside a delay now");

/* Runs with preemption off: a busy wait, bounded. */
static int kdelay_pre(struct kprobe *p, struct pt_regs *regs)
{
	int want = READ_ONCE(pid);

	if (!READ_ONCE(armed))
		return 0;
	if (want && task_pid_nr(current) != want)
		return 0;
	if (READ_ONCE(workers_only) && !(current->flags & PF_WQ_WORKER))
		return 0;
	atomic_inc(&hits);
	atomic_inc(&inside);
	mdelay(min_t(unsigned int, READ_ONCE(delay_ms), KDELAY_MAX_MS));
	atomic_dec(&inside);
	return 0;
}

static struct kprobe kdelay_kp = {
	.pre_handler = kdelay_pre,
};

static int __init kdelay_init(void)
{
	int ret;

	kdelay_kp.symbol_name = symbol;
	ret = register_kprobe(&kdelay_kp);
	if (ret)
		pr_err("kdelay: cannot probe %s: %d\n", symbol, ret);
	else
		pr_info("kdelay: probing %s\n", symbol);
	return ret;
}

static void __exit kdelay_exit(void)
{
	unregister_kprobe(&kdelay_kp);
}

module_init(kdelay_init);
module_exit(kdelay_exit);

MODULE_DESCRIPTION("Test-only kprobe delay for the daedalus VM suites");
MODULE_LICENSE("GPL");
