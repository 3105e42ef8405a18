/* SPDX-License-Identifier: MIT */
/*
 * blkfront end to end against the real pvio-blkback in a driver domain,
 * under a private pvio-hv (tests/blkback/rawfront.h sets up the world, the
 * backend domain and the xenstore layout; blkfront does everything else).
 *
 *   attach/read/write/flush/discard (discarded ranges read back zeroes),
 *   zero-copy and bounced buffers, scatter-gather, async QD32,
 *   a sparse 3 TiB image (sectors beyond 2^32),
 *   4 queues from 4 threads,
 *   persistent grants on/off and indirect on/off (both ends),
 *   detach while I/O is in flight,
 *   the backend killed (SIGKILL) mid-transfer and a new backend domain
 *   wired to the frontend: in-flight writes are replayed, data intact.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <pvio/blkfront.h>
#include <pvio/xs.h>

#include "rawfront.h"

#define XVDA 51712U
#define MiB (1024ULL * 1024ULL)

static struct rf_world W;

static int world_up(void **state)
{
	(void)state;
	return rf_world_start(&W) ? -1 : 0;
}

static int world_down(void **state)
{
	(void)state;
	return rf_world_stop(&W) ? -1 : 0;
}

/* One frontend domain + one backend + one vbd. */
struct rig {
	struct rf_front fr;
	struct rf_back b;
	struct rf_vbd v;
	char image[512];
	struct pvio_blkfront *f;
};

/*
 * Under AddressSanitizer the backend runs without its seccomp sandbox:
 * LeakSanitizer's exit-time check needs calls the allow-list refuses.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static const char *const *backend_args(const char *const *bargs,
				       const char **buf, size_t n)
{
	size_t k = 0;

#ifdef SANITIZED
	buf[k++] = "--no-sandbox";
#endif
	for (size_t i = 0; bargs && bargs[i] && k + 1 < n; i++)
		buf[k++] = bargs[i];
	buf[k] = NULL;
	return buf;
}

static void rig_up(struct rig *r, uint64_t size, const char *const *bargs,
		   const struct pvio_blkfront_opts *o)
{
	static int seq;
	char name[32];
	const char *args[16];
	int err = 0;

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "img-%d", seq++);
	assert_int_equal(
		rf_make_image(W.hv.dir, name, size, r->image, sizeof(r->image)),
		0);
	assert_int_equal(rf_front_create(&W, &r->fr, 8192), 0);
	assert_int_equal(
		rf_back_start(&W, &r->b, backend_args(bargs, args, 16)), 0);
	assert_int_equal(rf_vbd_add(&W, &r->v, &r->fr, &r->b, XVDA, r->image,
				    true, NULL),
			 0);
	r->f = pvio_blkfront_attach(r->fr.dom, r->b.domid, "xvda", o, &err);
	if (!r->f)
		fail_msg("attach: %d (%s); backend log %s", err, strerror(-err),
			 r->b.log);
}

static void rig_down(struct rig *r)
{
	pvio_blkfront_detach(r->f, 2000);
	r->f = NULL;
	if (r->b.pid > 0 && rf_back_stop(&W, &r->b) != 0) {
		/* A crash or sanitizer report in the backend: show it. */
		char cmd[sizeof(r->b.log) + 32];

		snprintf(cmd, sizeof(cmd), "tail -40 '%s' >&2", r->b.log);
		if (system(cmd) != 0)
			fprintf(stderr, "no backend log %s\n", r->b.log);
		fail_msg("pvio-blkback did not exit cleanly");
	}
	rf_front_destroy(&W, &r->fr);
	unlink(r->image);
}

static void fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t *p = buf;

	for (size_t i = 0; i < len / 8; i++)
		p[i] = seed * 0x9E3779B97F4A7C15ULL + i;
}

static bool check(const void *buf, size_t len, uint64_t seed)
{
	const uint64_t *p = buf;

	for (size_t i = 0; i < len / 8; i++)
		if (p[i] != seed * 0x9E3779B97F4A7C15ULL + i)
			return false;
	return true;
}

static bool all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* ---------------------------------------------------------------------- */

