/* SPDX-License-Identifier: MIT */
/*
 * end_access racing map/unmap on the same ref, in two threads, as a
 * granter process and the hypervisor stub would.  Built with TSan in
 * make check (label "concurrency").
 *
 * The mapper thread maps the ref through pvio_gnt_hv, bumps a counter of
 * live mappings, holds the mapping a moment, drops the counter and
 * unmaps.  The granter thread keeps calling pvio_gnt_share_end_access();
 * when that succeeds the counter must read 0, and the granter grants the
 * ref again so the mapper can go on.  If end_access ever revoked a grant
 * that is still pinned, the counter would be seen non-zero.
 *
 * The counter needs no ordering of its own: the mapper's decrement is
 * sequenced before its unmap, whose release fetch_and of GTF_reading
 * synchronises with the acquire cmpxchg that lets end_access succeed, so
 * the decrement happens before the granter's load; and no increment can
 * follow before the granter grants again (the entry is 0 until then).
 *
 * PVIO_GRANT_STRESS_CYCLES overrides the number of map/unmap cycles.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pvio/errno.h"
#include "pvio/grant.h"

#define D_GUEST 1
#define D_BACK 2
#define NR (GNTTAB_NR_RESERVED_ENTRIES + 1) /* exactly one grantable ref */
#define REF GNTTAB_NR_RESERVED_ENTRIES
#define FRAME 7

struct shared {
	/* the guest's grant table: both threads, atomics only */
	struct pvio_grant_entry_v1 table[NR];
	/* granter thread only */
	uint32_t link[NR];
	struct pvio_gnt_share share;
	/* mapper thread only (the "hypervisor") */
	struct pvio_gnt_hv hv;
	struct pvio_gnt_hv_ops ops;
	struct pvio_gnt_domain guest, back;
	struct pvio_gnt_active active[NR];
	struct pvio_gnt_maptrack mt[4];
	long cycles;

	atomic_int live; /* mappings held by the mapper */
	atomic_bool stop;
	/* results */
	atomic_long maps, map_refused, busy, ended, violations, errors;
};

static struct pvio_gnt_domain *lookup(void *ctx, pvio_domid_t domid)
{
	struct shared *s = ctx;

	if (domid == D_GUEST)
		return &s->guest;
	if (domid == D_BACK)
		return &s->back;
	return NULL;
}

static void pause_us(long us)
{
	struct timespec ts = {0, us * 1000};

	nanosleep(&ts, NULL);
}

static int16_t map(struct shared *s, uint32_t flags, pvio_grant_handle_t *h)
{
	struct pvio_gnttab_map_grant_ref op;
	uint32_t frame = 0;

	memset(&op, 0, sizeof(op));
	op.flags = flags;
	op.ref = REF;
	op.dom = D_GUEST;
	if (pvio_gnt_hv_map(&s->hv, &s->back, &op, &frame, 1) != 0)
		return 99;
	if (op.status == GNTST_okay && frame != FRAME)
		atomic_fetch_add(&s->errors, 1);
	*h = op.handle;
	return op.status;
}

static void unmap(struct shared *s, pvio_grant_handle_t h)
{
	struct pvio_gnttab_unmap_grant_ref op;

	memset(&op, 0, sizeof(op));
	op.handle = h;
	if (pvio_gnt_hv_unmap(&s->hv, &s->back, &op, NULL, 1) != 0 ||
	    op.status != GNTST_okay)
		atomic_fetch_add(&s->errors, 1);
}

