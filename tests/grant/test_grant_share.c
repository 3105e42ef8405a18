/* SPDX-License-Identifier: MIT */
/*
 * Granting side alone: ref allocation, what is written into the shared
 * entries, end_access refusing while the hypervisor bits are set, and the
 * three outcomes of end_transfer.  The hypervisor is played by hand here
 * (atomic stores to the flags); test_grant_hv does it with the real one.
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

#define NR 16

struct t {
	struct pvio_grant_entry_v1 e[NR];
	uint32_t link[NR];
	struct pvio_gnt_share s;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	int i;

	assert_non_null(t);
	/* the toolstack's reserved entries, and garbage elsewhere */
	for (i = 0; i < NR; i++) {
		t->e[i].flags = 0xFFFF;
		t->e[i].domid = 0xAAAA;
		t->e[i].frame = 0xBBBBBBBB;
	}
	t->e[GNTTAB_RESERVED_XENSTORE].flags = GTF_permit_access;
	t->e[GNTTAB_RESERVED_XENSTORE].domid = 0;
	t->e[GNTTAB_RESERVED_XENSTORE].frame = 42;
	assert_int_equal(pvio_gnt_share_init(&t->s, t->e, t->link, NR), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static uint16_t flags(struct t *t, uint32_t ref)
{
	return __atomic_load_n(&t->e[ref].flags, __ATOMIC_ACQUIRE);
}

static void hv_set(struct t *t, uint32_t ref, uint16_t bits)
{
	__atomic_fetch_or(&t->e[ref].flags, bits, __ATOMIC_RELEASE);
}

static void hv_clear(struct t *t, uint32_t ref, uint16_t bits)
{
	__atomic_fetch_and(&t->e[ref].flags, (uint16_t)~bits, __ATOMIC_RELEASE);
}

static void init_clears_table_but_not_reserved(void **state)
{
	struct t *t = *state;
	int i;

	assert_int_equal(pvio_gnt_share_nr_free(&t->s),
			 NR - GNTTAB_NR_RESERVED_ENTRIES);
	assert_int_equal(t->e[GNTTAB_RESERVED_XENSTORE].flags,
			 GTF_permit_access);
	assert_int_equal(t->e[GNTTAB_RESERVED_XENSTORE].frame, 42);
	assert_int_equal(t->e[0].flags, 0xFFFF);
	for (i = GNTTAB_NR_RESERVED_ENTRIES; i < NR; i++) {
		assert_int_equal(t->e[i].flags, 0);
		assert_int_equal(t->e[i].domid, 0);
		assert_int_equal(t->e[i].frame, 0);
		assert_false(pvio_gnt_share_in_use(&t->s, i));
	}
	for (i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++) {
		assert_false(pvio_gnt_share_in_use(&t->s, i));
		assert_int_equal(pvio_gnt_share_end_access(&t->s, i),
				 -PVIO_EINVAL);
	}
}

static void init_rejects_bad_arguments(void **state)
{
	struct t *t = *state;
	struct pvio_gnt_share s;

	assert_int_equal(pvio_gnt_share_init(&s, t->e, t->link, 7),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_init(&s, NULL, t->link, NR),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_init(&s, t->e, NULL, NR), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_init(NULL, t->e, t->link, NR),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_init(&s, t->e, t->link,
					     PVIO_GNT_SHARE_MAX_ENTRIES + 1),
			 -PVIO_EINVAL);
	/* a table of only the reserved entries has nothing to give */
	assert_int_equal(pvio_gnt_share_init(&s, t->e, t->link, 8), 0);
	assert_int_equal(pvio_gnt_share_grant_access(&s, 1, 1, false),
			 -PVIO_ENOSPC);
	assert_int_equal(pvio_gnt_share_grant_access(NULL, 1, 1, false),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_nr_free(NULL), 0);
}

static void grant_access_writes_entry(void **state)
{
	struct t *t = *state;
	int rw = pvio_gnt_share_grant_access(&t->s, 5, 0x12345678, false);
	int ro = pvio_gnt_share_grant_access(&t->s, 6, 77, true);

	assert_int_equal(rw, GNTTAB_NR_RESERVED_ENTRIES);
	assert_int_equal(ro, GNTTAB_NR_RESERVED_ENTRIES + 1);
	assert_int_equal(flags(t, rw), GTF_permit_access);
	assert_int_equal(t->e[rw].domid, 5);
	assert_int_equal(t->e[rw].frame, 0x12345678);
	assert_int_equal(flags(t, ro), GTF_permit_access | GTF_readonly);
	assert_int_equal(t->e[ro].domid, 6);
	assert_int_equal(t->e[ro].frame, 77);
	assert_true(pvio_gnt_share_in_use(&t->s, rw));
	assert_int_equal(pvio_gnt_share_nr_free(&t->s),
			 NR - GNTTAB_NR_RESERVED_ENTRIES - 2);
	assert_int_equal(pvio_gnt_share_busy(&t->s, rw), 0);
}

static void exhaustion_is_enospc(void **state)
{
	struct t *t = *state;
	int i, ref;

	for (i = GNTTAB_NR_RESERVED_ENTRIES; i < NR; i++)
		assert_int_equal(
			pvio_gnt_share_grant_access(&t->s, 1, i, false), i);
	assert_int_equal(pvio_gnt_share_grant_access(&t->s, 1, 0, false),
			 -PVIO_ENOSPC);
	assert_int_equal(pvio_gnt_share_grant_transfer(&t->s, 1, 0),
			 -PVIO_ENOSPC);
	assert_int_equal(pvio_gnt_share_nr_free(&t->s), 0);
	assert_int_equal(pvio_gnt_share_end_access(&t->s, 11), 0);
	ref = pvio_gnt_share_grant_access(&t->s, 1, 0, false);
	assert_int_equal(ref, 11);
}

/* Ended refs are handed out again last (FIFO). */
static void ended_refs_are_reused_last(void **state)
{
	struct t *t = *state;
	int a = pvio_gnt_share_grant_access(&t->s, 1, 1, false);
	int b;

	assert_int_equal(pvio_gnt_share_end_access(&t->s, a), 0);
	b = pvio_gnt_share_grant_access(&t->s, 1, 1, false);
	assert_int_not_equal(a, b);
	assert_int_equal(b, a + 1);
}

static void end_access_refused_while_pinned(void **state)
{
	struct t *t = *state;
	int ref = pvio_gnt_share_grant_access(&t->s, 3, 9, false);
	uint32_t free_before;

	hv_set(t, ref, GTF_reading);
	free_before = pvio_gnt_share_nr_free(&t->s);
	assert_int_equal(pvio_gnt_share_busy(&t->s, ref), 1);
	assert_int_equal(pvio_gnt_share_end_access(&t->s, ref), -PVIO_EBUSY);
	assert_int_equal(flags(t, ref), GTF_permit_access | GTF_reading);
	assert_true(pvio_gnt_share_in_use(&t->s, ref));
	assert_int_equal(pvio_gnt_share_nr_free(&t->s), free_before);

	hv_set(t, ref, GTF_writing);
	hv_clear(t, ref, GTF_reading);
	assert_int_equal(pvio_gnt_share_end_access(&t->s, ref), -PVIO_EBUSY);
	assert_int_equal(flags(t, ref), GTF_permit_access | GTF_writing);

	hv_clear(t, ref, GTF_writing);
	assert_int_equal(pvio_gnt_share_busy(&t->s, ref), 0);
	assert_int_equal(pvio_gnt_share_end_access(&t->s, ref), 0);
	assert_int_equal(flags(t, ref), 0);
	assert_false(pvio_gnt_share_in_use(&t->s, ref));
	assert_int_equal(pvio_gnt_share_nr_free(&t->s), free_before + 1);
	/* twice is an error: the ref is free */
	assert_int_equal(pvio_gnt_share_end_access(&t->s, ref), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_busy(&t->s, ref), -PVIO_EINVAL);
}

static void end_of_wrong_kind_or_range_is_einval(void **state)
{
	struct t *t = *state;
	int acc = pvio_gnt_share_grant_access(&t->s, 3, 9, false);
	int xfer = pvio_gnt_share_grant_transfer(&t->s, 3, 9);
	uint32_t frame;

	assert_int_equal(pvio_gnt_share_end_access(&t->s, xfer), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_end_transfer(&t->s, acc, &frame),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_end_transfer(&t->s, xfer, NULL),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_end_access(&t->s, NR), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_end_access(&t->s, 0xFFFFFFFF),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_end_access(NULL, acc), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_share_busy(&t->s, xfer), -PVIO_EINVAL);
	assert_false(pvio_gnt_share_in_use(&t->s, NR));
	/* all refused: both still granted, entries untouched */
	assert_true(pvio_gnt_share_in_use(&t->s, acc));
	assert_true(pvio_gnt_share_in_use(&t->s, xfer));
	assert_int_equal(flags(t, acc), GTF_permit_access);
	assert_int_equal(flags(t, xfer), GTF_accept_transfer);
}

static void end_transfer_three_outcomes(void **state)
{
	struct t *t = *state;
	int ref = pvio_gnt_share_grant_transfer(&t->s, 4, 0x99);
	uint32_t frame = 0;
	uint32_t free_before;

	assert_int_equal(flags(t, ref), GTF_accept_transfer);
	assert_int_equal(t->e[ref].domid, 4);
	assert_int_equal(t->e[ref].frame, 0x99);
	free_before = pvio_gnt_share_nr_free(&t->s);

	/* committed: in progress, nothing changes */
	hv_set(t, ref, GTF_transfer_committed);
	assert_int_equal(pvio_gnt_share_end_transfer(&t->s, ref, &frame),
			 -PVIO_EINPROGRESS);
	assert_int_equal(frame, 0);
	assert_int_equal(flags(t, ref),
			 GTF_accept_transfer | GTF_transfer_committed);
	assert_true(pvio_gnt_share_in_use(&t->s, ref));

	/* completed: the new frame, ref freed */
	__atomic_store_n(&t->e[ref].frame, 1234, __ATOMIC_RELAXED);
	hv_set(t, ref, GTF_transfer_completed);
	assert_int_equal(pvio_gnt_share_end_transfer(&t->s, ref, &frame), 0);
	assert_int_equal(frame, 1234);
	assert_int_equal(flags(t, ref), 0);
	assert_false(pvio_gnt_share_in_use(&t->s, ref));
	assert_int_equal(pvio_gnt_share_nr_free(&t->s), free_before + 1);

	/* never committed: withdrawn, -ENOENT, ref freed */
	ref = pvio_gnt_share_grant_transfer(&t->s, 4, 0);
	frame = 5;
	assert_int_equal(pvio_gnt_share_end_transfer(&t->s, ref, &frame),
			 -PVIO_ENOENT);
	assert_int_equal(frame, 5);
	assert_int_equal(flags(t, ref), 0);
	assert_false(pvio_gnt_share_in_use(&t->s, ref));
	assert_int_equal(pvio_gnt_share_nr_free(&t->s), free_before + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			init_clears_table_but_not_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(init_rejects_bad_arguments,
						setup, teardown),
		cmocka_unit_test_setup_teardown(grant_access_writes_entry,
						setup, teardown),
		cmocka_unit_test_setup_teardown(exhaustion_is_enospc, setup,
						teardown),
		cmocka_unit_test_setup_teardown(ended_refs_are_reused_last,
						setup, teardown),
		cmocka_unit_test_setup_teardown(end_access_refused_while_pinned,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			end_of_wrong_kind_or_range_is_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(end_transfer_three_outcomes,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
