/* SPDX-License-Identifier: MIT */
/*
 * libchannel ring unit tests: layout, batching, wrap at 2^32, and every
 * hostile index a peer can write.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvio/errno.h"
#include "ring_test_types.h"

#define PAGE 4096u

/*
 * A ring sized for 'pages' pages but trimmed to exactly its header and
 * slots, placed so that its last slot ends where an inaccessible guard
 * page begins, with another guard page before the header: any access
 * outside the ring faults, whatever the indexes say.
 */
struct guarded {
	unsigned char *base; /* the whole mapping */
	size_t len;
	unsigned char *ring; /* the ring inside it */
	size_t bytes;	     /* 64 + size * T_ENTRY, nothing to spare */
};

static void *guarded_ring(struct guarded *g, unsigned int pages)
{
	size_t span = (size_t)pages * PAGE;

	g->bytes = 64 + (size_t)PVIO_RING_ENTRIES(span, T_ENTRY) * T_ENTRY;
	g->len = span + 2 * PAGE;
	g->base = mmap(NULL, g->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->base != MAP_FAILED);
	assert_int_equal(mprotect(g->base, PAGE, PROT_NONE), 0);
	assert_int_equal(mprotect(g->base + PAGE + span, PAGE, PROT_NONE), 0);
	g->ring = g->base + PAGE + span - g->bytes;
	assert_true(((uintptr_t)g->ring & 7) == 0);
	return g->ring;
}

static void guarded_free(struct guarded *g)
{
	munmap(g->base, g->len);
}

struct pair {
	struct guarded g;
	struct pvio_t_front f;
	struct pvio_t_back b;
	struct pvio_sring_header *s;
};

static void pair_init(struct pair *p, unsigned int pages, uint32_t start)
{
	void *mem = guarded_ring(&p->g, pages);

	assert_int_equal(pvio_ring_front_init(&p->f.ring, mem, p->g.bytes,
					      T_ENTRY, sizeof(struct t_req),
					      sizeof(struct t_rsp), start),
			 0);
	assert_int_equal(pvio_ring_back_attach(&p->b.ring, mem, p->g.bytes,
					       T_ENTRY, sizeof(struct t_req),
					       sizeof(struct t_rsp), start),
			 0);
	p->s = mem;
}

static struct t_req mkreq(uint64_t seq)
{
	struct t_req q = {.id = seq, .seq = seq, .payload = {~seq, seq * 3}};

	q.csum = t_csum(&q);
	return q;
}

/* Move n requests front -> back -> front, checking every copy. */
static void round_trip(struct pair *p, unsigned int n, uint64_t *seq)
{
	struct t_req q[256], got[256];
	struct t_rsp a[256], back[256];

	assert_true(n <= 256);
	for (unsigned int i = 0; i < n; i++)
		q[i] = mkreq((*seq)++);
	assert_int_equal(pvio_t_front_produce(&p->f, q, n), (int)n);
	assert_true(pvio_ring_front_push(&p->f.ring) >= 0);
	assert_int_equal(pvio_ring_back_pending(&p->b.ring), (int)n);
	assert_int_equal(pvio_t_back_consume(&p->b, got, n), (int)n);
	assert_memory_equal(q, got, n * sizeof(q[0]));
	for (unsigned int i = 0; i < n; i++)
		a[i] = (struct t_rsp){.id = got[i].id, .csum = got[i].csum};
	assert_int_equal(pvio_t_back_produce(&p->b, a, n), (int)n);
	assert_true(pvio_ring_back_push(&p->b.ring) >= 0);
	assert_int_equal(pvio_t_front_consume(&p->f, back, n), (int)n);
	assert_memory_equal(a, back, n * sizeof(a[0]));
}

static void test_errno_values(void **state)
{
	(void)state;
	/* The freestanding cores' error numbers are Linux's. */
	assert_int_equal(PVIO_EPERM, EPERM);
	assert_int_equal(PVIO_ENOENT, ENOENT);
	assert_int_equal(PVIO_EIO, EIO);
	assert_int_equal(PVIO_E2BIG, E2BIG);
	assert_int_equal(PVIO_EAGAIN, EAGAIN);
	assert_int_equal(PVIO_ENOMEM, ENOMEM);
	assert_int_equal(PVIO_EACCES, EACCES);
	assert_int_equal(PVIO_EFAULT, EFAULT);
	assert_int_equal(PVIO_EBUSY, EBUSY);
	assert_int_equal(PVIO_EEXIST, EEXIST);
	assert_int_equal(PVIO_EINVAL, EINVAL);
	assert_int_equal(PVIO_ENOSPC, ENOSPC);
	assert_int_equal(PVIO_ERANGE, ERANGE);
	assert_int_equal(PVIO_ENOSYS, ENOSYS);
	assert_int_equal(PVIO_EPROTO, EPROTO);
	assert_int_equal(PVIO_EOVERFLOW, EOVERFLOW);
	assert_int_equal(PVIO_ENOTCONN, ENOTCONN);
	assert_int_equal(PVIO_EOPNOTSUPP, EOPNOTSUPP);
	assert_int_equal(PVIO_EALREADY, EALREADY);
	assert_int_equal(PVIO_EINPROGRESS, EINPROGRESS);
}

