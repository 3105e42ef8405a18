/* SPDX-License-Identifier: MIT */
/*
 * The grant-mapping budget (blkback/README.md, "Mapping budget").
 *
 * pvio-hv lets one domain hold PVIO_HV_MAPTRACK (16384) foreign mappings
 * in total, across every vbd its blkback serves.  A greedy frontend must
 * not be able to use them all up: then another frontend could not even
 * get its ring mapped at connect.  Each case below runs greedy frontends
 * that ask for far more than their share, and checks that
 *   - every request of the greedy frontends still succeeds (a request
 *     that does not fit the queue's budget waits for room, it is not
 *     failed),
 *   - another frontend connects and reads back what it wrote,
 *   - the backend domain stays inside the pool (pvio-hv's count).
 * The last case shrinks the pool with --max-grants and checks that a
 * connect that cannot get even one worst-case request's worth of
 * mappings is refused cleanly (error node, Closing) and that budgets
 * come back when a vbd goes away.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <pvio/grant.h>
#include <pvio/io/xenbus.h>

#include "rawfront.h"

#define DISK_BYTES (4ULL << 20)
#define SEGS 256U   /* segments per indirect request (--max-indirect) */
#define QUEUES 4U   /* greedy vbds: 4 queues ... */
#define ORDER 4U    /* ... of 512 slots each */
#define REQS 9U	    /* indirect requests per queue, distinct grants each */
#define DFRAMES 64U /* data frames, each granted many times */
#define POOL_MAX 16384U

struct greedy {
	struct rf_front f;
	struct rf_vbd v;
	uint8_t *mem;
	uint32_t pfn;
	unsigned int nframes;
	pvio_grant_ref_t *refs; /* data grants */
	unsigned int nrefs;
	pvio_grant_ref_t iref[QUEUES]; /* one indirect page per queue */
};

static struct {
	struct rf_world w;
	struct rf_back b;
	struct rf_front fv; /* the victim */
	struct rf_vbd v;
	struct rf_buf buf;
	char img[PATH_MAX + 64];
	uint32_t devid;
} G;

static int start(const char *const *args)
{
	memset(&G, 0, sizeof(G));
	if (rf_world_start(&G.w) || rf_back_start(&G.w, &G.b, args) ||
	    rf_back_wait_ready(&G.w, &G.b, 5000) ||
	    rf_front_create(&G.w, &G.fv, 256))
		return -1;
	if (rf_make_image(G.w.hv.dir, "disk.img", DISK_BYTES, G.img,
			  sizeof(G.img)))
		return -1;
	if (rf_buf_alloc(&G.fv, G.b.domid, 8, false, &G.buf))
		return -1;
	G.devid = 51712;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return start(NULL);
}

static int setup_small(void **state)
{
	/* 1024 mappings: 64 kept for rings, 960 for queue budgets; 400 a
	 * queue, one worst-case request (256 + 1 pages) at least. */
	static const char *const args[] = {"--max-grants", "1024",
					   "--queue-grants", "400", NULL};

	(void)state;
	return start(args);
}

static int teardown(void **state)
{
	int rc = 0;

	(void)state;
	if (!rf_back_alive(&G.b))
		rc = -1;
	rf_buf_free(&G.fv, &G.buf);
	if (rf_back_stop(&G.w, &G.b) != 0)
		rc = -1;
	rf_front_destroy(&G.w, &G.fv);
	if (rf_world_stop(&G.w) != 0)
		rc = -1;
	return rc;
}

/* A frontend with 'nrefs' data grants over DFRAMES frames (the same frame
 * granted many times: each grant is its own mapping for the backend) and
 * one indirect page per queue. */
