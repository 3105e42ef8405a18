/* SPDX-License-Identifier: MIT */
/*
 * Interop with Xen's own ring macros (Debian's libxen-dev io/ring.h).
 *
 * The same random script of produce / push / consume / final-check steps
 * runs with each end implemented either by Xen's macros or by libchannel,
 * in all four combinations, over one shared page.  Every observable event
 * (each request and response copied out, each notify decision, each
 * final-check result, the final indexes) is folded into a digest; the
 * four digests must be identical and every payload must check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Xen's default interface version maps xen_mb() & co. to these. */
#define mb() __sync_synchronize()
#define rmb() __sync_synchronize()
#define wmb() __sync_synchronize()
#include <xen/io/ring.h>

#include "ring_test_types.h"

DEFINE_RING_TYPES(xt, struct t_req, struct t_rsp);

#define PAGE 4096u
#define TOTAL 1000000u

enum impl { XEN, PVIO };

struct world {
	unsigned char *page;
	size_t bytes;
	enum impl front_impl, back_impl;
	struct xt_front_ring xf;
	struct xt_back_ring xb;
	struct pvio_ring pf, pb;
	uint64_t digest;
	/* Backend's consumed, unanswered requests (answered FIFO). */
	struct t_req pool[256];
	unsigned int pool_head, pool_len;
	uint64_t next_seq, next_rsp_seq;
};

static void fold(struct world *w, uint64_t v)
{
	w->digest ^= v;
	w->digest *= 1099511628211ULL;
}

static unsigned int front_produce(struct world *w, unsigned int n)
{
	struct t_req q;
	unsigned int done = 0;

	for (; done < n; done++) {
		q = (struct t_req){.id = w->next_seq,
				   .seq = w->next_seq,
				   .payload = {w->next_seq * 7, ~w->next_seq}};
		q.csum = t_csum(&q);
		if (w->front_impl == XEN) {
			if (RING_FULL(&w->xf))
				break;
			*RING_GET_REQUEST(&w->xf, w->xf.req_prod_pvt) = q;
			w->xf.req_prod_pvt++;
		} else if (pvio_ring_front_produce(&w->pf, &q, 1) != 1) {
			break;
		}
		w->next_seq++;
	}
	fold(w, done);
	return done;
}

static void front_push(struct world *w)
{
	int notify;

	if (w->front_impl == XEN)
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&w->xf, notify);
	else
		notify = pvio_ring_front_push(&w->pf);
	assert_true(notify == 0 || notify == 1);
	fold(w, 0x100 + (uint64_t)notify);
}

static void back_consume(struct world *w, unsigned int max)
{
	unsigned int room = 256 - w->pool_len, got = 0;
	struct t_req q;

	if (max > room)
		max = room;
	while (got < max) {
		if (w->back_impl == XEN) {
			if (!RING_HAS_UNCONSUMED_REQUESTS(&w->xb))
				break;
			RING_COPY_REQUEST(&w->xb, w->xb.req_cons, &q);
			w->xb.req_cons++;
		} else if (pvio_ring_back_consume(&w->pb, &q, 1) != 1) {
			break;
		}
		assert_int_equal(q.csum, t_csum(&q));
		fold(w, q.seq);
		w->pool[(w->pool_head + w->pool_len++) % 256] = q;
		got++;
	}
	fold(w, 0x200 + got);
}

static void back_answer(struct world *w, unsigned int n)
{
	int notify;

	if (n > w->pool_len)
		n = w->pool_len;
	for (unsigned int i = 0; i < n; i++) {
		const struct t_req *q = &w->pool[w->pool_head];
		struct t_rsp a = {.id = q->id, .csum = q->csum, .status = 0};

		if (w->back_impl == XEN) {
			*RING_GET_RESPONSE(&w->xb, w->xb.rsp_prod_pvt) = a;
			w->xb.rsp_prod_pvt++;
		} else {
			assert_int_equal(pvio_ring_back_produce(&w->pb, &a, 1),
					 1);
		}
		w->pool_head = (w->pool_head + 1) % 256;
		w->pool_len--;
	}
	if (w->back_impl == XEN)
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&w->xb, notify);
	else
		notify = pvio_ring_back_push(&w->pb);
	fold(w, 0x300 + (uint64_t)notify * 0x10 + n);
}

