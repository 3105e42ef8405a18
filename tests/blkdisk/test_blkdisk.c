/* SPDX-License-Identifier: MIT */
/*
 * blkback's disk layer against real files, tmpfs, ext4 with O_DIRECT and a
 * loop block device.  Built once per engine (TEST_ENGINE), so every case
 * runs against io_uring, libaio and psync.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "disk.h"

#ifndef TEST_ENGINE
#define TEST_ENGINE PVIO_DISK_IO_URING
#endif
#define ENGINE ((enum pvio_disk_engine)TEST_ENGINE)

#define PG 4096u
#define MIB (1024u * 1024u)

/* ---- fixtures ---- */

struct tf {
	char path[128];
	int fd; /* independent check descriptor */
};

/* What a failed case leaves behind, removed by its teardown: temp files
 * and a loop device. */
static char left_paths[4][128];
static char left_loop[64];

static void tf_make(struct tf *t, const char *dir, uint64_t size)
{
	snprintf(t->path, sizeof(t->path), "%s/blkdisk-XXXXXX", dir);
	t->fd = mkstemp(t->path);
	assert_true(t->fd >= 0);
	for (unsigned int i = 0; i < 4; i++) {
		if (left_paths[i][0] == 0) {
			memcpy(left_paths[i], t->path, sizeof(t->path));
			break;
		}
	}
	assert_int_equal(ftruncate(t->fd, (off_t)size), 0);
}

static void tf_drop(struct tf *t)
{
	close(t->fd);
	unlink(t->path);
	for (unsigned int i = 0; i < 4; i++)
		if (strcmp(left_paths[i], t->path) == 0)
			left_paths[i][0] = 0;
}

static int teardown(void **state)
{
	(void)state;
	if (left_loop[0] != 0) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "losetup -d %s", left_loop);
		if (system(cmd) != 0)
			fprintf(stderr, "could not detach %s\n", left_loop);
		left_loop[0] = 0;
	}
	for (unsigned int i = 0; i < 4; i++) {
		if (left_paths[i][0] != 0)
			unlink(left_paths[i]);
		left_paths[i][0] = 0;
	}
	return 0;
}

static struct pvio_disk *open_disk(const char *path, bool ro, bool no_direct)
{
	struct pvio_disk_opts o = {.path = path,
				   .readonly = ro,
				   .no_direct = no_direct,
				   /* Exercise the ring on tmpfs too. */
				   .no_inline = true,
				   .engine = ENGINE};
	int err = 0;
	struct pvio_disk *d = pvio_disk_open(&o, &err);

	if (d == NULL)
		fail_msg("pvio_disk_open(%s): %s", path, strerror(-err));
	assert_int_equal(pvio_disk_engine(d), ENGINE);
	return d;
}

static struct pvio_disk_q *open_q(struct pvio_disk *d, unsigned int depth)
{
	int err = 0;
	struct pvio_disk_q *q = pvio_disk_q_open(d, depth, &err);

	if (q == NULL)
		fail_msg("pvio_disk_q_open: %s", strerror(-err));
	return q;
}

static void *pages(size_t n)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, PG, n * PG), 0);
	return p;
}

static void fill(void *p, size_t len, unsigned int seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 9));
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Reap until 'want' I/Os came back (each once), bounded in time. */
static void reap_n(struct pvio_disk_q *q, struct pvio_disk_io **got,
		   unsigned int want)
{
	unsigned int n = 0;
	double end = now_ms() + 10000;

	while (n < want) {
		int r = pvio_disk_q_reap(q, got + n, want - n);

		assert_true(r >= 0);
		n += (unsigned int)r;
		if (n < want) {
			assert_true(now_ms() < end);
			assert_true(pvio_disk_q_wait(q, -1, 1000) >= 0);
		}
	}
	assert_int_equal(pvio_disk_q_busy(q), 0);
}

static int run1(struct pvio_disk_q *q, struct pvio_disk_io *io)
{
	struct pvio_disk_io *got;
	int r = pvio_disk_q_prep(q, io);

	if (r < 0)
		return r;
	assert_int_equal(pvio_disk_q_submit(q), 1);
	reap_n(q, &got, 1);
	assert_ptr_equal(got, io);
	return io->res;
}

static int rw(struct pvio_disk_q *q, uint8_t op, uint64_t off, void *buf,
	      size_t len)
{
	struct iovec iov = {buf, len};
	struct pvio_disk_io io = {
		.op = op, .offset = off, .iov = &iov, .iovcnt = 1};

	return run1(q, &io);
}

