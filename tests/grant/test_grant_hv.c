/* SPDX-License-Identifier: MIT */
/*
 * Hypervisor side: every GNTST_* path of map, unmap, copy and transfer
 * returns Xen 4.17's code and changes nothing; pins and the granter's
 * GTF_reading/GTF_writing follow the mappings; domain death releases
 * everything.  Most tests take a snapshot of every table, active entry
 * and maptrack before the failing op and compare after it.
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

#define HOST GNTMAP_host_map
#define DEV GNTMAP_device_map
#define RO GNTMAP_readonly

static int setup(void **state)
{
	*state = fx_new();
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* Granter 'g' grants its 'frame' to 'to'. */
static uint32_t grant(struct fx *f, pvio_domid_t g, pvio_domid_t to,
		      uint32_t frame, bool ro)
{
	int ref = pvio_gnt_share_grant_access(fx_share(f, g), to, frame, ro);

	assert_true(ref >= GNTTAB_NR_RESERVED_ENTRIES);
	return (uint32_t)ref;
}

/* Map, expecting 'want'; on failure also expect that nothing changed. */
static pvio_grant_handle_t map_expect(struct fx *f, pvio_domid_t mapper,
				      pvio_domid_t granter, uint32_t ref,
				      uint32_t flags, int16_t want)
{
	struct fx_snap s;
	pvio_grant_handle_t h = 0;

	fx_snap(f, &s);
	assert_int_equal(fx_map(f, mapper, granter, ref, flags, &h), want);
	if (want != GNTST_okay)
		fx_assert_unchanged(f, &s);
	return h;
}

/* --- map: success ------------------------------------------------------ */

static void map_rw_host_pins_and_sets_flags(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);
	struct pvio_gnttab_map_grant_ref op;
	struct pvio_gnt_map_info info;
	uint32_t frame = 0;

	memset(&op, 0, sizeof(op));
	op.flags = HOST;
	op.ref = ref;
	op.dom = D_GUEST;
	assert_int_equal(
		pvio_gnt_hv_map(&f->hv, fx_d(f, D_BACK), &op, &frame, 1), 0);
	assert_int_equal(op.status, GNTST_okay);
	assert_int_equal(frame, 3);
	assert_int_equal(op.dev_bus_addr, 3ULL << 12);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_reading | GTF_writing);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_w, 1);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 1);
	assert_int_equal(fx_act(f, D_GUEST, ref)->domid, D_BACK);
	assert_int_equal(pvio_gnt_domain_nr_maps(fx_d(f, D_BACK)), 1);
	assert_int_equal(pvio_gnt_domain_nr_pinned(fx_d(f, D_GUEST)), 1);
	assert_int_equal(
		pvio_gnt_hv_map_info(fx_d(f, D_BACK), op.handle, &info), 0);
	assert_int_equal(info.domid, D_GUEST);
	assert_int_equal(info.ref, ref);
	assert_int_equal(info.frame, 3);
	assert_int_equal(info.flags, HOST);
	assert_int_equal(pvio_gnt_share_busy(fx_share(f, D_GUEST), ref), 1);

	assert_int_equal(fx_unmap(f, D_BACK, op.handle), GNTST_okay);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(pvio_gnt_domain_nr_maps(fx_d(f, D_BACK)), 0);
	assert_int_equal(pvio_gnt_domain_nr_pinned(fx_d(f, D_GUEST)), 0);
	assert_int_equal(
		pvio_gnt_hv_map_info(fx_d(f, D_BACK), op.handle, &info),
		-PVIO_ENOENT);
	assert_int_equal(pvio_gnt_share_busy(fx_share(f, D_GUEST), ref), 0);
}

static void map_ro_device_sets_reading_only(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 7, true);
	struct pvio_gnttab_map_grant_ref op;

	memset(&op, 0, sizeof(op));
	op.flags = DEV | RO;
	op.ref = ref;
	op.dom = D_GUEST;
	assert_int_equal(pvio_gnt_hv_map(&f->hv, fx_d(f, D_BACK), &op, NULL, 1),
			 0);
	assert_int_equal(op.status, GNTST_okay);
	assert_int_equal(op.dev_bus_addr, 7ULL << 12);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_readonly | GTF_reading);
	assert_int_equal(fx_act(f, D_GUEST, ref)->dev_r, 1);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 1);
	assert_int_equal(fx_unmap(f, D_BACK, op.handle), GNTST_okay);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_readonly);
}

/* GTF_writing goes with the last writable pin, GTF_reading with the last. */
static void map_writing_cleared_before_reading(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);
	pvio_grant_handle_t hw, hr, hb;

	hr = map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_okay);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_reading);
	hw = map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_reading | GTF_writing);
	/* host + device writable in one map: two pins, one mapping */
	hb = map_expect(f, D_BACK, D_GUEST, ref, HOST | DEV, GNTST_okay);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_w, 2);
	assert_int_equal(fx_act(f, D_GUEST, ref)->dev_w, 1);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_r, 1);

	assert_int_equal(fx_unmap(f, D_BACK, hw), GNTST_okay);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_reading | GTF_writing);
	assert_int_equal(fx_unmap(f, D_BACK, hb), GNTST_okay);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_reading);
	assert_int_equal(fx_unmap(f, D_BACK, hr), GNTST_okay);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
}

/* --- map: each GNTST error ------------------------------------------- */

static void map_without_host_or_device_is_bad_gntref(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);

	map_expect(f, D_BACK, D_GUEST, ref, 0, GNTST_bad_gntref);
	map_expect(f, D_BACK, D_GUEST, ref, RO | GNTMAP_application_map,
		   GNTST_bad_gntref);
	/* checked before the domain: Xen's first check */
	map_expect(f, D_BACK, D_MISSING, ref, RO, GNTST_bad_gntref);
}

static void map_unknown_domain_is_bad_domain(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);

	map_expect(f, D_BACK, D_MISSING, ref, HOST, GNTST_bad_domain);
	/* map looks domains up by id only: DOMID_SELF names none */
	map_expect(f, D_BACK, DOMID_SELF, ref, HOST, GNTST_bad_domain);
	map_expect(f, D_BACK, 0x7FF5, ref, HOST, GNTST_bad_domain);
	map_expect(f, D_BACK, 0xFFFF, ref, HOST, GNTST_bad_domain);
}

static void map_dying_domain_is_bad_domain(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);

	assert_int_equal(pvio_gnt_hv_release_domain(&f->hv, fx_d(f, D_GUEST)),
			 0);
	assert_true(fx_d(f, D_GUEST)->dying);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_bad_domain);
}

static void map_maptrack_full_is_no_space(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);
	uint32_t i;

	for (i = 0; i < FX_NMT; i++)
		assert_int_equal(
			map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay),
			i);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_no_space);
	map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_no_space);
	/* no_space comes before the ref bounds check, as in Xen */
	map_expect(f, D_BACK, D_GUEST, FX_NENT, HOST, GNTST_no_space);
	/* a freed slot is usable again */
	assert_int_equal(fx_unmap(f, D_BACK, 5), GNTST_okay);
	assert_int_equal(map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay),
			 5);
}

static void map_ref_out_of_range_is_bad_gntref(void **state)
{
	struct fx *f = *state;

	map_expect(f, D_BACK, D_GUEST, FX_NENT, HOST, GNTST_bad_gntref);
	map_expect(f, D_BACK, D_GUEST, 0xFFFFFFFFU, HOST | RO,
		   GNTST_bad_gntref);
}

static void map_not_permit_access_is_general_error(void **state)
{
	struct fx *f = *state;
	struct pvio_gnt_share *sh = fx_share(f, D_GUEST);
	int tref;
	uint32_t ref;

	/* never granted (flags 0) */
	map_expect(f, D_BACK, D_GUEST, 20, HOST, GNTST_general_error);
	/* a transfer offer is not an access grant */
	tref = pvio_gnt_share_grant_transfer(sh, D_BACK, 0);
	assert_true(tref > 0);
	map_expect(f, D_BACK, D_GUEST, (uint32_t)tref, HOST,
		   GNTST_general_error);
	/* transitive (v2 only) and sub_page entries cannot be mapped */
	ref = grant(f, D_GUEST, D_BACK, 3, false);
	__atomic_store_n(&fx_entry(f, D_GUEST, ref)->flags, GTF_transitive,
			 __ATOMIC_RELEASE);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_general_error);
	__atomic_store_n(&fx_entry(f, D_GUEST, ref)->flags,
			 GTF_permit_access | GTF_sub_page, __ATOMIC_RELEASE);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_general_error);
	/* an ended grant is gone */
	ref = grant(f, D_GUEST, D_BACK, 4, false);
	assert_int_equal(pvio_gnt_share_end_access(sh, ref), 0);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_general_error);
}

static void map_wrong_domid_is_general_error(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_OTHER, 3, false);

	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_general_error);
	map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_general_error);
	map_expect(f, D_OTHER, D_GUEST, ref, HOST, GNTST_okay);
}

static void map_write_of_readonly_is_general_error(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, true);

	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_general_error);
	map_expect(f, D_BACK, D_GUEST, ref, DEV, GNTST_general_error);
	/* also when already pinned read-only (the pinned path) */
	map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_okay);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_general_error);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 1);
}

