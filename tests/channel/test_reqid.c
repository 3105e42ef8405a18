/* SPDX-License-Identifier: MIT */
/* Request-ID table: out-of-order completion, hostile ids, replay order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pvio/reqid.h"

#define N 32

struct fixture {
	struct pvio_reqid_table t;
	uint64_t mem[4096];
};

static struct fixture *make(uint32_t nslots, size_t shadow, unsigned bits)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_true(pvio_reqid_mem_size(nslots, shadow) <= sizeof(f->mem));
	assert_int_equal(pvio_reqid_init(&f->t, f->mem, sizeof(f->mem), nslots,
					 shadow, bits),
			 0);
	return f;
}

static void test_init_args(void **state)
{
	struct pvio_reqid_table t;
	uint64_t mem[64];

	(void)state;
	assert_int_equal(pvio_reqid_init(&t, mem, sizeof(mem), 0, 8, 64),
			 -EINVAL);
	assert_int_equal(pvio_reqid_init(&t, mem, 8, 4, 8, 64), -EINVAL);
	assert_int_equal(pvio_reqid_init(&t, mem, sizeof(mem), 4, 8, 65),
			 -EINVAL);
	/* 16 slots need 4 id bits. */
	assert_int_equal(pvio_reqid_init(&t, mem, sizeof(mem), 16, 0, 3),
			 -EINVAL);
	assert_int_equal(pvio_reqid_init(&t, mem, sizeof(mem), 16, 0, 4), 0);
	assert_int_equal(pvio_reqid_init(&t, (char *)mem + 1, 100, 2, 8, 64),
			 -EINVAL);
	/* Sizes that overflow size_t are refused, not wrapped. */
	assert_int_equal(pvio_reqid_mem_size(2, SIZE_MAX - 4), 0);
	assert_int_equal(pvio_reqid_mem_size(UINT32_MAX - 1, SIZE_MAX / 4), 0);
	assert_int_equal(
		pvio_reqid_init(&t, mem, sizeof(mem), 2, SIZE_MAX - 4, 64),
		-EINVAL);
}

static void test_alloc_until_full(void **state)
{
	struct fixture *f = make(N, 16, 64);
	uint64_t ids[N], id;
	void *sh;

	(void)state;
	for (int i = 0; i < N; i++) {
		assert_int_equal(pvio_reqid_alloc(&f->t, &ids[i], &sh), 0);
		memset(sh, i, 16);
		for (int j = 0; j < i; j++)
			assert_true(ids[j] != ids[i]);
	}
	assert_int_equal(pvio_reqid_inflight(&f->t), N);
	assert_int_equal(pvio_reqid_alloc(&f->t, &id, &sh), -ENOSPC);
	for (int i = 0; i < N; i++) {
		unsigned char *p;

		assert_int_equal(pvio_reqid_lookup(&f->t, ids[i], &sh), 0);
		p = sh;
		assert_int_equal(p[0], i);
		assert_int_equal(p[15], i);
	}
	free(f);
}

static void test_out_of_order_and_duplicates(void **state)
{
	struct fixture *f = make(N, 8, 64);
	uint64_t ids[N];
	void *sh;

	(void)state;
	for (int i = 0; i < N; i++)
		assert_int_equal(pvio_reqid_alloc(&f->t, &ids[i], &sh), 0);
	/* Complete odd ids, then even ones backwards. */
	for (int i = 1; i < N; i += 2)
		assert_int_equal(pvio_reqid_complete(&f->t, ids[i], NULL), 0);
	for (int i = N - 2; i >= 0; i -= 2)
		assert_int_equal(pvio_reqid_complete(&f->t, ids[i], NULL), 0);
	assert_int_equal(pvio_reqid_inflight(&f->t), 0);
	/* Each answered twice: the second is a duplicate. */
	for (int i = 0; i < N; i++) {
		assert_int_equal(pvio_reqid_complete(&f->t, ids[i], NULL),
				 -EALREADY);
		assert_int_equal(pvio_reqid_lookup(&f->t, ids[i], NULL),
				 -EALREADY);
	}
	free(f);
}

