/* SPDX-License-Identifier: MIT */
/*
 * blkfront core against an in-process fake backend on a local ring:
 * request building (direct, indirect, discard, segment splits), response
 * validation (unknown id, duplicate, wrong op, an id never sent on this
 * ring -> -EPROTO, no crash), replay order after a reconnect.
 *
 * "Frames" are indexes into a local array of 4 KiB pages; a "grant" is
 * frame + 1000 (so the fake backend can turn it back into a page) and the
 * ops count grants and releases so leaks show.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "front_core.h"

#define NFRAMES 64
#define GREF_BASE 1000U
#define IPAGE_GREF_BASE 5000U

static unsigned char ipage_mem[16][4096] __attribute__((aligned(4096)));
static unsigned char sring[2][4096 * 2] __attribute__((aligned(4096)));

struct env {
	struct pvio_bfc_queue q;
	void *mem;
	int grants, releases, notifies;
	int fail_grant_after; /* -1: never */
	struct pvio_ring back;
};

static int op_grant(void *ctx, uint32_t frame, bool ro, uint32_t *gref)
{
	struct env *e = ctx;

	(void)ro;
	if (e->fail_grant_after == 0)
		return -ENOSPC;
	if (e->fail_grant_after > 0)
		e->fail_grant_after--;
	e->grants++;
	*gref = GREF_BASE + frame;
	return 0;
}

static void op_release(void *ctx, uint32_t gref)
{
	struct env *e = ctx;

	assert_true(gref >= GREF_BASE && gref < GREF_BASE + NFRAMES);
	e->releases++;
}

static void op_notify(void *ctx)
{
	((struct env *)ctx)->notifies++;
}

static const struct pvio_bfc_ops ops = {
	.grant = op_grant,
	.release = op_release,
	.notify = op_notify,
};

static struct pvio_bfc_ipage ipages[16];

static void env_connect(struct env *e, int ring, uint32_t max_indirect,
			uint32_t ngroups)
{
	struct pvio_bfc_conf c = {.handle = 51712,
				  .max_indirect = max_indirect,
				  .ipages = ipages,
				  .ngroups = ngroups};

	for (int i = 0; i < 16; i++) {
		ipages[i].va = ipage_mem[i];
		ipages[i].gref = IPAGE_GREF_BASE + (uint32_t)i;
	}
	memset(sring[ring], 0xAA, sizeof(sring[ring]));
	assert_int_equal(
		pvio_bfc_connect(&e->q, sring[ring], sizeof(sring[ring]), &c),
		0);
	assert_int_equal(pvio_ring_back_attach(
				 &e->back, sring[ring], sizeof(sring[ring]),
				 sizeof(union pvio_blkif_sring_entry),
				 sizeof(struct pvio_blkif_request),
				 sizeof(struct pvio_blkif_response), 0),
			 0);
}

static struct env *env_new(uint32_t nslots, uint32_t max_segs,
			   uint32_t max_groups)
{
	struct env *e = calloc(1, sizeof(*e));
	size_t sz = pvio_bfc_mem_size(nslots, max_segs, max_groups);

	assert_non_null(e);
	assert_true(sz > 0);
	e->mem = aligned_alloc(8, (sz + 7) & ~(size_t)7);
	assert_non_null(e->mem);
	e->fail_grant_after = -1;
	assert_int_equal(pvio_bfc_init(&e->q, e->mem, sz, nslots, max_segs,
				       max_groups, &ops, e),
			 0);
	return e;
}

static void env_free(struct env *e)
{
	free(e->mem);
	free(e);
}

/* Backend: take up to max requests (raw ring slots). */
static int back_take(struct env *e, union pvio_blkif_sring_entry *reqs,
		     unsigned int max)
{
	int n = pvio_ring_back_pending(&e->back);

	assert_true(n >= 0);
	if ((unsigned int)n > max)
		n = (int)max;
	return pvio_ring_back_consume(&e->back, reqs, (unsigned int)n);
}

