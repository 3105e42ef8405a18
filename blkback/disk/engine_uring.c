/* SPDX-License-Identifier: MIT */
/*
 * io_uring through liburing: one ring per queue.  Submit preps one SQE per
 * staged I/O and enters the kernel once; reap walks the CQ ring in memory
 * (no system call), so a thread spinning on reap costs nothing but loads.
 *
 * The ring is set up without COOP_TASKRUN/DEFER_TASKRUN on purpose: with
 * them, completions of device I/O would only be posted when the thread
 * next enters the kernel, and a spinning reader would never see them.
 *
 * q_wait arms an IORING_OP_POLL_ADD on the caller's fd, so one
 * io_uring_enter sleeps on "a completion or the frontend's event".  Poll
 * CQEs carry small user_data tags that no slot pointer can equal.
 */
#include <errno.h>
#include <liburing.h>
#include <limits.h>
#include <linux/falloc.h>
#include <poll.h>
#include <stdlib.h>

#include "disk_int.h"

enum {
	TAG_REMOVE = 1, /* poll remove of a moved poll */
	TAG_POLL0 = 2,	/* poll on extra_fd, generation 0 */
	TAG_POLL1 = 3,	/* generation 1 */
	TAG_MAX = 3,
};

struct uq {
	struct io_uring ring;
	bool fixed; /* fd[0], fd[1] registered as fixed files 0, 1 */
	bool armed; /* a poll of generation 'gen' is in the ring */
	unsigned int gen;
	int poll_fd;
};

static int uring_init(struct pvio_disk_q *q)
{
	struct uq *u = calloc(1, sizeof(*u));
	struct io_uring_params p = {0};
	int r;

	if (u == NULL)
		return -ENOMEM;
	/* +4: the poll, a poll remove and slack; the CQ is twice that. */
	p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP;
	r = io_uring_queue_init_params(q->depth + 4, &u->ring, &p);
	if (r == -EINVAL) {
		/* Kernels before 5.18 lack SUBMIT_ALL. */
		struct io_uring_params p0 = {0};

		p0.flags = IORING_SETUP_CLAMP;
		r = io_uring_queue_init_params(q->depth + 4, &u->ring, &p0);
	}
	if (r < 0) {
		free(u);
		/* Disabled by sysctl (EPERM) or seccomp/old kernel (ENOSYS):
		 * the caller may pick another engine. */
		return r == -EPERM || r == -ENOSYS ? -ENOSYS : r;
	}
	/* Fixed files spare the kernel an fd lookup and refcount per I/O. */
	u->fixed = io_uring_register_files(&u->ring, q->d->fd, 2) == 0;
	u->poll_fd = -1;
	q->eng = u;
	return 0;
}

static void uring_fini(struct pvio_disk_q *q)
{
	struct uq *u = q->eng;

	/* Waits for in-flight requests to be cancelled or to complete. */
	io_uring_queue_exit(&u->ring);
	free(u);
}

/* Returns 0, -EBUSY (no SQE: try later) or -errno (complete with it);
 * 1 if the op was done synchronously (slot is on the ready ring). */
static int prep_sqe(struct pvio_disk_q *q, struct pvio__disk_slot *s)
{
	struct uq *u = q->eng;
	const struct pvio_disk_io *io = s->io;
	struct io_uring_sqe *sqe;
	const struct iovec *iov;
	unsigned int cnt;
	int fd;

	if (io->op == PVIO_DISK_SECURE_DISCARD ||
	    (io->op == PVIO_DISK_DISCARD &&
	     (q->d->geom.blockdev || io->len == 0)) ||
	    (io->op <= PVIO_DISK_WRITE && q->d->inline_rw && s->done == 0)) {
		/* Device discards: rare, and the ioctls have no io_uring op
		 * here.  tmpfs reads/writes: see geom.mem_backed. */
		q->stats.sync_ops++;
		pvio__disk_ready(q, s, pvio__disk_sync(q, s));
		return 1;
	}
	sqe = io_uring_get_sqe(&u->ring);
	if (sqe == NULL)
		return -EBUSY;
	fd = u->fixed ? s->fdi : q->d->fd[s->fdi];
	switch (io->op) {
	case PVIO_DISK_READ:
	case PVIO_DISK_WRITE:
		iov = pvio__disk_rest_iov(s, &cnt);
		if (iov == NULL) {
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, 0);
			return -ENOMEM;
		}
		/* READ/WRITE skip the iovec import of READV/WRITEV. */
		if (cnt == 1 && iov->iov_len <= UINT_MAX) {
			if (io->op == PVIO_DISK_READ)
				io_uring_prep_read(sqe, fd, iov->iov_base,
						   (unsigned int)iov->iov_len,
						   io->offset + s->done);
			else
				io_uring_prep_write(sqe, fd, iov->iov_base,
						    (unsigned int)iov->iov_len,
						    io->offset + s->done);
		} else if (io->op == PVIO_DISK_READ) {
			io_uring_prep_readv(sqe, fd, iov, cnt,
					    io->offset + s->done);
		} else {
			io_uring_prep_writev(sqe, fd, iov, cnt,
					     io->offset + s->done);
		}
		break;
	case PVIO_DISK_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	default: /* file discard */
		io_uring_prep_fallocate(
			sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)io->offset, (off_t)io->len);
		break;
	}
	if (u->fixed)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, s);
	return 0;
}