static int discard(struct pvio_disk_q *q, uint8_t op, uint64_t off,
		   uint64_t len)
{
	struct pvio_disk_io io = {.op = op, .offset = off, .len = len};

	return run1(q, &io);
}

/* ---- cases ---- */

static void engine_names(void **state)
{
	enum pvio_disk_engine e;

	(void)state;
	assert_int_equal(pvio_disk_engine_parse("libaio", &e), 0);
	assert_int_equal(e, PVIO_DISK_LIBAIO);
	assert_int_equal(pvio_disk_engine_parse("io_uring", &e), 0);
	assert_int_equal(e, PVIO_DISK_IO_URING);
	assert_int_equal(pvio_disk_engine_parse("psync", &e), 0);
	assert_int_equal(e, PVIO_DISK_PSYNC);
	assert_int_equal(pvio_disk_engine_parse("aio", &e), -EINVAL);
	assert_string_equal(pvio_disk_engine_name(PVIO_DISK_PSYNC), "psync");
}

/* Scatter-gather write, read back through a different split, and check
 * where it landed with pread on another descriptor. */
static void sg_round_trip(void **state)
{
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *w = pages(8), *r = pages(8), *chk = pages(8);
	struct iovec wv[3] = {{w, PG}, {w + PG, 3 * PG}, {w + 4 * PG, 4 * PG}};
	struct iovec rv[4] = {{r, 512},
			      {r + 512, PG - 512},
			      {r + PG, 5 * PG},
			      {r + 6 * PG, 2 * PG}};
	struct pvio_disk_io io = {.op = PVIO_DISK_WRITE,
				  .offset = 3 * MIB + 8 * PG,
				  .iov = wv,
				  .iovcnt = 3};

	(void)state;
	tf_make(&t, "/dev/shm", 8 * MIB);
	d = open_disk(t.path, false, false);
	assert_int_equal(pvio_disk_geom(d)->bytes, 8 * MIB);
	assert_int_equal(pvio_disk_geom(d)->logical_block, 512);
	assert_false(pvio_disk_geom(d)->blockdev);
	/* tmpfs: no O_DIRECT (it would still be the page cache). */
	assert_false(pvio_disk_geom(d)->direct);
	q = open_q(d, 8);
	fill(w, 8 * PG, 1);
	assert_int_equal(run1(q, &io), 0);
	assert_int_equal(pread(t.fd, chk, 8 * PG, 3 * MIB + 8 * PG),
			 (ssize_t)(8 * PG));
	assert_memory_equal(chk, w, 8 * PG);
	memset(r, 0, 8 * PG);
	io.op = PVIO_DISK_READ;
	io.iov = rv;
	io.iovcnt = 4;
	assert_int_equal(run1(q, &io), 0);
	assert_memory_equal(r, w, 8 * PG);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(w);
	free(r);
	free(chk);
}

/* 64 I/Os in one submit (one io_uring_enter), completions matched by
 * pointer whatever their order; the 65th prep is refused. */
static void batch_of_64(void **state)
{
	enum { N = 64 };
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(N), *want = pages(N);
	struct iovec iov[N];
	struct pvio_disk_io io[N], extra = {.op = PVIO_DISK_FLUSH}, *got[N];
	struct pvio_disk_q_stats s0, s1;
	int seen[N] = {0};

	(void)state;
	tf_make(&t, "/dev/shm", 4 * MIB);
	fill(want, N * PG, 2);
	/* Block i of the batch lives at file block (i * 37) % 1024. */
	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(pwrite(t.fd, want + i * PG, PG,
					(off_t)((i * 37) % 1024) * PG),
				 (ssize_t)PG);
	d = open_disk(t.path, false, false);
	q = open_q(d, N);
	memset(buf, 0, N * PG);
	for (unsigned int i = 0; i < N; i++) {
		iov[i] = (struct iovec){buf + i * PG, PG};
		io[i] = (struct pvio_disk_io){.op = PVIO_DISK_READ,
					      .offset = ((i * 37) % 1024) * PG,
					      .iov = &iov[i],
					      .iovcnt = 1,
					      .user = &seen[i]};
		assert_int_equal(pvio_disk_q_prep(q, &io[i]), 0);
	}
	assert_int_equal(pvio_disk_q_prep(q, &extra), -EBUSY);
	assert_int_equal(pvio_disk_q_busy(q), N);
	pvio_disk_q_stats(q, &s0);
	assert_int_equal(pvio_disk_q_submit(q), N);
	pvio_disk_q_stats(q, &s1);
	assert_int_equal(s1.submitted - s0.submitted, N);
	if (ENGINE == PVIO_DISK_IO_URING)
		assert_int_equal(s1.syscalls - s0.syscalls, 1);
	if (ENGINE == PVIO_DISK_LIBAIO)
		assert_true(s1.syscalls - s0.syscalls <= 2);
	reap_n(q, got, N);
	for (unsigned int i = 0; i < N; i++) {
		assert_int_equal(got[i]->res, 0);
		(*(int *)got[i]->user)++;
	}
	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	assert_memory_equal(buf, want, N * PG);
	pvio_disk_q_stats(q, &s1);
	assert_int_equal(s1.completed - s0.completed, N);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(buf);
	free(want);
}