static void *mapper(void *arg)
{
	struct shared *s = arg;
	pvio_grant_handle_t h[2];
	long done = 0;
	int16_t st;
	int n, i;

	while (done < s->cycles) {
		uint32_t flags = GNTMAP_host_map;

		if (done & 1)
			flags |= GNTMAP_readonly;
		st = map(s, flags, &h[0]);
		if (st == GNTST_general_error) {
			/* ended and not granted again yet */
			atomic_fetch_add(&s->map_refused, 1);
			sched_yield();
			continue;
		}
		if (st != GNTST_okay) {
			atomic_fetch_add(&s->errors, 1);
			break;
		}
		n = 1;
		/* relaxed: see the comment at the top */
		atomic_fetch_add_explicit(&s->live, 1, memory_order_relaxed);
		/* sometimes a second mapping of the other kind on top */
		if (done % 3 == 0 &&
		    map(s, flags ^ GNTMAP_readonly, &h[1]) == GNTST_okay) {
			atomic_fetch_add_explicit(&s->live, 1,
						  memory_order_relaxed);
			n = 2;
		}
		/* now and then hold on long enough for end_access to try */
		if (done % 1024 == 0)
			pause_us(50);
		for (i = n - 1; i >= 0; i--) {
			atomic_fetch_sub_explicit(&s->live, 1,
						  memory_order_relaxed);
			unmap(s, h[i]);
		}
		atomic_fetch_add(&s->maps, 1);
		done++;
		/* and now and then leave the ref alone long enough to end */
		if (done % 1024 == 0)
			pause_us(50);
	}
	/* release: pairs with the granter's acquire load of stop */
	atomic_store_explicit(&s->stop, true, memory_order_release);
	return NULL;
}

static void *granter(void *arg)
{
	struct shared *s = arg;
	int rc;

	/* acquire: pairs with the mapper's release store of stop */
	while (!atomic_load_explicit(&s->stop, memory_order_acquire)) {
		rc = pvio_gnt_share_end_access(&s->share, REF);
		if (rc == -PVIO_EBUSY) {
			atomic_fetch_add(&s->busy, 1);
			continue;
		}
		if (rc != 0) {
			atomic_fetch_add(&s->errors, 1);
			break;
		}
		atomic_fetch_add(&s->ended, 1);
		/* relaxed: see the comment at the top */
		if (atomic_load_explicit(&s->live, memory_order_relaxed) != 0)
			atomic_fetch_add(&s->violations, 1);
		if (pvio_gnt_share_grant_access(&s->share, D_BACK, FRAME,
						false) != REF) {
			atomic_fetch_add(&s->errors, 1);
			break;
		}
	}
	return NULL;
}

static void end_access_never_revokes_a_live_map(void **state)
{
	struct shared *s = calloc(1, sizeof(*s));
	const char *env = getenv("PVIO_GRANT_STRESS_CYCLES");
	pthread_t tm, tg;

	(void)state;
	assert_non_null(s);
	s->cycles = env != NULL ? atol(env) : 200000;
	if (s->cycles <= 0)
		s->cycles = 200000;
	s->ops.lookup = lookup;
	assert_int_equal(pvio_gnt_hv_init(&s->hv, &s->ops, s), 0);
	assert_int_equal(pvio_gnt_share_init(&s->share, s->table, s->link, NR),
			 0);
	assert_int_equal(pvio_gnt_domain_init(&s->guest, D_GUEST, s->table, NR,
					      s->active, NULL, 0, 16),
			 0);
	assert_int_equal(pvio_gnt_domain_init(&s->back, D_BACK, NULL, 0, NULL,
					      s->mt, 4, 16),
			 0);
	assert_int_equal(
		pvio_gnt_share_grant_access(&s->share, D_BACK, FRAME, false),
		REF);

	assert_int_equal(pthread_create(&tg, NULL, granter, s), 0);
	assert_int_equal(pthread_create(&tm, NULL, mapper, s), 0);
	assert_int_equal(pthread_join(tm, NULL), 0);
	assert_int_equal(pthread_join(tg, NULL), 0);

	print_message("maps %ld, refused %ld, end_access busy %ld, ended %ld\n",
		      atomic_load(&s->maps), atomic_load(&s->map_refused),
		      atomic_load(&s->busy), atomic_load(&s->ended));
	assert_int_equal(atomic_load(&s->errors), 0);
	assert_int_equal(atomic_load(&s->violations), 0);
	assert_int_equal(atomic_load(&s->maps), s->cycles);
	/* the race was really run, both ways */
	assert_true(atomic_load(&s->busy) > 0);
	assert_true(atomic_load(&s->ended) > 0);
	/* mapping has stopped: nothing is pinned, the grant can end */
	assert_int_equal(pvio_gnt_domain_nr_maps(&s->back), 0);
	assert_int_equal(pvio_gnt_domain_nr_pinned(&s->guest), 0);
	assert_int_equal(pvio_gnt_share_end_access(&s->share, REF), 0);
	assert_int_equal(s->table[REF].flags, 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(end_access_never_revokes_a_live_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