static void test_attach_rw(void **state)
{
	struct rig r;
	const struct pvio_blkfront_info *in;
	struct pvio_blkfront_stats st;
	size_t len = 1 * MiB;
	unsigned char *a = malloc(len), *b = malloc(len), *z;
	int err = 0;

	(void)state;
	rig_up(&r, 64 * MiB, NULL, NULL);
	in = pvio_blkfront_info(r.f);
	assert_true(in->sectors == 64 * MiB / 512);
	assert_int_equal(in->sector_size, 512);
	assert_false(in->readonly);
	assert_true(in->flush);
	assert_true(in->discard);
	assert_true(in->persistent);
	assert_int_equal(in->nr_queues, 1);
	assert_true(in->max_segments > 11);
	assert_int_equal(in->devid, XVDA);
	assert_int_equal(in->backend_id, r.b.domid);
	assert_int_equal(pvio_blkfront_error(r.f), 0);

	/* Bounced (malloc) memory, 1 MiB = indirect. */
	fill(a, len, 1);
	assert_int_equal(pvio_blkfront_write(r.f, 2048, a, len), 0);
	memset(b, 0, len);
	assert_int_equal(pvio_blkfront_read(r.f, 2048, b, len), 0);
	assert_true(check(b, len, 1));
	/* Unaligned bounce + small. */
	assert_int_equal(pvio_blkfront_read(r.f, 2049, b + 512, 1024), 0);
	assert_memory_equal(b + 512, a + 512, 1024);

	/* Zero-copy buffer. */
	z = pvio_blkfront_buf_alloc(r.f, len, &err);
	assert_non_null(z);
	pvio_blkfront_get_stats(r.f, &st);
	uint64_t bounced = st.bounced;
	fill(z, len, 2);
	assert_int_equal(pvio_blkfront_write(r.f, 8192, z, len), 0);
	memset(z, 0, len);
	assert_int_equal(pvio_blkfront_read(r.f, 8192, z, len), 0);
	assert_true(check(z, len, 2));
	pvio_blkfront_get_stats(r.f, &st);
	assert_true(st.bounced == bounced); /* no copy */
	assert_true(st.requests >= 4);

	/* Zero-copy, not page-aligned: segments split at frame boundaries
	 * (sectors 1-7 of one frame, a whole frame, sector 0 of a third). */
	fill(z + 512, 8192, 3);
	assert_int_equal(pvio_blkfront_write(r.f, 100000, z + 512, 8192), 0);
	pvio_blkfront_get_stats(r.f, &st);
	assert_true(st.bounced == bounced);
	memset(b, 0, 8192);
	assert_int_equal(pvio_blkfront_read(r.f, 100000, b, 8192), 0);
	assert_true(check(b, 8192, 3));

	/* Flush. */
	assert_int_equal(pvio_blkfront_flush(r.f), 0);

	/* Discard: reads back zeroes. */
	assert_int_equal(pvio_blkfront_discard(r.f, 8192, len / 512), 0);
	memset(z, 0xEE, len);
	assert_int_equal(pvio_blkfront_read(r.f, 8192, z, len), 0);
	assert_true(all_zero(z, len));

	/* Malformed: past the end, not 512 multiples. */
	assert_int_equal(pvio_blkfront_read(r.f, in->sectors - 1, b, 1024),
			 -EINVAL);
	assert_int_equal(pvio_blkfront_read(r.f, 0, b, 100), -EINVAL);
	pvio_blkfront_buf_free(r.f, z, len);
	free(a);
	free(b);
	rig_down(&r);
}