/*
 * The granter rewrites domid under a live pin: the pin belongs to the
 * domain captured at the first pin, nobody else gets in.
 */
static void map_pinned_by_other_domain_is_general_error(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);

	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	__atomic_store_n(&fx_entry(f, D_GUEST, ref)->domid, D_OTHER,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&fx_entry(f, D_GUEST, ref)->frame, 9,
			 __ATOMIC_RELAXED);
	map_expect(f, D_OTHER, D_GUEST, ref, HOST | RO, GNTST_general_error);
	/* and the pin keeps the frame captured at the first map */
	map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_okay);
	assert_int_equal(fx_d(f, D_BACK)->maptrack[1].frame, 3);
}

static void map_frame_outside_memory_is_bad_page(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, FX_NFRAMES, false);
	uint32_t ref2 = grant(f, D_GUEST, D_BACK, 0xFFFFFFFFU, true);

	/* the bits taken while checking are given back */
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_bad_page);
	map_expect(f, D_BACK, D_GUEST, ref2, HOST | RO, GNTST_bad_page);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
}

/* --- pin limit --------------------------------------------------------- */

static void pin_limit_is_general_error_then_recovers(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);
	pvio_grant_handle_t h[3];
	int i;

	assert_int_equal(pvio_gnt_hv_set_pin_limit(&f->hv, 3), 0);
	for (i = 0; i < 3; i++)
		h[i] = map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_w, 3);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_general_error);
	/*
	 * Xen 4.17 (GNTPIN_incr2oflow_mask): only the counters a pin raises
	 * are checked, so other kinds of pin still fit.
	 */
	map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_okay);
	map_expect(f, D_BACK, D_GUEST, ref, DEV, GNTST_okay);
	assert_int_equal(fx_unmap(f, D_BACK, h[1]), GNTST_okay);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_w, 3);
	(void)h[0];
	(void)h[2];
}

/* Copy one op as 'caller' and return its status. */
static int16_t copy_status(struct fx *f, pvio_domid_t caller,
			   struct pvio_gnttab_copy op)
{
	assert_int_equal(pvio_gnt_hv_copy(&f->hv, fx_d(f, caller), &op, 1), 0);
	return op.status;
}

static struct pvio_gnttab_copy copy_op(uint16_t flags, uint64_t src,
				       pvio_domid_t sdom, uint16_t soff,
				       uint64_t dst, pvio_domid_t ddom,
				       uint16_t doff, uint16_t len);

/*
 * Xen 4.17 map_grant_ref() and acquire_grant_for_copy() refuse a pin only
 * if a counter it would raise is full (act->pin &
 * GNTPIN_incr2oflow_mask(pin_incr)); a full counter of another kind does
 * not matter.
 */
static void pin_limit_counts_only_the_counters_raised(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);
	pvio_grant_handle_t r0;
	struct fx_snap s;

	assert_int_equal(pvio_gnt_hv_set_pin_limit(&f->hv, 2), 0);
	r0 = map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_okay);
	map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_okay);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_r, 2);
	/* hst_r is full; a writable device map raises dev_w only */
	map_expect(f, D_BACK, D_GUEST, ref, DEV, GNTST_okay);
	assert_int_equal(fx_act(f, D_GUEST, ref)->dev_w, 1);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_reading | GTF_writing);
	map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_general_error);
	/* two counters raised, one of them full: refused */
	map_expect(f, D_BACK, D_GUEST, ref, DEV | HOST | RO,
		   GNTST_general_error);
	map_expect(f, D_BACK, D_GUEST, ref, DEV | RO, GNTST_okay);
	/* a copy from the grant raises hst_r: refused, nothing changed */
	fx_snap(f, &s);
	assert_int_equal(copy_status(f, D_BACK,
				     copy_op(GNTCOPY_source_gref, ref, D_GUEST,
					     0, 1, DOMID_SELF, 0, 8)),
			 GNTST_general_error);
	fx_assert_unchanged(f, &s);
	/* a copy into it raises hst_w, which is free */
	assert_int_equal(copy_status(f, D_BACK,
				     copy_op(GNTCOPY_dest_gref, 1, DOMID_SELF,
					     0, ref, D_GUEST, 0, 8)),
			 GNTST_okay);
	assert_memory_equal(fx_page(f, D_GUEST, 3), fx_page(f, D_BACK, 1), 8);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_general_error);
	fx_snap(f, &s);
	assert_int_equal(copy_status(f, D_BACK,
				     copy_op(GNTCOPY_dest_gref, 1, DOMID_SELF,
					     0, ref, D_GUEST, 0, 8)),
			 GNTST_general_error);
	fx_assert_unchanged(f, &s);
	/* freeing one read-only host pin makes room for exactly that kind */
	assert_int_equal(fx_unmap(f, D_BACK, r0), GNTST_okay);
	map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_okay);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_r, 2);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_w, 2);
	assert_int_equal(fx_act(f, D_GUEST, ref)->dev_w, 1);
	assert_int_equal(fx_act(f, D_GUEST, ref)->dev_r, 1);
	assert_int_equal(pvio_gnt_hv_release_domain(&f->hv, fx_d(f, D_BACK)),
			 6);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
}

/* The default is Xen's: 128 pins of one kind, the 129th refused. */
static void pin_limit_default_is_128(void **state)
{
	struct fx *f = *state;
	static struct pvio_gnt_maptrack mt[200];
	struct pvio_gnt_domain back;
	struct pvio_gnt_active act[1];
	struct pvio_gnttab_map_grant_ref op;
	struct fx_snap s;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, true);
	int i;

	assert_int_equal(pvio_gnt_hv_set_pin_limit(&f->hv, 0), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_hv_set_pin_limit(&f->hv, 0x10000),
			 -PVIO_EINVAL);
	assert_int_equal(f->hv.pin_limit, PVIO_GNT_PIN_LIMIT_DEFAULT);
	assert_int_equal(PVIO_GNT_PIN_LIMIT_DEFAULT, 128);
	/* a backend with a bigger maptrack (and no grant table of its own) */
	assert_int_equal(pvio_gnt_domain_init(&back, D_BACK, NULL, 0, act, mt,
					      200, FX_NFRAMES),
			 0);
	memset(&op, 0, sizeof(op));
	op.flags = HOST | RO;
	op.ref = ref;
	op.dom = D_GUEST;
	for (i = 0; i < 128; i++) {
		assert_int_equal(pvio_gnt_hv_map(&f->hv, &back, &op, NULL, 1),
				 0);
		assert_int_equal(op.status, GNTST_okay);
	}
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_r, 128);
	fx_snap(f, &s);
	assert_int_equal(pvio_gnt_hv_map(&f->hv, &back, &op, NULL, 1), 0);
	assert_int_equal(op.status, GNTST_general_error);
	fx_assert_unchanged(f, &s);
	assert_int_equal(pvio_gnt_domain_nr_maps(&back), 128);
	assert_int_equal(pvio_gnt_hv_release_domain(&f->hv, &back), 128);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_readonly);
}

/* --- unmap ------------------------------------------------------------- */

static void unmap_expect(struct fx *f, pvio_domid_t mapper,
			 pvio_grant_handle_t h, uint64_t dev_bus_addr,
			 int16_t want)
{
	struct pvio_gnttab_unmap_grant_ref op;
	struct fx_snap s;

	memset(&op, 0, sizeof(op));
	op.handle = h;
	op.dev_bus_addr = dev_bus_addr;
	fx_snap(f, &s);
	assert_int_equal(
		pvio_gnt_hv_unmap(&f->hv, fx_d(f, mapper), &op, NULL, 1), 0);
	assert_int_equal(op.status, want);
	if (want != GNTST_okay)
		fx_assert_unchanged(f, &s);
}

static void unmap_handle_out_of_range_is_bad_handle(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);

	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	unmap_expect(f, D_BACK, FX_NMT, 0, GNTST_bad_handle);
	unmap_expect(f, D_BACK, 0xFFFFFFFFU, 0, GNTST_bad_handle);
}

static void unmap_handle_not_in_use_is_bad_handle(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);

	unmap_expect(f, D_BACK, 0, 0, GNTST_bad_handle);
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	/* another domain's handle 0 is not this one's */
	unmap_expect(f, D_OTHER, 0, 0, GNTST_bad_handle);
	unmap_expect(f, D_BACK, 1, 0, GNTST_bad_handle);
}

static void double_unmap_is_bad_handle(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);
	pvio_grant_handle_t h;

	h = map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	unmap_expect(f, D_BACK, h, 0, GNTST_okay);
	unmap_expect(f, D_BACK, h, 0, GNTST_bad_handle);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
}

/*
 * Xen 4.16+ unmap_common ("gnttab: adjust unmap checking of
 * dev_bus_addr"): on a device mapping, a dev_bus_addr that does not
 * match is GNTST_bad_dev_addr.
 */