static void back_answer(struct env *e, uint64_t id, uint8_t op, int16_t st)
{
	struct pvio_blkif_response r = {
		.id = id, .operation = op, .status = st};

	assert_int_equal(pvio_ring_back_produce(&e->back, &r, 1), 1);
	pvio_ring_back_push(&e->back);
}

static struct pvio_bfc_req rw(uint8_t op, uint64_t sector,
			      struct pvio_bfc_seg *segs, uint32_t n,
			      void *cookie)
{
	return (struct pvio_bfc_req){.op = op,
				     .sector = sector,
				     .segs = segs,
				     .nsegs = n,
				     .cookie = cookie};
}

static struct pvio_blkif_request_indirect
ent_ind(const union pvio_blkif_sring_entry *e)
{
	struct pvio_blkif_request_indirect ind;

	memcpy(&ind, e, sizeof(ind));
	return ind;
}

static uint64_t ent_sector(const union pvio_blkif_sring_entry *e)
{
	return e->req.operation == BLKIF_OP_INDIRECT ? ent_ind(e).sector_number
						     : e->req.sector_number;
}

static uint64_t ent_id(const union pvio_blkif_sring_entry *e)
{
	return e->req.operation == BLKIF_OP_INDIRECT ? ent_ind(e).id
						     : e->req.id;
}

/* ---------------------------------------------------------------------- */

static void test_seg_make(void **state)
{
	struct pvio_bfc_seg s;

	(void)state;
	assert_int_equal(pvio_bfc_seg_make(7, 0, 4096, &s), 0);
	assert_int_equal(s.frame, 7);
	assert_int_equal(s.first_sect, 0);
	assert_int_equal(s.last_sect, 7);
	assert_int_equal(pvio_bfc_seg_make(7, 1024, 1536, &s), 0);
	assert_int_equal(s.first_sect, 2);
	assert_int_equal(s.last_sect, 4);
	assert_int_equal(pvio_bfc_seg_make(7, 3584, 512, &s), 0);
	assert_int_equal(s.first_sect, 7);
	assert_int_equal(s.last_sect, 7);
	assert_int_equal(pvio_bfc_seg_make(7, 0, 0, &s), -EINVAL);
	assert_int_equal(pvio_bfc_seg_make(7, 100, 512, &s), -EINVAL);
	assert_int_equal(pvio_bfc_seg_make(7, 0, 1000, &s), -EINVAL);
	assert_int_equal(pvio_bfc_seg_make(7, 3584, 1024, &s), -EINVAL);
	assert_int_equal(pvio_bfc_seg_make(7, 4096, 512, &s), -EINVAL);
}

