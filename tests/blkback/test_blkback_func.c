/* SPDX-License-Identifier: MIT */
/*
 * pvio-blkback end to end through the raw frontend: data round trips in
 * every ring shape and ABI, indirect, flush/barrier, discard, read-only,
 * persistent grants on and off (counted: no grant map per I/O in steady
 * state with them).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <pvio/io/xenbus.h>

#include "rawfront.h"

#define DISK_BYTES (8ULL << 20)

struct fx {
	struct rf_world w;
	struct rf_back b;
	struct rf_front f;
	struct rf_vbd v;
	struct rf_buf buf;
	char img[PATH_MAX + 64];
};

static void pattern(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 9));
}

/* Start world + backend (args) + frontend + a vbd, not yet connected. */
static void up(struct fx *x, const char *const *args, bool writable)
{
	memset(x, 0, sizeof(*x));
	assert_int_equal(rf_world_start(&x->w), 0);
	assert_int_equal(rf_back_start(&x->w, &x->b, args), 0);
	/* The daemon announces that its watch is in place (the toolstack
	 * waits for this node). */
	assert_int_equal(rf_back_wait_ready(&x->w, &x->b, 5000), 0);
	assert_int_equal(rf_front_create(&x->w, &x->f, 4096), 0);
	assert_int_equal(rf_make_image(x->w.hv.dir, "disk.img", DISK_BYTES,
				       x->img, sizeof(x->img)),
			 0);
	assert_int_equal(rf_vbd_add(&x->w, &x->v, &x->f, &x->b, 51712, x->img,
				    writable, NULL),
			 0);
	assert_int_equal(rf_buf_alloc(&x->f, x->b.domid, 64, false, &x->buf),
			 0);
}

static void down(struct fx *x)
{
	assert_int_equal(rf_vbd_close(&x->v, true), 0);
	assert_int_equal(rf_buf_free(&x->f, &x->buf), 0);
	assert_int_equal(rf_back_stop(&x->w, &x->b), 0);
	rf_front_destroy(&x->w, &x->f);
	assert_int_equal(rf_world_stop(&x->w), 0);
}

/* Write n pages at sector s through queue qi, read back into other pages,
 * compare. */
static void round_trip(struct fx *x, unsigned int qi, uint64_t s,
		       unsigned int n, unsigned int seed)
{
	uint8_t *src = x->buf.addr, *dst = x->buf.addr + 32 * 4096;

	pattern(src, (size_t)n * 4096, seed);
	memset(dst, 0xee, (size_t)n * 4096);
	assert_int_equal(
		rf_rw_pages(&x->v, qi, BLKIF_OP_WRITE, s, &x->buf, 0, n),
		BLKIF_RSP_OKAY);
	assert_int_equal(
		rf_rw_pages(&x->v, qi, BLKIF_OP_READ, s, &x->buf, 32, n),
		BLKIF_RSP_OKAY);
	assert_memory_equal(src, dst, (size_t)n * 4096);
}

static void test_round_trip(void **state)
{
	struct fx x;
	struct rf_conn c = {.persistent = true};
	char *v;

	(void)state;
	up(&x, NULL, true);
	/* What the backend published. */
	v = rf_vbd_bkey(&x.v, "sectors");
	assert_non_null(v);
	assert_int_equal(strtoull(v, NULL, 10), DISK_BYTES / 512);
	free(v);
	v = rf_vbd_bkey(&x.v, "feature-max-indirect-segments");
	assert_non_null(v);
	free(v);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	round_trip(&x, 0, 0, 1, 1);
	round_trip(&x, 0, 77, 11, 2);
	round_trip(&x, 0, DISK_BYTES / 512 - 88, 11, 3);
	/* Partial sectors inside pages. */
	{
		struct rf_seg seg = {x.buf.gref[0], 3, 5};
		struct rf_rsp r;

		assert_int_equal(
			rf_put_rw(&x.v, 0, BLKIF_OP_READ, 9, 0, 1, &seg), 0);
		assert_int_equal(rf_push(&x.v, 0, false), 0);
		assert_int_equal(rf_get_rsp(&x.v, 0, &r, 5000), 0);
		assert_int_equal(r.status, BLKIF_RSP_OKAY);
		assert_true(r.pad_zero);
	}
	down(&x);
}