static void unmap_wrong_dev_bus_addr_is_bad_dev_addr(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 6, false);
	pvio_grant_handle_t h;

	h = map_expect(f, D_BACK, D_GUEST, ref, DEV | HOST, GNTST_okay);
	unmap_expect(f, D_BACK, h, 5ULL << 12, GNTST_bad_dev_addr);
	unmap_expect(f, D_BACK, h, 6ULL << 12, GNTST_okay);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	/* a device-only mapping is checked the same way */
	h = map_expect(f, D_BACK, D_GUEST, ref, DEV | RO, GNTST_okay);
	unmap_expect(f, D_BACK, h, 7ULL << 12, GNTST_bad_dev_addr);
	unmap_expect(f, D_BACK, h, 0xFFFFFFFFFFFFFFFFULL, GNTST_bad_dev_addr);
	assert_int_equal(fx_act(f, D_GUEST, ref)->dev_r, 1);
	unmap_expect(f, D_BACK, h, 0, GNTST_okay);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
}

/* Without GNTMAP_device_map, Xen 4.16+ ignores dev_bus_addr entirely. */
static void unmap_dev_bus_addr_ignored_without_device_map(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 6, false);
	pvio_grant_handle_t h;

	h = map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	unmap_expect(f, D_BACK, h, 5ULL << 12, GNTST_okay);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
	assert_int_equal(pvio_gnt_domain_nr_maps(fx_d(f, D_BACK)), 0);
	h = map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_okay);
	unmap_expect(f, D_BACK, h, 0xFFFFFFFFFFFFFFFFULL, GNTST_okay);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
}

/* Handles are reused last (FIFO), so a stale handle stays stale longer. */
static void unmap_handles_are_reused_last(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);
	pvio_grant_handle_t a, b;

	a = map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	assert_int_equal(fx_unmap(f, D_BACK, a), GNTST_okay);
	b = map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	assert_int_not_equal(a, b);
}

/* --- end access vs mappings -------------------------------------------- */

static void end_access_refused_while_mapped(void **state)
{
	struct fx *f = *state;
	struct pvio_gnt_share *sh = fx_share(f, D_GUEST);
	uint32_t free0 = pvio_gnt_share_nr_free(sh);
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);
	pvio_grant_handle_t h1, h2;
	uint16_t before;

	h1 = map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_okay);
	h2 = map_expect(f, D_BACK, D_GUEST, ref, HOST | RO, GNTST_okay);
	before = fx_flags(f, D_GUEST, ref);
	assert_int_equal(pvio_gnt_share_end_access(sh, ref), -PVIO_EBUSY);
	assert_int_equal(fx_flags(f, D_GUEST, ref), before);
	assert_true(pvio_gnt_share_in_use(sh, ref));
	assert_int_equal(fx_unmap(f, D_BACK, h1), GNTST_okay);
	/* the read-only mapping still pins it */
	assert_int_equal(pvio_gnt_share_end_access(sh, ref), -PVIO_EBUSY);
	assert_true(pvio_gnt_share_in_use(sh, ref));
	assert_int_equal(fx_unmap(f, D_BACK, h2), GNTST_okay);
	assert_int_equal(pvio_gnt_share_end_access(sh, ref), 0);
	assert_false(pvio_gnt_share_in_use(sh, ref));
	assert_int_equal(fx_flags(f, D_GUEST, ref), 0);
	assert_int_equal(pvio_gnt_share_nr_free(sh), free0);
	/* and the ended grant can no longer be mapped */
	map_expect(f, D_BACK, D_GUEST, ref, HOST, GNTST_general_error);
}

/* --- copy -------------------------------------------------------------- */

static void fill_pattern(unsigned char *p, unsigned int seed)
{
	unsigned int i;

	for (i = 0; i < FX_PAGE; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static struct pvio_gnttab_copy copy_op(uint16_t flags, uint64_t src,
				       pvio_domid_t sdom, uint16_t soff,
				       uint64_t dst, pvio_domid_t ddom,
				       uint16_t doff, uint16_t len)
{
	struct pvio_gnttab_copy op;

	memset(&op, 0, sizeof(op));
	op.flags = flags;
	if (flags & GNTCOPY_source_gref)
		op.source.u.ref = (uint32_t)src;
	else
		op.source.u.gmfn = src;
	op.source.domid = sdom;
	op.source.offset = soff;
	if (flags & GNTCOPY_dest_gref)
		op.dest.u.ref = (uint32_t)dst;
	else
		op.dest.u.gmfn = dst;
	op.dest.domid = ddom;
	op.dest.offset = doff;
	op.len = len;
	op.status = 99;
	return op;
}

/* Copy one op as D_BACK; on failure also check nothing changed at all. */
static void copy_expect(struct fx *f, pvio_domid_t caller,
			struct pvio_gnttab_copy op, int16_t want)
{
	struct fx_snap s;
	unsigned char *mem = malloc(sizeof(f->dom));

	assert_non_null(mem);
	fx_snap(f, &s);
	memcpy(mem, f->dom, sizeof(f->dom));
	assert_int_equal(pvio_gnt_hv_copy(&f->hv, fx_d(f, caller), &op, 1), 0);
	assert_int_equal(op.status, want);
	if (want != GNTST_okay) {
		fx_assert_unchanged(f, &s);
		/* every byte of every domain's memory too */
		assert_memory_equal(mem, f->dom, sizeof(f->dom));
	}
	free(mem);
}

/* Record the flags of the gref sides while the copy runs. */
struct seen {
	uint32_t ref;
	pvio_domid_t dom;
	uint16_t flags;
	int calls;
};

static void see_flags(struct fx *f, struct pvio_gnt_domain *d, uint32_t frame,
		      bool writable)
{
	struct seen *s = f->user;

	(void)frame;
	(void)writable;
	if (d->domid == s->dom) {
		s->flags = fx_flags(f, s->dom, s->ref);
		s->calls++;
	}
}

static void copy_from_gref_to_local(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 5, true);
	unsigned char expect[FX_PAGE];
	struct seen seen = {ref, D_GUEST, 0, 0};

	fill_pattern(fx_page(f, D_GUEST, 5), 3);
	memcpy(expect, fx_page(f, D_BACK, 2), FX_PAGE);
	memcpy(expect + 100, fx_page(f, D_GUEST, 5) + 1000, 3000);
	f->user = &seen;
	f->on_frame_ptr = see_flags;
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, ref, D_GUEST, 1000, 2,
			    DOMID_SELF, 100, 3000),
		    GNTST_okay);
	assert_memory_equal(fx_page(f, D_BACK, 2), expect, FX_PAGE);
	/* pinned for reading during the copy, released after */
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.flags,
			 GTF_permit_access | GTF_readonly | GTF_reading);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_readonly);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(pvio_gnt_share_end_access(fx_share(f, D_GUEST), ref),
			 0);
}

static void copy_from_local_to_gref(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 8, false);
	unsigned char expect[FX_PAGE];
	struct seen seen = {ref, D_GUEST, 0, 0};

	fill_pattern(fx_page(f, D_BACK, 1), 11);
	memcpy(expect, fx_page(f, D_GUEST, 8), FX_PAGE);
	memcpy(expect, fx_page(f, D_BACK, 1) + 96, FX_PAGE - 96);
	f->user = &seen;
	f->on_frame_ptr = see_flags;
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_dest_gref, 1, DOMID_SELF, 96, ref, D_GUEST,
			    0, FX_PAGE - 96),
		    GNTST_okay);
	assert_memory_equal(fx_page(f, D_GUEST, 8), expect, FX_PAGE);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.flags,
			 GTF_permit_access | GTF_reading | GTF_writing);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	/* a full page and a zero-length copy are both fine */
	fill_pattern(fx_page(f, D_BACK, 1), 5);
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_dest_gref, 1, DOMID_SELF, 0, ref, D_GUEST,
			    0, FX_PAGE),
		    GNTST_okay);
	assert_memory_equal(fx_page(f, D_GUEST, 8), fx_page(f, D_BACK, 1),
			    FX_PAGE);
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_dest_gref, 1, DOMID_SELF, FX_PAGE, ref,
			    D_GUEST, FX_PAGE, 0),
		    GNTST_okay);
}

/* Both sides grants, of two different granters, while one is mapped. */
static void copy_gref_to_gref_while_mapped(void **state)
{
	struct fx *f = *state;
	uint32_t src = grant(f, D_GUEST, D_BACK, 4, true);
	uint32_t dst = grant(f, D_OTHER, D_BACK, 9, false);
	pvio_grant_handle_t h;

	fill_pattern(fx_page(f, D_GUEST, 4), 77);
	h = map_expect(f, D_BACK, D_OTHER, dst, HOST | RO, GNTST_okay);
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref | GNTCOPY_dest_gref, src,
			    D_GUEST, 0, dst, D_OTHER, 0, FX_PAGE),
		    GNTST_okay);
	assert_memory_equal(fx_page(f, D_OTHER, 9), fx_page(f, D_GUEST, 4),
			    FX_PAGE);
	/* the copy's write pin is gone, the mapping's read pin stays */
	assert_int_equal(fx_flags(f, D_OTHER, dst),
			 GTF_permit_access | GTF_reading);
	assert_int_equal(fx_act(f, D_OTHER, dst)->hst_r, 1);
	assert_int_equal(fx_act(f, D_OTHER, dst)->hst_w, 0);
	assert_int_equal(fx_unmap(f, D_BACK, h), GNTST_okay);
	assert_int_equal(fx_flags(f, D_OTHER, dst), GTF_permit_access);
}