static int uring_enter(struct pvio_disk_q *q)
{
	struct uq *u = q->eng;
	int r;

	q->stats.syscalls++;
	r = io_uring_submit(&u->ring);
	/* What the kernel did not take stays in the SQ ring and goes with
	 * the next submit or wait. */
	return r;
}

static int uring_submit(struct pvio_disk_q *q)
{
	struct pvio__disk_slot *s;
	int n = 0, queued = 0;

	while ((s = pvio__disk_unstage(q)) != NULL) {
		int r = prep_sqe(q, s);

		if (r == -EBUSY) {
			pvio__disk_restage(q, s);
			break;
		}
		if (r < 0)
			pvio__disk_ready(q, s, r);
		else if (r == 0)
			queued++;
		n++;
	}
	if (queued > 0)
		uring_enter(q);
	q->stats.submitted += (uint64_t)n;
	return n;
}

/* A poll CQE: the armed poll fired (single-shot) unless it is a stale
 * generation's or a remove's. */
static void tag_cqe(struct uq *u, uint64_t ud)
{
	if (ud == TAG_POLL0 + u->gen)
		u->armed = false;
}

static int uring_reap(struct pvio_disk_q *q, struct pvio_disk_io **done,
		      unsigned int max)
{
	struct uq *u = q->eng;
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, n = 0;
	bool again = false;

	/* Memory only: the CQ ring is shared with the kernel. */
	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		uint64_t ud = cqe->user_data;
		struct pvio__disk_slot *s;
		int res = cqe->res, final, r;

		if (n == max)
			break;
		seen++;
		if (ud <= TAG_MAX) {
			tag_cqe(u, ud);
			continue;
		}
		s = (struct pvio__disk_slot *)(uintptr_t)ud;
		if (s->io->op <= PVIO_DISK_WRITE) {
			if (!pvio__disk_rw_progress(q, s, res, &final)) {
				/* Short or retried: start the rest. */
				r = prep_sqe(q, s);
				if (r == 0) {
					again = true;
					continue;
				}
				final = r == -EBUSY ? -EIO : r;
			}
			res = final;
		}
		done[n++] = pvio__disk_finish(q, s, res);
	}
	io_uring_cq_advance(&u->ring, seen);
	if (again)
		uring_enter(q);
	return (int)n;
}

/* Consume poll CQEs at the head of the CQ; 1 if an I/O CQE is there. */
static int scan(struct uq *u)
{
	struct io_uring_cqe *cqe;
	unsigned int head, lead = 0;
	int io = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		if (cqe->user_data > TAG_MAX) {
			io = 1;
			break;
		}
		tag_cqe(u, cqe->user_data);
		lead++;
	}
	io_uring_cq_advance(&u->ring, lead);
	return io;
}

static int uring_wait(struct pvio_disk_q *q, int extra_fd, int timeout_ms)
{
	struct uq *u = q->eng;
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;
	int r;

	if (scan(u))
		return 1;
	if (extra_fd >= 0 && (!u->armed || u->poll_fd != extra_fd)) {
		struct io_uring_sqe *sqe;

		if (u->armed) {
			sqe = io_uring_get_sqe(&u->ring);
			if (sqe == NULL)
				return -EBUSY;
			io_uring_prep_poll_remove(sqe, TAG_POLL0 + u->gen);
			io_uring_sqe_set_data64(sqe, TAG_REMOVE);
			u->armed = false;
			u->gen ^= 1;
		}
		sqe = io_uring_get_sqe(&u->ring);
		if (sqe == NULL)
			return -EBUSY;
		io_uring_prep_poll_add(sqe, extra_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, TAG_POLL0 + u->gen);
		u->armed = true;
		u->poll_fd = extra_fd;
	}
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	q->stats.syscalls++;
	r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, tsp, NULL);
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN)
		return r;
	return scan(u);
}

const struct pvio__disk_ops pvio__disk_uring_ops = {
	.init = uring_init,
	.fini = uring_fini,
	.submit = uring_submit,
	.reap = uring_reap,
	.wait = uring_wait,
};