static void test_entries(void **state)
{
	(void)state;
	/* PROTOCOL-FACTS section 1: blkif 112 B entries, netif 12/8/16 B. */
	assert_int_equal(pvio_ring_entries(PAGE, 112), 32);
	assert_int_equal(pvio_ring_entries(2 * PAGE, 112), 64);
	assert_int_equal(pvio_ring_entries(PAGE, 12), 256);
	assert_int_equal(pvio_ring_entries(PAGE, 8), 256);
	assert_int_equal(pvio_ring_entries(PAGE, 16), 128);
	assert_int_equal(PVIO_RING_ENTRIES(PAGE, 112), 32);
	assert_int_equal(PVIO_RING_ENTRIES(8 * PAGE, 112), 256);
	assert_int_equal(pvio_ring_entries(64 + 111, 112), -EINVAL);
	assert_int_equal(pvio_ring_entries(PAGE, 0), -EINVAL);
}

static void test_init_layout(void **state)
{
	struct pair p;

	(void)state;
	pair_init(&p, 1, 0);
	memset(p.g.ring, 0xa5, p.g.bytes);
	/* Re-init over garbage: the frontend must set every header byte. */
	assert_int_equal(pvio_ring_front_init(&p.f.ring, p.g.ring, p.g.bytes,
					      T_ENTRY, sizeof(struct t_req),
					      sizeof(struct t_rsp), 0),
			 0);
	assert_int_equal(p.s->req_prod, 0);
	assert_int_equal(p.s->rsp_prod, 0);
	assert_int_equal(p.s->req_event, 1);
	assert_int_equal(p.s->rsp_event, 1);
	for (unsigned int i = 16; i < 64; i++)
		assert_int_equal(p.g.ring[i], 0);
	assert_int_equal(pvio_ring_size(&p.f.ring), 64); /* 100 rounded down */
	assert_int_equal(pvio_ring_front_free(&p.f.ring), 64);

	/* Attaching never writes the shared page. */
	unsigned char before[PAGE];
	memcpy(before, p.g.ring, p.g.bytes);
	assert_int_equal(pvio_ring_back_attach(&p.b.ring, p.g.ring, p.g.bytes,
					       T_ENTRY, sizeof(struct t_req),
					       sizeof(struct t_rsp), 0),
			 0);
	assert_memory_equal(before, p.g.ring, p.g.bytes);

	/* Bad geometry. */
	assert_int_equal(pvio_ring_front_init(&p.f.ring, p.g.ring, 100, T_ENTRY,
					      sizeof(struct t_req),
					      sizeof(struct t_rsp), 0),
			 -EINVAL);
	assert_int_equal(pvio_ring_front_init(&p.f.ring, p.g.ring, p.g.bytes, 8,
					      sizeof(struct t_req),
					      sizeof(struct t_rsp), 0),
			 -EINVAL);
	assert_int_equal(pvio_ring_back_attach(
				 &p.b.ring, p.g.ring + 1, p.g.bytes, T_ENTRY,
				 sizeof(struct t_req), sizeof(struct t_rsp), 0),
			 -EINVAL);
	guarded_free(&p.g);
}

static void test_batches_and_full_ring(void **state)
{
	struct pair p;
	uint64_t seq = 0;
	struct t_req q[65];

	(void)state;
	pair_init(&p, 1, 0);
	for (unsigned int n = 1; n <= 64; n++)
		round_trip(&p, n, &seq);

	/* A full ring accepts no more, and frees exactly what was answered. */
	for (unsigned int i = 0; i < 65; i++)
		q[i] = mkreq(seq++);
	assert_int_equal(pvio_t_front_produce(&p.f, q, 65), 64);
	assert_int_equal(pvio_ring_front_free(&p.f.ring), 0);
	assert_int_equal(pvio_t_front_produce(&p.f, q, 1), 0);
	assert_int_equal(pvio_ring_front_inflight(&p.f.ring), 64);
	guarded_free(&p.g);
}