static void greedy_start(struct greedy *g, unsigned int nrefs,
			 const struct rf_conn *c)
{
	int err = 0;

	memset(g, 0, sizeof(*g));
	assert_int_equal(rf_front_create(&G.w, &g->f, 512), 0);
	g->nframes = DFRAMES + QUEUES;
	g->mem = pvio_dom_mem_alloc(g->f.dom, g->nframes, &g->pfn, &err);
	assert_non_null(g->mem);
	g->refs = calloc(nrefs, sizeof(*g->refs));
	assert_non_null(g->refs);
	for (unsigned int i = 0; i < nrefs; i++) {
		int r = pvio_gnt_share_grant_access(
			pvio_dom_gnttab(g->f.dom), G.b.domid,
			g->pfn + i % DFRAMES, false);

		assert_true(r > 0);
		g->refs[i] = (pvio_grant_ref_t)r;
		g->nrefs++;
	}
	for (unsigned int q = 0; q < QUEUES; q++) {
		int r = pvio_gnt_share_grant_access(
			pvio_dom_gnttab(g->f.dom), G.b.domid,
			g->pfn + DFRAMES + q, false);

		assert_true(r > 0);
		g->iref[q] = (pvio_grant_ref_t)r;
	}
	assert_int_equal(rf_vbd_add(&G.w, &g->v, &g->f, &G.b, G.devid++, G.img,
				    true, NULL),
			 0);
	assert_int_equal(rf_vbd_connect(&g->v, c), 0);
}

static void greedy_stop(struct greedy *g)
{
	rf_vbd_close(&g->v, true);
	/* Destroying the domain ends its grants and frees its memory. */
	rf_front_destroy(&G.w, &g->f);
	free(g->refs);
	memset(g, 0, sizeof(*g));
}

/* Indirect page of queue q: SEGS segments over refs[first..]. */
static void fill_indirect(struct greedy *g, unsigned int q, unsigned int first)
{
	struct pvio_blkif_request_segment *d =
		(void *)(g->mem + (size_t)(DFRAMES + q) * 4096);

	for (unsigned int i = 0; i < SEGS; i++)
		d[i] = (struct pvio_blkif_request_segment){
			g->refs[(first + i) % g->nrefs], 0, 7};
}

/* REQS rounds of one SEGS-segment read per queue, each over grants not
 * used before.  Returns how many were not answered OKAY. */
static unsigned int greedy_persistent_run(struct greedy *g)
{
	unsigned int bad = 0;
	uint64_t id = 1;

	for (unsigned int k = 0; k < REQS; k++) {
		for (unsigned int q = 0; q < QUEUES; q++) {
			fill_indirect(g, q, (k * QUEUES + q) * SEGS);
			assert_int_equal(rf_put_indirect(&g->v, q,
							 BLKIF_OP_READ, id++, 0,
							 SEGS, &g->iref[q], 1),
					 0);
			assert_int_equal(rf_push(&g->v, q, false), 0);
		}
		for (unsigned int q = 0; q < QUEUES; q++) {
			struct rf_rsp r;

			assert_int_equal(rf_get_rsp(&g->v, q, &r, 10000), 0);
			assert_true(r.pad_zero);
			if (r.status != BLKIF_RSP_OKAY)
				bad++;
		}
	}
	return bad;
}

/* The victim: write a pattern, read it back through other pages. */
static void victim_rw(struct rf_vbd *v, uint8_t seed)
{
	memset(G.buf.addr, seed, 4 * 4096);
	for (unsigned int i = 0; i < 4 * 4096; i += 64)
		G.buf.addr[i] = (uint8_t)(seed + i / 64);
	memset(G.buf.addr + 4 * 4096, 0, 4 * 4096);
	assert_int_equal(rf_rw_pages(v, 0, BLKIF_OP_WRITE, 64, &G.buf, 0, 4),
			 BLKIF_RSP_OKAY);
	assert_int_equal(rf_rw_pages(v, 0, BLKIF_OP_READ, 64, &G.buf, 4, 4),
			 BLKIF_RSP_OKAY);
	assert_memory_equal(G.buf.addr, G.buf.addr + 4 * 4096, 4 * 4096);
}