/*
 * Completion order is not prep order: a hole punch (io-wq for io_uring)
 * prepped first, reads after.  Whatever order comes back, each I/O is
 * returned once with its own result, and a reap with max 1 hands them out
 * one at a time.
 */
static void out_of_order(void **state)
{
	enum { N = 9 };
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(N), *want = pages(N);
	struct iovec iov[N];
	struct pvio_disk_io io[N], *got[N];
	unsigned int n = 0, inversions = 0;
	double end = now_ms() + 10000;

	(void)state;
	tf_make(&t, "/dev/shm", 1 * MIB);
	fill(want, N * PG, 3);
	assert_int_equal(pwrite(t.fd, want, N * PG, 64 * PG),
			 (ssize_t)(N * PG));
	d = open_disk(t.path, false, false);
	assert_true(pvio_disk_geom(d)->discard);
	q = open_q(d, N);
	io[0] = (struct pvio_disk_io){
		.op = PVIO_DISK_DISCARD, .offset = 200 * PG, .len = 16 * PG};
	for (unsigned int i = 1; i < N; i++) {
		iov[i] = (struct iovec){buf + i * PG, PG};
		io[i] = (struct pvio_disk_io){.op = PVIO_DISK_READ,
					      .offset = (64 + i) * PG,
					      .iov = &iov[i],
					      .iovcnt = 1};
	}
	for (unsigned int i = 0; i < N; i++) {
		io[i].user = (void *)(uintptr_t)i;
		assert_int_equal(pvio_disk_q_prep(q, &io[i]), 0);
	}
	assert_int_equal(pvio_disk_q_submit(q), N);
	while (n < N) {
		int r = pvio_disk_q_reap(q, got + n, 1);

		assert_true(r == 0 || r == 1);
		n += (unsigned int)r;
		if (r == 0) {
			assert_true(now_ms() < end);
			assert_true(pvio_disk_q_wait(q, -1, 1000) >= 0);
		}
	}
	for (unsigned int i = 0; i < N; i++) {
		unsigned int k = (unsigned int)(uintptr_t)got[i]->user;

		assert_ptr_equal(got[i], &io[k]);
		assert_int_equal(got[i]->res, 0);
		for (unsigned int j = 0; j < i; j++)
			assert_ptr_not_equal(got[j], got[i]);
		if (i > 0 &&
		    (uintptr_t)got[i]->user < (uintptr_t)got[i - 1]->user)
			inversions++;
	}
	print_message("completion order inversions: %u\n", inversions);
	assert_memory_equal(buf + PG, want + PG, (N - 1) * PG);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(buf);
	free(want);
}

/* Read-only: writes and discards refused with -EROFS at prep, before the
 * kernel sees them (the fd is O_RDONLY too); reads and flush work. */
static void readonly_refuses_writes(void **state)
{
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(1), *want = pages(1);

	(void)state;
	tf_make(&t, "/dev/shm", 1 * MIB);
	fill(want, PG, 4);
	assert_int_equal(pwrite(t.fd, want, PG, 0), (ssize_t)PG);
	d = open_disk(t.path, true, false);
	assert_true(pvio_disk_geom(d)->readonly);
	assert_false(pvio_disk_geom(d)->discard);
	q = open_q(d, 4);
	memset(buf, 0xee, PG);
	assert_int_equal(rw(q, PVIO_DISK_WRITE, 0, buf, PG), -EROFS);
	assert_int_equal(discard(q, PVIO_DISK_DISCARD, 0, PG), -EROFS);
	assert_int_equal(pvio_disk_q_busy(q), 0);
	assert_int_equal(rw(q, PVIO_DISK_READ, 0, buf, PG), 0);
	assert_memory_equal(buf, want, PG);
	assert_int_equal(discard(q, PVIO_DISK_FLUSH, 0, 0), 0);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(buf);
	free(want);
}

