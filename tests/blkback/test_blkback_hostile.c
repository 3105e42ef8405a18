/* SPDX-License-Identifier: MIT */
/*
 * The malicious-frontend suite: one case per validation rule of blkback
 * (blk.md, PROTOCOL-FACTS section 2 and 9).  Every case checks the
 * answer a hostile request gets, that every response's padding is zero,
 * that the same ring still serves a good request afterwards (or, for a
 * producer overflow, that the ring is halted and reported while another
 * frontend's vbd on the same backend keeps working), and the suite ends
 * with pvio-blkback still alive and exiting cleanly on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <pvio/io/xenbus.h>

#include "rawfront.h"

#define DISK_BYTES (4ULL << 20)
#define SECTORS (DISK_BYTES / 512)

static struct {
	struct rf_world w;
	struct rf_back b;
	struct rf_front f, f2;
	struct rf_vbd v, ro;
	struct rf_buf buf, buf2;
	char img[PATH_MAX + 64], img2[PATH_MAX + 64];
	uint32_t next_devid;
} G;

static int setup(void **state)
{
	struct rf_conn c = {.persistent = true};

	(void)state;
	if (rf_world_start(&G.w) || rf_back_start(&G.w, &G.b, NULL) ||
	    rf_front_create(&G.w, &G.f, 2048) ||
	    rf_front_create(&G.w, &G.f2, 2048))
		return -1;
	if (rf_make_image(G.w.hv.dir, "a.img", DISK_BYTES, G.img,
			  sizeof(G.img)) ||
	    rf_make_image(G.w.hv.dir, "b.img", DISK_BYTES, G.img2,
			  sizeof(G.img2)))
		return -1;
	if (rf_vbd_add(&G.w, &G.v, &G.f, &G.b, 51712, G.img, true, NULL) ||
	    rf_vbd_connect(&G.v, &c))
		return -1;
	if (rf_vbd_add(&G.w, &G.ro, &G.f, &G.b, 51728, G.img2, false, NULL) ||
	    rf_vbd_connect(&G.ro, &c))
		return -1;
	if (rf_buf_alloc(&G.f, G.b.domid, 32, false, &G.buf) ||
	    rf_buf_alloc(&G.f2, G.b.domid, 200, false, &G.buf2))
		return -1;
	G.next_devid = 51744;
	return 0;
}

static int teardown(void **state)
{
	int rc = 0;

	(void)state;
	if (!rf_back_alive(&G.b))
		rc = -1;
	rf_vbd_close(&G.v, true);
	rf_vbd_close(&G.ro, true);
	rf_buf_free(&G.f, &G.buf);
	rf_buf_free(&G.f2, &G.buf2);
	/* A clean exit: no crash, no sanitizer report. */
	if (rf_back_stop(&G.w, &G.b) != 0)
		rc = -1;
	rf_front_destroy(&G.w, &G.f);
	rf_front_destroy(&G.w, &G.f2);
	if (rf_world_stop(&G.w) != 0)
		rc = -1;
	return rc;
}

/* Push what was put, take one response: its status (padding checked). */
static int answer(struct rf_vbd *v, uint64_t id, uint8_t op)
{
	struct rf_rsp r;

	assert_int_equal(rf_push(v, 0, false), 0);
	assert_int_equal(rf_get_rsp(v, 0, &r, 5000), 0);
	assert_true(r.pad_zero);
	assert_int_equal(r.id, id);
	assert_int_equal(r.op, op);
	return r.status;
}

/* The ring still works. */
static void still_good(struct rf_vbd *v)
{
	assert_int_equal(rf_rw_pages(v, 0, BLKIF_OP_READ, 0, &G.buf, 0, 1),
			 BLKIF_RSP_OKAY);
	assert_true(rf_back_alive(&G.b));
}

static int rw1(struct rf_vbd *v, uint8_t op, uint64_t id, uint64_t sector,
	       pvio_grant_ref_t gref, uint8_t first, uint8_t last)
{
	struct rf_seg s = {gref, first, last};

	assert_int_equal(rf_put_rw(v, 0, op, id, sector, 1, &s), 0);
	return answer(v, id, op);
}

static void test_unknown_op(void **state)
{
	unsigned char raw[112] = {0};

	(void)state;
	raw[0] = 99;
	raw[1] = 1;
	raw[8] = 0x42; /* id 0x42 */
	assert_int_equal(rf_put_raw(&G.v, 0, raw, sizeof(raw)), 0);
	assert_int_equal(answer(&G.v, 0x42, 99), BLKIF_RSP_EOPNOTSUPP);
	still_good(&G.v);
}