/* Overlapping copy inside one local frame behaves like memmove. */
static void copy_local_overlap(void **state)
{
	struct fx *f = *state;
	unsigned char expect[FX_PAGE];

	fill_pattern(fx_page(f, D_BACK, 3), 1);
	memcpy(expect, fx_page(f, D_BACK, 3), FX_PAGE);
	memmove(expect + 10, expect, 1000);
	copy_expect(f, D_BACK,
		    copy_op(0, 3, DOMID_SELF, 0, 3, DOMID_SELF, 10, 1000),
		    GNTST_okay);
	assert_memory_equal(fx_page(f, D_BACK, 3), expect, FX_PAGE);
	memmove(expect, expect + 10, 1000);
	copy_expect(f, D_BACK,
		    copy_op(0, 3, DOMID_SELF, 10, 3, DOMID_SELF, 0, 1000),
		    GNTST_okay);
	assert_memory_equal(fx_page(f, D_BACK, 3), expect, FX_PAGE);
}

static void copy_crossing_page_is_bad_copy_arg(void **state)
{
	struct fx *f = *state;
	uint32_t sref = grant(f, D_GUEST, D_BACK, 5, true);
	uint32_t dref = grant(f, D_GUEST, D_BACK, 6, false);

	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, sref, D_GUEST, 4000, 2,
			    DOMID_SELF, 0, 97),
		    GNTST_bad_copy_arg);
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_dest_gref, 2, DOMID_SELF, 0, dref, D_GUEST,
			    4095, 2),
		    GNTST_bad_copy_arg);
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref | GNTCOPY_dest_gref, sref,
			    D_GUEST, 0, dref, D_GUEST, 0, FX_PAGE + 1),
		    GNTST_bad_copy_arg);
	copy_expect(f, D_BACK,
		    copy_op(0, 1, DOMID_SELF, 0xFFFF, 2, DOMID_SELF, 0, 1),
		    GNTST_bad_copy_arg);
	copy_expect(f, D_BACK,
		    copy_op(0, 1, DOMID_SELF, 0, 2, DOMID_SELF, 0, 0xFFFF),
		    GNTST_bad_copy_arg);
	/* Xen checks the bounds only after both sides were claimed: */
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, FX_NENT, D_GUEST, 4000, 2,
			    DOMID_SELF, 0, 4000),
		    GNTST_bad_gntref);
}

static void copy_unknown_or_dying_domain_is_bad_domain(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 5, false);

	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, ref, D_MISSING, 0, 2,
			    DOMID_SELF, 0, 8),
		    GNTST_bad_domain);
	copy_expect(
		f, D_BACK,
		copy_op(GNTCOPY_dest_gref, 2, DOMID_SELF, 0, ref, 0x7FF5, 0, 8),
		GNTST_bad_domain);
	assert_int_equal(pvio_gnt_hv_release_domain(&f->hv, fx_d(f, D_GUEST)),
			 0);
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_dest_gref, 2, DOMID_SELF, 0, ref, D_GUEST,
			    0, 8),
		    GNTST_bad_domain);
}

static void copy_ref_out_of_range_is_bad_gntref(void **state)
{
	struct fx *f = *state;

	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, FX_NENT, D_GUEST, 0, 2,
			    DOMID_SELF, 0, 8),
		    GNTST_bad_gntref);
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_dest_gref, 2, DOMID_SELF, 0, 0xFFFFFFFFU,
			    D_GUEST, 0, 8),
		    GNTST_bad_gntref);
}

static void copy_bad_entry_is_general_error(void **state)
{
	struct fx *f = *state;
	uint32_t ro = grant(f, D_GUEST, D_BACK, 5, true);
	uint32_t other = grant(f, D_GUEST, D_OTHER, 6, false);
	uint32_t ok = grant(f, D_GUEST, D_BACK, 7, false);

	/* not granted */
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, 25, D_GUEST, 0, 2, DOMID_SELF,
			    0, 8),
		    GNTST_general_error);
	/* granted to someone else */
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, other, D_GUEST, 0, 2,
			    DOMID_SELF, 0, 8),
		    GNTST_general_error);
	/* writing into a read-only grant */
	copy_expect(
		f, D_BACK,
		copy_op(GNTCOPY_dest_gref, 2, DOMID_SELF, 0, ro, D_GUEST, 0, 8),
		GNTST_general_error);
	/* a bad destination releases the good source's pin */
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref | GNTCOPY_dest_gref, ok,
			    D_GUEST, 0, ro, D_GUEST, 0, 8),
		    GNTST_general_error);
}

static void copy_foreign_frame_is_permission_denied(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 5, false);

	/* a frame of another domain */
	copy_expect(
		f, D_BACK,
		copy_op(GNTCOPY_dest_gref, 2, D_GUEST, 0, ref, D_GUEST, 0, 8),
		GNTST_permission_denied);
	copy_expect(
		f, D_BACK,
		copy_op(GNTCOPY_source_gref, ref, D_GUEST, 0, 2, D_OTHER, 0, 8),
		GNTST_permission_denied);
	/*
	 * Xen 4.17 gnttab_copy_lock_domain(): "Only DOMID_SELF may reference
	 * via frame", even the caller's own numeric id.
	 */
	copy_expect(
		f, D_BACK,
		copy_op(GNTCOPY_source_gref, ref, D_GUEST, 0, 2, D_BACK, 0, 8),
		GNTST_permission_denied);
	/* source side is checked first */
	copy_expect(f, D_BACK, copy_op(0, 2, D_OTHER, 0, ref, D_MISSING, 0, 8),
		    GNTST_permission_denied);
}

static void copy_frame_outside_memory_is_bad_page(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 5, false);
	uint32_t far = grant(f, D_GUEST, D_BACK, FX_NFRAMES + 3, false);
	uint32_t hole = grant(f, D_GUEST, D_BACK, FX_HOLE, false);

	/* the caller's own frame number */
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, ref, D_GUEST, 0, FX_NFRAMES,
			    DOMID_SELF, 0, 8),
		    GNTST_bad_page);
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_dest_gref, 1ULL << 40, DOMID_SELF, 0, ref,
			    D_GUEST, 0, 8),
		    GNTST_bad_page);
	/* a granted frame the granter does not have */
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, far, D_GUEST, 0, 2, DOMID_SELF,
			    0, 8),
		    GNTST_bad_page);
	/* a frame the environment cannot map (a hole) */
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_source_gref, hole, D_GUEST, 0, 2,
			    DOMID_SELF, 0, 8),
		    GNTST_bad_page);
	copy_expect(f, D_BACK,
		    copy_op(GNTCOPY_dest_gref, FX_HOLE + 1, DOMID_SELF, 0, ref,
			    D_GUEST, 0, 8),
		    GNTST_bad_page);
}

/* --- transfer ---------------------------------------------------------- */

static void transfer_expect(struct fx *f, pvio_domid_t caller, uint64_t mfn,
			    pvio_domid_t to, uint32_t ref, int16_t want)
{
	struct pvio_gnttab_transfer op;
	struct fx_snap s;
	bool present = mfn < FX_NFRAMES && f->dom[caller].present[mfn];

	memset(&op, 0, sizeof(op));
	op.mfn = mfn;
	op.domid = to;
	op.ref = ref;
	op.status = 99;
	fx_snap(f, &s);
	assert_int_equal(pvio_gnt_hv_transfer(&f->hv, fx_d(f, caller), &op, 1),
			 0);
	assert_int_equal(op.status, want);
	if (want != GNTST_okay) {
		fx_assert_unchanged(f, &s);
		/* unlike Xen, the page stays with the caller */
		if (mfn < FX_NFRAMES)
			assert_int_equal(f->dom[caller].present[mfn], present);
	}
}

static void transfer_moves_page_and_completes(void **state)
{
	struct fx *f = *state;
	struct pvio_gnt_share *sh = fx_share(f, D_GUEST);
	uint32_t free0 = pvio_gnt_share_nr_free(sh);
	int ref = pvio_gnt_share_grant_transfer(sh, D_BACK, 0x1234);
	unsigned char expect[FX_PAGE];
	uint32_t frame = 0;

	assert_true(ref >= GNTTAB_NR_RESERVED_ENTRIES);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_accept_transfer);
	assert_int_equal(fx_entry(f, D_GUEST, ref)->frame, 0x1234);
	fill_pattern(fx_page(f, D_BACK, 4), 42);
	memcpy(expect, fx_page(f, D_BACK, 4), FX_PAGE);
	transfer_expect(f, D_BACK, 4, D_GUEST, (uint32_t)ref, GNTST_okay);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_accept_transfer | GTF_transfer_committed |
				 GTF_transfer_completed);
	assert_false(f->dom[D_BACK].present[4]);
	assert_int_equal(pvio_gnt_share_end_transfer(sh, (uint32_t)ref, &frame),
			 0);
	assert_int_equal(frame, FX_HOLE); /* the receiver's first hole */
	assert_memory_equal(fx_page(f, D_GUEST, frame), expect, FX_PAGE);
	assert_false(pvio_gnt_share_in_use(sh, (uint32_t)ref));
	assert_int_equal(fx_flags(f, D_GUEST, ref), 0);
	assert_int_equal(pvio_gnt_share_nr_free(sh), free0);
	/* a second end is refused: the ref is free */
	assert_int_equal(pvio_gnt_share_end_transfer(sh, (uint32_t)ref, &frame),
			 -PVIO_EINVAL);
}