/* Async: QD32 of scatter-gather requests, zero-copy, out of order. */
static void test_async_sg(void **state)
{
	struct rig r;
	enum { QD = 32, BS = 16384 };
	struct pvio_blkfront_req reqs[QD], *rp[QD], *done[QD];
	struct iovec iov[QD][4];
	unsigned char *buf;
	int err = 0, n, got = 0;

	(void)state;
	rig_up(&r, 64 * MiB, NULL, NULL);
	assert_true(pvio_blkfront_info(r.f)->queue_depth >= QD);
	buf = pvio_blkfront_buf_alloc(r.f, QD * BS, &err);
	assert_non_null(buf);
	for (int i = 0; i < QD; i++) {
		fill(buf + i * BS, BS, 100 + (uint64_t)i);
		/* 4 pieces each, in reverse order within the request. */
		for (int k = 0; k < 4; k++) {
			iov[i][k].iov_base = buf + i * BS + (3 - k) * 4096;
			iov[i][k].iov_len = 4096;
		}
		reqs[i] = (struct pvio_blkfront_req){
			.op = PVIO_BLKFRONT_WRITE,
			.sector = (uint64_t)i * 64 + 7,
			.iov = iov[i],
			.iovcnt = 4,
			.user = (void *)(uintptr_t)i};
		rp[i] = &reqs[i];
	}
	n = pvio_blkfront_submit(r.f, 0, rp, QD);
	assert_int_equal(n, QD);
	assert_int_equal(pvio_blkfront_inflight(r.f, 0), QD);
	while (got < QD) {
		n = pvio_blkfront_reap(r.f, 0, done, QD, 1, 5000);
		assert_true(n > 0);
		for (int i = 0; i < n; i++)
			assert_int_equal(done[i]->status, 0);
		got += n;
	}
	assert_int_equal(pvio_blkfront_inflight(r.f, 0), 0);
	/* Read each back with one plain buffer (bounced) and compare with
	 * the iov order. */
	unsigned char *b = malloc(BS);
	for (int i = 0; i < QD; i++) {
		assert_int_equal(
			pvio_blkfront_read(r.f, (uint64_t)i * 64 + 7, b, BS),
			0);
		for (int k = 0; k < 4; k++)
			assert_memory_equal(b + k * 4096,
					    buf + i * BS + (3 - k) * 4096,
					    4096);
	}
	free(b);
	rig_down(&r);
}

/* A sparse 3 TiB image: sector numbers beyond 2^32. */
static void test_sparse_3tib(void **state)
{
	struct rig r;
	uint64_t size = 3ULL << 40, sectors = size / 512;
	unsigned char *a = malloc(65536), *b = malloc(65536);
	uint64_t where[] = {0, (1ULL << 32) - 128, 1ULL << 32,
			    (1ULL << 32) + 12345, sectors - 128};

	(void)state;
	rig_up(&r, size, NULL, NULL);
	assert_true(pvio_blkfront_info(r.f)->sectors == sectors);
	for (unsigned int i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		fill(a, 65536, where[i]);
		assert_int_equal(pvio_blkfront_write(r.f, where[i], a, 65536),
				 0);
	}
	for (unsigned int i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		assert_int_equal(pvio_blkfront_read(r.f, where[i], b, 65536),
				 0);
		assert_true(check(b, 65536, where[i]));
	}
	/* Past the end by one sector. */
	assert_int_equal(pvio_blkfront_read(r.f, sectors - 127, b, 65536),
			 -EINVAL);
	free(a);
	free(b);
	rig_down(&r);
}

/* 4 queues, each driven by its own thread. */
struct qthread {
	struct pvio_blkfront *f;
	unsigned int q;
	int result;
};

static void *qthread_main(void *arg)
{
	struct qthread *t = arg;
	enum { QD = 16, BS = 8192, ROUNDS = 20 };
	int err = 0;
	unsigned char *buf = pvio_blkfront_buf_alloc(t->f, QD * BS, &err);
	struct pvio_blkfront_req reqs[QD], *rp[QD], *done[QD];
	struct iovec iov[QD];

	t->result = -1;
	if (!buf)
		return NULL;
	for (int round = 0; round < ROUNDS; round++) {
		bool wr = round % 2 == 0;
		int got = 0;

		for (int i = 0; i < QD; i++) {
			uint64_t blk = (uint64_t)t->q * 1000 + (uint64_t)i;

			if (wr)
				fill(buf + i * BS, BS, blk * 100 + round);
			else
				memset(buf + i * BS, 0, BS);
			iov[i] = (struct iovec){buf + i * BS, BS};
			reqs[i] = (struct pvio_blkfront_req){
				.op = wr ? PVIO_BLKFRONT_WRITE
					 : PVIO_BLKFRONT_READ,
				.sector = blk * 16,
				.iov = &iov[i],
				.iovcnt = 1};
			rp[i] = &reqs[i];
		}
		if (pvio_blkfront_submit(t->f, t->q, rp, QD) != QD)
			return NULL;
		while (got < QD) {
			int n = pvio_blkfront_reap(t->f, t->q, done, QD, 1,
						   5000);
			if (n <= 0)
				return NULL;
			for (int i = 0; i < n; i++)
				if (done[i]->status)
					return NULL;
			got += n;
		}
		if (!wr)
			for (int i = 0; i < QD; i++) {
				uint64_t blk =
					(uint64_t)t->q * 1000 + (uint64_t)i;
				if (!check(buf + i * BS, BS,
					   blk * 100 + round - 1))
					return NULL;
			}
	}
	pvio_blkfront_buf_free(t->f, buf, QD * BS);
	t->result = 0;
	return NULL;
}