static void test_reserved_op_4(void **state)
{
	struct rf_seg s = {G.buf.gref[0], 0, 7};

	(void)state;
	assert_int_equal(rf_put_rw(&G.v, 0, BLKIF_OP_RESERVED_1, 4, 0, 1, &s),
			 0);
	assert_int_equal(answer(&G.v, 4, BLKIF_OP_RESERVED_1),
			 BLKIF_RSP_EOPNOTSUPP);
	still_good(&G.v);
}

static void test_zero_segments(void **state)
{
	(void)state;
	assert_int_equal(rf_put_rw(&G.v, 0, BLKIF_OP_READ, 5, 0, 0, NULL), 0);
	assert_int_equal(answer(&G.v, 5, BLKIF_OP_READ), BLKIF_RSP_ERROR);
	assert_int_equal(rf_put_rw(&G.v, 0, BLKIF_OP_WRITE, 6, 0, 0, NULL), 0);
	assert_int_equal(answer(&G.v, 6, BLKIF_OP_WRITE), BLKIF_RSP_ERROR);
	still_good(&G.v);
}

static void test_twelve_direct_segments(void **state)
{
	struct pvio_blkif_x86_64_request r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.operation = BLKIF_OP_READ;
	r.nr_segments = 12;
	r.id = 7;
	for (int i = 0; i < 11; i++)
		r.seg[i] = (struct pvio_blkif_request_segment){G.buf.gref[i], 0,
							       7};
	assert_int_equal(rf_put_raw(&G.v, 0, &r, sizeof(r)), 0);
	assert_int_equal(answer(&G.v, 7, BLKIF_OP_READ), BLKIF_RSP_ERROR);
	r.nr_segments = 255;
	r.id = 8;
	assert_int_equal(rf_put_raw(&G.v, 0, &r, sizeof(r)), 0);
	assert_int_equal(answer(&G.v, 8, BLKIF_OP_READ), BLKIF_RSP_ERROR);
	still_good(&G.v);
}

/* Indirect page 31 of buf described 'n' segments over pages 0..15. */
static void fill_indirect(unsigned int n)
{
	struct pvio_blkif_request_segment *d = (void *)(G.buf.addr + 31 * 4096);

	for (unsigned int i = 0; i < n && i < 512; i++)
		d[i] = (struct pvio_blkif_request_segment){G.buf.gref[i % 16],
							   0, 7};
}

static void test_too_many_indirect_segments(void **state)
{
	pvio_grant_ref_t ig[8];

	(void)state;
	fill_indirect(512);
	for (int i = 0; i < 8; i++)
		ig[i] = G.buf.gref[31];
	/* Default --max-indirect is 256. */
	assert_int_equal(
		rf_put_indirect(&G.v, 0, BLKIF_OP_READ, 9, 0, 257, ig, 1), 0);
	assert_int_equal(answer(&G.v, 9, BLKIF_OP_INDIRECT), BLKIF_RSP_ERROR);
	assert_int_equal(
		rf_put_indirect(&G.v, 0, BLKIF_OP_READ, 10, 0, 0, ig, 1), 0);
	assert_int_equal(answer(&G.v, 10, BLKIF_OP_INDIRECT), BLKIF_RSP_ERROR);
	/* The limit itself is fine. */
	assert_int_equal(
		rf_put_indirect(&G.v, 0, BLKIF_OP_READ, 11, 0, 256, ig, 1), 0);
	assert_int_equal(answer(&G.v, 11, BLKIF_OP_INDIRECT), BLKIF_RSP_OKAY);
	still_good(&G.v);
}

static void test_bad_indirect_pages(void **state)
{
	pvio_grant_ref_t ig[8] = {0};

	(void)state;
	fill_indirect(512);
	/* 5000 segments would need 10 indirect pages (max 8). */
	assert_int_equal(
		rf_put_indirect(&G.v, 0, BLKIF_OP_READ, 12, 0, 5000, ig, 8), 0);
	assert_int_equal(answer(&G.v, 12, BLKIF_OP_INDIRECT), BLKIF_RSP_ERROR);
	/* 100 segments but the indirect page's grant is bogus. */
	ig[0] = 0xFFFF0;
	assert_int_equal(
		rf_put_indirect(&G.v, 0, BLKIF_OP_READ, 13, 0, 100, ig, 1), 0);
	assert_int_equal(answer(&G.v, 13, BLKIF_OP_INDIRECT), BLKIF_RSP_ERROR);
	still_good(&G.v);
}