/* Bad preps are refused without staging anything. */
static void prep_validation(void **state)
{
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(1);
	struct iovec iov = {buf, PG};
	struct pvio_disk_io io = {.op = PVIO_DISK_READ, .iov = &iov};

	(void)state;
	tf_make(&t, "/dev/shm", 64 * PG);
	d = open_disk(t.path, false, false);
	q = open_q(d, 4);
	io.iovcnt = 0;
	assert_int_equal(pvio_disk_q_prep(q, &io), -EINVAL);
	io.iovcnt = IOV_MAX + 1;
	assert_int_equal(pvio_disk_q_prep(q, &io), -EINVAL);
	io.iovcnt = 1;
	io.offset = 63 * PG + 512; /* crosses the end */
	assert_int_equal(pvio_disk_q_prep(q, &io), -EINVAL);
	io.offset = UINT64_MAX - 100; /* wraps */
	assert_int_equal(pvio_disk_q_prep(q, &io), -EINVAL);
	io.op = 9;
	io.offset = 0;
	assert_int_equal(pvio_disk_q_prep(q, &io), -EINVAL);
	assert_int_equal(discard(q, PVIO_DISK_DISCARD, 60 * PG, 8 * PG),
			 -EINVAL);
	/* Files have no secure discard. */
	assert_int_equal(discard(q, PVIO_DISK_SECURE_DISCARD, 0, PG),
			 -EOPNOTSUPP);
	assert_int_equal(pvio_disk_q_busy(q), 0);
	/* The last block is fine. */
	assert_int_equal(rw(q, PVIO_DISK_READ, 63 * PG, buf, PG), 0);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(buf);
}

/* Punched ranges read back as zeroes, the rest and the size stay. */
static void discard_file(void **state)
{
	static const char *const dirs[] = {"/dev/shm", "/var/tmp"};

	(void)state;
	for (unsigned int k = 0; k < 2; k++) {
		struct tf t;
		struct pvio_disk *d;
		struct pvio_disk_q *q;
		uint8_t *buf = pages(16), *want = pages(16);
		struct stat st;

		tf_make(&t, dirs[k], 1 * MIB);
		fill(want, 16 * PG, 5);
		assert_int_equal(pwrite(t.fd, want, 16 * PG, 0),
				 (ssize_t)(16 * PG));
		d = open_disk(t.path, false, false);
		assert_true(pvio_disk_geom(d)->discard);
		assert_true(pvio_disk_geom(d)->discard_granularity >= 512);
		q = open_q(d, 4);
		/* Whole blocks 4..7, and a partial range 9.5 .. 10.25. */
		assert_int_equal(discard(q, PVIO_DISK_DISCARD, 4 * PG, 4 * PG),
				 0);
		assert_int_equal(discard(q, PVIO_DISK_DISCARD, 9 * PG + 2048,
					 PG - 2048 + 1024),
				 0);
		assert_int_equal(discard(q, PVIO_DISK_DISCARD, 0, 0), 0);
		memset(want + 4 * PG, 0, 4 * PG);
		memset(want + 9 * PG + 2048, 0, PG - 2048 + 1024);
		memset(buf, 0xaa, 16 * PG);
		assert_int_equal(rw(q, PVIO_DISK_READ, 0, buf, 16 * PG), 0);
		assert_memory_equal(buf, want, 16 * PG);
		assert_int_equal(fstat(t.fd, &st), 0);
		assert_int_equal(st.st_size, 1 * MIB);
		pvio_disk_q_close(q);
		pvio_disk_close(d);
		tf_drop(&t);
		free(buf);
		free(want);
	}
}

static void flush_ok(void **state)
{
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(64), *chk = pages(64);

	(void)state;
	tf_make(&t, "/var/tmp", 1 * MIB);
	d = open_disk(t.path, false, false);
	q = open_q(d, 4);
	fill(buf, 64 * PG, 6);
	assert_int_equal(rw(q, PVIO_DISK_WRITE, 0, buf, 64 * PG), 0);
	assert_int_equal(discard(q, PVIO_DISK_FLUSH, 0, 0), 0);
	assert_int_equal(pread(t.fd, chk, 64 * PG, 0), (ssize_t)(64 * PG));
	assert_memory_equal(chk, buf, 64 * PG);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(buf);
	free(chk);
}

/* libaio's flush is a barrier: a flush prepped behind writes completes
 * after them, and a read prepped behind it sees their data. */
