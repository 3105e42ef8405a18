/* SPDX-License-Identifier: MIT */
/*
 * Persistent-grant cache: hits and misses, in-use counting, LRU eviction
 * of idle entries only, -ENOSPC when every entry is in use, flush.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pvio/errno.h"
#include "pvio/grant.h"

#define CAP 4

struct t {
	struct pvio_gnt_pcache c;
	struct pvio_gnt_pcache_entry e[CAP];
	uint32_t b[8];
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(pvio_gnt_pcache_init(&t->c, t->e, CAP, t->b, 8), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* A fake mapped address per ref, to check what comes back. */
static void *addr_of(uint32_t ref)
{
	return (void *)(uintptr_t)(0x100000 + ref * 0x1000);
}

static struct pvio_gnt_pcache_entry *ins(struct t *t, uint32_t ref, int want,
					 struct pvio_gnt_pcache_victim *v)
{
	struct pvio_gnt_pcache_entry *ent = NULL;
	struct pvio_gnt_pcache_victim dummy;

	assert_int_equal(pvio_gnt_pcache_insert(&t->c, ref, ref + 1000,
						addr_of(ref), &ent,
						v != NULL ? v : &dummy),
			 want);
	return ent;
}

/* Use an idle entry once more (it becomes the most recently used). */
static void use(struct t *t, uint32_t ref)
{
	int err = 1;
	struct pvio_gnt_pcache_entry *x = pvio_gnt_pcache_get(&t->c, ref, &err);

	assert_non_null(x);
	assert_int_equal(x->in_use, 1);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, x), 0);
}

/* Release the use held since the insert. */
static void put(struct t *t, uint32_t ref)
{
	int err = 1;
	struct pvio_gnt_pcache_entry *x = pvio_gnt_pcache_get(&t->c, ref, &err);

	assert_non_null(x);
	assert_int_equal(err, 0);
	/* drop the lookup's use and the one being released */
	assert_int_equal(pvio_gnt_pcache_put(&t->c, x), 0);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, x), 0);
}

static void miss_insert_hit(void **state)
{
	struct t *t = *state;
	struct pvio_gnt_pcache_entry *x;
	int err = 1;

	assert_null(pvio_gnt_pcache_get(&t->c, 42, &err));
	assert_int_equal(err, -PVIO_ENOENT);
	x = ins(t, 42, 0, NULL);
	assert_non_null(x);
	assert_int_equal(x->in_use, 1);
	assert_int_equal(pvio_gnt_pcache_count(&t->c), 1);

	assert_ptr_equal(pvio_gnt_pcache_get(&t->c, 42, &err), x);
	assert_int_equal(err, 0);
	assert_int_equal(x->ref, 42);
	assert_int_equal(x->handle, 1042);
	assert_ptr_equal(x->addr, addr_of(42));
	assert_int_equal(x->in_use, 2);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, x), 0);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, x), 0);
	assert_int_equal(x->in_use, 0);
	/* a put too many is refused */
	assert_int_equal(pvio_gnt_pcache_put(&t->c, x), -PVIO_EINVAL);
	/* idle entries still hit */
	assert_ptr_equal(pvio_gnt_pcache_get(&t->c, 42, &err), x);
	assert_int_equal(x->in_use, 1);
	/* other refs still miss; a NULL err is allowed */
	assert_null(pvio_gnt_pcache_get(&t->c, 43, NULL));
	/* the same ref cannot be cached twice */
	ins(t, 42, -PVIO_EEXIST, NULL);
	assert_int_equal(pvio_gnt_pcache_count(&t->c), 1);
}