static void test_four_queues(void **state)
{
	struct rig r;
	struct pvio_blkfront_opts o = {.max_queues = 4};
	pthread_t th[4];
	struct qthread t[4];

	(void)state;
	rig_up(&r, 64 * MiB, NULL, &o);
	assert_int_equal(pvio_blkfront_info(r.f)->nr_queues, 4);
	for (unsigned int i = 0; i < 4; i++) {
		t[i] = (struct qthread){.f = r.f, .q = i};
		assert_int_equal(
			pthread_create(&th[i], NULL, qthread_main, &t[i]), 0);
	}
	for (unsigned int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].result, 0);
	}
	rig_down(&r);
}

/* Persistent and indirect, each on/off, from either end. */
static void variant(const char *const *bargs,
		    const struct pvio_blkfront_opts *o, bool want_persistent,
		    bool want_indirect)
{
	struct rig r;
	size_t len = 512 * 1024;
	unsigned char *a = malloc(len), *z;
	int err = 0;

	rig_up(&r, 64 * MiB, bargs, o);
	assert_int_equal(pvio_blkfront_info(r.f)->persistent, want_persistent);
	assert_int_equal(pvio_blkfront_info(r.f)->max_segments > 11,
			 want_indirect);
	z = pvio_blkfront_buf_alloc(r.f, len, &err);
	assert_non_null(z);
	for (int round = 0; round < 3; round++) {
		fill(z, len, 7 + (uint64_t)round);
		assert_int_equal(pvio_blkfront_write(r.f, 4096, z, len), 0);
		assert_int_equal(pvio_blkfront_read(r.f, 4096, a, len), 0);
		assert_true(check(a, len, 7 + (uint64_t)round));
	}
	pvio_blkfront_buf_free(r.f, z, len);
	free(a);
	rig_down(&r);
}

static void test_persistent_off_front(void **state)
{
	struct pvio_blkfront_opts o = {.no_persistent = true};

	(void)state;
	variant(NULL, &o, false, true);
}

static void test_persistent_off_back(void **state)
{
	const char *args[] = {"--no-persistent", NULL};

	(void)state;
	variant(args, NULL, false, true);
}

static void test_indirect_off_front(void **state)
{
	struct pvio_blkfront_opts o = {.no_indirect = true};

	(void)state;
	variant(NULL, &o, true, false);
}

static void test_indirect_off_back(void **state)
{
	const char *args[] = {"--max-indirect", "0", NULL};

	(void)state;
	variant(args, NULL, true, false);
}

static void test_both_off(void **state)
{
	struct pvio_blkfront_opts o = {
		.no_indirect = true, .no_persistent = true, .ring_order = 0};

	(void)state;
	variant(NULL, &o, false, false);
}

/* Detach with requests in flight: each completes or fails -ENOTCONN. */
static void test_detach_in_flight(void **state)
{
	struct rig r;
	enum { QD = 32, BS = 65536 };
	struct pvio_blkfront_req reqs[QD], *rp[QD];
	struct iovec iov[QD];
	unsigned char *buf = malloc((size_t)QD * BS);
	int n;

	(void)state;
	rig_up(&r, 64 * MiB, NULL, NULL);
	for (int i = 0; i < QD; i++) {
		iov[i] = (struct iovec){buf + (size_t)i * BS, BS};
		reqs[i] = (struct pvio_blkfront_req){
			.op = i % 2 ? PVIO_BLKFRONT_WRITE : PVIO_BLKFRONT_READ,
			.sector = (uint64_t)i * 128,
			.iov = &iov[i],
			.iovcnt = 1,
			.status = 12345};
		rp[i] = &reqs[i];
	}
	n = pvio_blkfront_submit(r.f, 0, rp, QD);
	assert_true(n > 0);
	pvio_blkfront_detach(r.f, 0); /* no waiting at all */
	r.f = NULL;
	for (int i = 0; i < n; i++)
		assert_true(reqs[i].status == 0 || reqs[i].status == -ENOTCONN);
	free(buf);
	rig_down(&r);
}

