/* SPDX-License-Identifier: MIT */
/*
 * Disks: open, geometry, discard support, and the engine-independent half
 * of the queues (slots, validation, the ready ring, synchronous ops).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "disk_int.h"

static const char *const engine_names[] = {
	[PVIO_DISK_IO_URING] = "io_uring",
	[PVIO_DISK_LIBAIO] = "libaio",
	[PVIO_DISK_PSYNC] = "psync",
};

int pvio_disk_engine_parse(const char *name, enum pvio_disk_engine *e)
{
	if (name == NULL || e == NULL)
		return -EINVAL;
	for (unsigned int i = 0;
	     i < sizeof(engine_names) / sizeof(engine_names[0]); i++) {
		if (strcmp(name, engine_names[i]) == 0) {
			*e = (enum pvio_disk_engine)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *pvio_disk_engine_name(enum pvio_disk_engine e)
{
	if ((unsigned int)e >= sizeof(engine_names) / sizeof(engine_names[0]))
		return "unknown";
	return engine_names[e];
}

static bool is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* A block device's queue attribute; partitions have none of their own,
 * so look at the parent disk's too.  0 if unreadable. */
static uint64_t sysfs_u64(dev_t rdev, const char *attr)
{
	static const char *const fmts[] = {"/sys/dev/block/%u:%u/%s",
					   "/sys/dev/block/%u:%u/../%s"};
	for (unsigned int i = 0; i < 2; i++) {
		char path[128];
		unsigned long long v;
		FILE *f;
		int ok;

		snprintf(path, sizeof(path), fmts[i], major(rdev), minor(rdev),
			 attr);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		ok = fscanf(f, "%llu", &v) == 1;
		fclose(f);
		if (ok)
			return v;
	}
	return 0;
}

static int geom_blockdev(struct pvio_disk *d, const struct stat *st)
{
	struct pvio_disk_geom *g = &d->geom;
	uint64_t bytes;
	int lbs;
	unsigned int pbs;

	if (ioctl(d->fd[0], BLKGETSIZE64, &bytes) < 0 ||
	    ioctl(d->fd[0], BLKSSZGET, &lbs) < 0)
		return -errno;
	if (ioctl(d->fd[0], BLKPBSZGET, &pbs) < 0)
		pbs = (unsigned int)lbs;
	if (lbs < 512 || !is_pow2((uint32_t)lbs))
		return -EINVAL;
	g->logical_block = (uint32_t)lbs;
	g->physical_block = pbs >= (unsigned int)lbs ? pbs : (uint32_t)lbs;
	g->bytes = bytes - bytes % g->logical_block;
	g->blockdev = true;
	if (!g->readonly &&
	    sysfs_u64(st->st_rdev, "queue/discard_max_bytes") != 0) {
		uint64_t gran =
			sysfs_u64(st->st_rdev, "queue/discard_granularity");
		g->discard = true;
		g->discard_granularity = gran != 0 && gran <= UINT32_MAX
						 ? (uint32_t)gran
						 : g->logical_block;
		g->discard_alignment =
			(uint32_t)sysfs_u64(st->st_rdev, "discard_alignment");
	}
	/* Linux has no sysfs attribute for secure erase, and probing it
	 * would erase data (or, with a zero length, drop the device's page
	 * cache), so it is never advertised; the op is still passed to the
	 * kernel (BLKSECDISCARD) if asked for. */
	g->secure_discard = false;
	return 0;
}

static void geom_file(struct pvio_disk *d, const struct stat *st)
{
	struct pvio_disk_geom *g = &d->geom;
	uint32_t blksize = st->st_blksize > 0 && st->st_blksize <= (1 << 20)
				   ? (uint32_t)st->st_blksize
				   : 4096;

	g->logical_block = 512;
	g->physical_block = blksize;
	g->bytes = (uint64_t)st->st_size - (uint64_t)st->st_size % 512;
	if (!g->readonly) {
		/* Probe hole punching on a range past the end: KEEP_SIZE
		 * makes it a no-op where supported, and filesystems that
		 * cannot punch say EOPNOTSUPP before looking at the range.
		 * (A zero length cannot probe: the VFS refuses it first.) */
		if (fallocate(d->fd[0],
			      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      st->st_size, blksize) == 0) {
			g->discard = true;
			g->discard_granularity = blksize;
			g->discard_alignment = 0;
		}
	}
}