static void test_wrap_2_32(void **state)
{
	struct pair p;
	uint64_t seq = 0;

	(void)state;
	/* Start just below 2^32 so that every index wraps mid-test. */
	pair_init(&p, 1, UINT32_MAX - 37);
	for (unsigned int i = 0; i < 200; i++)
		round_trip(&p, 1 + i % 64, &seq);
	assert_true(p.s->req_prod < 1000000);
	assert_int_equal(p.s->req_prod, p.s->rsp_prod);
	assert_int_equal(pvio_ring_error(&p.f.ring), 0);
	assert_int_equal(pvio_ring_error(&p.b.ring), 0);
	guarded_free(&p.g);
}

static void test_multi_page(void **state)
{
	(void)state;
	for (unsigned int pages = 1; pages <= 16; pages *= 2) {
		struct pair p;
		uint64_t seq = 0;
		uint32_t size;

		pair_init(&p, pages, UINT32_MAX - 5);
		size = pvio_ring_size(&p.f.ring);
		assert_int_equal(size,
				 PVIO_RING_ENTRIES(pages * PAGE, T_ENTRY));
		/* Fill the whole ring several times over. */
		for (unsigned int round = 0; round < 3 * size / 256 + 3;
		     round++)
			round_trip(&p, size < 256 ? size : 256, &seq);
		guarded_free(&p.g);
	}
}

static void test_push_notify(void **state)
{
	struct pair p;
	struct t_req q[8];
	struct t_req got[8];

	(void)state;
	pair_init(&p, 1, 0);
	for (int i = 0; i < 8; i++)
		q[i] = mkreq((uint64_t)i);
	/* Nothing produced: nothing to push, no notify. */
	assert_int_equal(pvio_ring_front_push(&p.f.ring), 0);
	/* req_event starts at 1: the first request notifies. */
	pvio_t_front_produce(&p.f, q, 1);
	assert_int_equal(pvio_ring_front_push(&p.f.ring), 1);
	/* The backend has not re-armed: no notify for more. */
	pvio_t_front_produce(&p.f, q, 2);
	assert_int_equal(pvio_ring_front_push(&p.f.ring), 0);
	/* Backend drains and re-arms: the next push notifies. */
	assert_int_equal(pvio_t_back_consume(&p.b, got, 8), 3);
	assert_int_equal(pvio_ring_back_final_check(&p.b.ring), 0);
	assert_int_equal(p.s->req_event, 4);
	pvio_t_front_produce(&p.f, q, 3);
	assert_int_equal(pvio_ring_front_push(&p.f.ring), 1);
	/* Final check with work pending reports it and leaves the event. */
	assert_int_equal(pvio_ring_back_final_check(&p.b.ring), 3);
	assert_int_equal(p.s->req_event, 4);
	/* Batching by event index: ask for a wake-up only after 2 more. */
	assert_int_equal(pvio_t_back_consume(&p.b, got, 8), 3);
	p.s->req_event = p.s->req_prod + 2;
	pvio_t_front_produce(&p.f, q, 1);
	assert_int_equal(pvio_ring_front_push(&p.f.ring), 0);
	pvio_t_front_produce(&p.f, q, 1);
	assert_int_equal(pvio_ring_front_push(&p.f.ring), 1);
	guarded_free(&p.g);
}

static void test_hostile_req_prod_overflow(void **state)
{
	struct pair p;
	struct t_req got[128];

	(void)state;
	pair_init(&p, 1, 0);
	/* One ring ahead is legal (a full ring) ... */
	p.s->req_prod = 64;
	assert_int_equal(pvio_ring_back_pending(&p.b.ring), 64);
	/* ... one more is the Xen "ill-behaved producer": halt. */
	p.s->req_prod = 65;
	assert_int_equal(pvio_ring_back_pending(&p.b.ring), -EPROTO);
	assert_int_equal(pvio_ring_error(&p.b.ring), -EPROTO);
	/* Disabled for good, even if the index comes back to sanity. */
	p.s->req_prod = 1;
	assert_int_equal(pvio_t_back_consume(&p.b, got, 128), -EPROTO);
	assert_int_equal(pvio_ring_back_final_check(&p.b.ring), -EPROTO);
	assert_int_equal(pvio_ring_back_push(&p.b.ring), -EPROTO);
	assert_int_equal(pvio_t_back_produce(&p.b, NULL, 1), -EPROTO);
	guarded_free(&p.g);
}

static void test_hostile_req_prod_extremes(void **state)
{
	static const uint32_t bad[] = {65, UINT32_MAX, 0x80000000u, 0x7fffffffu,
				       1000};

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pair p;
		struct t_req got[64];

		pair_init(&p, 1, 0);
		p.s->req_prod = bad[i];
		assert_int_equal(pvio_t_back_consume(&p.b, got, 64), -EPROTO);
		guarded_free(&p.g);
	}
}