static void test_direct_roundtrip(void **state)
{
	struct env *e = env_new(64, 11, 0);
	struct pvio_bfc_seg segs[11];
	union pvio_blkif_sring_entry got[4];
	struct pvio_bfc_done done[4];
	struct pvio_bfc_req r;
	int cookie;

	(void)state;
	r = rw(BLKIF_OP_READ, 0, segs, 1, &cookie);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -ENOTCONN);
	env_connect(e, 0, 0, 0);
	/* A 3-segment write: frames 3,4 whole and the first 2 sectors of 5. */
	assert_int_equal(pvio_bfc_seg_make(3, 0, 4096, &segs[0]), 0);
	assert_int_equal(pvio_bfc_seg_make(4, 0, 4096, &segs[1]), 0);
	assert_int_equal(pvio_bfc_seg_make(5, 0, 1024, &segs[2]), 0);
	r = rw(BLKIF_OP_WRITE, (1ULL << 33) + 5, segs, 3, &cookie);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	assert_int_equal(pvio_bfc_push(&e->q), 0);
	assert_int_equal(e->notifies, 1);
	assert_int_equal(back_take(e, got, 4), 1);
	assert_int_equal(got[0].req.operation, BLKIF_OP_WRITE);
	assert_int_equal(got[0].req.nr_segments, 3);
	assert_int_equal(got[0].req.handle, 51712);
	assert_true(got[0].req.sector_number == (1ULL << 33) + 5);
	assert_int_equal(got[0].req.seg[0].gref, GREF_BASE + 3);
	assert_int_equal(got[0].req.seg[2].gref, GREF_BASE + 5);
	assert_int_equal(got[0].req.seg[2].first_sect, 0);
	assert_int_equal(got[0].req.seg[2].last_sect, 1);
	assert_int_equal(pvio_bfc_inflight(&e->q), 1);
	assert_int_equal(pvio_bfc_reap(&e->q, done, 4), 0);
	back_answer(e, got[0].req.id, BLKIF_OP_WRITE, BLKIF_RSP_OKAY);
	assert_int_equal(pvio_bfc_reap(&e->q, done, 4), 1);
	assert_ptr_equal(done[0].cookie, &cookie);
	assert_int_equal(done[0].status, 0);
	assert_int_equal(e->grants, 3);
	assert_int_equal(e->releases, 3);
	assert_int_equal(pvio_bfc_inflight(&e->q), 0);
	/* Error statuses map to errnos. */
	r = rw(BLKIF_OP_READ, 8, segs, 1, &cookie);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	pvio_bfc_push(&e->q);
	assert_int_equal(back_take(e, got, 4), 2);
	back_answer(e, got[1].req.id, BLKIF_OP_READ, BLKIF_RSP_ERROR);
	back_answer(e, got[0].req.id, BLKIF_OP_READ, BLKIF_RSP_EOPNOTSUPP);
	assert_int_equal(pvio_bfc_reap(&e->q, done, 4), 2);
	assert_int_equal(done[0].status, -EIO);
	assert_int_equal(done[1].status, -EOPNOTSUPP);
	env_free(e);
}

static void test_malformed_requests(void **state)
{
	struct env *e = env_new(8, 11, 0);
	struct pvio_bfc_seg segs[12];
	struct pvio_bfc_req r;

	(void)state;
	env_connect(e, 0, 0, 0);
	for (int i = 0; i < 12; i++)
		assert_int_equal(
			pvio_bfc_seg_make((uint32_t)i, 0, 4096, &segs[i]), 0);
	r = rw(BLKIF_OP_READ, 0, segs, 0, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EINVAL);
	r = rw(BLKIF_OP_READ, 0, segs, 12, NULL); /* no indirect */
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EINVAL);
	r = rw(BLKIF_OP_RESERVED_1, 0, segs, 1, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EINVAL);
	r = rw(BLKIF_OP_INDIRECT, 0, segs, 1, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EINVAL);
	r = rw(BLKIF_OP_READ, UINT64_MAX - 2, segs, 1, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EINVAL);
	segs[0].first_sect = 5;
	segs[0].last_sect = 4;
	r = rw(BLKIF_OP_READ, 0, segs, 1, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EINVAL);
	r = (struct pvio_bfc_req){.op = BLKIF_OP_DISCARD, .nr_sectors = 0};
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EINVAL);
	/* A grant failure mid-request releases what was granted. */
	assert_int_equal(pvio_bfc_seg_make(0, 0, 4096, &segs[0]), 0);
	e->fail_grant_after = 2;
	r = rw(BLKIF_OP_WRITE, 0, segs, 4, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -ENOSPC);
	assert_int_equal(e->grants, 2);
	assert_int_equal(e->releases, 2);
	assert_int_equal(pvio_bfc_inflight(&e->q), 0);
	/* Ring full: 8 slots (2-page ring has 64, but 8 ids). */
	e->fail_grant_after = -1;
	r = rw(BLKIF_OP_READ, 0, segs, 1, NULL);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EAGAIN);
	env_free(e);
}