static void transfer_bad_frame_is_bad_page(void **state)
{
	struct fx *f = *state;
	int ref =
		pvio_gnt_share_grant_transfer(fx_share(f, D_GUEST), D_BACK, 0);

	transfer_expect(f, D_BACK, FX_NFRAMES, D_GUEST, (uint32_t)ref,
			GNTST_bad_page);
	transfer_expect(f, D_BACK, 1ULL << 33, D_GUEST, (uint32_t)ref,
			GNTST_bad_page);
	/* checked before the receiver, as in Xen */
	transfer_expect(f, D_BACK, FX_NFRAMES, D_MISSING, (uint32_t)ref,
			GNTST_bad_page);
	assert_int_equal(f->transfer_calls, 0);
	/* a hole the environment cannot move: its code, page untouched */
	transfer_expect(f, D_BACK, FX_HOLE, D_GUEST, (uint32_t)ref,
			GNTST_bad_page);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_accept_transfer);
}

static void transfer_unknown_receiver_is_bad_domain(void **state)
{
	struct fx *f = *state;
	int ref =
		pvio_gnt_share_grant_transfer(fx_share(f, D_GUEST), D_BACK, 0);

	transfer_expect(f, D_BACK, 4, D_MISSING, (uint32_t)ref,
			GNTST_bad_domain);
	transfer_expect(f, D_BACK, 4, DOMID_SELF, (uint32_t)ref,
			GNTST_bad_domain);
	assert_int_equal(f->transfer_calls, 0);
}

/* Xen 4.17: "Transferee d%d is dying" -> GNTST_general_error. */
static void transfer_dying_receiver_is_general_error(void **state)
{
	struct fx *f = *state;
	int ref =
		pvio_gnt_share_grant_transfer(fx_share(f, D_GUEST), D_BACK, 0);

	assert_int_equal(pvio_gnt_hv_release_domain(&f->hv, fx_d(f, D_GUEST)),
			 0);
	transfer_expect(f, D_BACK, 4, D_GUEST, (uint32_t)ref,
			GNTST_general_error);
	assert_int_equal(f->transfer_calls, 0);
}

/* Xen 4.17 gnttab_prepare_for_transfer(): a bad ref is a general_error. */
static void transfer_ref_out_of_range_is_general_error(void **state)
{
	struct fx *f = *state;

	transfer_expect(f, D_BACK, 4, D_GUEST, FX_NENT, GNTST_general_error);
	transfer_expect(f, D_BACK, 4, D_GUEST, 0xFFFFFFFFU,
			GNTST_general_error);
	assert_int_equal(f->transfer_calls, 0);
}

static void transfer_bad_entry_is_general_error(void **state)
{
	struct fx *f = *state;
	struct pvio_gnt_share *sh = fx_share(f, D_GUEST);
	uint32_t access = grant(f, D_GUEST, D_BACK, 3, false);
	int other = pvio_gnt_share_grant_transfer(sh, D_OTHER, 0);
	int ok = pvio_gnt_share_grant_transfer(sh, D_BACK, 0);

	transfer_expect(f, D_BACK, 4, D_GUEST, 20, GNTST_general_error);
	transfer_expect(f, D_BACK, 4, D_GUEST, access, GNTST_general_error);
	transfer_expect(f, D_BACK, 4, D_GUEST, (uint32_t)other,
			GNTST_general_error);
	assert_int_equal(f->transfer_calls, 0);
	/* a committed entry takes no second page */
	transfer_expect(f, D_BACK, 4, D_GUEST, (uint32_t)ok, GNTST_okay);
	transfer_expect(f, D_BACK, 5, D_GUEST, (uint32_t)ok,
			GNTST_general_error);
}

static void transfer_env_failure_rolls_back(void **state)
{
	struct fx *f = *state;
	int ref =
		pvio_gnt_share_grant_transfer(fx_share(f, D_GUEST), D_BACK, 0);

	f->transfer_rc = GNTST_address_too_big;
	transfer_expect(f, D_BACK, 4, D_GUEST, (uint32_t)ref,
			GNTST_address_too_big);
	assert_int_equal(f->transfer_calls, 1);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_accept_transfer);
	assert_true(f->dom[D_BACK].present[4]);
	f->transfer_rc = GNTST_okay;
	transfer_expect(f, D_BACK, 4, D_GUEST, (uint32_t)ref, GNTST_okay);
}

static void transfer_reclaimed_before_commit(void **state)
{
	struct fx *f = *state;
	struct pvio_gnt_share *sh = fx_share(f, D_GUEST);
	uint32_t free0 = pvio_gnt_share_nr_free(sh);
	int ref = pvio_gnt_share_grant_transfer(sh, D_BACK, 0);
	uint32_t frame = 77;

	assert_int_equal(pvio_gnt_share_end_transfer(sh, (uint32_t)ref, &frame),
			 -PVIO_ENOENT);
	assert_int_equal(frame, 77);
	assert_false(pvio_gnt_share_in_use(sh, (uint32_t)ref));
	assert_int_equal(fx_flags(f, D_GUEST, ref), 0);
	assert_int_equal(pvio_gnt_share_nr_free(sh), free0);
	/* the withdrawn offer takes no page */
	transfer_expect(f, D_BACK, 4, D_GUEST, (uint32_t)ref,
			GNTST_general_error);
	assert_true(f->dom[D_BACK].present[4]);
}

/* While the page moves, end_transfer says "in progress" and keeps the ref. */
static void end_transfer_during_move(struct fx *f)
{
	uint32_t ref = *(uint32_t *)f->user;
	uint32_t frame = 55;

	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_accept_transfer | GTF_transfer_committed);
	assert_int_equal(
		pvio_gnt_share_end_transfer(fx_share(f, D_GUEST), ref, &frame),
		-PVIO_EINPROGRESS);
	assert_int_equal(frame, 55);
	assert_true(pvio_gnt_share_in_use(fx_share(f, D_GUEST), ref));
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_accept_transfer | GTF_transfer_committed);
}

static void transfer_in_progress(void **state)
{
	struct fx *f = *state;
	struct pvio_gnt_share *sh = fx_share(f, D_GUEST);
	uint32_t ref = (uint32_t)pvio_gnt_share_grant_transfer(sh, D_BACK, 0);
	uint32_t frame = 0;

	f->user = &ref;
	f->on_transfer = end_transfer_during_move;
	transfer_expect(f, D_BACK, 2, D_GUEST, ref, GNTST_okay);
	assert_int_equal(f->transfer_calls, 1);
	assert_int_equal(pvio_gnt_share_end_transfer(sh, ref, &frame), 0);
	assert_int_equal(frame, FX_HOLE);
}

/* --- ops are read once ------------------------------------------------- */

/*
 * The op arrays may be memory the calling guest keeps writing (the stub
 * may pass the hypercall's buffer through).  Each test rewrites the
 * caller's op from inside a callback the core makes mid-operation and
 * checks that the core went on with the values it read at the start, and
 * wrote back only the OUT fields.
 */
struct hostile {
	void *op;     /* the caller's op, rewritten once */
	uint32_t ref; /* the ref to put into it */
	int calls;
};

static void rewrite_map_op(struct fx *f, pvio_domid_t domid)
{
	struct hostile *h = f->user;
	struct pvio_gnttab_map_grant_ref *op = h->op;

	(void)domid;
	if (h->calls++ != 0)
		return;
	op->ref = h->ref;
	op->flags = GNTMAP_host_map | GNTMAP_device_map;
	op->dom = D_OTHER;
}

static void map_reads_op_once(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, true);
	uint32_t ref2 = grant(f, D_GUEST, D_BACK, 4, false);
	struct pvio_gnttab_map_grant_ref op;
	struct pvio_gnt_map_info info;
	struct hostile h;

	memset(&op, 0, sizeof(op));
	op.flags = HOST | RO;
	op.ref = ref;
	op.dom = D_GUEST;
	op.status = 99;
	h.op = &op;
	h.ref = ref2;
	h.calls = 0;
	f->user = &h;
	f->on_lookup = rewrite_map_op;
	assert_int_equal(pvio_gnt_hv_map(&f->hv, fx_d(f, D_BACK), &op, NULL, 1),
			 0);
	f->on_lookup = NULL;
	assert_int_equal(h.calls, 1);
	assert_int_equal(op.status, GNTST_okay);
	/* the original ref, read-only, host only, of the original granter */
	assert_int_equal(op.dev_bus_addr, 3ULL << 12);
	assert_int_equal(
		pvio_gnt_hv_map_info(fx_d(f, D_BACK), op.handle, &info), 0);
	assert_int_equal(info.domid, D_GUEST);
	assert_int_equal(info.ref, ref);
	assert_int_equal(info.flags, HOST | RO);
	assert_int_equal(info.frame, 3);
	assert_int_equal(fx_act(f, D_GUEST, ref)->hst_r, 1);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 1);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_readonly | GTF_reading);
	assert_int_equal(fx_pins(f, D_GUEST, ref2), 0);
	assert_int_equal(fx_flags(f, D_GUEST, ref2), GTF_permit_access);
	assert_int_equal(pvio_gnt_domain_nr_pinned(fx_d(f, D_OTHER)), 0);
	/* only OUT fields were written: the rewrite is still there */
	assert_int_equal(op.ref, ref2);
	assert_int_equal(op.flags, HOST | DEV);
	assert_int_equal(op.dom, D_OTHER);
	assert_int_equal(fx_unmap(f, D_BACK, op.handle), GNTST_okay);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_permit_access | GTF_readonly);
	assert_int_equal(pvio_gnt_share_end_access(fx_share(f, D_GUEST), ref),
			 0);
	assert_int_equal(pvio_gnt_share_end_access(fx_share(f, D_GUEST), ref2),
			 0);
}

