/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by disk.c and the engines (engine_*.c).  Not for
 * blkback's other files: they use disk.h only.
 *
 * Every queue owns 'depth' slots, allocated once at q_open, so the data
 * path never allocates.  A slot follows one I/O from prep to reap:
 *   free -> staged (FIFO, in prep order) -> in flight (engine) or ready
 *   (completed synchronously, waiting for reap) -> free.
 */
#ifndef PVIO_BLKBACK_DISK_DISK_INT_H
#define PVIO_BLKBACK_DISK_DISK_INT_H

#include <libaio.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "disk.h"

struct pvio_disk {
	/* fd[0]: the main descriptor (O_DIRECT when geom.direct);
	 * fd[1]: a buffered descriptor of the same open file for I/O that
	 * is not aligned for direct I/O (== fd[0] when not direct). */
	int fd[2];
	uint32_t mem_align; /* direct I/O buffer alignment */
	bool inline_rw;	    /* io_uring: reads/writes done at submit */
	struct pvio_disk_geom geom;
	enum pvio_disk_engine engine;
};

struct pvio__disk_slot {
	struct pvio_disk_io *io;
	struct pvio__disk_slot *next; /* free list or staged FIFO */
	uint64_t total;		      /* read/write: bytes in iov */
	uint64_t done;		      /* read/write: bytes transferred */
	uint8_t fdi;		      /* index into disk->fd */
	/* Short-transfer continuation: the remaining iovecs.  Allocated
	 * the first time this slot needs it, then kept: short transfers
	 * are rare (signals, EOF races), so this is off the fast path. */
	struct iovec *rest;
	unsigned int rest_cap;
	struct iocb iocb; /* libaio only */
};

struct pvio__disk_ops;

struct pvio_disk_q {
	struct pvio_disk *d;
	const struct pvio__disk_ops *ops;
	unsigned int depth;
	unsigned int busy; /* staged + in flight + ready */
	struct pvio__disk_slot *slots;
	struct pvio__disk_slot *free;
	struct pvio__disk_slot *stage_head, **stage_tail;
	unsigned int nstaged;
	/* Completed synchronously, not yet reaped: a ring of depth. */
	struct pvio__disk_slot **ready;
	unsigned int ready_head, ready_count;
	struct pvio_disk_q_stats stats;
	void *eng; /* the engine's state */
};

struct pvio__disk_ops {
	int (*init)(struct pvio_disk_q *q);
	void (*fini)(struct pvio_disk_q *q);
	/* Start every staged slot (take them off the staged FIFO).  Returns
	 * how many were started (completed-at-once ones included). */
	int (*submit)(struct pvio_disk_q *q);
	/* Engine completions only; the ready ring is drained by disk.c. */
	int (*reap)(struct pvio_disk_q *q, struct pvio_disk_io **done,
		    unsigned int max);
	/* Called only when the ready ring is empty. */
	int (*wait)(struct pvio_disk_q *q, int extra_fd, int timeout_ms);
};

extern const struct pvio__disk_ops pvio__disk_uring_ops;
extern const struct pvio__disk_ops pvio__disk_aio_ops;
extern const struct pvio__disk_ops pvio__disk_psync_ops;

/* Pop the staged FIFO's head (NULL if empty). */
struct pvio__disk_slot *pvio__disk_unstage(struct pvio_disk_q *q);

/* Put a slot back at the staged FIFO's head (engine could not start it
 * now; it will be first next time). */
void pvio__disk_restage(struct pvio_disk_q *q, struct pvio__disk_slot *s);

/* A slot completed with res outside the engine's own queue: to the ready
 * ring, returned by the next reap. */
void pvio__disk_ready(struct pvio_disk_q *q, struct pvio__disk_slot *s,
		      int res);

/* Hand a completed slot to the caller: sets io->res, frees the slot. */
struct pvio_disk_io *pvio__disk_finish(struct pvio_disk_q *q,
				       struct pvio__disk_slot *s, int res);

/*
 * A read/write transferred res bytes (or failed with res < 0).  Returns
 * 1 if the slot is complete (*final holds its result), 0 if the engine
 * must start it again with pvio__disk_rest_iov() from s->done on
 * q->d->fd[s->fdi] (short transfer, or EINVAL from O_DIRECT that is
 * retried on the buffered descriptor).
 */
int pvio__disk_rw_progress(struct pvio_disk_q *q, struct pvio__disk_slot *s,
			   long long res, int *final);

/*
 * The iovecs still to transfer: the caller's own array when nothing was
 * done yet, else the slot's continuation array.  NULL (-ENOMEM) if that
 * cannot be allocated.
 */
const struct iovec *pvio__disk_rest_iov(struct pvio__disk_slot *s,
					unsigned int *cnt);

/* Do a slot's operation now, synchronously, to the end (all engines use
 * it for discard; psync for everything; libaio for flush). */
int pvio__disk_sync(struct pvio_disk_q *q, struct pvio__disk_slot *s);

#endif /* PVIO_BLKBACK_DISK_DISK_INT_H */