static void test_hostile_req_prod_backwards(void **state)
{
	struct pair p;
	struct t_req got[64];
	uint64_t seq = 0;

	(void)state;
	pair_init(&p, 1, 0);
	round_trip(&p, 10, &seq);
	/* 10 requests in flight at the backend, then req_prod goes back. */
	struct t_req q[10];
	for (int i = 0; i < 10; i++)
		q[i] = mkreq(seq++);
	pvio_t_front_produce(&p.f, q, 10);
	pvio_ring_front_push(&p.f.ring);
	assert_int_equal(pvio_t_back_consume(&p.b, got, 64), 10);
	p.s->req_prod = 15; /* behind req_cons (20), within one ring */
	assert_int_equal(pvio_ring_back_pending(&p.b.ring), -EPROTO);
	guarded_free(&p.g);
}

static void test_consumer_never_overruns(void **state)
{
	struct pair p;
	struct t_req got[64];
	struct t_req q[64];

	(void)state;
	pair_init(&p, 1, 0);
	for (int i = 0; i < 64; i++)
		q[i] = mkreq((uint64_t)i);
	pvio_t_front_produce(&p.f, q, 64);
	pvio_ring_front_push(&p.f.ring);
	assert_int_equal(pvio_t_back_consume(&p.b, got, 64), 64);
	/*
	 * All 64 slots are owed a response.  A frontend that claims more
	 * requests cannot make the backend consume a slot it still owes
	 * (Xen's RING_REQUEST_CONS_OVERFLOW): the claim is an overflow.
	 */
	assert_int_equal(pvio_ring_back_owed(&p.b.ring), 64);
	p.s->req_prod = 64 + 1;
	assert_int_equal(pvio_t_back_consume(&p.b, got, 64), -EPROTO);

	/* Answering never exceeds what was consumed. */
	struct pair p2;
	struct t_rsp a[4] = {{0}};
	pair_init(&p2, 1, 0);
	assert_int_equal(pvio_t_back_produce(&p2.b, a, 4), 0);
	pvio_t_front_produce(&p2.f, q, 2);
	pvio_ring_front_push(&p2.f.ring);
	assert_int_equal(pvio_t_back_consume(&p2.b, got, 64), 2);
	assert_int_equal(pvio_t_back_produce(&p2.b, a, 4), 2);
	guarded_free(&p.g);
	guarded_free(&p2.g);
}

static void test_hostile_rsp_prod(void **state)
{
	static const uint32_t bad[] = {4, 5, 64, 65, UINT32_MAX, 0x80000000u};

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pair p;
		struct t_req q[3] = {mkreq(0), mkreq(1), mkreq(2)};
		struct t_rsp rgot[64];

		pair_init(&p, 1, 0);
		pvio_t_front_produce(&p.f, q, 3);
		pvio_ring_front_push(&p.f.ring);
		/* 3 published requests: at most 3 responses may appear. */
		p.s->rsp_prod = bad[i];
		assert_int_equal(pvio_t_front_consume(&p.f, rgot, 64), -EPROTO);
		assert_int_equal(pvio_ring_error(&p.f.ring), -EPROTO);
		assert_int_equal(pvio_ring_front_free(&p.f.ring), 0);
		assert_int_equal(pvio_t_front_produce(&p.f, q, 1), -EPROTO);
		guarded_free(&p.g);
	}
}

static void test_rsp_for_unpublished_request(void **state)
{
	struct pair p;
	struct t_req q[2] = {mkreq(0), mkreq(1)};

	(void)state;
	pair_init(&p, 1, 0);
	pvio_t_front_produce(&p.f, q, 2);
	pvio_ring_front_push(&p.f.ring);
	pvio_t_front_produce(&p.f, q, 1); /* produced, not yet pushed */
	/* A response to the unpublished third request is impossible. */
	p.s->rsp_prod = 3;
	assert_int_equal(pvio_ring_front_pending(&p.f.ring), -EPROTO);
	guarded_free(&p.g);
}