static void rewrite_unmap_op(struct fx *f, pvio_domid_t domid)
{
	struct hostile *h = f->user;
	struct pvio_gnttab_unmap_grant_ref *op = h->op;

	(void)domid;
	if (h->calls++ != 0)
		return;
	op->handle = h->ref;
	op->dev_bus_addr = 1ULL << 12;
}

static void unmap_reads_op_once(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 3, false);
	uint32_t ref2 = grant(f, D_GUEST, D_BACK, 4, false);
	struct pvio_gnttab_unmap_grant_ref op;
	struct pvio_gnt_map_info info, left;
	pvio_grant_handle_t h1, h2;
	struct hostile h;

	h1 = map_expect(f, D_BACK, D_GUEST, ref, DEV | HOST, GNTST_okay);
	h2 = map_expect(f, D_BACK, D_GUEST, ref2, DEV | HOST, GNTST_okay);
	memset(&op, 0, sizeof(op));
	op.handle = h1;
	op.dev_bus_addr = 3ULL << 12;
	op.status = 99;
	h.op = &op;
	h.ref = h2;
	h.calls = 0;
	f->user = &h;
	f->on_lookup = rewrite_unmap_op;
	assert_int_equal(
		pvio_gnt_hv_unmap(&f->hv, fx_d(f, D_BACK), &op, &info, 1), 0);
	f->on_lookup = NULL;
	assert_int_equal(h.calls, 1);
	assert_int_equal(op.status, GNTST_okay);
	assert_int_equal(info.ref, ref);
	assert_int_equal(pvio_gnt_hv_map_info(fx_d(f, D_BACK), h1, &left),
			 -PVIO_ENOENT);
	assert_int_equal(pvio_gnt_hv_map_info(fx_d(f, D_BACK), h2, &left), 0);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
	assert_int_equal(fx_act(f, D_GUEST, ref2)->hst_w, 1);
	assert_int_equal(fx_act(f, D_GUEST, ref2)->dev_w, 1);
	assert_int_equal(op.handle, h2);
	assert_int_equal(op.dev_bus_addr, 1ULL << 12);
	assert_int_equal(fx_unmap(f, D_BACK, h2), GNTST_okay);
	assert_int_equal(fx_pins(f, D_GUEST, ref2), 0);
}

/* From the first frame_ptr (the source's): a whole page into another ref. */
static void rewrite_copy_op(struct fx *f, struct pvio_gnt_domain *d,
			    uint32_t frame, bool writable)
{
	struct hostile *h = f->user;
	struct pvio_gnttab_copy *op = h->op;

	(void)d;
	(void)frame;
	(void)writable;
	if (h->calls++ != 0)
		return;
	op->len = FX_PAGE;
	op->source.offset = 0;
	op->dest.offset = 0;
	op->dest.u.ref = h->ref;
}

static void copy_reads_op_once(void **state)
{
	struct fx *f = *state;
	uint32_t sref = grant(f, D_GUEST, D_BACK, 5, true);
	uint32_t dref = grant(f, D_GUEST, D_BACK, 6, false);
	uint32_t dref2 = grant(f, D_GUEST, D_BACK, 7, false);
	struct pvio_gnt_share *sh = fx_share(f, D_GUEST);
	unsigned char expect6[FX_PAGE], expect7[FX_PAGE];
	struct pvio_gnttab_copy op;
	pvio_grant_handle_t mh;
	struct hostile h;

	fill_pattern(fx_page(f, D_GUEST, 5), 9);
	/* the destination is also mapped read-only: a pin of its own */
	mh = map_expect(f, D_BACK, D_GUEST, dref, HOST | RO, GNTST_okay);
	memcpy(expect6, fx_page(f, D_GUEST, 6), FX_PAGE);
	memcpy(expect6 + 8, fx_page(f, D_GUEST, 5) + 100, 16);
	memcpy(expect7, fx_page(f, D_GUEST, 7), FX_PAGE);
	op = copy_op(GNTCOPY_source_gref | GNTCOPY_dest_gref, sref, D_GUEST,
		     100, dref, D_GUEST, 8, 16);
	h.op = &op;
	h.ref = dref2;
	h.calls = 0;
	f->user = &h;
	f->on_frame_ptr = rewrite_copy_op;
	assert_int_equal(pvio_gnt_hv_copy(&f->hv, fx_d(f, D_BACK), &op, 1), 0);
	f->on_frame_ptr = NULL;
	assert_int_equal(h.calls, 2);
	assert_int_equal(op.status, GNTST_okay);
	/* 16 bytes at offset 8 of dref's frame; nothing before or after */
	assert_memory_equal(fx_page(f, D_GUEST, 6), expect6, FX_PAGE);
	/* the ref swapped in was never written */
	assert_memory_equal(fx_page(f, D_GUEST, 7), expect7, FX_PAGE);
	/* only the status was written back */
	assert_int_equal(op.len, FX_PAGE);
	assert_int_equal(op.dest.u.ref, dref2);
	assert_int_equal(op.dest.offset, 0);
	/* the copy's pins are gone, the mapping's stays */
	assert_int_equal(fx_pins(f, D_GUEST, sref), 0);
	assert_int_equal(fx_flags(f, D_GUEST, sref),
			 GTF_permit_access | GTF_readonly);
	assert_int_equal(fx_act(f, D_GUEST, dref)->hst_r, 1);
	assert_int_equal(fx_pins(f, D_GUEST, dref), 1);
	assert_int_equal(fx_flags(f, D_GUEST, dref),
			 GTF_permit_access | GTF_reading);
	assert_int_equal(fx_pins(f, D_GUEST, dref2), 0);
	assert_int_equal(fx_flags(f, D_GUEST, dref2), GTF_permit_access);
	assert_int_equal(fx_unmap(f, D_BACK, mh), GNTST_okay);
	assert_int_equal(pvio_gnt_domain_nr_pinned(fx_d(f, D_GUEST)), 0);
	assert_int_equal(pvio_gnt_share_end_access(sh, sref), 0);
	assert_int_equal(pvio_gnt_share_end_access(sh, dref), 0);
	assert_int_equal(pvio_gnt_share_end_access(sh, dref2), 0);
}

static void rewrite_transfer_op(struct fx *f, pvio_domid_t domid)
{
	struct hostile *h = f->user;
	struct pvio_gnttab_transfer *op = h->op;

	(void)domid;
	if (h->calls++ != 0)
		return;
	/* a frame the caller does not have, and another offer */
	op->mfn = FX_NFRAMES + 100;
	op->ref = h->ref;
	op->domid = D_OTHER;
}

static void transfer_reads_op_once(void **state)
{
	struct fx *f = *state;
	struct pvio_gnt_share *sh = fx_share(f, D_GUEST);
	int ref = pvio_gnt_share_grant_transfer(sh, D_BACK, 0);
	int ref2 = pvio_gnt_share_grant_transfer(sh, D_BACK, 0);
	unsigned char expect[FX_PAGE];
	struct pvio_gnttab_transfer op;
	struct hostile h;
	uint32_t frame = 0;

	assert_true(ref >= GNTTAB_NR_RESERVED_ENTRIES);
	assert_true(ref2 >= GNTTAB_NR_RESERVED_ENTRIES);
	fill_pattern(fx_page(f, D_BACK, 4), 21);
	memcpy(expect, fx_page(f, D_BACK, 4), FX_PAGE);
	memset(&op, 0, sizeof(op));
	op.mfn = 4;
	op.domid = D_GUEST;
	op.ref = (uint32_t)ref;
	op.status = 99;
	h.op = &op;
	h.ref = (uint32_t)ref2;
	h.calls = 0;
	f->user = &h;
	f->on_lookup = rewrite_transfer_op;
	assert_int_equal(pvio_gnt_hv_transfer(&f->hv, fx_d(f, D_BACK), &op, 1),
			 0);
	f->on_lookup = NULL;
	assert_int_equal(h.calls, 1);
	assert_int_equal(op.status, GNTST_okay);
	assert_int_equal(f->transfer_calls, 1);
	/* frame 4 went to the original receiver's original offer */
	assert_false(f->dom[D_BACK].present[4]);
	assert_int_equal(fx_flags(f, D_GUEST, ref),
			 GTF_accept_transfer | GTF_transfer_committed |
				 GTF_transfer_completed);
	assert_int_equal(fx_flags(f, D_GUEST, ref2), GTF_accept_transfer);
	assert_int_equal(fx_flags(f, D_OTHER, ref), 0);
	assert_int_equal(pvio_gnt_share_end_transfer(sh, (uint32_t)ref, &frame),
			 0);
	assert_memory_equal(fx_page(f, D_GUEST, frame), expect, FX_PAGE);
	assert_int_equal(
		pvio_gnt_share_end_transfer(sh, (uint32_t)ref2, &frame),
		-PVIO_ENOENT);
	assert_int_equal(op.mfn, FX_NFRAMES + 100);
	assert_int_equal(op.ref, (uint32_t)ref2);
}