static void test_indirect_op_invalid(void **state)
{
	static const uint8_t bad[] = {BLKIF_OP_WRITE_BARRIER,
				      BLKIF_OP_FLUSH_DISKCACHE,
				      BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT, 200};
	pvio_grant_ref_t ig[1];

	(void)state;
	fill_indirect(4);
	ig[0] = G.buf.gref[31];
	for (unsigned int i = 0; i < sizeof(bad); i++) {
		assert_int_equal(
			rf_put_indirect(&G.v, 0, bad[i], 20 + i, 0, 4, ig, 1),
			0);
		assert_int_equal(answer(&G.v, 20 + i, BLKIF_OP_INDIRECT),
				 BLKIF_RSP_ERROR);
	}
	still_good(&G.v);
}

static void test_indirect_bad_segment(void **state)
{
	struct pvio_blkif_request_segment *d = (void *)(G.buf.addr + 31 * 4096);
	pvio_grant_ref_t ig[1] = {G.buf.gref[31]};

	(void)state;
	fill_indirect(8);
	d[5].last_sect = 9;
	assert_int_equal(
		rf_put_indirect(&G.v, 0, BLKIF_OP_READ, 30, 0, 8, ig, 1), 0);
	assert_int_equal(answer(&G.v, 30, BLKIF_OP_INDIRECT), BLKIF_RSP_ERROR);
	still_good(&G.v);
}

static void test_first_after_last(void **state)
{
	(void)state;
	assert_int_equal(rw1(&G.v, BLKIF_OP_READ, 40, 0, G.buf.gref[0], 5, 4),
			 BLKIF_RSP_ERROR);
	still_good(&G.v);
}

static void test_last_sect_8(void **state)
{
	(void)state;
	assert_int_equal(rw1(&G.v, BLKIF_OP_READ, 41, 0, G.buf.gref[0], 0, 8),
			 BLKIF_RSP_ERROR);
	assert_int_equal(
		rw1(&G.v, BLKIF_OP_WRITE, 42, 0, G.buf.gref[0], 8, 255),
		BLKIF_RSP_ERROR);
	still_good(&G.v);
}

static void test_sector_overflow(void **state)
{
	(void)state;
	/* sector + 8 wraps to 0: must not pass as "inside the disk". */
	assert_int_equal(rw1(&G.v, BLKIF_OP_READ, 43, UINT64_MAX - 7,
			     G.buf.gref[0], 0, 7),
			 BLKIF_RSP_ERROR);
	assert_int_equal(
		rw1(&G.v, BLKIF_OP_WRITE, 44, UINT64_MAX, G.buf.gref[0], 0, 0),
		BLKIF_RSP_ERROR);
	/* sector * 512 overflow range too. */
	assert_int_equal(
		rw1(&G.v, BLKIF_OP_READ, 45, 1ULL << 55, G.buf.gref[0], 0, 7),
		BLKIF_RSP_ERROR);
	assert_int_equal(rf_put_discard(&G.v, 0, 46, UINT64_MAX - 3, 8, 0), 0);
	assert_int_equal(answer(&G.v, 46, BLKIF_OP_DISCARD), BLKIF_RSP_ERROR);
	still_good(&G.v);
}

static void test_past_end(void **state)
{
	(void)state;
	assert_int_equal(
		rw1(&G.v, BLKIF_OP_READ, 47, SECTORS - 4, G.buf.gref[0], 0, 7),
		BLKIF_RSP_ERROR);
	assert_int_equal(
		rw1(&G.v, BLKIF_OP_WRITE, 48, SECTORS, G.buf.gref[0], 0, 0),
		BLKIF_RSP_ERROR);
	/* The last sector itself is fine. */
	assert_int_equal(
		rw1(&G.v, BLKIF_OP_READ, 49, SECTORS - 1, G.buf.gref[0], 7, 7),
		BLKIF_RSP_OKAY);
	assert_int_equal(rf_put_discard(&G.v, 0, 50, SECTORS - 8, 16, 0), 0);
	assert_int_equal(answer(&G.v, 50, BLKIF_OP_DISCARD), BLKIF_RSP_ERROR);
	still_good(&G.v);
}