static void test_multipage_ring(void **state)
{
	struct fx x;
	struct rf_conn c = {.persistent = true, .order = 2};
	struct rf_rsp r;
	unsigned int n = 100;

	(void)state;
	up(&x, NULL, true);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	assert_int_equal(pvio_ring_size(&x.v.q[0].r), 128);
	/* 100 requests in flight at once, answered out of order or not. */
	pattern(x.buf.addr, 64 * 4096, 9);
	for (unsigned int i = 0; i < n; i++) {
		struct rf_seg seg = {x.buf.gref[i % 32], 0, 7};

		assert_int_equal(
			rf_put_rw(&x.v, 0, BLKIF_OP_WRITE, i, i * 8, 1, &seg),
			0);
	}
	assert_int_equal(rf_push(&x.v, 0, false), 0);
	bool seen[100] = {false};
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(rf_get_rsp(&x.v, 0, &r, 5000), 0);
		assert_true(r.id < n && !seen[r.id]);
		seen[r.id] = true;
		assert_int_equal(r.status, BLKIF_RSP_OKAY);
		assert_true(r.pad_zero);
	}
	round_trip(&x, 0, 8 * 99, 1, 9 + 0);
	down(&x);
}

static void test_four_queues(void **state)
{
	struct fx x;
	struct rf_conn c = {.persistent = true, .queues = 4, .order = 1};

	(void)state;
	up(&x, NULL, true);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	for (unsigned int q = 0; q < 4; q++)
		round_trip(&x, q, 1000 + q * 100, 4, q + 20);
	down(&x);
}

static void test_x86_32(void **state)
{
	struct fx x;
	struct rf_conn c = {.persistent = true, .abi = RF_ABI_X86_32};

	(void)state;
	up(&x, NULL, true);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	assert_int_equal(pvio_ring_size(&x.v.q[0].r), 32);
	round_trip(&x, 0, 5, 11, 30);
	down(&x);
}

/* An indirect request of 'nseg' pages from buf pages [p0, p0+nseg) using
 * indirect page 'ip' (also in buf). */
static int indirect_rw(struct fx *x, uint8_t iop, uint64_t sector,
		       unsigned int p0, unsigned int nseg, unsigned int ip)
{
	struct pvio_blkif_request_segment *d =
		(void *)(x->buf.addr + (size_t)ip * 4096);
	pvio_grant_ref_t ig = x->buf.gref[ip];
	struct rf_rsp r;
	int rc;

	for (unsigned int i = 0; i < nseg; i++)
		d[i] = (struct pvio_blkif_request_segment){
			.gref = x->buf.gref[p0 + i],
			.first_sect = 0,
			.last_sect = 7};
	rc = rf_put_indirect(&x->v, 0, iop, 777, sector, (uint16_t)nseg, &ig,
			     1);
	rc = rc ? rc : rf_push(&x->v, 0, false);
	rc = rc ? rc : rf_get_rsp(&x->v, 0, &r, 5000);
	if (rc)
		return rc;
	assert_true(r.pad_zero);
	assert_int_equal(r.op, BLKIF_OP_INDIRECT);
	return r.status;
}

static void test_indirect(void **state)
{
	struct fx x;
	struct rf_conn c = {.persistent = true};

	(void)state;
	up(&x, NULL, true);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	pattern(x.buf.addr, 24 * 4096, 40);
	assert_int_equal(indirect_rw(&x, BLKIF_OP_WRITE, 4096, 0, 24, 60),
			 BLKIF_RSP_OKAY);
	memset(x.buf.addr + 30 * 4096, 0, 24 * 4096);
	assert_int_equal(indirect_rw(&x, BLKIF_OP_READ, 4096, 30, 24, 61),
			 BLKIF_RSP_OKAY);
	assert_memory_equal(x.buf.addr, x.buf.addr + 30 * 4096, 24 * 4096);
	down(&x);
}

/* 'n' single-page writes+reads on the same 8 pages; the counters line. */
static void count_maps(bool persistent, struct rf_counters *cnt)
{
	const char *nopers[] = {"--no-persistent", NULL};
	struct fx x;
	struct rf_conn c = {.persistent = true};
	char name[32];

	up(&x, persistent ? NULL : nopers, true);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	for (unsigned int i = 0; i < 200; i++)
		assert_int_equal(
			rf_rw_pages(&x.v, 0,
				    i & 1 ? BLKIF_OP_READ : BLKIF_OP_WRITE,
				    (i % 8) * 8, &x.buf, i % 8, 1),
			BLKIF_RSP_OKAY);
	assert_int_equal(rf_vbd_close(&x.v, true), 0);
	snprintf(name, sizeof(name), "%u/%u", x.f.domid, 51712);
	assert_int_equal(rf_buf_free(&x.f, &x.buf), 0);
	assert_int_equal(rf_back_stop(&x.w, &x.b), 0);
	assert_int_equal(rf_back_counters(&x.b, name, cnt), 0);
	rf_front_destroy(&x.w, &x.f);
	assert_int_equal(rf_world_stop(&x.w), 0);
}