/* Detach while the backend is frozen: nothing can complete, every request
 * fails -ENOTCONN, detach returns in bounded time; the backend, thawed,
 * lets go cleanly. */
static void test_detach_backend_frozen(void **state)
{
	struct rig r;
	enum { QD = 16, BS = 16384 };
	struct pvio_blkfront_req reqs[QD], *rp[QD];
	struct iovec iov[QD];
	unsigned char *buf;
	int err = 0, n;
	struct timespec t0, t1;

	(void)state;
	rig_up(&r, 64 * MiB, NULL, NULL);
	buf = pvio_blkfront_buf_alloc(r.f, QD * BS, &err);
	assert_non_null(buf);
	kill(r.b.pid, SIGSTOP);
	for (int i = 0; i < QD; i++) {
		iov[i] = (struct iovec){buf + (size_t)i * BS, BS};
		reqs[i] = (struct pvio_blkfront_req){
			.op = i % 2 ? PVIO_BLKFRONT_WRITE : PVIO_BLKFRONT_READ,
			.sector = (uint64_t)i * 32,
			.iov = &iov[i],
			.iovcnt = 1};
		rp[i] = &reqs[i];
	}
	n = pvio_blkfront_submit(r.f, 0, rp, QD);
	assert_int_equal(n, QD);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pvio_blkfront_detach(r.f, 200);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r.f = NULL;
	for (int i = 0; i < QD; i++)
		assert_int_equal(reqs[i].status, -ENOTCONN);
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	kill(r.b.pid, SIGCONT);
	rig_down(&r);
}

/*
 * The toolstack removes the vbd (block-detach, libxl style: backend to
 * Closing, then both directories go).  No backend will come back for it:
 * I/O must fail -ENOTCONN in bounded time instead of waiting for one.
 */