/* --- batches ----------------------------------------------------------- */

static void batch_map_unmap_mixed(void **state)
{
	struct fx *f = *state;
	uint32_t a = grant(f, D_GUEST, D_BACK, 3, false);
	uint32_t b = grant(f, D_GUEST, D_BACK, 4, true);
	struct pvio_gnttab_map_grant_ref m[5];
	struct pvio_gnttab_unmap_grant_ref u[4];
	struct pvio_gnt_map_info info[4];
	uint32_t frames[5] = {99, 99, 99, 99, 99};
	int i;

	memset(m, 0, sizeof(m));
	m[0] = (struct pvio_gnttab_map_grant_ref){
		.flags = HOST, .ref = a, .dom = D_GUEST};
	m[1] = (struct pvio_gnttab_map_grant_ref){
		.flags = HOST, .ref = 30, .dom = D_GUEST};
	m[2] = (struct pvio_gnttab_map_grant_ref){
		.flags = HOST | RO, .ref = b, .dom = D_GUEST};
	m[3] = (struct pvio_gnttab_map_grant_ref){
		.flags = HOST, .ref = a, .dom = D_MISSING};
	m[4] = (struct pvio_gnttab_map_grant_ref){
		.flags = RO, .ref = a, .dom = D_GUEST};
	assert_int_equal(pvio_gnt_hv_map(&f->hv, fx_d(f, D_BACK), m, frames, 5),
			 0);
	assert_int_equal(m[0].status, GNTST_okay);
	assert_int_equal(m[1].status, GNTST_general_error); /* not granted */
	assert_int_equal(m[2].status, GNTST_okay);
	assert_int_equal(m[3].status, GNTST_bad_domain);
	assert_int_equal(m[4].status, GNTST_bad_gntref);
	assert_int_equal(frames[0], 3);
	assert_int_equal(frames[1], 99);
	assert_int_equal(frames[2], 4);
	assert_int_equal(frames[3], 99);
	assert_int_equal(frames[4], 99);
	assert_int_not_equal(m[0].handle, m[2].handle);
	assert_int_equal(pvio_gnt_domain_nr_maps(fx_d(f, D_BACK)), 2);

	memset(u, 0, sizeof(u));
	memset(info, 0xAA, sizeof(info));
	u[0].handle = m[2].handle;
	u[1].handle = 7; /* never mapped */
	u[2].handle = m[0].handle;
	u[3].handle = m[2].handle; /* double unmap within the batch */
	assert_int_equal(pvio_gnt_hv_unmap(&f->hv, fx_d(f, D_BACK), u, info, 4),
			 0);
	assert_int_equal(u[0].status, GNTST_okay);
	assert_int_equal(u[1].status, GNTST_bad_handle);
	assert_int_equal(u[2].status, GNTST_okay);
	assert_int_equal(u[3].status, GNTST_bad_handle);
	assert_int_equal(info[0].ref, b);
	assert_int_equal(info[0].frame, 4);
	assert_int_equal(info[0].flags, HOST | RO);
	assert_int_equal(info[2].ref, a);
	assert_int_equal(info[2].domid, D_GUEST);
	assert_int_equal(pvio_gnt_domain_nr_maps(fx_d(f, D_BACK)), 0);
	for (i = 0; i < FX_NENT; i++)
		assert_int_equal(fx_pins(f, D_GUEST, i), 0);
	assert_int_equal(fx_flags(f, D_GUEST, a), GTF_permit_access);
	assert_int_equal(fx_flags(f, D_GUEST, b),
			 GTF_permit_access | GTF_readonly);
}

static void batch_copy_mixed(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_GUEST, D_BACK, 5, false);
	struct pvio_gnttab_copy c[4];
	unsigned char expect[FX_PAGE];

	fill_pattern(fx_page(f, D_BACK, 1), 9);
	memcpy(expect, fx_page(f, D_GUEST, 5), FX_PAGE);
	memcpy(expect + 10, fx_page(f, D_BACK, 1), 20);
	memcpy(expect + 2000, fx_page(f, D_BACK, 1) + 50, 30);
	c[0] = copy_op(GNTCOPY_dest_gref, 1, DOMID_SELF, 0, ref, D_GUEST, 10,
		       20);
	c[1] = copy_op(GNTCOPY_dest_gref, 1, DOMID_SELF, 0, ref, D_GUEST, 4090,
		       20);
	c[2] = copy_op(GNTCOPY_dest_gref, 1, DOMID_SELF, 0, 27, D_GUEST, 0, 20);
	c[3] = copy_op(GNTCOPY_dest_gref, 1, DOMID_SELF, 50, ref, D_GUEST, 2000,
		       30);
	assert_int_equal(pvio_gnt_hv_copy(&f->hv, fx_d(f, D_BACK), c, 4), 0);
	assert_int_equal(c[0].status, GNTST_okay);
	assert_int_equal(c[1].status, GNTST_bad_copy_arg);
	assert_int_equal(c[2].status, GNTST_general_error);
	assert_int_equal(c[3].status, GNTST_okay);
	assert_memory_equal(fx_page(f, D_GUEST, 5), expect, FX_PAGE);
	assert_int_equal(fx_flags(f, D_GUEST, ref), GTF_permit_access);
	assert_int_equal(fx_pins(f, D_GUEST, ref), 0);
}

static void batch_transfer_mixed(void **state)
{
	struct fx *f = *state;
	struct pvio_gnt_share *sh = fx_share(f, D_GUEST);
	uint32_t r1 = (uint32_t)pvio_gnt_share_grant_transfer(sh, D_BACK, 0);
	uint32_t r2 = (uint32_t)pvio_gnt_share_grant_transfer(sh, D_BACK, 0);
	struct pvio_gnttab_transfer t[4];
	uint32_t fr1 = 0, fr2 = 0;

	memset(t, 0, sizeof(t));
	t[0] = (struct pvio_gnttab_transfer){
		.mfn = 1, .domid = D_GUEST, .ref = r1};
	t[1] = (struct pvio_gnttab_transfer){
		.mfn = 99, .domid = D_GUEST, .ref = r2};
	t[2] = (struct pvio_gnttab_transfer){
		.mfn = 2, .domid = D_GUEST, .ref = r1};
	t[3] = (struct pvio_gnttab_transfer){
		.mfn = 3, .domid = D_GUEST, .ref = r2};
	assert_int_equal(pvio_gnt_hv_transfer(&f->hv, fx_d(f, D_BACK), t, 4),
			 0);
	assert_int_equal(t[0].status, GNTST_okay);
	assert_int_equal(t[1].status, GNTST_bad_page);
	assert_int_equal(t[2].status, GNTST_general_error); /* committed */
	assert_int_equal(t[3].status, GNTST_okay);
	assert_false(f->dom[D_BACK].present[1]);
	assert_true(f->dom[D_BACK].present[2]);
	assert_false(f->dom[D_BACK].present[3]);
	assert_int_equal(pvio_gnt_share_end_transfer(sh, r1, &fr1), 0);
	assert_int_equal(pvio_gnt_share_end_transfer(sh, r2, &fr2), 0);
	assert_int_equal(fr1, FX_HOLE);
	assert_int_equal(fr2, FX_HOLE + 1);
	assert_int_equal(fx_page(f, D_GUEST, fr1)[0], D_BACK * 16 + 1);
	assert_int_equal(fx_page(f, D_GUEST, fr2)[0], D_BACK * 16 + 3);
}

/* --- domain death ------------------------------------------------------ */

