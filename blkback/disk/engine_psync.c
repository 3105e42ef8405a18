/* SPDX-License-Identifier: MIT */
/*
 * psync: every operation runs at submit time with preadv/pwritev,
 * fdatasync, fallocate or ioctl, in prep order; completions are ready at
 * once.  No kernel state, so it works wherever the file does (seccomp
 * sandboxes without io_uring, filesystems whose aio misbehaves).
 */
#include <errno.h>
#include <poll.h>

#include "disk_int.h"

static int psync_init(struct pvio_disk_q *q)
{
	(void)q;
	return 0;
}

static void psync_fini(struct pvio_disk_q *q)
{
	(void)q;
}

static int psync_submit(struct pvio_disk_q *q)
{
	struct pvio__disk_slot *s;
	int n = 0;

	while ((s = pvio__disk_unstage(q)) != NULL) {
		int r = pvio__disk_sync(q, s);

		pvio__disk_ready(q, s, r);
		q->stats.submitted++;
		n++;
	}
	return n;
}

/* Nothing is ever in flight: disk.c's ready ring has everything. */
static int psync_reap(struct pvio_disk_q *q, struct pvio_disk_io **done,
		      unsigned int max)
{
	(void)q;
	(void)done;
	(void)max;
	return 0;
}

static int psync_wait(struct pvio_disk_q *q, int extra_fd, int timeout_ms)
{
	struct pollfd p = {.fd = extra_fd, .events = POLLIN};

	q->stats.syscalls++;
	if (poll(&p, extra_fd >= 0 ? 1 : 0, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

const struct pvio__disk_ops pvio__disk_psync_ops = {
	.init = psync_init,
	.fini = psync_fini,
	.submit = psync_submit,
	.reap = psync_reap,
	.wait = psync_wait,
};