static void test_vbd_removed(void **state)
{
	struct rig r;
	char buf[4096];
	struct timespec t0, t1;
	int rc;

	(void)state;
	rig_up(&r, 16 * MiB, NULL, NULL);
	assert_int_equal(pvio_blkfront_read(r.f, 0, buf, sizeof(buf)), 0);
	{
		char p[192];

		snprintf(p, sizeof(p), "%s/online", r.v.bpath);
		assert_int_equal(pvio_xs_printf(W.xs, PVIO_XS_TX_NONE, p, "0"),
				 0);
		snprintf(p, sizeof(p), "%s/state", r.v.bpath);
		assert_int_equal(pvio_xs_printf(W.xs, PVIO_XS_TX_NONE, p, "5"),
				 0);
	}
	assert_int_equal(pvio_xs_rm(W.xs, PVIO_XS_TX_NONE, r.v.bpath), 0);
	assert_int_equal(pvio_xs_rm(W.xs, PVIO_XS_TX_NONE, r.v.fpath), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		rc = pvio_blkfront_read(r.f, 0, buf, sizeof(buf));
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (rc == 0 && t1.tv_sec - t0.tv_sec < 10);
	assert_int_equal(rc, -ENOTCONN);
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	assert_int_equal(pvio_blkfront_error(r.f), -ENOTCONN);
	rig_down(&r);
}

/*
 * Point the frontend's vbd at a new backend domain (what a toolstack does
 * when it restarts a driver domain; tests/integration/test_split_kill.c).
 */
static void rehome(struct rig *r, struct rf_back *nb)
{
	pvio_domid_t f = r->fr.domid, b = nb->domid;
	char bpath[128], tmp[256];
	const char *fpath = r->v.fpath;
	const struct pvio_xs_perm bpar[] = {{b, 'n'}};
	const struct pvio_xs_perm bperm[] = {{b, 'n'}, {f, 'r'}};
	const struct pvio_xs_perm fperm[] = {{f, 'n'}, {b, 'r'}};
	struct pvio_xs *xs = W.xs;
	char **names = NULL;
	unsigned int n = 0;
	struct {
		const char *k, *v;
	} keys[] = {
		{"frontend-id", NULL},	 {"online", "1"},    {"mode", "w"},
		{"params", r->image},	 {"type", "file"},   {"dev", "xvda"},
		{"device-type", "disk"}, {"removable", "0"}, {"bootable", "1"}};
	char fid[16];

	snprintf(fid, sizeof(fid), "%u", f);
	keys[0].v = fid;
	snprintf(tmp, sizeof(tmp), "/local/domain/%u/backend", b);
	assert_int_equal(pvio_xs_mkdir(xs, 0, tmp), 0);
	assert_int_equal(pvio_xs_set_perms(xs, 0, tmp, bpar, 1), 0);
	snprintf(tmp, sizeof(tmp), "/local/domain/%u/backend/vbd", b);
	assert_int_equal(pvio_xs_mkdir(xs, 0, tmp), 0);
	assert_int_equal(pvio_xs_set_perms(xs, 0, tmp, bpar, 1), 0);
	snprintf(tmp, sizeof(tmp), "/local/domain/%u/backend/vbd/%u", b, f);
	assert_int_equal(pvio_xs_mkdir(xs, 0, tmp), 0);
	assert_int_equal(pvio_xs_set_perms(xs, 0, tmp, bpar, 1), 0);
	snprintf(bpath, sizeof(bpath), "/local/domain/%u/backend/vbd/%u/%u", b,
		 f, XVDA);
	assert_int_equal(pvio_xs_mkdir(xs, 0, bpath), 0);
	assert_int_equal(pvio_xs_set_perms(xs, 0, bpath, bperm, 2), 0);
	snprintf(tmp, sizeof(tmp), "%s/frontend", bpath);
	assert_int_equal(pvio_xs_write(xs, 0, tmp, fpath, strlen(fpath)), 0);
	for (unsigned int i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(tmp, sizeof(tmp), "%s/%s", bpath, keys[i].k);
		assert_int_equal(
			pvio_xs_write(xs, 0, tmp, keys[i].v, strlen(keys[i].v)),
			0);
	}
	snprintf(tmp, sizeof(tmp), "%s/state", bpath);
	assert_int_equal(pvio_xs_write(xs, 0, tmp, "1", 1), 0);
	/* The new backend must be able to read the frontend's nodes. */
	assert_int_equal(pvio_xs_set_perms(xs, 0, fpath, fperm, 2), 0);
	assert_int_equal(pvio_xs_directory(xs, 0, fpath, &names, &n), 0);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "%s/%s", fpath, names[i]);
		pvio_xs_set_perms(xs, 0, tmp, fperm, 2);
		/* queue-N subdirectories */
		char **sub = NULL;
		unsigned int sn = 0;
		if (pvio_xs_directory(xs, 0, tmp, &sub, &sn) == 0) {
			for (unsigned int k = 0; k < sn; k++) {
				char t2[320];
				snprintf(t2, sizeof(t2), "%s/%s", tmp, sub[k]);
				pvio_xs_set_perms(xs, 0, t2, fperm, 2);
			}
			free(sub);
		}
	}
	free(names);
	snprintf(tmp, sizeof(tmp), "%s/backend-id", fpath);
	assert_int_equal(pvio_xs_printf(xs, 0, tmp, "%u", b), 0);
	snprintf(tmp, sizeof(tmp), "%s/backend", fpath);
	assert_int_equal(pvio_xs_write(xs, 0, tmp, bpath, strlen(bpath)), 0);
}

struct writer {
	struct pvio_blkfront *f;
	unsigned int nblocks;
	_Atomic unsigned int completed;
	int result; /* 0 ok; -1 failed status; -2 stuck */
	int bad_status;
};