static void test_greedy_persistent(void **state)
{
	struct rf_conn gc = {
		.queues = QUEUES, .order = ORDER, .persistent = true};
	struct rf_conn vc = {.persistent = true};
	struct greedy *g = calloc(2, sizeof(*g));
	unsigned int bad[2];
	uint32_t mapped;

	(void)state;
	assert_non_null(g);
	/* Two frontends (a grant table holds 16384 entries), each keeping
	 * 4 x 9 x 256 distinct grants in use over time: 18432 together,
	 * more than the backend domain may map at all.  Before the budget
	 * every one stayed in a persistent cache (4096 a queue). */
	for (int i = 0; i < 2; i++) {
		greedy_start(&g[i], QUEUES * REQS * SEGS, &gc);
		bad[i] = greedy_persistent_run(&g[i]);
	}
	mapped = rf_back_mapped(&G.w, &G.b);
	print_message("  greedy: %u + %u failed requests, backend holds %u "
		      "mappings\n",
		      bad[0], bad[1], mapped);
	/* Another frontend still connects, reads and writes. */
	assert_int_equal(rf_vbd_add(&G.w, &G.v, &G.fv, &G.b, G.devid++, G.img,
				    true, NULL),
			 0);
	assert_int_equal(rf_vbd_connect(&G.v, &vc), 0);
	victim_rw(&G.v, 0x5a);
	/* And the greedy ones were served, inside the pool (queue budgets
	 * plus the rings of the three vbds). */
	assert_int_equal(bad[0], 0);
	assert_int_equal(bad[1], 0);
	assert_true(mapped <= POOL_MAX - POOL_MAX / 16 + 2 * QUEUES * 16);
	/* Still served after the victim came. */
	assert_int_equal(greedy_persistent_run(&g[1]), 0);
	victim_rw(&G.v, 0xa5);
	assert_true(rf_back_alive(&G.b));
	for (int i = 0; i < 2; i++)
		greedy_stop(&g[i]);
	rf_vbd_close(&G.v, true);
	free(g);
}

/* 64 reads of SEGS segments each, all on the ring before one push: one
 * consume batch that maps 64 x 257 pages if nothing stops it. */
#define BIG 64U

static void greedy_batch_put(struct greedy *g)
{
	fill_indirect(g, 0, 0);
	for (unsigned int k = 0; k < BIG; k++)
		assert_int_equal(rf_put_indirect(&g->v, 0, BLKIF_OP_READ,
						 100 + k, 0, SEGS, &g->iref[0],
						 1),
				 0);
	assert_int_equal(rf_push(&g->v, 0, true), 0);
}

static unsigned int greedy_batch_collect(struct greedy *g)
{
	unsigned int bad = 0;

	for (unsigned int k = 0; k < BIG; k++) {
		struct rf_rsp r;

		assert_int_equal(rf_get_rsp(&g->v, 0, &r, 10000), 0);
		assert_true(r.pad_zero);
		if (r.status != BLKIF_RSP_OKAY)
			bad++;
	}
	return bad;
}

static void test_greedy_per_request(void **state)
{
	/* No persistent grants: every segment is mapped per request. */
	struct rf_conn gc = {.queues = 1, .order = 1, .persistent = false};
	struct rf_conn vc = {.persistent = false};
	struct greedy *g = calloc(2, sizeof(*g));
	unsigned int bad[2];

	(void)state;
	assert_non_null(g);
	assert_int_equal(rf_vbd_add(&G.w, &G.v, &G.fv, &G.b, G.devid++, G.img,
				    true, NULL),
			 0);
	assert_int_equal(rf_vbd_connect(&G.v, &vc), 0);
	for (int i = 0; i < 2; i++)
		greedy_start(&g[i], SEGS, &gc);
	greedy_batch_put(&g[0]);
	greedy_batch_put(&g[1]);
	/* While both batches are in flight. */
	victim_rw(&G.v, 0x3c);
	bad[0] = greedy_batch_collect(&g[0]);
	bad[1] = greedy_batch_collect(&g[1]);
	print_message("  greedy batches: %u + %u of %u failed\n", bad[0],
		      bad[1], BIG);
	assert_int_equal(bad[0], 0);
	assert_int_equal(bad[1], 0);
	victim_rw(&G.v, 0xc3);
	assert_true(rf_back_alive(&G.b));
	for (int i = 0; i < 2; i++)
		greedy_stop(&g[i]);
	rf_vbd_close(&G.v, true);
	/* Nothing stays mapped once every vbd is gone. */
	assert_int_equal(rf_back_mapped(&G.w, &G.b), 0);
	free(g);
}