static void eviction_is_lru_of_idle(void **state)
{
	struct t *t = *state;
	struct pvio_gnt_pcache_victim v;
	int err;

	ins(t, 1, 0, NULL);
	ins(t, 2, 0, NULL);
	ins(t, 3, 0, NULL);
	ins(t, 4, 0, NULL);
	/* release in the order 3, 1, 4, 2: that is the LRU order */
	assert_int_equal(pvio_gnt_pcache_put(&t->c, &t->e[2]), 0);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, &t->e[0]), 0);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, &t->e[3]), 0);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, &t->e[1]), 0);

	memset(&v, 0, sizeof(v));
	ins(t, 10, 1, &v);
	assert_int_equal(v.ref, 3);
	assert_int_equal(v.handle, 1003);
	assert_ptr_equal(v.addr, addr_of(3));
	assert_null(pvio_gnt_pcache_get(&t->c, 3, &err));

	/* using 1 again makes it the most recent */
	use(t, 1);
	put(t, 10);
	ins(t, 11, 1, &v);
	assert_int_equal(v.ref, 4);
	put(t, 11);
	ins(t, 12, 1, &v);
	assert_int_equal(v.ref, 2);
	ins(t, 13, 1, &v);
	assert_int_equal(v.ref, 1);
	ins(t, 14, 1, &v);
	assert_int_equal(v.ref, 10);
	assert_int_equal(pvio_gnt_pcache_count(&t->c), CAP);
}

static void in_use_never_evicted_and_enospc(void **state)
{
	struct t *t = *state;
	struct pvio_gnt_pcache_victim v;
	struct pvio_gnt_pcache_entry *x;
	int err, i;

	for (i = 0; i < CAP; i++)
		ins(t, i, 0, NULL);
	/* only ref 2 goes idle, and it is the oldest of nothing else */
	assert_int_equal(pvio_gnt_pcache_put(&t->c, &t->e[2]), 0);
	ins(t, 100, 1, &v);
	assert_int_equal(v.ref, 2);
	/* now everything is in use */
	memset(&v, 0x5A, sizeof(v));
	ins(t, 101, -PVIO_ENOSPC, &v);
	assert_int_equal(v.ref, 0x5A5A5A5A); /* untouched */
	assert_int_equal(pvio_gnt_pcache_count(&t->c), CAP);
	for (i = 0; i < CAP; i++) {
		if (i == 2)
			continue;
		x = pvio_gnt_pcache_get(&t->c, i, &err);
		assert_non_null(x);
		assert_int_equal(x->in_use, 2);
		assert_int_equal(pvio_gnt_pcache_put(&t->c, x), 0);
	}
	assert_null(pvio_gnt_pcache_get(&t->c, 101, &err));
	/* an entry in use with more than one user is still in use */
	x = pvio_gnt_pcache_get(&t->c, 0, &err);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, x), 0);
	ins(t, 101, -PVIO_ENOSPC, &v);
	/* once one becomes idle, the insert succeeds with it as victim */
	assert_int_equal(pvio_gnt_pcache_put(&t->c, x), 0);
	ins(t, 101, 1, &v);
	assert_int_equal(v.ref, 0);
}

static void flush_returns_idle_only(void **state)
{
	struct t *t = *state;
	struct pvio_gnt_pcache_victim v[CAP + 1];
	int i, err;

	for (i = 0; i < CAP; i++)
		ins(t, 20 + i, 0, NULL);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, &t->e[3]), 0);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, &t->e[1]), 0);
	assert_int_equal(pvio_gnt_pcache_flush(&t->c, v, CAP + 1), 2);
	assert_int_equal(v[0].ref, 23);
	assert_int_equal(v[1].ref, 21);
	assert_ptr_equal(v[1].addr, addr_of(21));
	assert_int_equal(pvio_gnt_pcache_count(&t->c), 2);
	assert_null(pvio_gnt_pcache_get(&t->c, 21, &err));
	assert_int_equal(pvio_gnt_pcache_put(
				 &t->c, pvio_gnt_pcache_get(&t->c, 20, &err)),
			 0);
	/* nothing idle: nothing flushed */
	assert_int_equal(pvio_gnt_pcache_flush(&t->c, v, CAP), 0);
	/* the flushed slots are reused without evicting anyone */
	ins(t, 30, 0, NULL);
	ins(t, 31, 0, NULL);
	/* release everything; a bounded flush takes the oldest first */
	put(t, 22);
	put(t, 20);
	put(t, 30);
	put(t, 31);
	assert_int_equal(pvio_gnt_pcache_flush(&t->c, v, 1), 1);
	assert_int_equal(v[0].ref, 22);
	assert_int_equal(pvio_gnt_pcache_flush(&t->c, v, CAP), 3);
	assert_int_equal(v[0].ref, 20);
	assert_int_equal(v[1].ref, 30);
	assert_int_equal(v[2].ref, 31);
	assert_int_equal(pvio_gnt_pcache_count(&t->c), 0);
	assert_int_equal(pvio_gnt_pcache_flush(&t->c, NULL, 0), 0);
	assert_int_equal(pvio_gnt_pcache_flush(&t->c, NULL, 1), -PVIO_EINVAL);
}