static void test_write_readonly(void **state)
{
	(void)state;
	assert_int_equal(rw1(&G.ro, BLKIF_OP_WRITE, 51, 0, G.buf.gref[0], 0, 7),
			 BLKIF_RSP_ERROR);
	assert_int_equal(
		rw1(&G.ro, BLKIF_OP_WRITE_BARRIER, 52, 0, G.buf.gref[0], 0, 7),
		BLKIF_RSP_ERROR);
	assert_int_equal(rw1(&G.ro, BLKIF_OP_FLUSH_DISKCACHE, 53, 0,
			     G.buf.gref[0], 0, 7),
			 BLKIF_RSP_ERROR);
	{
		pvio_grant_ref_t ig[1] = {G.buf.gref[31]};

		fill_indirect(4);
		assert_int_equal(rf_put_indirect(&G.ro, 0, BLKIF_OP_WRITE, 54,
						 0, 4, ig, 1),
				 0);
		assert_int_equal(answer(&G.ro, 54, BLKIF_OP_INDIRECT),
				 BLKIF_RSP_ERROR);
	}
	still_good(&G.ro);
}

static void test_discard_readonly(void **state)
{
	(void)state;
	assert_int_equal(rf_put_discard(&G.ro, 0, 55, 0, 8, 0), 0);
	assert_int_equal(answer(&G.ro, 55, BLKIF_OP_DISCARD), BLKIF_RSP_ERROR);
	still_good(&G.ro);
}

static void test_discard_without_feature(void **state)
{
	char *v = rf_vbd_bkey(&G.v, "discard-secure");

	(void)state;
	/* Files have no secure discard: the backend published 0. */
	assert_non_null(v);
	assert_string_equal(v, "0");
	free(v);
	assert_int_equal(
		rf_put_discard(&G.v, 0, 56, 0, 8, BLKIF_DISCARD_SECURE), 0);
	assert_int_equal(answer(&G.v, 56, BLKIF_OP_DISCARD),
			 BLKIF_RSP_EOPNOTSUPP);
	/* A read-only disk publishes no discard at all. */
	v = rf_vbd_bkey(&G.ro, "feature-discard");
	assert_non_null(v);
	assert_string_equal(v, "0");
	free(v);
	still_good(&G.v);
}

static void test_bad_gref(void **state)
{
	struct rf_seg s[3] = {
		{G.buf.gref[0], 0, 7}, {123456, 0, 7}, {G.buf.gref[1], 0, 7}};

	(void)state;
	assert_int_equal(rw1(&G.v, BLKIF_OP_READ, 57, 0, 0xFFFFFFFF, 0, 7),
			 BLKIF_RSP_ERROR);
	assert_int_equal(rw1(&G.v, BLKIF_OP_WRITE, 58, 0, 0, 0, 7),
			 BLKIF_RSP_ERROR);
	assert_int_equal(rf_put_rw(&G.v, 0, BLKIF_OP_WRITE, 59, 0, 3, s), 0);
	assert_int_equal(answer(&G.v, 59, BLKIF_OP_WRITE), BLKIF_RSP_ERROR);
	still_good(&G.v);
}

static void test_gref_of_other_domain(void **state)
{
	/* f2 granted 200 pages to the backend; f granted far fewer refs, so
	 * f2's last refs are not f's grants at all. */
	pvio_grant_ref_t theirs = G.buf2.gref[199];
	uint8_t *mine = G.buf.addr + 2 * 4096;

	(void)state;
	memset(G.buf2.addr + 199 * 4096, 0x5a, 4096);
	/* Write "their" page to our disk: refused, nothing of it lands. */
	assert_int_equal(rw1(&G.v, BLKIF_OP_WRITE, 60, 64, theirs, 0, 7),
			 BLKIF_RSP_ERROR);
	memset(mine, 0, 4096);
	assert_int_equal(rf_rw_pages(&G.v, 0, BLKIF_OP_READ, 64, &G.buf, 2, 1),
			 BLKIF_RSP_OKAY);
	for (int i = 0; i < 4096; i++)
		assert_int_not_equal(mine[i], 0x5a);
	/* Read into "their" page: refused, their page untouched. */
	assert_int_equal(rw1(&G.v, BLKIF_OP_READ, 61, 0, theirs, 0, 7),
			 BLKIF_RSP_ERROR);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(G.buf2.addr[199 * 4096 + i], 0x5a);
	still_good(&G.v);
}