/* Direct I/O alignment: statx when the kernel and fs report it.  Returns
 * false if the file cannot do direct I/O after all. */
static bool dio_align(struct pvio_disk *d)
{
	struct statx sx;
	uint32_t off = d->geom.logical_block, mem = d->geom.logical_block;

	if (statx(d->fd[0], "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN)) {
		if (sx.stx_dio_offset_align == 0)
			return false;
		off = sx.stx_dio_offset_align;
		mem = sx.stx_dio_mem_align ? sx.stx_dio_mem_align : 1;
	}
	if (!is_pow2(off) || !is_pow2(mem))
		return false;
	d->geom.dio_align = off;
	d->mem_align = mem;
	return true;
}

static int reopen_buffered(int fd, const char *path, int flags)
{
	char p[64];
	int r;

	/* The same file even if 'path' was replaced meanwhile; the path
	 * only when /proc is not mounted (sandbox). */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	r = open(p, flags);
	if (r < 0 && errno == ENOENT)
		r = open(path, flags);
	return r < 0 ? -errno : r;
}

struct pvio_disk *pvio_disk_open(const struct pvio_disk_opts *o, int *err)
{
	struct pvio_disk *d;
	struct stat st, st2;
	struct statfs sf;
	int flags, r;
	bool want_direct;

	if (o == NULL || o->path == NULL ||
	    (unsigned int)o->engine > PVIO_DISK_PSYNC) {
		*err = -EINVAL;
		return NULL;
	}
	/* Look before opening: opening a FIFO would block. */
	if (stat(o->path, &st) < 0) {
		*err = -errno;
		return NULL;
	}
	if (o->expect_blockdev && !S_ISBLK(st.st_mode)) {
		*err = -ENOTBLK;
		return NULL;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		*err = -EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	d->fd[0] = d->fd[1] = -1;
	d->engine = o->engine;
	d->geom.readonly = o->readonly;
	flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	/* Claim a writable device like Linux blkback does: fails if it is
	 * mounted or claimed by someone else. */
	if (S_ISBLK(st.st_mode) && !o->readonly)
		flags |= O_EXCL;
	/* tmpfs accepts O_DIRECT (Linux >= 6.6) but still goes through the
	 * page cache, adding only the direct-write fallback's cost. */
	want_direct = !o->no_direct;
	if (S_ISREG(st.st_mode) && statfs(o->path, &sf) == 0 &&
	    (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)) {
		want_direct = false;
		d->geom.mem_backed = true;
		d->inline_rw = !o->no_inline;
	}
	if (want_direct) {
		d->fd[0] = open(o->path, flags | O_DIRECT);
		if (d->fd[0] < 0 && errno != EINVAL) {
			r = -errno;
			goto fail;
		}
		d->geom.direct = d->fd[0] >= 0;
	}
	if (d->fd[0] < 0) {
		d->fd[0] = open(o->path, flags);
		if (d->fd[0] < 0) {
			r = -errno;
			goto fail;
		}
	}
	if (fstat(d->fd[0], &st2) < 0) {
		r = -errno;
		goto fail;
	}
	if ((st2.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
		r = o->expect_blockdev ? -ENOTBLK : -EINVAL;
		goto fail;
	}
	if (S_ISBLK(st2.st_mode)) {
		r = geom_blockdev(d, &st2);
		if (r < 0)
			goto fail;
	} else {
		geom_file(d, &st2);
	}
	if (d->geom.direct && !dio_align(d)) {
		/* The fs took O_DIRECT but cannot do it: plain buffered. */
		int fd = reopen_buffered(d->fd[0], o->path, flags & ~O_EXCL);
		if (fd < 0) {
			r = fd;
			goto fail;
		}
		close(d->fd[0]);
		d->fd[0] = fd;
		d->geom.direct = false;
	}
	if (d->geom.direct) {
		r = reopen_buffered(d->fd[0], o->path, flags & ~O_EXCL);
		if (r < 0)
			goto fail;
		d->fd[1] = r;
	} else {
		d->fd[1] = d->fd[0];
		d->geom.dio_align = d->geom.logical_block;
		d->mem_align = 1;
	}
	return d;
fail:
	pvio_disk_close(d);
	*err = r;
	return NULL;
}

void pvio_disk_close(struct pvio_disk *d)
{
	if (d == NULL)
		return;
	if (d->fd[1] >= 0 && d->fd[1] != d->fd[0])
		close(d->fd[1]);
	if (d->fd[0] >= 0)
		close(d->fd[0]);
	free(d);
}

const struct pvio_disk_geom *pvio_disk_geom(const struct pvio_disk *d)
{
	return &d->geom;
}

enum pvio_disk_engine pvio_disk_engine(const struct pvio_disk *d)
{
	return d->engine;
}

/* ---- queues ---- */

static const struct pvio__disk_ops *const engine_ops[] = {
	[PVIO_DISK_IO_URING] = &pvio__disk_uring_ops,
	[PVIO_DISK_LIBAIO] = &pvio__disk_aio_ops,
	[PVIO_DISK_PSYNC] = &pvio__disk_psync_ops,
};

struct pvio_disk_q *pvio_disk_q_open(struct pvio_disk *d, unsigned int depth,
				     int *err)
{
	struct pvio_disk_q *q;
	int r;

	if (d == NULL || depth == 0 || depth > 32768) {
		*err = -EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	q->d = d;
	q->ops = engine_ops[d->engine];
	q->depth = depth;
	q->stage_tail = &q->stage_head;
	q->slots = calloc(depth, sizeof(*q->slots));
	q->ready = calloc(depth, sizeof(*q->ready));
	if (q->slots == NULL || q->ready == NULL) {
		free(q->slots);
		free(q->ready);
		free(q);
		*err = -ENOMEM;
		return NULL;
	}
	for (unsigned int i = depth; i-- > 0;) {
		q->slots[i].next = q->free;
		q->free = &q->slots[i];
	}
	r = q->ops->init(q);
	if (r < 0) {
		free(q->slots);
		free(q->ready);
		free(q);
		*err = r;
		return NULL;
	}
	return q;
}

void pvio_disk_q_close(struct pvio_disk_q *q)
{
	if (q == NULL)
		return;
	/* Let what is in flight finish first, so that no kernel write lands
	 * in the caller's (granted) memory after this returns: closing an
	 * io_uring only starts an asynchronous teardown. */
	while (q->busy > q->nstaged + q->ready_count) {
		struct pvio_disk_io *done[16];

		if (q->ops->reap(q, done, 16) == 0 &&
		    q->ops->wait(q, -1, 1000) < 0)
			break;
	}
	q->ops->fini(q);
	for (unsigned int i = 0; i < q->depth; i++)
		free(q->slots[i].rest);
	free(q->slots);
	free(q->ready);
	free(q);
}

static int range_ok(const struct pvio_disk *d, uint64_t off, uint64_t len)
{
	return off <= d->geom.bytes && len <= d->geom.bytes - off;
}

int pvio_disk_q_prep(struct pvio_disk_q *q, struct pvio_disk_io *io)
{
	const struct pvio_disk *d = q->d;
	struct pvio__disk_slot *s;
	uint64_t total = 0;
	uintptr_t bits = 0;
	uint8_t fdi = 0;

	if (q->free == NULL)
		return -EBUSY;
	switch (io->op) {
	case PVIO_DISK_WRITE:
		if (d->geom.readonly)
			return -EROFS;
		/* fall through */
	case PVIO_DISK_READ:
		if (io->iov == NULL || io->iovcnt == 0 || io->iovcnt > IOV_MAX)
			return -EINVAL;
		for (unsigned int i = 0; i < io->iovcnt; i++) {
			size_t len = io->iov[i].iov_len;

			if (len > d->geom.bytes)
				return -EINVAL;
			total += len;
			bits |= len;
			/* Memory alignment is stricter or looser than the
			 * offset's: checked on its own below. */
			if ((uintptr_t)io->iov[i].iov_base & (d->mem_align - 1))
				fdi = 1;
		}
		if (!range_ok(d, io->offset, total))
			return -EINVAL;
		if (d->geom.direct &&
		    (fdi || ((bits | io->offset) & (d->geom.dio_align - 1)))) {
			fdi = 1;
			q->stats.buffered++;
		} else {
			fdi = 0;
		}
		break;
	case PVIO_DISK_FLUSH:
		break;
	case PVIO_DISK_DISCARD:
	case PVIO_DISK_SECURE_DISCARD:
		if (d->geom.readonly)
			return -EROFS;
		if (!d->geom.discard ||
		    (io->op == PVIO_DISK_SECURE_DISCARD && !d->geom.blockdev))
			return -EOPNOTSUPP;
		if (!range_ok(d, io->offset, io->len))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	s = q->free;
	q->free = s->next;
	s->io = io;
	s->next = NULL;
	s->total = total;
	s->done = 0;
	s->fdi = fdi;
	*q->stage_tail = s;
	q->stage_tail = &s->next;
	q->nstaged++;
	q->busy++;
	io->res = 0;
	return 0;
}

struct pvio__disk_slot *pvio__disk_unstage(struct pvio_disk_q *q)
{
	struct pvio__disk_slot *s = q->stage_head;

	if (s == NULL)
		return NULL;
	q->stage_head = s->next;
	if (q->stage_head == NULL)
		q->stage_tail = &q->stage_head;
	s->next = NULL;
	q->nstaged--;
	return s;
}

void pvio__disk_restage(struct pvio_disk_q *q, struct pvio__disk_slot *s)
{
	s->next = q->stage_head;
	q->stage_head = s;
	if (s->next == NULL)
		q->stage_tail = &s->next;
	q->nstaged++;
}

void pvio__disk_ready(struct pvio_disk_q *q, struct pvio__disk_slot *s, int res)
{
	/* Cannot overflow: at most depth slots exist. */
	s->io->res = res;
	q->ready[(q->ready_head + q->ready_count) % q->depth] = s;
	q->ready_count++;
}

struct pvio_disk_io *pvio__disk_finish(struct pvio_disk_q *q,
				       struct pvio__disk_slot *s, int res)
{
	struct pvio_disk_io *io = s->io;

	io->res = res;
	s->io = NULL;
	s->next = q->free;
	q->free = s;
	q->busy--;
	q->stats.completed++;
	return io;
}

int pvio_disk_q_submit(struct pvio_disk_q *q)
{
	if (q->nstaged == 0)
		return 0;
	return q->ops->submit(q);
}

unsigned int pvio_disk_q_busy(const struct pvio_disk_q *q)
{
	return q->busy;
}

static unsigned int drain_ready(struct pvio_disk_q *q,
				struct pvio_disk_io **done, unsigned int max)
{
	unsigned int n = 0;

	while (n < max && q->ready_count > 0) {
		struct pvio__disk_slot *s = q->ready[q->ready_head];

		q->ready_head = (q->ready_head + 1) % q->depth;
		q->ready_count--;
		done[n++] = pvio__disk_finish(q, s, s->io->res);
	}
	return n;
}

int pvio_disk_q_reap(struct pvio_disk_q *q, struct pvio_disk_io **done,
		     unsigned int max)
{
	unsigned int n = drain_ready(q, done, max);

	/* Nothing in the engine: not even a look at its queue. */
	if (n < max && q->busy > q->nstaged + q->ready_count) {
		int r = q->ops->reap(q, done + n, max - n);

		if (r > 0)
			n += (unsigned int)r;
		n += drain_ready(q, done + n, max - n);
	}
	return (int)n;
}

int pvio_disk_q_wait(struct pvio_disk_q *q, int extra_fd, int timeout_ms)
{
	if (q->ready_count > 0)
		return 1;
	return q->ops->wait(q, extra_fd, timeout_ms);
}

void pvio_disk_q_stats(const struct pvio_disk_q *q,
		       struct pvio_disk_q_stats *out)
{
	*out = q->stats;
}

/* ---- helpers for the engines ---- */

int pvio__disk_rw_progress(struct pvio_disk_q *q, struct pvio__disk_slot *s,
			   long long res, int *final)
{
	if (res < 0) {
		/* Some filesystems want more alignment for O_DIRECT than
		 * they report: the buffered descriptor takes any I/O. */
		if (res == -EINVAL && s->fdi == 0 && q->d->geom.direct) {
			s->fdi = 1;
			q->stats.buffered++;
			return 0;
		}
		if (res == -EINTR)
			return 0;
		*final = (int)res;
		return 1;
	}
	s->done += (uint64_t)res;
	if (s->done >= s->total) {
		*final = 0;
		return 1;
	}
	/* Nothing moved although bytes remain (file truncated behind our
	 * back): an error, never a loop. */
	if (res == 0) {
		*final = -EIO;
		return 1;
	}
	q->stats.continued++;
	return 0;
}

const struct iovec *pvio__disk_rest_iov(struct pvio__disk_slot *s,
					unsigned int *cnt)
{
	const struct pvio_disk_io *io = s->io;
	uint64_t skip = s->done;
	unsigned int i = 0, n;

	if (skip == 0) {
		*cnt = io->iovcnt;
		return io->iov;
	}
	while (i < io->iovcnt && skip >= io->iov[i].iov_len)
		skip -= io->iov[i++].iov_len;
	n = io->iovcnt - i;
	if (n > s->rest_cap) {
		struct iovec *r = realloc(s->rest, n * sizeof(*r));

		if (r == NULL)
			return NULL;
		s->rest = r;
		s->rest_cap = n;
	}
	memcpy(s->rest, io->iov + i, n * sizeof(*s->rest));
	s->rest[0].iov_base = (char *)s->rest[0].iov_base + skip;
	s->rest[0].iov_len -= skip;
	*cnt = n;
	return s->rest;
}

int pvio__disk_sync(struct pvio_disk_q *q, struct pvio__disk_slot *s)
{
	const struct pvio_disk *d = q->d;
	const struct pvio_disk_io *io = s->io;
	uint64_t range[2] = {io->offset, io->len};
	int final;

	switch (io->op) {
	case PVIO_DISK_READ:
	case PVIO_DISK_WRITE:
		for (;;) {
			unsigned int cnt;
			const struct iovec *iov = pvio__disk_rest_iov(s, &cnt);
			ssize_t r;

			if (iov == NULL)
				return -ENOMEM;
			q->stats.syscalls++;
			if (io->op == PVIO_DISK_READ)
				r = preadv(d->fd[s->fdi], iov, (int)cnt,
					   (off_t)(io->offset + s->done));
			else
				r = pwritev(d->fd[s->fdi], iov, (int)cnt,
					    (off_t)(io->offset + s->done));
			if (pvio__disk_rw_progress(q, s, r < 0 ? -errno : r,
						   &final))
				return final;
		}
	case PVIO_DISK_FLUSH:
		q->stats.syscalls++;
		return fdatasync(d->fd[0]) < 0 ? -errno : 0;
	case PVIO_DISK_DISCARD:
	case PVIO_DISK_SECURE_DISCARD:
		if (io->len == 0)
			return 0;
		q->stats.syscalls++;
		if (!d->geom.blockdev)
			return fallocate(d->fd[0],
					 FALLOC_FL_PUNCH_HOLE |
						 FALLOC_FL_KEEP_SIZE,
					 (off_t)io->offset, (off_t)io->len) < 0
				       ? -errno
				       : 0;
		/* The kernel wants logical-block alignment: EINVAL. */
		return ioctl(d->fd[0],
			     io->op == PVIO_DISK_DISCARD ? BLKDISCARD
							 : BLKSECDISCARD,
			     range) < 0
			       ? -errno
			       : 0;
	default:
		return -EINVAL;
	}
}