static void flush_in_batch(void **state)
{
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *w = pages(8), *r = pages(8);
	struct iovec wv[2] = {{w, 4 * PG}, {w + 4 * PG, 4 * PG}};
	struct iovec rv = {r, 8 * PG};
	struct pvio_disk_io io[4] = {
		{.op = PVIO_DISK_WRITE,
		 .offset = 0,
		 .iov = &wv[0],
		 .iovcnt = 1},
		{.op = PVIO_DISK_WRITE,
		 .offset = 4 * PG,
		 .iov = &wv[1],
		 .iovcnt = 1},
		{.op = PVIO_DISK_FLUSH},
		{.op = PVIO_DISK_READ, .offset = 0, .iov = &rv, .iovcnt = 1}};
	struct pvio_disk_io *got[4];
	int pos[4] = {-1, -1, -1, -1};

	(void)state;
	tf_make(&t, "/var/tmp", 1 * MIB);
	d = open_disk(t.path, false, false);
	q = open_q(d, 4);
	fill(w, 8 * PG, 7);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(pvio_disk_q_prep(q, &io[i]), 0);
	assert_true(pvio_disk_q_submit(q) >= 2);
	reap_n(q, got, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(got[i]->res, 0);
		pos[got[i] - io] = i;
	}
	if (ENGINE != PVIO_DISK_IO_URING) {
		assert_true(pos[2] > pos[0] && pos[2] > pos[1]);
		assert_memory_equal(r, w, 8 * PG);
	}
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(w);
	free(r);
}

/* A sparse 3 TiB disk: offsets past 2^41 land exactly there. */
static void sparse_3tib(void **state)
{
	const uint64_t size = 3ull << 40;
	const uint64_t offs[] = {(1ull << 41) + 12345 * 4096ull,
				 (1ull << 41) + (1ull << 39) + 512,
				 size - 2 * PG};
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(2), *chk = pages(2);

	(void)state;
	tf_make(&t, "/dev/shm", size);
	d = open_disk(t.path, false, false);
	assert_true(pvio_disk_geom(d)->bytes == size);
	q = open_q(d, 4);
	for (unsigned int i = 0; i < 3; i++) {
		fill(buf, 2 * PG, 8 + i);
		assert_int_equal(rw(q, PVIO_DISK_WRITE, offs[i], buf, 2 * PG),
				 0);
		assert_int_equal(pread(t.fd, chk, 2 * PG, (off_t)offs[i]),
				 (ssize_t)(2 * PG));
		assert_memory_equal(chk, buf, 2 * PG);
		/* The other way round: written with pwrite, read by us. */
		fill(chk, 2 * PG, 20 + i);
		assert_int_equal(pwrite(t.fd, chk, 2 * PG, (off_t)offs[i]),
				 (ssize_t)(2 * PG));
		assert_int_equal(rw(q, PVIO_DISK_READ, offs[i], buf, 2 * PG),
				 0);
		assert_memory_equal(chk, buf, 2 * PG);
	}
	/* Nothing landed 2^32 or 2^41 bytes off (truncated arithmetic). */
	memset(chk, 0xff, PG);
	assert_int_equal(pread(t.fd, chk, PG, (off_t)(offs[0] - (1ull << 41))),
			 (ssize_t)PG);
	for (unsigned int i = 0; i < PG; i++)
		assert_int_equal(chk[i], 0);
	assert_int_equal(pread(t.fd, chk, PG, (off_t)(offs[0] & 0xffffffffu)),
			 (ssize_t)PG);
	for (unsigned int i = 0; i < PG; i++)
		assert_int_equal(chk[i], 0);
	/* The last block, and one past the end. */
	assert_int_equal(rw(q, PVIO_DISK_READ, size - PG, buf, PG), 0);
	assert_int_equal(rw(q, PVIO_DISK_READ, size, buf, 512), -EINVAL);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(buf);
	free(chk);
}

/* O_DIRECT on ext4 (/var/tmp): aligned I/O uses it; an unaligned buffer
 * or length goes through the buffered descriptor and still works. */
