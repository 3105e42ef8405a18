/* SPDX-License-Identifier: MIT */
/*
 * A granter that keeps changing its entry while the hypervisor pins it.
 *
 * This program links its own pvio__gnt_flags_cmpxchg() in front of
 * libpvio_grant.a (the library keeps it alone in atomic.c for this): before
 * each of the hypervisor's compare-and-swaps it lets a simulated granter
 * act, exactly between the hypervisor's read of the entry and its swap.
 * Xen gives up after five attempts with GNTST_general_error; fewer
 * disturbances must still succeed.  The same seam replays the ABA race in
 * which the granter ends the grant and re-grants the ref to another domain
 * with identical flags, which only the post-swap domid check catches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grant_fixture.h"
#include "pvio/errno.h"

bool pvio__gnt_flags_cmpxchg(uint16_t *flags, uint16_t *expected,
			     uint16_t desired);

enum meddle { NONE, FLIP_PCD, REGRANT_OTHER, SPURIOUS };

static struct {
	int calls;
	int disturb; /* how many more swaps to disturb */
	enum meddle how;
	struct fx *f;
	uint32_t ref;
} hook;

bool pvio__gnt_flags_cmpxchg(uint16_t *flags, uint16_t *expected,
			     uint16_t desired)
{
	hook.calls++;
	if (hook.disturb > 0) {
		hook.disturb--;
		switch (hook.how) {
		case FLIP_PCD:
			/* a cache attribute bit: harmless, but a change */
			__atomic_fetch_xor(flags, (uint16_t)GTF_PCD,
					   __ATOMIC_SEQ_CST);
			break;
		case REGRANT_OTHER: {
			/* end + re-grant of the same ref with equal flags */
			struct pvio_grant_entry_v1 *e =
				fx_entry(hook.f, D_GUEST, hook.ref);
			uint16_t old =
				__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

			__atomic_store_n(&e->flags, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&e->domid, D_OTHER, __ATOMIC_RELAXED);
			__atomic_store_n(&e->flags, old, __ATOMIC_RELEASE);
			break;
		}
		case SPURIOUS:
			/*
			 * The swap fails although the value is back where it
			 * was (the granter wrote and restored it, or a weak
			 * swap failed): only the retry bound stops this.
			 */
			*expected = __atomic_load_n(flags, __ATOMIC_ACQUIRE);
			return false;
		case NONE:
			break;
		}
	}
	return __atomic_compare_exchange_n(flags, expected, desired, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static int setup(void **state)
{
	memset(&hook, 0, sizeof(hook));
	hook.f = fx_new();
	*state = hook.f;
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static uint32_t grant(struct fx *f, pvio_domid_t to, bool ro)
{
	int ref = pvio_gnt_share_grant_access(fx_share(f, D_GUEST), to, 3, ro);

	assert_true(ref >= GNTTAB_NR_RESERVED_ENTRIES);
	return (uint32_t)ref;
}

static void map_unstable_entry_is_general_error(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_BACK, false);
	struct fx_snap s;

	fx_snap(f, &s);
	hook.how = FLIP_PCD;
	hook.disturb = 1000;
	assert_int_equal(fx_map(f, D_BACK, D_GUEST, ref, GNTMAP_host_map, NULL),
			 GNTST_general_error);
	assert_int_equal(hook.calls, 5); /* Xen: retries++ == 4 */
	/* five flips: PCD ends up set, and nothing of ours is */
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_PCD);
	__atomic_store_n(&fx_entry(f, D_GUEST, ref)->flags, GTF_permit_access,
			 __ATOMIC_RELEASE);
	fx_assert_unchanged(f, &s);
	/* and once the granter calms down, the same map works */
	hook.disturb = 0;
	assert_int_equal(fx_map(f, D_BACK, D_GUEST, ref, GNTMAP_host_map, NULL),
			 GNTST_okay);
}

static void map_settles_within_five_tries(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_BACK, false);

	hook.how = FLIP_PCD;
	hook.disturb = 4;
	assert_int_equal(fx_map(f, D_BACK, D_GUEST, ref, GNTMAP_host_map, NULL),
			 GNTST_okay);
	assert_int_equal(hook.calls, 5);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_reading | GTF_writing);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_w, 1);
}

/* Adding a write pin to a read-pinned entry also goes through the swap. */
static void write_pin_on_pinned_unstable(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_BACK, false);
	struct fx_snap s;

	assert_int_equal(fx_map(f, D_BACK, D_GUEST, ref,
				GNTMAP_host_map | GNTMAP_readonly, NULL),
			 GNTST_okay);
	fx_snap(f, &s);
	hook.calls = 0;
	hook.how = FLIP_PCD;
	hook.disturb = 6; /* more than five: every try is disturbed */
	assert_int_equal(fx_map(f, D_BACK, D_GUEST, ref, GNTMAP_host_map, NULL),
			 GNTST_general_error);
	assert_int_equal(hook.calls, 5);
	hook.disturb = 0;
	__atomic_fetch_xor(&fx_entry(f, D_GUEST, ref)->flags, (uint16_t)GTF_PCD,
			   __ATOMIC_SEQ_CST);
	fx_assert_unchanged(f, &s);
}