static struct rf_vbd *fresh_vbd(struct rf_front *f, const char *img)
{
	struct rf_vbd *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	assert_int_equal(
		rf_vbd_add(&G.w, v, f, &G.b, G.next_devid++, img, true, NULL),
		0);
	return v;
}

/* The backend refuses the frontend's keys: Closing + an error node. */
static void expect_refused(struct rf_vbd *v)
{
	char *e;

	assert_int_equal(rf_vbd_set_state(v, XenbusStateInitialised), 0);
	assert_int_equal(rf_vbd_wait_state(v, XenbusStateClosing, 5000), 0);
	e = rf_vbd_bkey(v, "error");
	assert_non_null(e);
	print_message("  refused: %s\n", e);
	free(e);
	assert_true(rf_back_alive(&G.b));
	rf_vbd_close(v, true);
	free(v);
	still_good(&G.v);
}

static void test_garbage_keys(void **state)
{
	static const struct {
		const char *key, *val;
	} bad[] = {
		{"ring-ref", "abc"},
		{"ring-ref", "-1"},
		{"ring-ref", "0x10"},
		{"ring-ref", "99999999999"},
		{"ring-ref", "4000"},
		{"event-channel", "x"},
		{"event-channel", "4095"},
		{"event-channel", ""},
		{"ring-page-order", "9"},
		{"ring-page-order", "1 "},
		{"multi-queue-num-queues", "0"},
		{"multi-queue-num-queues", "99"},
		{"multi-queue-num-queues", "two"},
		{"protocol", "sparc-abi"},
	};
	struct rf_conn c = {.persistent = true};

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct rf_vbd *v = fresh_vbd(&G.f, G.img2);

		print_message("  %s = '%s'\n", bad[i].key, bad[i].val);
		assert_int_equal(rf_vbd_rings(v, &c), 0);
		assert_int_equal(rf_vbd_write_keys(v), 0);
		assert_int_equal(rf_vbd_fkey(v, bad[i].key, bad[i].val), 0);
		expect_refused(v);
	}
}

static void test_padding_every_response(void **state)
{
	/* Mixed statuses in one batch; answer() checks each pad. */
	struct rf_seg ok = {G.buf.gref[3], 0, 7}, bad = {G.buf.gref[3], 6, 2};
	struct rf_rsp r;

	(void)state;
	for (int i = 0; i < 16; i++)
		assert_int_equal(rf_put_rw(&G.v, 0, BLKIF_OP_READ, 100 + i, i,
					   1, i & 1 ? &bad : &ok),
				 0);
	assert_int_equal(rf_push(&G.v, 0, false), 0);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(rf_get_rsp(&G.v, 0, &r, 5000), 0);
		assert_true(r.pad_zero);
		assert_int_equal(r.status,
				 (r.id & 1) ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY);
	}
}

static void test_toctou(void **state)
{
	/* Rewrite each request on the shared ring right after the push,
	 * many times: every answer must be that of one consistent version
	 * (the good read: OKAY with the data; the rewritten one: ERROR),
	 * never a crash or a mix. */
	struct rf_q *q = &G.v.q[0];
	struct rf_seg s = {G.buf.gref[4], 0, 7};
	uint8_t *page = G.buf.addr + 4 * 4096;
	unsigned int ok = 0, err = 0;

	(void)state;
	for (int i = 0; i < 4096; i++)
		G.buf.addr[5 * 4096 + i] = (uint8_t)(i * 3);
	assert_int_equal(
		rf_rw_pages(&G.v, 0, BLKIF_OP_WRITE, 200, &G.buf, 5, 1),
		BLKIF_RSP_OKAY);
	for (unsigned int n = 0; n < 300; n++) {
		uint32_t slot = q->r.prod_pvt & (q->r.size - 1);
		struct pvio_blkif_x86_64_request *shared =
			(void *)(q->ring + 64 + (size_t)slot * 112);
		struct rf_rsp r;

		memset(page, 0, 4096);
		assert_int_equal(
			rf_put_rw(&G.v, 0, BLKIF_OP_READ, 1000 + n, 200, 1, &s),
			0);
		assert_int_equal(rf_push(&G.v, 0, true), 0);
		/* Race the backend's copy. */
		if (n % 3 != 0) {
			struct timespec t0, t;
			long wait_ns = (long)(n % 60) * 1000;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			do
				clock_gettime(CLOCK_MONOTONIC, &t);
			while ((t.tv_sec - t0.tv_sec) * 1000000000L +
				       (t.tv_nsec - t0.tv_nsec) <
			       wait_ns);
		}
		/* Only fields past byte 16: the slot becomes the response
		 * (id, op, status in bytes 0..15) once answered. */
		shared->seg[0].last_sect = 200;
		shared->sector_number = UINT64_MAX;
		shared->seg[0].gref = 0xdeadbeef;
		assert_int_equal(rf_get_rsp(&G.v, 0, &r, 5000), 0);
		assert_true(r.pad_zero);
		assert_int_equal(r.id, 1000 + n);
		if (r.status == BLKIF_RSP_OKAY) {
			ok++;
			assert_memory_equal(page, G.buf.addr + 5 * 4096, 4096);
		} else {
			assert_int_equal(r.status, BLKIF_RSP_ERROR);
			err++;
		}
	}
	print_message("  toctou: %u served from the good copy, %u refused\n",
		      ok, err);
	still_good(&G.v);
}