static void test_unknown_and_stale(void **state)
{
	struct fixture *f = make(N, 8, 64);
	uint64_t a, b;
	void *sh;

	(void)state;
	assert_int_equal(pvio_reqid_alloc(&f->t, &a, &sh), 0);
	/* Ids naming no slot, or beyond the id width. */
	assert_int_equal(pvio_reqid_lookup(&f->t, UINT64_MAX, &sh), -ENOENT);
	assert_int_equal(pvio_reqid_complete(&f->t, a ^ (1ull << 63), NULL),
			 -ENOENT);
	/* Complete a, reuse its slot as b: a's late duplicate is stale. */
	assert_int_equal(pvio_reqid_complete(&f->t, a, NULL), 0);
	assert_int_equal(pvio_reqid_alloc(&f->t, &b, &sh), 0);
	assert_true((a & (N - 1)) == (b & (N - 1)) && a != b);
	assert_int_equal(pvio_reqid_complete(&f->t, a, NULL), -ENOENT);
	assert_int_equal(pvio_reqid_inflight(&f->t), 1);
	assert_int_equal(pvio_reqid_complete(&f->t, b, NULL), 0);

	/* Slots that never issued an id know none, even "gen 0" ones. */
	for (uint64_t never = 1; never < N; never++)
		assert_int_equal(pvio_reqid_lookup(&f->t, never, &sh), -ENOENT);

	/* A table of 24 slots: slot numbers 24..31 are unknown. */
	struct fixture *g = make(24, 8, 64);
	assert_int_equal(pvio_reqid_lookup(&g->t, 25, &sh), -ENOENT);
	free(g);
	free(f);
}

static void test_narrow_ids(void **state)
{
	/* netif: 16-bit ids, 256 slots, 8 generation bits. */
	struct fixture *f = make(256, 0, 16);
	uint64_t id;
	void *sh;

	(void)state;
	for (int round = 0; round < 1000; round++) {
		assert_int_equal(pvio_reqid_alloc(&f->t, &id, &sh), 0);
		assert_true(id <= UINT16_MAX);
		assert_int_equal(pvio_reqid_complete(&f->t, id, NULL), 0);
	}
	assert_int_equal(pvio_reqid_lookup(&f->t, 0x10000, &sh), -ENOENT);
	free(f);
}

static void test_replay_order(void **state)
{
	struct fixture *f = make(N, 8, 64);
	uint64_t ids[N], cursor = 0, id;
	void *sh;
	int seen = 0, expect = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		assert_int_equal(pvio_reqid_alloc(&f->t, &ids[i], &sh), 0);
		*(uint64_t *)sh = (uint64_t)i;
	}
	/* Complete every third; replay must list the rest oldest first. */
	for (int i = 0; i < N; i += 3)
		assert_int_equal(pvio_reqid_complete(&f->t, ids[i], NULL), 0);
	while (pvio_reqid_next_inflight(&f->t, &cursor, &id, &sh) == 1) {
		if (expect % 3 == 0)
			expect++;
		assert_int_equal(*(uint64_t *)sh, (uint64_t)expect);
		assert_true(id == ids[expect]);
		expect++;
		seen++;
	}
	assert_int_equal(seen, N - (N + 2) / 3);
	assert_int_equal(pvio_reqid_inflight(&f->t), (uint32_t)seen);
	/* A new request goes to the end of the replay order. */
	assert_int_equal(pvio_reqid_alloc(&f->t, &id, &sh), 0);
	*(uint64_t *)sh = 999;
	cursor = 0;
	uint64_t last = 0, rid;
	while (pvio_reqid_next_inflight(&f->t, &cursor, &rid, &sh) == 1)
		last = *(uint64_t *)sh;
	assert_int_equal(last, 999);
	free(f);
}

static void test_random_model(void **state)
{
	/* Random alloc/complete against a simple model of what is live. */
	struct fixture *f = make(64, 8, 64);
	uint64_t live[64];
	int nlive = 0;
	unsigned int seed = 7;
	void *sh;

	(void)state;
	for (int step = 0; step < 200000; step++) {
		if (nlive < 64 && (nlive == 0 || rand_r(&seed) % 2)) {
			assert_int_equal(
				pvio_reqid_alloc(&f->t, &live[nlive], &sh), 0);
			*(uint64_t *)sh = live[nlive];
			nlive++;
		} else {
			int k = (int)(rand_r(&seed) % (unsigned)nlive);
			void *got;

			assert_int_equal(
				pvio_reqid_complete(&f->t, live[k], &got), 0);
			assert_true(*(uint64_t *)got == live[k]);
			assert_int_equal(
				pvio_reqid_complete(&f->t, live[k], NULL),
				-EALREADY);
			live[k] = live[--nlive];
		}
		assert_int_equal(pvio_reqid_inflight(&f->t), (uint32_t)nlive);
	}
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_args),
		cmocka_unit_test(test_alloc_until_full),
		cmocka_unit_test(test_out_of_order_and_duplicates),
		cmocka_unit_test(test_unknown_and_stale),
		cmocka_unit_test(test_narrow_ids),
		cmocka_unit_test(test_replay_order),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests_name("reqid", tests, NULL, NULL);
}