static void test_persistent_counts(void **state)
{
	struct rf_counters on, off;

	(void)state;
	count_maps(true, &on);
	count_maps(false, &off);
	print_message(
		"persistent: %llu req, %llu maps, %llu hypercalls; "
		"per-request: %llu req, %llu maps, %llu hypercalls\n",
		(unsigned long long)on.requests, (unsigned long long)on.maps,
		(unsigned long long)on.hypercalls,
		(unsigned long long)off.requests, (unsigned long long)off.maps,
		(unsigned long long)off.hypercalls);
	assert_int_equal(on.requests, 200);
	assert_int_equal(on.errors, 0);
	/* 1 ring page + 8 data pages, each mapped once. */
	assert_true(on.maps <= 9);
	assert_int_equal(on.maps, on.unmaps);
	/* Connect/disconnect only: a handful, not one per I/O. */
	assert_true(on.hypercalls < 30);
	assert_int_equal(off.requests, 200);
	assert_true(off.maps >= 200);
	assert_int_equal(off.maps, off.unmaps);
	assert_true(off.hypercalls >= 400);
}

static void test_flush_barrier(void **state)
{
	struct fx x;
	struct rf_conn c = {.persistent = true};
	struct rf_rsp r;
	struct rf_seg seg[2];

	(void)state;
	up(&x, NULL, true);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	/* A write, then a flush with no data, then a barrier with data,
	 * pushed together: all OKAY, barrier data readable. */
	pattern(x.buf.addr, 2 * 4096, 50);
	seg[0] = (struct rf_seg){x.buf.gref[0], 0, 7};
	seg[1] = (struct rf_seg){x.buf.gref[1], 0, 7};
	assert_int_equal(rf_put_rw(&x.v, 0, BLKIF_OP_WRITE, 1, 0, 1, &seg[0]),
			 0);
	assert_int_equal(
		rf_put_rw(&x.v, 0, BLKIF_OP_FLUSH_DISKCACHE, 2, 0, 0, NULL), 0);
	assert_int_equal(
		rf_put_rw(&x.v, 0, BLKIF_OP_WRITE_BARRIER, 3, 8, 1, &seg[1]),
		0);
	assert_int_equal(
		rf_put_rw(&x.v, 0, BLKIF_OP_WRITE_BARRIER, 4, 0, 0, NULL), 0);
	assert_int_equal(rf_push(&x.v, 0, false), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(rf_get_rsp(&x.v, 0, &r, 5000), 0);
		assert_int_equal(r.status, BLKIF_RSP_OKAY);
		assert_true(r.pad_zero);
		/* Ordered: the barrier waits for what came before. */
		assert_int_equal(r.id, (uint64_t)i + 1);
	}
	memset(x.buf.addr + 32 * 4096, 0, 2 * 4096);
	assert_int_equal(rf_rw_pages(&x.v, 0, BLKIF_OP_READ, 0, &x.buf, 32, 2),
			 BLKIF_RSP_OKAY);
	assert_memory_equal(x.buf.addr, x.buf.addr + 32 * 4096, 2 * 4096);
	down(&x);
}

static void test_discard(void **state)
{
	struct fx x;
	struct rf_conn c = {.persistent = true};
	struct rf_rsp r;
	char *v;
	uint8_t zero[4096] = {0};

	(void)state;
	up(&x, NULL, true);
	v = rf_vbd_bkey(&x.v, "feature-discard");
	assert_non_null(v);
	assert_string_equal(v, "1");
	free(v);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	round_trip(&x, 0, 1024, 4, 60);
	assert_int_equal(rf_put_discard(&x.v, 0, 5, 1024 + 8, 16, 0), 0);
	assert_int_equal(rf_push(&x.v, 0, false), 0);
	assert_int_equal(rf_get_rsp(&x.v, 0, &r, 5000), 0);
	assert_int_equal(r.status, BLKIF_RSP_OKAY);
	assert_int_equal(r.op, BLKIF_OP_DISCARD);
	memset(x.buf.addr + 32 * 4096, 0xaa, 4 * 4096);
	assert_int_equal(
		rf_rw_pages(&x.v, 0, BLKIF_OP_READ, 1024, &x.buf, 32, 4),
		BLKIF_RSP_OKAY);
	/* Pages 1 and 2 discarded: zero; 0 and 3 intact. */
	assert_memory_equal(x.buf.addr + 33 * 4096, zero, 4096);
	assert_memory_equal(x.buf.addr + 34 * 4096, zero, 4096);
	assert_memory_equal(x.buf.addr + 32 * 4096, x.buf.addr, 4096);
	assert_memory_equal(x.buf.addr + 35 * 4096, x.buf.addr + 3 * 4096,
			    4096);
	down(&x);
}