static void test_producer_overflow(void **state)
{
	/* Another frontend's vbd on the same backend, connected first. */
	struct rf_vbd *other = fresh_vbd(&G.f2, G.img2);
	struct rf_vbd *evil = fresh_vbd(&G.f, G.img2);
	struct rf_conn c = {.persistent = true};
	char *e;

	(void)state;
	assert_int_equal(rf_vbd_connect(other, &c), 0);
	assert_int_equal(rf_vbd_connect(evil, &c), 0);
	/* req_prod more than a ring ahead of the responses. */
	{
		uint32_t *req_prod = (uint32_t *)evil->q[0].ring;

		__atomic_store_n(req_prod, evil->q[0].r.size + 5,
				 __ATOMIC_RELEASE);
	}
	rf_kick(evil, 0);
	assert_int_equal(rf_vbd_wait_state(evil, XenbusStateClosing, 5000), 0);
	e = rf_vbd_bkey(evil, "error");
	assert_non_null(e);
	print_message("  error node: %s\n", e);
	assert_non_null(strstr(e, "overflow"));
	free(e);
	assert_true(rf_back_alive(&G.b));
	/* The other frontend's vbd still works, with f2's own pages. */
	{
		struct rf_buf b;

		assert_int_equal(rf_buf_alloc(&G.f2, G.b.domid, 2, false, &b),
				 0);
		memset(b.addr, 0x77, 4096);
		assert_int_equal(
			rf_rw_pages(other, 0, BLKIF_OP_WRITE, 8, &b, 0, 1),
			BLKIF_RSP_OKAY);
		assert_int_equal(
			rf_rw_pages(other, 0, BLKIF_OP_READ, 8, &b, 1, 1),
			BLKIF_RSP_OKAY);
		assert_memory_equal(b.addr, b.addr + 4096, 4096);
		assert_int_equal(rf_vbd_close(other, true), 0);
		assert_int_equal(rf_buf_free(&G.f2, &b), 0);
	}
	rf_vbd_close(evil, true);
	free(evil);
	free(other);
	still_good(&G.v);
}

/* Put 'n' writes (not awaited) on queue 0 of v, pages of b. */
static void flood(struct rf_vbd *v, struct rf_buf *b, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct rf_seg s[4];

		for (int k = 0; k < 4; k++)
			s[k] = (struct rf_seg){b->gref[(i * 4 + k) % b->n], 0,
					       7};
		assert_int_equal(
			rf_put_rw(v, 0, BLKIF_OP_WRITE, i, i * 32, 4, s), 0);
	}
	assert_int_equal(rf_push(v, 0, true), 0);
}

static int counters_logged(void *arg)
{
	struct rf_counters c;

	return rf_back_counters(&G.b, arg, &c) == 0;
}