enum { WBS = 65536, WQD = 16 };

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned char *buf = malloc((size_t)WQD * WBS);
	struct pvio_blkfront_req reqs[WQD], *free_list[WQD], *done[WQD];
	struct iovec iov[WQD];
	unsigned int nfree = WQD, next = 0, inflight = 0;
	time_t t0 = time(NULL);

	for (int i = 0; i < WQD; i++)
		free_list[i] = &reqs[i];
	w->result = 0;
	while (atomic_load(&w->completed) < w->nblocks) {
		if (time(NULL) - t0 > 60) {
			w->result = -2;
			break;
		}
		/* Fill the queue. */
		while (nfree && next < w->nblocks) {
			struct pvio_blkfront_req *r = free_list[nfree - 1];
			int slot = (int)(r - reqs);

			iov[slot] =
				(struct iovec){buf + (size_t)slot * WBS, WBS};
			fill(iov[slot].iov_base, WBS, 5000 + next);
			*r = (struct pvio_blkfront_req){
				.op = PVIO_BLKFRONT_WRITE,
				.sector = (uint64_t)next * (WBS / 512),
				.iov = &iov[slot],
				.iovcnt = 1};
			int n = pvio_blkfront_submit(w->f, 0, &r, 1);
			if (n < 0) {
				w->result = -1;
				w->bad_status = n;
				goto out;
			}
			if (n == 0)
				break; /* reconnecting or full */
			nfree--;
			next++;
			inflight++;
		}
		int n = pvio_blkfront_reap(w->f, 0, done, WQD, 1, 100);
		if (n < 0) {
			w->result = -1;
			w->bad_status = n;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (done[i]->status) {
				w->result = -1;
				w->bad_status = done[i]->status;
			}
			free_list[nfree++] = done[i];
			inflight--;
			atomic_fetch_add(&w->completed, 1);
		}
		if (w->result)
			break;
	}
out:
	free(buf);
	return NULL;
}

static void test_backend_killed_replay(void **state)
{
	struct rig r;
	struct writer w = {.nblocks = 256}; /* 16 MiB */
	struct rf_back nb;
	struct pvio_blkfront_stats st;
	pthread_t th;
	unsigned char *b = malloc(WBS);

	(void)state;
	rig_up(&r, 64 * MiB, NULL, NULL);
	w.f = r.f;
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	/* Kill it mid-transfer. */
	while (atomic_load(&w.completed) < 40)
		usleep(100);
	/* Stop it first so that requests are surely in flight, then kill. */
	kill(r.b.pid, SIGSTOP);
	usleep(20 * 1000);
	kill(r.b.pid, SIGKILL);
	waitpid(r.b.pid, NULL, 0);
	r.b.pid = 0;
	unsigned int at_kill = atomic_load(&w.completed);
	/* A new driver domain, wired by "the toolstack". */
	usleep(100 * 1000);
	const char *args[4];
	assert_int_equal(rf_back_start(&W, &nb, backend_args(NULL, args, 4)),
			 0);
	rehome(&r, &nb);
	pthread_join(th, NULL);
	if (w.result)
		fail_msg("writer: %d status %d (completed %u, killed at %u)",
			 w.result, w.bad_status, atomic_load(&w.completed),
			 at_kill);
	assert_true(at_kill < w.nblocks);
	pvio_blkfront_get_stats(r.f, &st);
	assert_true(st.reconnects >= 1);
	assert_true(st.replayed >= 1);
	assert_int_equal(pvio_blkfront_info(r.f)->backend_id, nb.domid);
	/* Everything is on disk. */
	for (unsigned int i = 0; i < w.nblocks; i++) {
		assert_int_equal(pvio_blkfront_read(r.f,
						    (uint64_t)i * (WBS / 512),
						    b, WBS),
				 0);
		if (!check(b, WBS, 5000 + i))
			fail_msg("block %u lost (killed at %u, replayed %llu)",
				 i, at_kill, (unsigned long long)st.replayed);
	}
	free(b);
	r.b = nb;
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_rw),
		cmocka_unit_test(test_async_sg),
		cmocka_unit_test(test_sparse_3tib),
		cmocka_unit_test(test_four_queues),
		cmocka_unit_test(test_persistent_off_front),
		cmocka_unit_test(test_persistent_off_back),
		cmocka_unit_test(test_indirect_off_front),
		cmocka_unit_test(test_indirect_off_back),
		cmocka_unit_test(test_both_off),
		cmocka_unit_test(test_detach_in_flight),
		cmocka_unit_test(test_detach_backend_frozen),
		cmocka_unit_test(test_vbd_removed),
		cmocka_unit_test(test_backend_killed_replay),
	};
	return cmocka_run_group_tests(tests, world_up, world_down);
}
