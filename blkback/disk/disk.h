/* SPDX-License-Identifier: MIT */
/*
 * blkback's disks: one backing file or block device, and the I/O engines
 * that move data between it and granted pages.
 *
 * A disk is opened once per vbd; each backend queue (one thread each)
 * opens its own I/O queue on it, so queues never share engine state.
 * Engines: io_uring through liburing (default), libaio, and plain
 * preadv/pwritev (synchronous; for filesystems and kernels where the
 * others misbehave).  All three complete requests out of order and take
 * batches: prep any number, then one submit.
 *
 * O_DIRECT is used where the target supports it: the open tries it and
 * falls back to buffered I/O if refused (tmpfs); an I/O whose buffers or
 * offset are not aligned to the direct-I/O alignment goes through a
 * second, buffered descriptor instead of failing.
 *
 * Internal to blkback (not installed).  Errors: 0 / positive, -errno.
 *
 * Threads: a disk may be shared by the queues of several threads (open and
 * close it around them); a queue belongs to one thread at a time.
 * Flush: makes every write that completed (was reaped) before the flush
 * was prepped durable; engines do not order a flush after writes still in
 * flight, except libaio, whose flush waits for every I/O started before
 * it to complete and delays those prepped after it (it runs fdatasync()
 * synchronously, because most filesystems lack aio fsync).
 */
#ifndef PVIO_BLKBACK_DISK_DISK_H
#define PVIO_BLKBACK_DISK_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum pvio_disk_engine {
	PVIO_DISK_IO_URING = 0,
	PVIO_DISK_LIBAIO = 1,
	PVIO_DISK_PSYNC = 2,
};

/* "io_uring" | "libaio" | "psync" <-> enum.  -EINVAL for anything else. */
int pvio_disk_engine_parse(const char *name, enum pvio_disk_engine *e);
const char *pvio_disk_engine_name(enum pvio_disk_engine e);

struct pvio_disk_opts {
	const char *path;     /* image file or block device */
	bool readonly;	      /* open O_RDONLY, refuse writes/discard */
	bool expect_blockdev; /* "phy": -ENOTBLK unless a block device */
	bool no_direct;	      /* never O_DIRECT */
	/* io_uring on tmpfs/ramfs: start reads and writes in the ring anyway
	 * (default: done inline, see geom.mem_backed).  For tests. */
	bool no_inline;
	enum pvio_disk_engine engine;
};

/* What the disk is, for the xenstore keys blkback publishes. */
struct pvio_disk_geom {
	uint64_t bytes;		 /* size; a multiple of logical_block */
	uint32_t logical_block;	 /* 512 for files, the device's otherwise */
	uint32_t physical_block; /* the device's, or the fs block size */
	bool readonly;
	bool blockdev;
	bool direct;	     /* O_DIRECT is in use */
	uint32_t dio_align;  /* buffer/offset alignment for direct I/O */
	bool discard;	     /* punch holes / BLKDISCARD work */
	bool secure_discard; /* BLKSECDISCARD works (devices only) */
	uint32_t discard_granularity; /* bytes */
	uint32_t discard_alignment;   /* bytes */
	/* tmpfs/ramfs: I/O is a memory copy that never waits for a device.
	 * io_uring has no non-blocking path into tmpfs and would hand every
	 * read and write to a kernel worker thread (4x slower on a 2-CPU
	 * host), so the io_uring engine does them inline at submit instead
	 * (like psync; flush and discard still go through the ring). */
	bool mem_backed;
};

struct pvio_disk;
struct pvio_disk_q;

/* Open; NULL with *err (-ENOENT, -EACCES, -ENOTBLK, -EINVAL, ...). */
struct pvio_disk *pvio_disk_open(const struct pvio_disk_opts *o, int *err);

/* Close; every queue must be closed first.  NULL is a no-op. */
void pvio_disk_close(struct pvio_disk *d);

const struct pvio_disk_geom *pvio_disk_geom(const struct pvio_disk *d);
enum pvio_disk_engine pvio_disk_engine(const struct pvio_disk *d);