static void test_frontend_dies_in_flight(void **state)
{
	/* XSA-350 class: the frontend domain is destroyed while its writes
	 * are in flight; blkback drains them, unmaps everything (maps ==
	 * unmaps in its counters line) and serves the others. */
	struct rf_front f3;
	struct rf_vbd *v;
	struct rf_buf b;
	struct rf_conn c = {.persistent = true, .order = 2};
	char name[32], path[128];

	uint32_t before = rf_back_mapped(&G.w, &G.b);

	(void)state;
	assert_int_equal(rf_front_create(&G.w, &f3, 1024), 0);
	v = fresh_vbd(&f3, G.img2);
	assert_int_equal(rf_vbd_connect(v, &c), 0);
	assert_int_equal(rf_buf_alloc(&f3, G.b.domid, 64, false, &b), 0);
	flood(v, &b, 100);
	snprintf(name, sizeof(name), "%u/%u", f3.domid, v->devid);
	snprintf(path, sizeof(path), "%s", v->bpath);
	rf_front_destroy(&G.w, &f3);
	if (rf_wait(counters_logged, name, 5000) != 0) {
		char cmd[PATH_MAX + 80];

		snprintf(cmd, sizeof(cmd), "cat %s >&2", G.b.log);
		if (system(cmd) != 0)
			print_message("no log\n");
		fail_msg("vbd %s not torn down after its frontend died", name);
	}
	/* Every page it had mapped of the dead frontend is unmapped. */
	assert_int_equal(rf_back_mapped(&G.w, &G.b), before);
	/* The backend directory goes (pvio-hv may have removed it with
	 * the domain already). */
	int rc = pvio_xs_rm(G.w.xs, PVIO_XS_TX_NONE, path);
	assert_true(rc == 0 || rc == -ENOENT);
	free(v);
	assert_true(rf_back_alive(&G.b));
	still_good(&G.v);
}

static void test_backend_dir_removed_in_flight(void **state)
{
	/* The toolstack unplugs a vbd under load: torn down, nothing else
	 * disturbed. */
	struct rf_vbd *v = fresh_vbd(&G.f, G.img2);
	struct rf_conn c = {.persistent = false, .queues = 2};
	char name[32];

	uint32_t before = rf_back_mapped(&G.w, &G.b);

	(void)state;
	assert_int_equal(rf_vbd_connect(v, &c), 0);
	flood(v, &G.buf, 30);
	snprintf(name, sizeof(name), "%u/%u", G.f.domid, v->devid);
	assert_int_equal(pvio_xs_rm(G.w.xs, PVIO_XS_TX_NONE, v->bpath), 0);
	assert_int_equal(rf_wait(counters_logged, name, 5000), 0);
	assert_int_equal(rf_back_mapped(&G.w, &G.b), before);
	rf_vbd_close(v, true);
	free(v);
	assert_true(rf_back_alive(&G.b));
	still_good(&G.v);
}

static void test_blocking_eventfd(void **state)
{
	/* The eventfds of a channel are one open file description shared
	 * with the frontend: it can clear O_NONBLOCK on it and fill the
	 * counter of the fd blkback notifies it through, so that blkback's
	 * next notify write() blocks for good.  That may stall the
	 * frontend's own ring, never blkback: unplugging the vbd must still
	 * tear it down (no thread or main loop stuck), and the backend goes
	 * on serving and connecting others. */
	struct rf_vbd *evil = fresh_vbd(&G.f, G.img2);
	struct rf_conn c = {.persistent = false};
	struct rf_seg s = {G.buf.gref[3], 0, 7};
	uint64_t full = 0xfffffffffffffffeULL, cnt;
	char name[32];
	int fl;

	(void)state;
	assert_int_equal(rf_vbd_connect(evil, &c), 0);
	for (int i = 0; i < 2; i++) {
		int fd = i ? evil->q[0].kick_fd : evil->q[0].wait_fd;

		fl = fcntl(fd, F_GETFL);
		assert_true(fl >= 0);
		assert_int_equal(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK), 0);
	}
	assert_int_equal(write(evil->q[0].wait_fd, &full, sizeof(full)),
			 (ssize_t)sizeof(full));
	/* A request: its answer's notify is the write that would block. */
	assert_int_equal(rf_put_rw(evil, 0, BLKIF_OP_READ, 7, 0, 1, &s), 0);
	assert_int_equal(rf_push(evil, 0, true), 0);
	usleep(300 * 1000);
	snprintf(name, sizeof(name), "%u/%u", G.f.domid, evil->devid);
	assert_int_equal(pvio_xs_rm(G.w.xs, PVIO_XS_TX_NONE, evil->bpath), 0);
	if (rf_wait(counters_logged, name, 5000) != 0) {
		/* Unblock it so that the rest of the suite can run. */
		assert_int_equal(read(evil->q[0].wait_fd, &cnt, sizeof(cnt)),
				 (ssize_t)sizeof(cnt));
		fail_msg("vbd %s not torn down: blkback blocked in a notify",
			 name);
	}
	assert_true(rf_back_alive(&G.b));
	/* The main loop still serves: a new vbd connects and works. */
	{
		struct rf_vbd *v2 = fresh_vbd(&G.f2, G.img2);

		assert_int_equal(rf_vbd_connect(v2, &c), 0);
		assert_int_equal(
			rf_rw_pages(v2, 0, BLKIF_OP_READ, 0, &G.buf2, 0, 1),
			BLKIF_RSP_OKAY);
		rf_vbd_close(v2, true);
		free(v2);
	}
	fl = fcntl(evil->q[0].wait_fd, F_GETFL);
	assert_int_equal(fcntl(evil->q[0].wait_fd, F_SETFL, fl | O_NONBLOCK),
			 0);
	if (read(evil->q[0].wait_fd, &cnt, sizeof(cnt)) < 0) {
		/* already drained */
	}
	rf_vbd_close(evil, true);
	free(evil);
	still_good(&G.v);
}