static void copy_unstable_entry_is_general_error(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_BACK, true);
	struct pvio_gnttab_copy op;
	unsigned char before[FX_PAGE];

	memcpy(before, fx_page(f, D_BACK, 2), FX_PAGE);
	memset(&op, 0, sizeof(op));
	op.flags = GNTCOPY_source_gref;
	op.source.u.ref = ref;
	op.source.domid = D_GUEST;
	op.dest.u.gmfn = 2;
	op.dest.domid = DOMID_SELF;
	op.len = 100;
	hook.how = FLIP_PCD;
	hook.disturb = 1000;
	assert_int_equal(pvio_gnt_hv_copy(&f->hv, fx_d(f, D_BACK), &op, 1), 0);
	assert_int_equal(op.status, GNTST_general_error);
	assert_int_equal(hook.calls, 5);
	assert_memory_equal(fx_page(f, D_BACK, 2), before, FX_PAGE);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(
		fx_flags(f, D_GUEST, ref) & (GTF_reading | GTF_writing), 0);
}

/*
 * ABA: between the hypervisor's check and its swap the granter ends the
 * grant and gives the ref to D_OTHER with the very same flags.  The swap
 * succeeds; the domid check after it must undo the pin and refuse.
 */
static void map_regranted_to_other_is_general_error(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_BACK, false);

	hook.how = REGRANT_OTHER;
	hook.ref = ref;
	hook.disturb = 1;
	assert_int_equal(fx_map(f, D_BACK, D_GUEST, ref, GNTMAP_host_map, NULL),
			 GNTST_general_error);
	assert_int_equal(hook.calls, 1);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(pvio_gnt_domain_nr_maps(fx_d(f, D_BACK)), 0);
	/* the new grantee can map it */
	assert_int_equal(
		fx_map(f, D_OTHER, D_GUEST, ref, GNTMAP_host_map, NULL),
		GNTST_okay);
}

static int16_t transfer(struct fx *f, uint32_t ref)
{
	struct pvio_gnttab_transfer op;

	memset(&op, 0, sizeof(op));
	op.mfn = 4;
	op.domid = D_GUEST;
	op.ref = ref;
	assert_int_equal(pvio_gnt_hv_transfer(&f->hv, fx_d(f, D_BACK), &op, 1),
			 0);
	return op.status;
}

static void transfer_unstable_entry_is_general_error(void **state)
{
	struct fx *f = *state;
	int ref =
		pvio_gnt_share_grant_transfer(fx_share(f, D_GUEST), D_BACK, 0);
	struct fx_snap s;

	fx_snap(f, &s);
	/*
	 * Xen wants the flags to be exactly GTF_accept_transfer, so any
	 * change seen at a retry ends it at once ...
	 */
	hook.how = FLIP_PCD;
	hook.disturb = 6;
	assert_int_equal(transfer(f, (uint32_t)ref), GNTST_general_error);
	assert_int_equal(hook.calls, 1);
	hook.disturb = 0;
	__atomic_fetch_xor(&fx_entry(f, D_GUEST, ref)->flags, (uint16_t)GTF_PCD,
			   __ATOMIC_SEQ_CST);
	fx_assert_unchanged(f, &s);
	/* ... and a swap that keeps failing is given up after five tries */
	hook.calls = 0;
	hook.how = SPURIOUS;
	hook.disturb = 1000;
	assert_int_equal(transfer(f, (uint32_t)ref), GNTST_general_error);
	assert_int_equal(hook.calls, 5);
	fx_assert_unchanged(f, &s);
	assert_int_equal(f->transfer_calls, 0);
	assert_true(f->dom[D_BACK].present[4]);
	/* four failures are survived */
	hook.calls = 0;
	hook.disturb = 4;
	assert_int_equal(transfer(f, (uint32_t)ref), GNTST_okay);
	assert_int_equal(hook.calls, 5);
}

static void transfer_regranted_to_other_is_general_error(void **state)
{
	struct fx *f = *state;
	int ref =
		pvio_gnt_share_grant_transfer(fx_share(f, D_GUEST), D_BACK, 0);

	hook.how = REGRANT_OTHER;
	hook.ref = (uint32_t)ref;
	hook.disturb = 1;
	assert_int_equal(transfer(f, (uint32_t)ref), GNTST_general_error);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_accept_transfer);
	assert_int_equal(f->transfer_calls, 0);
	assert_true(f->dom[D_BACK].present[4]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(map_unstable_entry_is_general_error),
		T(map_settles_within_five_tries),
		T(write_pin_on_pinned_unstable),
		T(copy_unstable_entry_is_general_error),
		T(map_regranted_to_other_is_general_error),
		T(transfer_unstable_entry_is_general_error),
		T(transfer_regranted_to_other_is_general_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