static void test_indirect_and_discard(void **state)
{
	struct env *e = env_new(16, 600, 2);
	static struct pvio_bfc_seg segs[600];
	union pvio_blkif_sring_entry got[4];
	struct pvio_bfc_done done[4];
	struct pvio_bfc_req r;

	(void)state;
	env_connect(e, 1, 600, 2); /* 2 pages per group */
	for (int i = 0; i < 600; i++)
		assert_int_equal(pvio_bfc_seg_make((uint32_t)(i % NFRAMES),
						   (uint32_t)(i % 8) * 512, 512,
						   &segs[i]),
				 0);
	r = rw(BLKIF_OP_READ, 100, segs, 600, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	r = rw(BLKIF_OP_WRITE, 100, segs, 12, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	/* Both groups are in use: a third indirect request must wait. */
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EAGAIN);
	/* A barrier cannot be indirect. */
	r = rw(BLKIF_OP_WRITE_BARRIER, 100, segs, 12, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EINVAL);
	r = (struct pvio_bfc_req){.op = BLKIF_OP_DISCARD,
				  .flag = BLKIF_DISCARD_SECURE,
				  .sector = 1ULL << 40,
				  .nr_sectors = 4096};
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	r = (struct pvio_bfc_req){.op = BLKIF_OP_FLUSH_DISKCACHE};
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	pvio_bfc_push(&e->q);
	assert_int_equal(back_take(e, got, 4), 4);

	struct pvio_blkif_request_indirect ind;
	memcpy(&ind, &got[0], sizeof(ind));
	assert_int_equal(ind.operation, BLKIF_OP_INDIRECT);
	assert_int_equal(ind.indirect_op, BLKIF_OP_READ);
	assert_int_equal(ind.nr_segments, 600);
	assert_int_equal(ind.handle, 51712);
	assert_int_equal(ind.sector_number, 100);
	/* Group 0 = ipages 0,1. */
	assert_int_equal(ind.indirect_grefs[0], IPAGE_GREF_BASE + 0);
	assert_int_equal(ind.indirect_grefs[1], IPAGE_GREF_BASE + 1);
	const struct pvio_blkif_request_segment *d0 = (void *)ipage_mem[0];
	const struct pvio_blkif_request_segment *d1 = (void *)ipage_mem[1];
	assert_int_equal(d0[0].gref, GREF_BASE + 0);
	assert_int_equal(d0[9].first_sect, 1);
	assert_int_equal(d0[9].last_sect, 1);
	assert_int_equal(d1[599 - 512].gref, GREF_BASE + 599 % NFRAMES);
	assert_int_equal(d1[599 - 512].first_sect, 599 % 8);

	struct pvio_blkif_request_indirect ind2;
	memcpy(&ind2, &got[1], sizeof(ind2));
	assert_int_equal(ind2.operation, BLKIF_OP_INDIRECT);
	assert_int_equal(ind2.indirect_op, BLKIF_OP_WRITE);
	assert_int_equal(ind2.nr_segments, 12);
	assert_int_equal(ind2.indirect_grefs[0], IPAGE_GREF_BASE + 2);

	struct pvio_blkif_request_discard dis;
	memcpy(&dis, &got[2], sizeof(dis));
	assert_int_equal(dis.operation, BLKIF_OP_DISCARD);
	assert_int_equal(dis.flag, BLKIF_DISCARD_SECURE);
	assert_true(dis.sector_number == 1ULL << 40);
	assert_int_equal(dis.nr_sectors, 4096);
	assert_int_equal(got[3].req.operation, BLKIF_OP_FLUSH_DISKCACHE);
	assert_int_equal(got[3].req.nr_segments, 0);

	/* Indirect answered with its indirect_op (Linux) and with
	 * BLKIF_OP_INDIRECT: both accepted. */
	back_answer(e, ind.id, BLKIF_OP_READ, 0);
	back_answer(e, ind2.id, BLKIF_OP_INDIRECT, 0);
	back_answer(e, dis.id, BLKIF_OP_DISCARD, 0);
	back_answer(e, got[3].req.id, BLKIF_OP_FLUSH_DISKCACHE, 0);
	assert_int_equal(pvio_bfc_reap(&e->q, done, 4), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(done[i].status, 0);
	assert_int_equal(e->grants, 612);
	assert_int_equal(e->releases, 612);
	/* The groups are free again. */
	r = rw(BLKIF_OP_WRITE, 100, segs, 12, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	env_free(e);
}

/* Each hostile response stops the queue with -EPROTO, nothing else. */
enum bad { BAD_UNKNOWN, BAD_DUP, BAD_OP, BAD_OP_INDIRECT, BAD_OVERFLOW };

static void hostile(enum bad what)
{
	struct env *e = env_new(32, 11, 0);
	struct pvio_bfc_seg seg;
	union pvio_blkif_sring_entry got[4];
	struct pvio_bfc_done done[8];
	struct pvio_bfc_req r;
	int c1, c2, n;

	env_connect(e, 0, 0, 0);
	assert_int_equal(pvio_bfc_seg_make(1, 0, 4096, &seg), 0);
	r = rw(BLKIF_OP_READ, 0, &seg, 1, &c1);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	r.cookie = &c2;
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	pvio_bfc_push(&e->q);
	assert_int_equal(back_take(e, got, 4), 2);
	switch (what) {
	case BAD_UNKNOWN:
		back_answer(e, got[0].req.id ^ 0x5a5a0000ULL, BLKIF_OP_READ, 0);
		break;
	case BAD_DUP:
		back_answer(e, got[0].req.id, BLKIF_OP_READ, 0);
		back_answer(e, got[0].req.id, BLKIF_OP_READ, 0);
		break;
	case BAD_OP:
		back_answer(e, got[0].req.id, BLKIF_OP_WRITE, 0);
		break;
	case BAD_OP_INDIRECT:
		/* INDIRECT is only right for an indirect request. */
		back_answer(e, got[0].req.id, BLKIF_OP_INDIRECT, 0);
		break;
	case BAD_OVERFLOW: {
		/* More responses than requests: libchannel's check. */
		struct pvio_sring_header *h = (void *)sring[0];
		h->rsp_prod = 50;
		break;
	}
	}
	n = pvio_bfc_reap(&e->q, done, 8);
	if (what == BAD_DUP) {
		/* The first answer is good and delivered; then the stop. */
		assert_int_equal(n, 1);
		assert_ptr_equal(done[0].cookie, &c1);
		n = pvio_bfc_reap(&e->q, done, 8);
	}
	assert_int_equal(n, -EPROTO);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EPROTO);
	assert_int_equal(pvio_bfc_final_check(&e->q), -EPROTO);
	/* The caller gets every request back, grants released. */
	n = pvio_bfc_fail_all(&e->q, -EPROTO, done, 8);
	assert_int_equal(n, what == BAD_DUP ? 1 : 2);
	for (int i = 0; i < n; i++)
		assert_int_equal(done[i].status, -EPROTO);
	assert_int_equal(pvio_bfc_inflight(&e->q), 0);
	assert_int_equal(e->grants, e->releases);
	env_free(e);
}

static void test_bad_unknown_id(void **s)
{
	(void)s;
	hostile(BAD_UNKNOWN);
}
static void test_bad_duplicate_id(void **s)
{
	(void)s;
	hostile(BAD_DUP);
}
static void test_bad_operation(void **s)
{
	(void)s;
	hostile(BAD_OP);
}
static void test_bad_operation_indirect(void **s)
{
	(void)s;
	hostile(BAD_OP_INDIRECT);
}
static void test_bad_overflow(void **s)
{
	(void)s;
	hostile(BAD_OVERFLOW);
}

/* Replay: in-flight requests go onto a new ring oldest first, with fresh
 * grants; an id of the old ring answered on the new one is refused. */
static void test_replay_order(void **state)
{
	struct env *e = env_new(64, 600, 8);
	static struct pvio_bfc_seg segs[20];
	union pvio_blkif_sring_entry got[64];
	struct pvio_bfc_done done[64];
	int cookies[10];
	uint64_t old_ids[10];
	struct pvio_bfc_req r;

	(void)state;
	env_connect(e, 0, 600, 5);
	for (int i = 0; i < 20; i++)
		pvio_bfc_seg_make((uint32_t)i, 0, 4096, &segs[i]);
	for (int i = 0; i < 10; i++) {
		/* Mixed: odd ones are indirect (20 segments). */
		r = rw(i % 3 ? BLKIF_OP_WRITE : BLKIF_OP_READ, (uint64_t)i * 8,
		       segs, i % 2 ? 20 : 1, &cookies[i]);
		assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	}
	pvio_bfc_push(&e->q);
	assert_int_equal(back_take(e, got, 64), 10);
	for (int i = 0; i < 10; i++)
		old_ids[i] = got[i].req.id;
	/* Complete #3 before the crash. */
	back_answer(e, old_ids[3], BLKIF_OP_READ, 0);
	assert_int_equal(pvio_bfc_reap(&e->q, done, 64), 1);
	assert_ptr_equal(done[0].cookie, &cookies[3]);
	int granted_before = e->grants - e->releases;
	assert_true(granted_before > 0);

	/* The backend dies. */
	pvio_bfc_disconnect(&e->q);
	assert_int_equal(e->grants, e->releases);
	assert_int_equal(pvio_bfc_inflight(&e->q), 9);
	r = rw(BLKIF_OP_READ, 0, segs, 1, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -ENOTCONN);

	/* A new backend, a new ring, with one indirect group only, so
	 * replay comes in rounds. */
	env_connect(e, 1, 600, 1);
	int n1 = pvio_bfc_replay(&e->q);
	assert_true(n1 > 0); /* #5 (3rd indirect) waits for a group */
	int got1 = back_take(e, got, 64);
	/* Oldest first: 0,1,2,4, then 5 needs a group: none. */
	assert_int_equal(got1, 4);
	uint64_t expect_sector[] = {0, 8, 16, 32};
	for (int i = 0; i < got1; i++) {
		uint64_t sec = ent_sector(&got[i]);
		assert_true(sec == expect_sector[i]);
	}
	/* New submissions do not overtake replay. */
	assert_int_equal(pvio_bfc_submit(&e->q, &r), -EAGAIN);
	/* The old ring's id for #0 is the same id (shadow kept). */
	assert_true(got[0].req.id == old_ids[0]);
	/* Answer #1 (indirect): frees a group; reap replays more. */
	struct pvio_blkif_request_indirect ind;
	memcpy(&ind, &got[1], sizeof(ind));
	assert_true(ind.id == old_ids[1]);
	back_answer(e, ind.id, BLKIF_OP_WRITE, 0);
	assert_int_equal(pvio_bfc_reap(&e->q, done, 64), 1);
	assert_ptr_equal(done[0].cookie, &cookies[1]);
	int got2 = back_take(e, got + 4, 60);
	assert_int_equal(got2, 2); /* #5 indirect, #6 direct; #7 waits */
	memcpy(&ind, &got[4], sizeof(ind));
	assert_true(ind.sector_number == 40);
	assert_true(got[5].req.sector_number == 48);
	assert_int_equal(e->q.stats.replayed, 6);
	/* Drain everything. */
	int left = 8, rounds = 0, taken = 6;
	union pvio_blkif_sring_entry pend[64];
	memcpy(pend, got, sizeof(union pvio_blkif_sring_entry) * 6);
	int ndone = 0;
	while (left > 0 && rounds++ < 20) {
		for (int i = 0; i < taken; i++) {
			uint8_t op = pend[i].req.operation;
			if (op == BLKIF_OP_INDIRECT)
				op = ent_ind(&pend[i]).indirect_op;
			if (i == 1 && rounds == 1)
				continue; /* #1 already answered */
			back_answer(e, ent_id(&pend[i]), op, 0);
		}
		int n = pvio_bfc_reap(&e->q, done, 64);
		assert_true(n >= 0);
		left -= n;
		ndone += n;
		taken = back_take(e, pend, 64);
	}
	assert_int_equal(left, 0);
	assert_int_equal(pvio_bfc_inflight(&e->q), 0);
	assert_int_equal(e->grants, e->releases);
	(void)ndone;
	env_free(e);
}

/* An id that exists but was never sent on the current ring (waiting for
 * replay) must not be accepted from the new backend. */
static void test_bad_id_not_on_ring(void **state)
{
	struct env *e = env_new(8, 600, 2);
	struct pvio_bfc_seg segs[20];
	union pvio_blkif_sring_entry got[8];
	struct pvio_bfc_done done[8];
	struct pvio_bfc_req r;

	(void)state;
	env_connect(e, 0, 600, 2);
	for (int i = 0; i < 20; i++)
		pvio_bfc_seg_make((uint32_t)i, 0, 4096, &segs[i]);
	r = rw(BLKIF_OP_READ, 0, segs, 20, NULL);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	r.sector = 64;
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	pvio_bfc_push(&e->q);
	assert_int_equal(back_take(e, got, 8), 2);
	uint64_t id1 = ent_id(&got[1]);
	pvio_bfc_disconnect(&e->q);
	env_connect(e, 1, 600, 1); /* one group: #1 waits for #0 */
	assert_int_equal(pvio_bfc_replay(&e->q), 1);
	assert_int_equal(back_take(e, got, 8), 1);
	back_answer(e, id1, BLKIF_OP_READ, 0);
	assert_int_equal(pvio_bfc_reap(&e->q, done, 8), -EPROTO);
	assert_int_equal(pvio_bfc_fail_all(&e->q, -EPROTO, done, 8), 2);
	assert_int_equal(e->grants, e->releases);
	env_free(e);
}

/* A request too big for the new backend fails with -EIO at replay. */
static void test_replay_shrunk(void **state)
{
	struct env *e = env_new(8, 600, 1);
	struct pvio_bfc_seg segs[20];
	union pvio_blkif_sring_entry got[8];
	struct pvio_bfc_done done[8];
	struct pvio_bfc_req r;
	int c0, c1;

	(void)state;
	env_connect(e, 0, 600, 1);
	for (int i = 0; i < 20; i++)
		pvio_bfc_seg_make((uint32_t)i, 0, 4096, &segs[i]);
	r = rw(BLKIF_OP_READ, 0, segs, 20, &c0);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	r = rw(BLKIF_OP_READ, 0, segs, 2, &c1);
	assert_int_equal(pvio_bfc_submit(&e->q, &r), 0);
	pvio_bfc_disconnect(&e->q);
	env_connect(e, 1, 0, 0); /* direct only now */
	assert_int_equal(pvio_bfc_replay(&e->q), 0);
	assert_int_equal(back_take(e, got, 8), 1);
	assert_int_equal(got[0].req.nr_segments, 2);
	back_answer(e, got[0].req.id, BLKIF_OP_READ, 0);
	int n = pvio_bfc_reap(&e->q, done, 8);
	assert_int_equal(n, 2);
	assert_ptr_equal(done[0].cookie, &c0);
	assert_int_equal(done[0].status, -EIO);
	assert_ptr_equal(done[1].cookie, &c1);
	assert_int_equal(done[1].status, 0);
	assert_int_equal(e->grants, e->releases);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seg_make),
		cmocka_unit_test(test_direct_roundtrip),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_indirect_and_discard),
		cmocka_unit_test(test_bad_unknown_id),
		cmocka_unit_test(test_bad_duplicate_id),
		cmocka_unit_test(test_bad_operation),
		cmocka_unit_test(test_bad_operation_indirect),
		cmocka_unit_test(test_bad_overflow),
		cmocka_unit_test(test_replay_order),
		cmocka_unit_test(test_bad_id_not_on_ring),
		cmocka_unit_test(test_replay_shrunk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