/* CPU time (user + system, clock ticks) of process 'pid'. */
static long proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u "
				"%*u %*u %lu %lu",
				&ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

struct storm {
	int fd;
	atomic_bool stop;
	unsigned long kicks;
};

static void *storm_thread(void *arg)
{
	struct storm *s = arg;
	uint64_t one = 1;

	while (!atomic_load(&s->stop)) {
		if (write(s->fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
			s->kicks++;
	}
	return NULL;
}

static void test_event_storm(void **state)
{
	/* XSA-332 class: a frontend notifies without putting any request
	 * on the ring, as fast as it can.  Like Linux's lateeoi, blkback
	 * must back off from events that bring no work instead of burning a
	 * CPU on each (which starves the other vbds' queue threads); the
	 * storming ring still serves a request once the storm ends. */
	struct rf_vbd *evil = fresh_vbd(&G.f, G.img2);
	struct rf_conn c = {.persistent = true};
	struct storm st = {.fd = -1};
	long hz = sysconf(_SC_CLK_TCK), t0, t1;
	pthread_t thr;

	(void)state;
	assert_int_equal(rf_vbd_connect(evil, &c), 0);
	st.fd = evil->q[0].kick_fd;
	atomic_init(&st.stop, false);
	t0 = proc_cpu_ticks(G.b.pid);
	assert_true(t0 >= 0);
	assert_int_equal(pthread_create(&thr, NULL, storm_thread, &st), 0);
	usleep(1500 * 1000);
	atomic_store(&st.stop, true);
	pthread_join(thr, NULL);
	t1 = proc_cpu_ticks(G.b.pid);
	print_message("  storm: %lu kicks in 1.5 s, blkback used %ld ms CPU\n",
		      st.kicks, (t1 - t0) * 1000 / hz);
	/* At most a fifth of the storm's duration. */
	assert_true((t1 - t0) * 1000 / hz < 300);
	/* The same ring still answers (a real request ends the backoff,
	 * after at most its 1 s cap). */
	assert_int_equal(rf_rw_pages(evil, 0, BLKIF_OP_READ, 0, &G.buf, 6, 1),
			 BLKIF_RSP_OKAY);
	rf_vbd_close(evil, true);
	free(evil);
	still_good(&G.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_op),
		cmocka_unit_test(test_reserved_op_4),
		cmocka_unit_test(test_zero_segments),
		cmocka_unit_test(test_twelve_direct_segments),
		cmocka_unit_test(test_too_many_indirect_segments),
		cmocka_unit_test(test_bad_indirect_pages),
		cmocka_unit_test(test_indirect_op_invalid),
		cmocka_unit_test(test_indirect_bad_segment),
		cmocka_unit_test(test_first_after_last),
		cmocka_unit_test(test_last_sect_8),
		cmocka_unit_test(test_sector_overflow),
		cmocka_unit_test(test_past_end),
		cmocka_unit_test(test_write_readonly),
		cmocka_unit_test(test_discard_readonly),
		cmocka_unit_test(test_discard_without_feature),
		cmocka_unit_test(test_bad_gref),
		cmocka_unit_test(test_gref_of_other_domain),
		cmocka_unit_test(test_garbage_keys),
		cmocka_unit_test(test_padding_every_response),
		cmocka_unit_test(test_toctou),
		cmocka_unit_test(test_producer_overflow),
		cmocka_unit_test(test_frontend_dies_in_flight),
		cmocka_unit_test(test_backend_dir_removed_in_flight),
		cmocka_unit_test(test_blocking_eventfd),
		cmocka_unit_test(test_event_storm),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