static void direct_and_unaligned(void **state)
{
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	const struct pvio_disk_geom *g;
	uint8_t *buf = pages(4), *chk = pages(4), *raw = malloc(4 * PG + 64);
	uint8_t *odd = raw + 3; /* misaligned for any direct I/O */
	struct pvio_disk_q_stats s0, s1;

	(void)state;
	assert_non_null(raw);
	tf_make(&t, "/var/tmp", 1 * MIB);
	d = open_disk(t.path, false, false);
	g = pvio_disk_geom(d);
	q = open_q(d, 4);
	if (!g->direct) {
		print_message("SKIP O_DIRECT assertions: /var/tmp refused "
			      "O_DIRECT (not ext4/xfs?)\n");
	} else {
		assert_true(g->dio_align >= 1 && g->dio_align <= PG);
		pvio_disk_q_stats(q, &s0);
		fill(buf, 4 * PG, 30);
		assert_int_equal(rw(q, PVIO_DISK_WRITE, 8 * PG, buf, 4 * PG),
				 0);
		pvio_disk_q_stats(q, &s1);
		assert_int_equal(s1.buffered, s0.buffered);
	}
	/* Unaligned buffer, offset and length. */
	pvio_disk_q_stats(q, &s0);
	fill(odd, 3 * PG + 100, 31);
	assert_int_equal(rw(q, PVIO_DISK_WRITE, 20 * PG + 7, odd, 3 * PG + 100),
			 0);
	assert_int_equal(pread(t.fd, chk, 3 * PG + 100, 20 * PG + 7),
			 (ssize_t)(3 * PG + 100));
	assert_memory_equal(chk, odd, 3 * PG + 100);
	memset(odd, 0, 3 * PG + 100);
	assert_int_equal(rw(q, PVIO_DISK_READ, 20 * PG + 7, odd, 3 * PG + 100),
			 0);
	assert_memory_equal(chk, odd, 3 * PG + 100);
	/* Aligned offset, unaligned buffer. */
	assert_int_equal(rw(q, PVIO_DISK_READ, 8 * PG, odd, 4 * PG), 0);
	pvio_disk_q_stats(q, &s1);
	if (g->direct) {
		assert_int_equal(s1.buffered - s0.buffered, 3);
		assert_memory_equal(odd, buf, 4 * PG);
	}
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(buf);
	free(chk);
	free(raw);
}

/* The file shrinks behind the disk's back: the read is continued after
 * the short transfer (mid-iovec) and then fails with EIO, never loops. */
static void short_read_continued(void **state)
{
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(3), *want = pages(3);
	struct iovec iov[3] = {{buf, PG}, {buf + PG, PG}, {buf + 2 * PG, PG}};
	struct pvio_disk_io io = {.op = PVIO_DISK_READ,
				  .offset = 16 * PG,
				  .iov = iov,
				  .iovcnt = 3};
	struct pvio_disk_q_stats s;

	(void)state;
	tf_make(&t, "/dev/shm", 1 * MIB);
	fill(want, 3 * PG, 40);
	assert_int_equal(pwrite(t.fd, want, 3 * PG, 16 * PG),
			 (ssize_t)(3 * PG));
	d = open_disk(t.path, false, true);
	q = open_q(d, 2);
	assert_int_equal(ftruncate(t.fd, 16 * PG + PG + 1000), 0);
	memset(buf, 0, 3 * PG);
	assert_int_equal(run1(q, &io), -EIO);
	assert_memory_equal(buf, want, PG + 1000);
	pvio_disk_q_stats(q, &s);
	assert_true(s.continued >= 1);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(buf);
	free(want);
}

/* tmpfs by default: io_uring does reads/writes inline (geom.mem_backed),
 * flush still through the ring; same results. */
static void tmpfs_inline(void **state)
{
	struct tf t;
	struct pvio_disk_opts o = {.engine = ENGINE};
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(4), *chk = pages(4);
	struct iovec iov[2] = {{buf, PG}, {buf + PG, 3 * PG}};
	struct pvio_disk_io io = {.op = PVIO_DISK_WRITE,
				  .offset = 5 * PG,
				  .iov = iov,
				  .iovcnt = 2};
	struct pvio_disk_q_stats s0, s1;
	int err = 0;

	(void)state;
	tf_make(&t, "/dev/shm", 1 * MIB);
	o.path = t.path;
	d = pvio_disk_open(&o, &err);
	assert_non_null(d);
	assert_true(pvio_disk_geom(d)->mem_backed);
	q = open_q(d, 4);
	pvio_disk_q_stats(q, &s0);
	fill(buf, 4 * PG, 70);
	assert_int_equal(run1(q, &io), 0);
	assert_int_equal(pread(t.fd, chk, 4 * PG, 5 * PG), (ssize_t)(4 * PG));
	assert_memory_equal(chk, buf, 4 * PG);
	memset(buf, 0, 4 * PG);
	io.op = PVIO_DISK_READ;
	assert_int_equal(run1(q, &io), 0);
	assert_memory_equal(chk, buf, 4 * PG);
	assert_int_equal(discard(q, PVIO_DISK_FLUSH, 0, 0), 0);
	pvio_disk_q_stats(q, &s1);
	if (ENGINE != PVIO_DISK_LIBAIO)
		assert_int_equal(s1.sync_ops - s0.sync_ops,
				 ENGINE == PVIO_DISK_IO_URING ? 2 : 0);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	free(buf);
	free(chk);
}

/* Closing a queue with I/Os in flight and staged waits for the former
 * (the buffers are freed right after) and leaks nothing. */