static void test_hostile_shared_indexes_ignored(void **state)
{
	struct pair p;
	uint64_t seq = 0;

	(void)state;
	pair_init(&p, 1, 0);
	round_trip(&p, 5, &seq);
	/*
	 * Each side reads only the peer's producer index.  The peer
	 * scribbling over OUR producer and the event indexes changes
	 * nothing but whether a notification is sent.
	 */
	p.s->req_prod = 12345; /* written by a hostile backend */
	p.s->rsp_event = 0xdeadbeef;
	p.s->req_event = 0x80000000u;
	struct t_req q = mkreq(seq++);
	assert_int_equal(pvio_t_front_produce(&p.f, &q, 1), 1);
	assert_true(pvio_ring_front_push(&p.f.ring) >= 0);
	assert_int_equal(p.s->req_prod, 6);
	p.s->rsp_prod = 777; /* a hostile frontend writes the backend's */
	struct t_req got;
	assert_int_equal(pvio_t_back_consume(&p.b, &got, 1), 1);
	assert_memory_equal(&q, &got, sizeof(q));
	struct t_rsp a = {.id = got.id};
	assert_int_equal(pvio_t_back_produce(&p.b, &a, 1), 1);
	assert_true(pvio_ring_back_push(&p.b.ring) >= 0);
	assert_int_equal(p.s->rsp_prod, 6);
	assert_int_equal(pvio_ring_error(&p.f.ring), 0);
	assert_int_equal(pvio_ring_error(&p.b.ring), 0);
	guarded_free(&p.g);
}

/* A request whose fields are all derived from one number. */
static bool req_matches(const struct t_req *q, uint64_t seq)
{
	struct t_req want = mkreq(seq);

	return memcmp(q, &want, sizeof(want)) == 0;
}

static void test_random_hostile_fuzz(void **state)
{
	uint64_t rng = 0x1234567;
	int accepted = 0, refused = 0;

	(void)state;
	/*
	 * A hostile peer's producer index, drawn around the legal window so
	 * that both outcomes occur, on rings that end at a guard page: the
	 * result must be exactly what the index allows (a count, with the
	 * right bytes) or -EPROTO, and never a fault.
	 */
	for (int iter = 0; iter < 20000; iter++) {
		struct pair p;
		struct t_req q[64], got[64];
		struct t_rsp a[64], rgot[64];
		uint32_t start = (uint32_t)t_rand(&rng);
		uint32_t pushed = (uint32_t)(t_rand(&rng) % 65);
		int32_t d;
		int n;

		pair_init(&p, 1, start);
		for (uint32_t i = 0; i < pushed; i++)
			q[i] = mkreq(i);
		assert_int_equal(pvio_t_front_produce(&p.f, q, pushed),
				 (int)pushed);
		pvio_ring_front_push(&p.f.ring);

		/* Backend side: req_prod anywhere in start-64 .. start+128. */
		d = (int32_t)(t_rand(&rng) % 193) - 64;
		p.s->req_prod = start + (uint32_t)d;
		n = pvio_t_back_consume(&p.b, got, 64);
		if (d < 0 || d > 64) {
			assert_int_equal(n, -EPROTO);
			refused++;
			guarded_free(&p.g);
			continue;
		}
		assert_int_equal(n, d);
		accepted++;
		/* Slots below 'pushed' hold real requests. */
		for (int i = 0; i < n && (uint32_t)i < pushed; i++)
			assert_true(req_matches(&got[i], (uint64_t)i));

		/* Frontend side: answer, then forge rsp_prod around it. */
		for (int i = 0; i < n; i++)
			a[i] = (struct t_rsp){.id = (uint64_t)i};
		pvio_t_back_produce(&p.b, a, (unsigned int)n);
		pvio_ring_back_push(&p.b.ring);
		d = (int32_t)(t_rand(&rng) % 193) - 64;
		p.s->rsp_prod = start + (uint32_t)d;
		n = pvio_t_front_consume(&p.f, rgot, 64);
		if (d < 0 || (uint32_t)d > pushed)
			assert_int_equal(n, -EPROTO);
		else
			assert_int_equal(n, d);
		guarded_free(&p.g);
	}
	/* Both outcomes must really have been exercised. */
	assert_true(accepted > 1000 && refused > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_values),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_init_layout),
		cmocka_unit_test(test_batches_and_full_ring),
		cmocka_unit_test(test_wrap_2_32),
		cmocka_unit_test(test_multi_page),
		cmocka_unit_test(test_push_notify),
		cmocka_unit_test(test_hostile_req_prod_overflow),
		cmocka_unit_test(test_hostile_req_prod_extremes),
		cmocka_unit_test(test_hostile_req_prod_backwards),
		cmocka_unit_test(test_consumer_never_overruns),
		cmocka_unit_test(test_hostile_rsp_prod),
		cmocka_unit_test(test_rsp_for_unpublished_request),
		cmocka_unit_test(test_hostile_shared_indexes_ignored),
		cmocka_unit_test(test_random_hostile_fuzz),
	};

	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