/* One bucket: every entry on one chain, removals from its middle. */
static void single_bucket_chains(void **state)
{
	struct pvio_gnt_pcache c;
	struct pvio_gnt_pcache_entry e[64];
	struct pvio_gnt_pcache_victim v[64];
	uint32_t b[1];
	int i, err, n;

	(void)state;
	assert_int_equal(pvio_gnt_pcache_init(&c, e, 64, b, 1), 0);
	for (i = 0; i < 64; i++)
		assert_int_equal(pvio_gnt_pcache_insert(&c, i * 3, i,
							addr_of(i), NULL, v),
				 0);
	/* put the odd ones: they are flushed, the even ones stay */
	for (i = 1; i < 64; i += 2)
		assert_int_equal(pvio_gnt_pcache_put(&c, &e[i]), 0);
	n = pvio_gnt_pcache_flush(&c, v, 64);
	assert_int_equal(n, 32);
	for (i = 0; i < 64; i++) {
		struct pvio_gnt_pcache_entry *x =
			pvio_gnt_pcache_get(&c, i * 3, &err);

		if (i % 2) {
			assert_null(x);
			assert_int_equal(v[i / 2].ref, i * 3);
		} else {
			assert_non_null(x);
			assert_int_equal(x->handle, i);
		}
	}
}

static void bad_arguments(void **state)
{
	struct t *t = *state;
	struct pvio_gnt_pcache c;
	struct pvio_gnt_pcache_entry other;
	struct pvio_gnt_pcache_victim v;
	int err = 0;

	assert_int_equal(pvio_gnt_pcache_init(&c, t->e, CAP, t->b, 3),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_pcache_init(&c, t->e, CAP, t->b, 0),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_pcache_init(&c, t->e, 0, t->b, 8),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_pcache_init(&c, NULL, CAP, t->b, 8),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_pcache_init(NULL, t->e, CAP, t->b, 8),
			 -PVIO_EINVAL);
	assert_null(pvio_gnt_pcache_get(NULL, 1, &err));
	assert_int_equal(err, -PVIO_EINVAL);
	memset(&other, 0, sizeof(other));
	other.in_use = 1;
	assert_int_equal(pvio_gnt_pcache_put(&t->c, &other), -PVIO_EINVAL);
	assert_int_equal(
		pvio_gnt_pcache_put(
			&t->c,
			(struct pvio_gnt_pcache_entry *)((char *)&t->e[1] + 4)),
		-PVIO_EINVAL);
	assert_int_equal(pvio_gnt_pcache_put(&t->c, NULL), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_pcache_insert(&t->c, 1, 1, NULL, NULL, NULL),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_pcache_insert(NULL, 1, 1, NULL, NULL, &v),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_pcache_count(NULL), 0);
	assert_int_equal(pvio_gnt_pcache_count(&t->c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(miss_insert_hit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(eviction_is_lru_of_idle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(in_use_never_evicted_and_enospc,
						setup, teardown),
		cmocka_unit_test_setup_teardown(flush_returns_idle_only, setup,
						teardown),
		cmocka_unit_test(single_bucket_chains),
		cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