static void death_releases_mappings_and_pins(void **state)
{
	struct fx *f = *state;
	uint32_t g1 = grant(f, D_GUEST, D_BACK, 3, false);
	uint32_t g2 = grant(f, D_GUEST, D_BACK, 4, true);
	uint32_t o1 = grant(f, D_OTHER, D_BACK, 5, false);
	uint32_t b1 = grant(f, D_BACK, D_GUEST, 6, false);
	int tref =
		pvio_gnt_share_grant_transfer(fx_share(f, D_BACK), D_GUEST, 0);
	pvio_grant_handle_t hg;
	struct fx_snap s;
	int i;

	map_expect(f, D_BACK, D_GUEST, g1, HOST, GNTST_okay);
	map_expect(f, D_BACK, D_GUEST, g1, HOST | RO, GNTST_okay);
	map_expect(f, D_BACK, D_GUEST, g2, DEV | RO, GNTST_okay);
	map_expect(f, D_BACK, D_OTHER, o1, HOST | DEV, GNTST_okay);
	/* D_GUEST maps a grant of the dying backend: that one survives */
	hg = map_expect(f, D_GUEST, D_BACK, b1, HOST, GNTST_okay);

	assert_int_equal(pvio_gnt_hv_release_domain(&f->hv, fx_d(f, D_BACK)),
			 4);
	assert_true(fx_d(f, D_BACK)->dying);
	assert_int_equal(pvio_gnt_domain_nr_maps(fx_d(f, D_BACK)), 0);
	for (i = 0; i < FX_NENT; i++) {
		assert_int_equal(fx_pins(f, D_GUEST, i), 0);
		assert_int_equal(fx_pins(f, D_OTHER, i), 0);
	}
	assert_int_equal(fx_flags(f, D_GUEST, g1), GTF_permit_access);
	assert_int_equal(fx_flags(f, D_GUEST, g2),
			 GTF_permit_access | GTF_readonly);
	assert_int_equal(fx_flags(f, D_OTHER, o1), GTF_permit_access);
	assert_int_equal(pvio_gnt_share_end_access(fx_share(f, D_GUEST), g1),
			 0);
	assert_int_equal(pvio_gnt_share_end_access(fx_share(f, D_GUEST), g2),
			 0);
	assert_int_equal(pvio_gnt_share_end_access(fx_share(f, D_OTHER), o1),
			 0);
	assert_int_equal(pvio_gnt_domain_nr_pinned(fx_d(f, D_BACK)), 1);

	/* naming the dead domain as granter */
	map_expect(f, D_GUEST, D_BACK, b1, HOST, GNTST_bad_domain);
	copy_expect(f, D_GUEST,
		    copy_op(GNTCOPY_source_gref, b1, D_BACK, 0, 1, DOMID_SELF,
			    0, 8),
		    GNTST_bad_domain);
	transfer_expect(f, D_GUEST, 1, D_BACK, (uint32_t)tref,
			GNTST_general_error);
	/* the dead domain itself can do nothing new */
	map_expect(f, D_BACK, D_OTHER, o1, HOST, GNTST_permission_denied);
	copy_expect(f, D_BACK,
		    copy_op(0, 1, DOMID_SELF, 0, 2, DOMID_SELF, 0, 8),
		    GNTST_permission_denied);
	transfer_expect(f, D_BACK, 1, D_GUEST, 0, GNTST_permission_denied);
	/* its peers can still unmap what they mapped of it */
	assert_int_equal(fx_unmap(f, D_GUEST, hg), GNTST_okay);
	assert_int_equal(pvio_gnt_domain_nr_pinned(fx_d(f, D_BACK)), 0);
	assert_int_equal(fx_flags(f, D_BACK, b1), GTF_permit_access);

	/* releasing again finds nothing; NULL is a no-op */
	fx_snap(f, &s);
	assert_int_equal(pvio_gnt_hv_release_domain(&f->hv, fx_d(f, D_BACK)),
			 0);
	assert_int_equal(pvio_gnt_hv_release_domain(&f->hv, NULL), 0);
	assert_int_equal(pvio_gnt_hv_release_domain(NULL, NULL), 0);
	fx_assert_unchanged(f, &s);
}

/* A mapping whose granter's record vanished (a stub bug) is dropped. */
static void unmap_of_vanished_granter(void **state)
{
	struct fx *f = *state;
	uint32_t ref = grant(f, D_OTHER, D_BACK, 3, false);
	pvio_grant_handle_t h;

	h = map_expect(f, D_BACK, D_OTHER, ref, HOST, GNTST_okay);
	f->dom[D_OTHER].exists = false;
	assert_int_equal(fx_unmap(f, D_BACK, h), GNTST_bad_domain);
	assert_int_equal(pvio_gnt_domain_nr_maps(fx_d(f, D_BACK)), 0);
	assert_int_equal(fx_unmap(f, D_BACK, h), GNTST_bad_handle);
}

/* --- arguments --------------------------------------------------------- */

static void bad_arguments(void **state)
{
	struct fx *f = *state;
	struct pvio_gnt_hv hv;
	struct pvio_gnt_hv_ops ops = {NULL, NULL, NULL};
	struct pvio_gnt_domain d;
	struct pvio_gnttab_map_grant_ref m;
	struct pvio_gnt_map_info info;

	memset(&m, 0, sizeof(m));

	assert_int_equal(pvio_gnt_hv_init(&hv, &ops, NULL), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_hv_init(&hv, NULL, NULL), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_hv_init(NULL, &f->ops, NULL), -PVIO_EINVAL);
	assert_int_equal(
		pvio_gnt_domain_init(&d, DOMID_SELF, NULL, 0, NULL, NULL, 0, 0),
		-PVIO_EINVAL);
	assert_int_equal(pvio_gnt_domain_init(&d, 1, NULL, 4, NULL, NULL, 0, 0),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_domain_init(&d, 1, NULL, 0, NULL, NULL, 4, 0),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_domain_init(&d, 1, NULL, 0, NULL, NULL, 0, 0),
			 0);
	assert_int_equal(pvio_gnt_hv_map(&f->hv, NULL, &m, NULL, 1),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_hv_map(&f->hv, &d, NULL, NULL, 1),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_hv_map(NULL, &d, &m, NULL, 1), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_hv_map(&f->hv, &d, NULL, NULL, 0), 0);
	assert_int_equal(pvio_gnt_hv_unmap(&f->hv, &d, NULL, NULL, 1),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_hv_copy(&f->hv, &d, NULL, 1), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_hv_transfer(&f->hv, &d, NULL, 1),
			 -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_hv_map_info(&d, 0, &info), -PVIO_ENOENT);
	assert_int_equal(pvio_gnt_hv_map_info(NULL, 0, &info), -PVIO_EINVAL);
	assert_int_equal(pvio_gnt_domain_nr_maps(NULL), 0);
	assert_int_equal(pvio_gnt_domain_nr_pinned(NULL), 0);
}

/* Without the optional callbacks, copy and transfer fail cleanly. */
static void missing_callbacks_are_general_error(void **state)
{
	struct fx *f = *state;
	int tref =
		pvio_gnt_share_grant_transfer(fx_share(f, D_GUEST), D_BACK, 0);

	f->ops.frame_ptr = NULL;
	f->ops.transfer_page = NULL;
	copy_expect(f, D_BACK,
		    copy_op(0, 1, DOMID_SELF, 0, 2, DOMID_SELF, 0, 8),
		    GNTST_general_error);
	transfer_expect(f, D_BACK, 1, D_GUEST, (uint32_t)tref,
			GNTST_general_error);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(map_rw_host_pins_and_sets_flags),
		T(map_ro_device_sets_reading_only),
		T(map_writing_cleared_before_reading),
		T(map_without_host_or_device_is_bad_gntref),
		T(map_unknown_domain_is_bad_domain),
		T(map_dying_domain_is_bad_domain),
		T(map_maptrack_full_is_no_space),
		T(map_ref_out_of_range_is_bad_gntref),
		T(map_not_permit_access_is_general_error),
		T(map_wrong_domid_is_general_error),
		T(map_write_of_readonly_is_general_error),
		T(map_pinned_by_other_domain_is_general_error),
		T(map_frame_outside_memory_is_bad_page),
		T(pin_limit_is_general_error_then_recovers),
		T(pin_limit_default_is_128),
		T(pin_limit_counts_only_the_counters_raised),
		T(unmap_handle_out_of_range_is_bad_handle),
		T(unmap_handle_not_in_use_is_bad_handle),
		T(double_unmap_is_bad_handle),
		T(unmap_wrong_dev_bus_addr_is_bad_dev_addr),
		T(unmap_dev_bus_addr_ignored_without_device_map),
		T(unmap_handles_are_reused_last),
		T(end_access_refused_while_mapped),
		T(copy_from_gref_to_local),
		T(copy_from_local_to_gref),
		T(copy_gref_to_gref_while_mapped),
		T(copy_local_overlap),
		T(copy_crossing_page_is_bad_copy_arg),
		T(copy_unknown_or_dying_domain_is_bad_domain),
		T(copy_ref_out_of_range_is_bad_gntref),
		T(copy_bad_entry_is_general_error),
		T(copy_foreign_frame_is_permission_denied),
		T(copy_frame_outside_memory_is_bad_page),
		T(transfer_moves_page_and_completes),
		T(transfer_bad_frame_is_bad_page),
		T(transfer_unknown_receiver_is_bad_domain),
		T(transfer_dying_receiver_is_general_error),
		T(transfer_ref_out_of_range_is_general_error),
		T(transfer_bad_entry_is_general_error),
		T(transfer_env_failure_rolls_back),
		T(transfer_reclaimed_before_commit),
		T(transfer_in_progress),
		T(map_reads_op_once),
		T(unmap_reads_op_once),
		T(copy_reads_op_once),
		T(transfer_reads_op_once),
		T(batch_map_unmap_mixed),
		T(batch_copy_mixed),
		T(batch_transfer_mixed),
		T(death_releases_mappings_and_pins),
		T(unmap_of_vanished_granter),
		T(bad_arguments),
		T(missing_callbacks_are_general_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