static void close_in_flight(void **state)
{
	enum { N = 16 };
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(N * 16);
	struct iovec iov[N];
	struct pvio_disk_io io[N];

	(void)state;
	tf_make(&t, "/var/tmp", 4 * MIB);
	d = open_disk(t.path, false, false);
	q = open_q(d, N + 2);
	fill(buf, N * 16 * PG, 80);
	for (unsigned int i = 0; i < N; i++) {
		iov[i] = (struct iovec){buf + i * 16 * PG, 16 * PG};
		io[i] = (struct pvio_disk_io){.op = i % 2 ? PVIO_DISK_READ
							  : PVIO_DISK_WRITE,
					      .offset = i * 16 * PG,
					      .iov = &iov[i],
					      .iovcnt = 1};
		assert_int_equal(pvio_disk_q_prep(q, &io[i]), 0);
	}
	assert_int_equal(pvio_disk_q_submit(q), N);
	assert_int_equal(pvio_disk_q_prep(q, &io[0]), 0); /* never started */
	pvio_disk_q_close(q);
	free(buf);
	pvio_disk_close(d);
	tf_drop(&t);
}

static void open_errors(void **state)
{
	struct tf t;
	struct pvio_disk_opts o = {.engine = ENGINE};
	int err = 0;

	(void)state;
	tf_make(&t, "/dev/shm", 1 * MIB);
	o.path = t.path;
	o.expect_blockdev = true;
	assert_null(pvio_disk_open(&o, &err));
	assert_int_equal(err, -ENOTBLK);
	o.expect_blockdev = false;
	o.path = "/dev/shm";
	assert_null(pvio_disk_open(&o, &err));
	assert_int_equal(err, -EINVAL);
	o.path = "/dev/shm/pvio-blkdisk-does-not-exist";
	assert_null(pvio_disk_open(&o, &err));
	assert_int_equal(err, -ENOENT);
	pvio_disk_close(NULL);
	pvio_disk_q_close(NULL);
	tf_drop(&t);
}

struct kick {
	int fd;
	int delay_ms;
};

static void *kicker(void *arg)
{
	struct kick *k = arg;
	uint64_t one = 1;

	usleep((useconds_t)k->delay_ms * 1000);
	assert_int_equal(write(k->fd, &one, 8), 8);
	return NULL;
}

/* q_wait sleeps until the extra fd (twice: the poll is re-armed), the
 * timeout, or a completion. */
static void wait_wakes(void **state)
{
	struct tf t;
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	uint8_t *buf = pages(256);
	struct iovec iov = {buf, 256 * PG};
	struct pvio_disk_io w = {.op = PVIO_DISK_WRITE,
				 .offset = 0,
				 .iov = &iov,
				 .iovcnt = 1},
			    f = {.op = PVIO_DISK_FLUSH}, *got;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct kick k = {efd, 100};
	pthread_t th;
	uint64_t v;
	double t0, dt;

	(void)state;
	assert_true(efd >= 0);
	tf_make(&t, "/var/tmp", 4 * MIB);
	d = open_disk(t.path, false, false);
	q = open_q(d, 4);
	/* Timeout with nothing readable. */
	t0 = now_ms();
	assert_int_equal(pvio_disk_q_wait(q, efd, 50), 0);
	dt = now_ms() - t0;
	assert_true(dt >= 40 && dt < 2000);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(pthread_create(&th, NULL, kicker, &k), 0);
		t0 = now_ms();
		assert_int_equal(pvio_disk_q_wait(q, efd, 5000), 0);
		dt = now_ms() - t0;
		pthread_join(th, NULL);
		assert_true(dt >= 80 && dt < 4000);
		assert_int_equal(read(efd, &v, 8), 8);
	}
	/* Drained: a timeout again, not a stale wake-up. */
	t0 = now_ms();
	assert_int_equal(pvio_disk_q_wait(q, efd, 50), 0);
	assert_true(now_ms() - t0 >= 40);
	/* A completion wakes it: 1 MiB of dirty data then a flush. */
	fill(buf, 256 * PG, 50);
	assert_int_equal(run1(q, &w), 0);
	assert_int_equal(pvio_disk_q_prep(q, &f), 0);
	assert_int_equal(pvio_disk_q_submit(q), 1);
	t0 = now_ms();
	while (pvio_disk_q_wait(q, efd, 5000) != 1)
		assert_true(now_ms() - t0 < 5000);
	assert_int_equal(pvio_disk_q_reap(q, &got, 1), 1);
	assert_ptr_equal(got, &f);
	assert_int_equal(f.res, 0);
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	tf_drop(&t);
	close(efd);
	free(buf);
}

/* A loop device over a file in /var/tmp. */
static int sh(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	if (p == NULL)
		return -1;
	if (out != NULL) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = 0;
		while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
			out[--n] = 0;
	}
	return pclose(p);
}