static void front_consume(struct world *w, unsigned int max)
{
	struct t_rsp a;
	unsigned int got = 0;

	while (got < max) {
		if (w->front_impl == XEN) {
			if (!RING_HAS_UNCONSUMED_RESPONSES(&w->xf))
				break;
			RING_COPY_RESPONSE(&w->xf, w->xf.rsp_cons, &a);
			w->xf.rsp_cons++;
		} else if (pvio_ring_front_consume(&w->pf, &a, 1) != 1) {
			break;
		}
		/* Responses come back in issue order (FIFO backend). */
		assert_true(a.id == w->next_rsp_seq);
		w->next_rsp_seq++;
		fold(w, a.id ^ a.csum);
		got++;
	}
	fold(w, 0x400 + got);
}

static void final_checks(struct world *w)
{
	int fwork, bwork;

	if (w->front_impl == XEN)
		RING_FINAL_CHECK_FOR_RESPONSES(&w->xf, fwork);
	else
		fwork = pvio_ring_front_final_check(&w->pf);
	if (w->back_impl == XEN)
		RING_FINAL_CHECK_FOR_REQUESTS(&w->xb, bwork);
	else
		bwork = pvio_ring_back_final_check(&w->pb);
	assert_true(fwork >= 0 && bwork >= 0);
	fold(w, 0x500 + (uint64_t)(fwork != 0) * 2 + (uint64_t)(bwork != 0));
}

static uint64_t run(enum impl fi, enum impl bi, unsigned int pages,
		    uint64_t seed)
{
	struct world *w = calloc(1, sizeof(*w));
	uint64_t rng = seed, digest;

	assert_non_null(w);
	w->bytes = (size_t)pages * PAGE;
	w->page = aligned_alloc(PAGE, w->bytes);
	assert_non_null(w->page);
	memset(w->page, 0xee, w->bytes);
	w->front_impl = fi;
	w->back_impl = bi;
	w->digest = 1469598103934665603ULL;
	if (fi == XEN) {
		struct xt_sring *s = (struct xt_sring *)w->page;

		XEN_FRONT_RING_INIT(&w->xf, s, w->bytes);
	} else {
		assert_int_equal(pvio_ring_front_init(&w->pf, w->page, w->bytes,
						      T_ENTRY,
						      sizeof(struct t_req),
						      sizeof(struct t_rsp), 0),
				 0);
	}
	if (bi == XEN)
		BACK_RING_INIT(&w->xb, (struct xt_sring *)w->page, w->bytes);
	else
		assert_int_equal(pvio_ring_back_attach(&w->pb, w->page,
						       w->bytes, T_ENTRY,
						       sizeof(struct t_req),
						       sizeof(struct t_rsp), 0),
				 0);

	while (w->next_rsp_seq < TOTAL) {
		uint64_t r = t_rand(&rng);
		unsigned int k = 1 + (unsigned int)((r >> 8) % 48);

		switch (r % 6) {
		case 0:
			if (w->next_seq < TOTAL)
				front_produce(
					w,
					k < TOTAL - w->next_seq
						? k
						: (unsigned int)(TOTAL -
								 w->next_seq));
			break;
		case 1:
			front_push(w);
			break;
		case 2:
			back_consume(w, k);
			break;
		case 3:
			back_answer(w, k);
			break;
		case 4:
			front_consume(w, k);
			break;
		default:
			final_checks(w);
			break;
		}
	}
	/* The shared indexes are the same bytes whoever wrote them. */
	fold(w, ((uint64_t *)w->page)[0]);
	fold(w, ((uint64_t *)w->page)[1]);
	digest = w->digest;
	free(w->page);
	free(w);
	return digest;
}

static void check_all_pairings(unsigned int pages, uint64_t seed)
{
	uint64_t xx = run(XEN, XEN, pages, seed);

	assert_true(run(XEN, PVIO, pages, seed) == xx);
	assert_true(run(PVIO, XEN, pages, seed) == xx);
	assert_true(run(PVIO, PVIO, pages, seed) == xx);
}

static void test_interop_one_page(void **state)
{
	(void)state;
	check_all_pairings(1, 0x9e3779b97f4a7c15ULL);
}

static void test_interop_four_pages(void **state)
{
	(void)state;
	check_all_pairings(4, 0xdeadbeefcafef00dULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interop_one_page),
		cmocka_unit_test(test_interop_four_pages),
	};

	return cmocka_run_group_tests_name("ring_interop", tests, NULL, NULL);
}
