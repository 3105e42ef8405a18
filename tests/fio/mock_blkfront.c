/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for libblkfront, for testing the fio engine's own logic
 * (splitting, queue sharing between jobs, completion routing, buffers)
 * with the real /usr/bin/fio and without pvio-hv or a backend.
 *
 * The disk is the file named by $PVIO_FIO_MOCK_FILE.  Requests are done
 * with pread/pwrite at submit and completed in reverse order at reap, so
 * completions come out of order like a real backend's.  It checks what
 * blkfront would refuse and what the API forbids and aborts loudly:
 * two threads in one queue at once, a request spanning more pages than
 * max_segments, a reap of more than was submitted.
 * Geometry: $PVIO_FIO_MOCK_DEPTH ring slots (default 32); 11 segments
 * per request without indirect, 256 with.  $PVIO_FIO_MOCK_CORRUPT=N
 * flips a byte in every Nth read, to show that the tests catch it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvio/blkfront.h"

#define MOCK_MAX_QUEUES 16U

struct mock_queue {
	atomic_int busy; /* a thread is inside submit/reap */
	struct pvio_blkfront_req **done;
	unsigned int ndone, inflight;
};

struct pvio_blkfront {
	int fd;
	struct pvio_blkfront_info info;
	struct mock_queue q[MOCK_MAX_QUEUES];
	atomic_uint_fast64_t requests, notifies, reads;
	unsigned long corrupt_every;
};

static void die(const char *what)
{
	fprintf(stderr, "mock_blkfront: API misuse: %s\n", what);
	abort();
}

int pvio_fio_mock_sectors(const char *vdev, uint64_t *sectors);
int pvio_fio_mock_sectors(const char *vdev, uint64_t *sectors)
{
	const char *path = getenv("PVIO_FIO_MOCK_FILE");
	struct stat st;

	(void)vdev;
	if (!path || stat(path, &st) != 0)
		return -ENOENT;
	*sectors = (uint64_t)st.st_size / 512;
	return 0;
}

int pvio_blkfront_vdev_parse(const char *vdev, uint32_t *devid)
{
	if (strncmp(vdev, "xvd", 3) == 0 && vdev[3] >= 'a' && vdev[3] <= 'z' &&
	    vdev[4] == '\0') {
		*devid = (uint32_t)((202 << 8) | ((vdev[3] - 'a') << 4));
		return 0;
	}
	return -EINVAL;
}