/* Operations of struct pvio_disk_io. */
enum pvio_disk_op {
	PVIO_DISK_READ = 0,
	PVIO_DISK_WRITE = 1,
	PVIO_DISK_FLUSH = 2,	      /* make every completed write durable */
	PVIO_DISK_DISCARD = 3,	      /* offset + len: read back as zeroes */
	PVIO_DISK_SECURE_DISCARD = 4, /* devices: BLKSECDISCARD */
};

/*
 * One I/O.  Owned by the caller from prep until reap returns it.  iov
 * may point anywhere the process can access (granted pages mapped here);
 * offset and lengths are bytes.  A read or write completes whole or not
 * at all: short transfers are continued inside the engine.
 */
struct pvio_disk_io {
	uint8_t op;		 /* enum pvio_disk_op */
	uint64_t offset;	 /* bytes */
	uint64_t len;		 /* discard: bytes; read/write: ignored */
	const struct iovec *iov; /* read/write */
	unsigned int iovcnt;	 /* 1..IOV_MAX */
	void *user;		 /* caller's */
	int res;		 /* OUT: 0 or -errno */
	uint32_t priv[4];	 /* the engine's */
};

/*
 * A queue of up to 'depth' I/Os in flight, for one thread.  NULL with
 * *err; -ENOSYS if the engine is not available here (io_uring disabled
 * by sysctl/seccomp, for instance).
 */
struct pvio_disk_q *pvio_disk_q_open(struct pvio_disk *d, unsigned int depth,
				     int *err);
/* Waits for the I/Os in flight (their results are dropped; staged ones
 * are never started), then frees.  NULL is a no-op. */
void pvio_disk_q_close(struct pvio_disk_q *q);

/*
 * Stage one I/O for the next submit.  Checked here, nothing staged on
 * error: -EBUSY when 'depth' are staged, in flight or not yet reaped;
 * -EROFS for write/discard on a read-only disk; -EOPNOTSUPP for discard
 * when !geom.discard and secure discard on anything but a block device
 * with discard; -EINVAL for an unknown op, iovcnt 0 or > IOV_MAX, or a
 * range past geom.bytes (or overflowing).  Discard of len 0 and flush
 * always succeed.
 */
int pvio_disk_q_prep(struct pvio_disk_q *q, struct pvio_disk_io *io);

/* Start every staged I/O (one system call for io_uring).  Returns how
 * many were started; I/Os that fail to start complete with their error. */
int pvio_disk_q_submit(struct pvio_disk_q *q);

/* Staged plus in flight plus completed but not yet reaped. */
unsigned int pvio_disk_q_busy(const struct pvio_disk_q *q);

/*
 * Collect completed I/Os into done[] (up to max) without blocking.
 * Returns how many (0: none ready).
 */
int pvio_disk_q_reap(struct pvio_disk_q *q, struct pvio_disk_io **done,
		     unsigned int max);

/*
 * Sleep until an I/O of this queue completes, 'extra_fd' (an eventfd
 * or any pollable fd, -1 for none) becomes readable, or timeout_ms
 * passes (<0: forever).  Does not read extra_fd.  Returns 1 if I/Os are
 * ready, 0 otherwise (extra_fd, timeout or a spurious wake), -errno.
 * Lets a backend thread wait for the frontend's event and its disk in
 * one call.
 *
 * io_uring keeps a poll armed on extra_fd between calls (re-armed after it
 * fires, moved when another fd is passed).  So before closing extra_fd,
 * call q_wait with another fd or close the queue; a new file that reuses
 * the old number would not be watched.
 */
int pvio_disk_q_wait(struct pvio_disk_q *q, int extra_fd, int timeout_ms);

/*
 * Counters of one queue (memory only, updated by the queue's thread; read
 * them from that thread).  For tests and blkback's statistics.
 */
struct pvio_disk_q_stats {
	uint64_t submitted; /* I/Os started */
	uint64_t completed; /* I/Os returned by reap */
	uint64_t buffered;  /* I/Os sent to the buffered fd although the
			       disk is direct (unaligned, or EINVAL) */
	uint64_t continued; /* short transfers continued */
	uint64_t syscalls;  /* submit/reap/wait system calls made */
	uint64_t sync_ops;  /* ops done synchronously (discard, aio flush) */
};
void pvio_disk_q_stats(const struct pvio_disk_q *q,
		       struct pvio_disk_q_stats *out);

#endif /* PVIO_BLKBACK_DISK_DISK_H */
