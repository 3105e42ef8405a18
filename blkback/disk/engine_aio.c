/* SPDX-License-Identifier: MIT */
/*
 * libaio (Linux native AIO): one io_context per queue, reads and writes as
 * IO_CMD_PREADV/PWRITEV batched into one io_submit, completions signalled
 * on an eventfd (io_set_eventfd) so q_wait can poll it with the caller's
 * fd.  Reap uses io_getevents with a zero timeout, which libaio answers
 * from the shared completion ring without a system call when it is empty.
 *
 * Native AIO is asynchronous only for O_DIRECT; on buffered files
 * io_submit does the I/O itself.  Most filesystems have no aio fsync, so a
 * flush is a barrier here: the I/Os started before it complete first, then
 * fdatasync() runs synchronously (in submit or reap), and the I/Os prepped
 * after it are started only then.  Discards run synchronously too.
 */
#include <errno.h>
#include <libaio.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "disk_int.h"

struct aq {
	io_context_t ctx;
	int efd;
	unsigned int inflight; /* iocbs the kernel holds */
	bool blocked;	       /* a flush heads the staged FIFO */
	struct io_event *ev;
	struct iocb **batch;
};

static int aio_init(struct pvio_disk_q *q)
{
	struct aq *a = calloc(1, sizeof(*a));
	int r;

	if (a == NULL)
		return -ENOMEM;
	a->ev = calloc(q->depth, sizeof(*a->ev));
	a->batch = calloc(q->depth, sizeof(*a->batch));
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->ev == NULL || a->batch == NULL || a->efd < 0) {
		r = a->efd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	r = io_setup((int)q->depth, &a->ctx);
	if (r < 0) {
		if (r == -ENOSYS || r == -EPERM)
			r = -ENOSYS;
		goto fail;
	}
	q->eng = a;
	return 0;
fail:
	if (a->efd >= 0)
		close(a->efd);
	free(a->ev);
	free(a->batch);
	free(a);
	return r;
}

static void aio_fini(struct pvio_disk_q *q)
{
	struct aq *a = q->eng;

	/* io_destroy waits for the I/Os in flight. */
	io_destroy(a->ctx);
	close(a->efd);
	free(a->ev);
	free(a->batch);
	free(a);
}

/* 0 or -errno (e.g. -ENOMEM for the continuation iovecs). */
static int prep_iocb(struct pvio_disk_q *q, struct pvio__disk_slot *s)
{
	struct aq *a = q->eng;
	const struct pvio_disk_io *io = s->io;
	unsigned int cnt;
	const struct iovec *iov = pvio__disk_rest_iov(s, &cnt);
	int fd = q->d->fd[s->fdi];

	if (iov == NULL)
		return -ENOMEM;
	if (io->op == PVIO_DISK_READ)
		io_prep_preadv(&s->iocb, fd, iov, (int)cnt,
			       (long long)(io->offset + s->done));
	else
		io_prep_pwritev(&s->iocb, fd, iov, (int)cnt,
				(long long)(io->offset + s->done));
	io_set_eventfd(&s->iocb, a->efd);
	s->iocb.data = s;
	return 0;
}

/* io_submit the batch; what the kernel refuses completes with its error. */
static void flush_batch(struct pvio_disk_q *q, unsigned int nb)
{
	struct aq *a = q->eng;
	unsigned int i = 0;

	while (i < nb) {
		int r;

		q->stats.syscalls++;
		r = io_submit(a->ctx, (long)(nb - i), a->batch + i);
		if (r > 0) {
			a->inflight += (unsigned int)r;
			i += (unsigned int)r;
		} else {
			/* The first iocb is refused (0 never happens with
			 * nb > i; treat it as EAGAIN rather than loop). */
			struct pvio__disk_slot *s = a->batch[i]->data;

			pvio__disk_ready(q, s, r < 0 ? r : -EAGAIN);
			i++;
		}
	}
}

static int aio_submit(struct pvio_disk_q *q)
{
	struct aq *a = q->eng;
	struct pvio__disk_slot *s;
	unsigned int nb = 0;
	int n = 0, r;

	a->blocked = false;
	while ((s = q->stage_head) != NULL) {
		uint8_t op = s->io->op;

		if (op == PVIO_DISK_FLUSH) {
			if (nb > 0) {
				flush_batch(q, nb);
				nb = 0;
			}
			if (a->inflight > 0) {
				/* Resumed by reap when they are done. */
				a->blocked = true;
				break;
			}
		}
		pvio__disk_unstage(q);
		n++;
		if (op == PVIO_DISK_READ || op == PVIO_DISK_WRITE) {
			r = prep_iocb(q, s);
			if (r < 0)
				pvio__disk_ready(q, s, r);
			else
				a->batch[nb++] = &s->iocb;
		} else {
			q->stats.sync_ops++;
			pvio__disk_ready(q, s, pvio__disk_sync(q, s));
		}
	}
	if (nb > 0)
		flush_batch(q, nb);
	q->stats.submitted += (uint64_t)n;
	return n;
}

static int aio_reap(struct pvio_disk_q *q, struct pvio_disk_io **done,
		    unsigned int max)
{
	struct aq *a = q->eng;
	struct timespec zero = {0, 0};
	unsigned int n = 0, nb = 0;
	int got;

	if (max > q->depth)
		max = q->depth;
	got = io_getevents(a->ctx, 0, (long)max, a->ev, &zero);
	if (got > 0)
		q->stats.syscalls++;
	for (int i = 0; i < got; i++) {
		struct pvio__disk_slot *s = a->ev[i].data;
		/* res is the byte count or a negative errno. */
		long long res = (long long)(long)a->ev[i].res;
		int final;

		a->inflight--;
		if (!pvio__disk_rw_progress(q, s, res, &final)) {
			int r = prep_iocb(q, s);

			if (r == 0) {
				a->batch[nb++] = &s->iocb;
				continue;
			}
			final = r;
		}
		done[n++] = pvio__disk_finish(q, s, final);
	}
	if (nb > 0)
		flush_batch(q, nb);
	if (a->blocked && a->inflight == 0)
		aio_submit(q);
	return (int)n;
}

static int aio_wait(struct pvio_disk_q *q, int extra_fd, int timeout_ms)
{
	struct aq *a = q->eng;
	struct pollfd p[2] = {{.fd = a->efd, .events = POLLIN},
			      {.fd = extra_fd, .events = POLLIN}};
	uint64_t v;
	int r;

	if (a->blocked && a->inflight == 0) {
		aio_submit(q);
		if (q->ready_count > 0)
			return 1;
	}
	q->stats.syscalls++;
	r = poll(p, extra_fd >= 0 ? 2 : 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (!(p[0].revents & POLLIN))
		return 0;
	/* Drain before the caller reaps: a completion after this read
	 * makes the eventfd readable again, so none is missed.  It may
	 * count completions already reaped: then the 1 is spurious. */
	if (read(a->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 1;
}

const struct pvio__disk_ops pvio__disk_aio_ops = {
	.init = aio_init,
	.fini = aio_fini,
	.submit = aio_submit,
	.reap = aio_reap,
	.wait = aio_wait,
};