static void test_readonly(void **state)
{
	struct fx x;
	struct rf_conn c = {.persistent = true};
	char *v;

	(void)state;
	up(&x, NULL, false);
	v = rf_vbd_bkey(&x.v, "info");
	assert_non_null(v);
	assert_int_equal(atoi(v), VDISK_READONLY);
	free(v);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	assert_int_equal(rf_rw_pages(&x.v, 0, BLKIF_OP_READ, 0, &x.buf, 0, 2),
			 BLKIF_RSP_OKAY);
	assert_int_equal(rf_rw_pages(&x.v, 0, BLKIF_OP_WRITE, 0, &x.buf, 0, 2),
			 BLKIF_RSP_ERROR);
	down(&x);
}

static void test_engines(void **state)
{
	static const char *const eng[] = {"psync", "libaio", "io_uring"};

	(void)state;
	for (unsigned int e = 0; e < 3; e++) {
		const char *args[] = {"--engine", eng[e], NULL};
		struct fx x;
		struct rf_conn c = {.persistent = e != 1};

		up(&x, args, true);
		assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
		round_trip(&x, 0, 100 + e, 11, 70 + e);
		down(&x);
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Wait for a response spinning (as a polling frontend would). */
static void spin_rsp(struct fx *x, struct rf_rsp *r)
{
	double t0 = now_us();

	while (pvio_ring_front_pending(&x->v.q[0].r) == 0 &&
	       now_us() - t0 < 1000)
		;
	assert_int_equal(rf_get_rsp(&x->v, 0, r, 5000), 0);
	assert_int_equal(r->status, BLKIF_RSP_OKAY);
}

/* Figures, not goals: QD1 4 KiB read latency and QD32 IOPS through the
 * raw frontend (tmpfs image, io_uring, persistent grants). */
static void test_figures(void **state)
{
	struct fx x;
	struct rf_conn c = {.persistent = true, .order = 1};
	struct rf_rsp r;
	const unsigned int n = 4000;
	double t0, qd1, qd32;

	(void)state;
	up(&x, NULL, true);
	assert_int_equal(rf_vbd_connect(&x.v, &c), 0);
	for (unsigned int i = 0; i < 200; i++)
		assert_int_equal(rf_rw_pages(&x.v, 0, BLKIF_OP_READ, i * 8,
					     &x.buf, i % 32, 1),
				 BLKIF_RSP_OKAY);
	t0 = now_us();
	for (unsigned int i = 0; i < n; i++) {
		struct rf_seg s = {x.buf.gref[i % 32], 0, 7};

		assert_int_equal(rf_put_rw(&x.v, 0, BLKIF_OP_READ, i,
					   (i * 8) % 16384, 1, &s),
				 0);
		assert_int_equal(rf_push(&x.v, 0, false), 0);
		spin_rsp(&x, &r);
	}
	qd1 = (now_us() - t0) / n;
	t0 = now_us();
	for (unsigned int i = 0; i < n; i += 32) {
		for (unsigned int k = 0; k < 32; k++) {
			struct rf_seg s = {x.buf.gref[k], 0, 7};

			assert_int_equal(rf_put_rw(&x.v, 0, BLKIF_OP_READ, k,
						   ((i + k) * 8) % 16384, 1,
						   &s),
					 0);
		}
		assert_int_equal(rf_push(&x.v, 0, false), 0);
		for (unsigned int k = 0; k < 32; k++)
			spin_rsp(&x, &r);
	}
	qd32 = n / ((now_us() - t0) / 1e6);
	print_message("figures: QD1 4 KiB read %.1f us/op; QD32 4 KiB read "
		      "%.0f IOPS\n",
		      qd1, qd32);
	down(&x);
}

static void test_reconnect(void **state)
{
	/* The frontend closes and comes back (a guest driver reload): the
	 * vbd serves the new rings, in another shape. */
	struct fx x;
	struct rf_conn c1 = {.persistent = true};
	struct rf_conn c2 = {.persistent = false, .queues = 2, .order = 1};

	(void)state;
	up(&x, NULL, true);
	assert_int_equal(rf_vbd_connect(&x.v, &c1), 0);
	round_trip(&x, 0, 10, 3, 80);
	assert_int_equal(rf_vbd_close(&x.v, false), 0);
	assert_int_equal(rf_vbd_set_state(&x.v, XenbusStateInitialising), 0);
	assert_int_equal(rf_vbd_wait_state(&x.v, XenbusStateInitWait, 5000), 0);
	assert_int_equal(rf_vbd_connect(&x.v, &c2), 0);
	round_trip(&x, 1, 10, 3, 80);
	down(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_multipage_ring),
		cmocka_unit_test(test_four_queues),
		cmocka_unit_test(test_x86_32),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_persistent_counts),
		cmocka_unit_test(test_flush_barrier),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_engines),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_figures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