static void loop_device(void **state)
{
	struct tf t;
	char cmd[256], dev[64];
	struct pvio_disk *d;
	struct pvio_disk_q *q;
	const struct pvio_disk_geom *g;
	struct pvio_disk_opts o = {.engine = ENGINE, .expect_blockdev = true};
	uint8_t *buf = pages(16), *want = pages(16);
	int err = 0;

	(void)state;
	tf_make(&t, "/var/tmp", 8 * MIB);
	fill(want, 16 * PG, 60);
	assert_int_equal(pwrite(t.fd, want, 16 * PG, MIB), (ssize_t)(16 * PG));
	fsync(t.fd);
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s 2>/dev/null", t.path);
	if (sh(cmd, dev, sizeof(dev)) != 0 || strncmp(dev, "/dev/loop", 9)) {
		tf_drop(&t);
		free(buf);
		free(want);
		print_message("SKIP loop device: losetup failed\n");
		skip();
	}
	snprintf(left_loop, sizeof(left_loop), "%s", dev);
	o.path = dev;
	d = pvio_disk_open(&o, &err);
	if (d == NULL)
		fail_msg("open %s: %s", dev, strerror(-err));
	g = pvio_disk_geom(d);
	assert_true(g->blockdev);
	assert_true(g->bytes == 8 * MIB);
	assert_int_equal(g->logical_block, 512);
	assert_true(g->physical_block >= 512);
	print_message("%s: direct %d dio_align %u discard %d gran %u\n", dev,
		      g->direct, g->dio_align, g->discard,
		      g->discard_granularity);
	q = open_q(d, 8);
	memset(buf, 0, 16 * PG);
	assert_int_equal(rw(q, PVIO_DISK_READ, MIB, buf, 16 * PG), 0);
	assert_memory_equal(buf, want, 16 * PG);
	fill(want, 16 * PG, 61);
	assert_int_equal(rw(q, PVIO_DISK_WRITE, 2 * MIB, want, 16 * PG), 0);
	assert_int_equal(discard(q, PVIO_DISK_FLUSH, 0, 0), 0);
	assert_int_equal(pread(t.fd, buf, 16 * PG, 2 * MIB),
			 (ssize_t)(16 * PG));
	assert_memory_equal(buf, want, 16 * PG);
	if (g->discard) {
		assert_int_equal(
			discard(q, PVIO_DISK_DISCARD, 2 * MIB + 4 * PG, 8 * PG),
			0);
		memset(want + 4 * PG, 0, 8 * PG);
		assert_int_equal(rw(q, PVIO_DISK_READ, 2 * MIB, buf, 16 * PG),
				 0);
		assert_memory_equal(buf, want, 16 * PG);
		/* Misaligned for the device. */
		assert_int_equal(discard(q, PVIO_DISK_DISCARD, 100, 512),
				 -EINVAL);
		/* Loop devices cannot secure-erase: the kernel says so. */
		assert_int_equal(discard(q, PVIO_DISK_SECURE_DISCARD, 0, 4096),
				 -EOPNOTSUPP);
	} else {
		print_message("loop device without discard (old kernel?)\n");
	}
	pvio_disk_q_close(q);
	pvio_disk_close(d);
	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	assert_int_equal(sh(cmd, NULL, 0), 0);
	left_loop[0] = 0;
	tf_drop(&t);
	free(buf);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(engine_names, teardown),
		cmocka_unit_test_teardown(sg_round_trip, teardown),
		cmocka_unit_test_teardown(batch_of_64, teardown),
		cmocka_unit_test_teardown(out_of_order, teardown),
		cmocka_unit_test_teardown(readonly_refuses_writes, teardown),
		cmocka_unit_test_teardown(prep_validation, teardown),
		cmocka_unit_test_teardown(discard_file, teardown),
		cmocka_unit_test_teardown(flush_ok, teardown),
		cmocka_unit_test_teardown(flush_in_batch, teardown),
		cmocka_unit_test_teardown(sparse_3tib, teardown),
		cmocka_unit_test_teardown(direct_and_unaligned, teardown),
		cmocka_unit_test_teardown(short_read_continued, teardown),
		cmocka_unit_test_teardown(tmpfs_inline, teardown),
		cmocka_unit_test_teardown(close_in_flight, teardown),
		cmocka_unit_test_teardown(open_errors, teardown),
		cmocka_unit_test_teardown(wait_wakes, teardown),
		cmocka_unit_test_teardown(loop_device, teardown),
	};

	print_message("engine: %s\n", pvio_disk_engine_name(ENGINE));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