struct pvio_blkfront *pvio_blkfront_attach(struct pvio_dom *dom,
					   pvio_domid_t backend,
					   const char *vdev,
					   const struct pvio_blkfront_opts *o,
					   int *err)
{
	const char *path = getenv("PVIO_FIO_MOCK_FILE");
	const char *depth = getenv("PVIO_FIO_MOCK_DEPTH");
	struct pvio_blkfront *f;
	uint64_t sectors;
	uint32_t devid;

	(void)dom;
	if (pvio_blkfront_vdev_parse(vdev, &devid) != 0 ||
	    pvio_fio_mock_sectors(vdev, &sectors) != 0) {
		*err = -ENOENT;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	f->fd = open(path, O_RDWR | O_CLOEXEC);
	if (f->fd < 0) {
		*err = -errno;
		free(f);
		return NULL;
	}
	if (getenv("PVIO_FIO_MOCK_CORRUPT"))
		f->corrupt_every =
			strtoul(getenv("PVIO_FIO_MOCK_CORRUPT"), NULL, 10);
	f->info.sectors = sectors;
	f->info.sector_size = 512;
	f->info.physical_sector_size = 512;
	f->info.flush = true;
	f->info.discard = true;
	f->info.persistent = !o->no_persistent;
	f->info.nr_queues = o->max_queues ? o->max_queues : 1;
	if (f->info.nr_queues > MOCK_MAX_QUEUES)
		f->info.nr_queues = MOCK_MAX_QUEUES;
	f->info.ring_pages = 1;
	f->info.queue_depth = depth ? (unsigned int)atoi(depth) : 32;
	f->info.max_segments = o->no_indirect ? 11 : 256;
	f->info.max_sectors = f->info.max_segments * 8ULL;
	f->info.backend_id = backend == PVIO_BLKFRONT_ANY_BACKEND ? 0 : backend;
	f->info.devid = devid;
	for (unsigned int i = 0; i < f->info.nr_queues; i++) {
		f->q[i].done =
			calloc(f->info.queue_depth, sizeof(*f->q[i].done));
		if (!f->q[i].done)
			abort();
	}
	return f;
}

void pvio_blkfront_detach(struct pvio_blkfront *f, int timeout_ms)
{
	(void)timeout_ms;
	if (!f)
		return;
	for (unsigned int i = 0; i < f->info.nr_queues; i++) {
		if (f->q[i].inflight)
			die("detach with requests not reaped");
		free(f->q[i].done);
	}
	close(f->fd);
	free(f);
}

const struct pvio_blkfront_info *
pvio_blkfront_info(const struct pvio_blkfront *f)
{
	return &f->info;
}

int pvio_blkfront_error(const struct pvio_blkfront *f)
{
	(void)f;
	return 0;
}

void *pvio_blkfront_buf_alloc(struct pvio_blkfront *f, size_t bytes, int *err)
{
	void *p = NULL;

	(void)f;
	if (posix_memalign(&p, 4096, bytes) != 0) {
		*err = -ENOMEM;
		return NULL;
	}
	memset(p, 0, bytes);
	return p;
}

void pvio_blkfront_buf_free(struct pvio_blkfront *f, void *buf, size_t bytes)
{
	(void)f;
	(void)bytes;
	free(buf);
}

static void enter(struct mock_queue *q)
{
	if (atomic_exchange(&q->busy, 1))
		die("two threads in one queue");
}

static void leave(struct mock_queue *q)
{
	atomic_store(&q->busy, 0);
}

static int check(const struct pvio_blkfront *f,
		 const struct pvio_blkfront_req *r)
{
	uint64_t bytes = 0, pages = 0;

	if (r->op == PVIO_BLKFRONT_FLUSH)
		return 0;
	if (r->op == PVIO_BLKFRONT_DISCARD)
		return r->sector + r->nr_sectors <= f->info.sectors ? 0
								    : -EINVAL;
	if (r->op != PVIO_BLKFRONT_READ && r->op != PVIO_BLKFRONT_WRITE)
		return -EINVAL;
	for (unsigned int i = 0; i < r->iovcnt; i++) {
		uintptr_t a = (uintptr_t)r->iov[i].iov_base;
		size_t l = r->iov[i].iov_len;

		if (l == 0 || l % 512)
			return -EINVAL;
		pages += ((a + l + 4095) / 4096) - a / 4096;
		bytes += l;
	}
	if (pages > f->info.max_segments || bytes / 512 > f->info.max_sectors)
		die("request larger than max_segments/max_sectors");
	if (r->sector + bytes / 512 > f->info.sectors)
		return -EINVAL;
	return 0;
}

int pvio_blkfront_submit(struct pvio_blkfront *f, unsigned int queue,
			 struct pvio_blkfront_req **reqs, unsigned int n)
{
	struct mock_queue *q;
	unsigned int i;

	if (queue >= f->info.nr_queues)
		return -EINVAL;
	q = &f->q[queue];
	enter(q);
	for (i = 0; i < n; i++)
		if (check(f, reqs[i]) != 0) {
			leave(q);
			return -EINVAL;
		}
	for (i = 0; i < n && q->inflight < f->info.queue_depth; i++) {
		struct pvio_blkfront_req *r = reqs[i];
		off_t off = (off_t)(r->sector * 512);
		ssize_t got = 0;

		r->status = 0;
		if (r->op == PVIO_BLKFRONT_READ) {
			got = preadv(f->fd, r->iov, (int)r->iovcnt, off);
			if (f->corrupt_every &&
			    atomic_fetch_add(&f->reads, 1) % f->corrupt_every ==
				    f->corrupt_every - 1)
				((unsigned char *)r->iov[0].iov_base)[100] ^= 1;
		} else if (r->op == PVIO_BLKFRONT_WRITE)
			got = pwritev(f->fd, r->iov, (int)r->iovcnt, off);
		else if (r->op == PVIO_BLKFRONT_FLUSH)
			got = fdatasync(f->fd);
		if (got < 0)
			r->status = -EIO;
		q->done[q->ndone++] = r;
		q->inflight++;
		atomic_fetch_add(&f->requests, 1);
	}
	if (i)
		atomic_fetch_add(&f->notifies, 1);
	leave(q);
	return (int)i;
}

int pvio_blkfront_reap(struct pvio_blkfront *f, unsigned int queue,
		       struct pvio_blkfront_req **done, unsigned int max,
		       unsigned int min, int timeout_ms)
{
	struct mock_queue *q;
	unsigned int n = 0;

	(void)timeout_ms;
	if (queue >= f->info.nr_queues)
		return -EINVAL;
	q = &f->q[queue];
	enter(q);
	if (min > q->ndone)
		die("waiting for more completions than were submitted");
	while (n < max && q->ndone) /* newest first: out of order */
		done[n++] = q->done[--q->ndone];
	q->inflight -= n;
	leave(q);
	return (int)n;
}

unsigned int pvio_blkfront_inflight(const struct pvio_blkfront *f,
				    unsigned int queue)
{
	return queue < f->info.nr_queues ? f->q[queue].inflight : 0;
}

void pvio_blkfront_get_stats(const struct pvio_blkfront *f,
			     struct pvio_blkfront_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->requests = atomic_load(&f->requests);
	st->notifies = atomic_load(&f->notifies);
}