static void test_pool_exhausted(void **state)
{
	struct rf_conn c = {.persistent = true};
	struct rf_vbd *a = calloc(3, sizeof(*a)), *b = a + 1, *d = a + 2;
	char *e, *st;

	(void)state;
	assert_non_null(a);
	/* Two queues get 400 each; 160 left is less than one worst-case
	 * request (257 pages). */
	assert_int_equal(
		rf_vbd_add(&G.w, a, &G.fv, &G.b, G.devid++, G.img, true, NULL),
		0);
	assert_int_equal(rf_vbd_connect(a, &c), 0);
	assert_int_equal(
		rf_vbd_add(&G.w, b, &G.fv, &G.b, G.devid++, G.img, true, NULL),
		0);
	assert_int_equal(rf_vbd_connect(b, &c), 0);
	assert_int_equal(rf_vbd_add(&G.w, &G.v, &G.fv, &G.b, G.devid++, G.img,
				    true, NULL),
			 0);
	assert_int_equal(rf_vbd_rings(&G.v, &c), 0);
	assert_int_equal(rf_vbd_write_keys(&G.v), 0);
	assert_int_equal(rf_vbd_set_state(&G.v, XenbusStateInitialised), 0);
	assert_int_equal(rf_vbd_wait_state(&G.v, XenbusStateClosing, 5000), 0);
	e = rf_vbd_bkey(&G.v, "error");
	assert_non_null(e);
	print_message("  refused: %s\n", e);
	assert_non_null(strstr(e, "budget"));
	free(e);
	/* The others are unaffected. */
	victim_rw(a, 0x11);
	victim_rw(b, 0x22);
	rf_vbd_close(&G.v, true);
	/* A vbd going away gives its budget back. */
	rf_vbd_close(a, true);
	assert_int_equal(
		rf_vbd_add(&G.w, d, &G.fv, &G.b, G.devid++, G.img, true, NULL),
		0);
	assert_int_equal(rf_vbd_connect(d, &c), 0);
	victim_rw(d, 0x33);
	st = rf_vbd_bkey(d, "state");
	assert_non_null(st);
	assert_int_equal(atoi(st), XenbusStateConnected);
	free(st);
	assert_true(rf_back_alive(&G.b));
	rf_vbd_close(b, true);
	rf_vbd_close(d, true);
	free(a);
}

static int counters_logged(void *arg)
{
	struct rf_counters c;

	return rf_back_counters(&G.b, arg, &c) == 0;
}

/* The budget costs nothing in the steady state: QD32 4 KiB over 32
 * distinct pages with persistent grants maps each page once. */
static void test_steady_state_no_hypercalls(void **state)
{
	struct rf_conn c = {.persistent = true};
	struct rf_buf b;
	struct rf_counters cnt;
	char name[32];
	uint64_t id = 1;

	(void)state;
	assert_int_equal(rf_buf_alloc(&G.fv, G.b.domid, 32, false, &b), 0);
	assert_int_equal(
		rf_vbd_add(&G.w, &G.v, &G.fv, &G.b, G.devid, G.img, true, NULL),
		0);
	assert_int_equal(rf_vbd_connect(&G.v, &c), 0);
	for (unsigned int round = 0; round < 50; round++) {
		for (unsigned int i = 0; i < 32; i++) {
			struct rf_seg sg = {b.gref[i], 0, 7};

			assert_int_equal(rf_put_rw(&G.v, 0,
						   round % 2 ? BLKIF_OP_READ
							     : BLKIF_OP_WRITE,
						   id++, i * 8, 1, &sg),
					 0);
		}
		assert_int_equal(rf_push(&G.v, 0, false), 0);
		for (unsigned int i = 0; i < 32; i++) {
			struct rf_rsp r;

			assert_int_equal(rf_get_rsp(&G.v, 0, &r, 5000), 0);
			assert_int_equal(r.status, BLKIF_RSP_OKAY);
		}
	}
	assert_int_equal(rf_vbd_close(&G.v, true), 0);
	snprintf(name, sizeof(name), "%u/%u", G.fv.domid, G.devid);
	assert_int_equal(rf_wait(counters_logged, name, 5000), 0);
	assert_int_equal(rf_back_counters(&G.b, name, &cnt), 0);
	print_message("  1600 I/Os: %llu maps, %llu unmaps, %llu hypercalls\n",
		      (unsigned long long)cnt.maps,
		      (unsigned long long)cnt.unmaps,
		      (unsigned long long)cnt.hypercalls);
	assert_int_equal(cnt.requests, 1600);
	/* The ring page and the 32 data pages, once each. */
	assert_true(cnt.maps <= 33);
	assert_int_equal(cnt.maps, cnt.unmaps);
	assert_true(cnt.hypercalls < 60);
	assert_int_equal(rf_buf_free(&G.fv, &b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greedy_persistent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_greedy_per_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_steady_state_no_hypercalls,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_exhausted,
						setup_small, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
