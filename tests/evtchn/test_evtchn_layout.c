/* SPDX-License-Identifier: MIT */
/*
 * pvio's event-channel structs overlay Xen's shared_info and vcpu_info:
 * checked against the Xen 4.17 public headers from libxen-dev.  The pvio
 * side is measured in evtchn_layout_pvio.c (the two header sets cannot
 * share a translation unit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <xen/event_channel.h>
#include <xen/xen.h>

#include "evtchn_layout_pvio.h"

#define FSIZE(type, field) sizeof(((type *)0)->field)
#define ESIZE(type, field) sizeof(((type *)0)->field[0])

static const struct pvio_evtchn_layout *L = &pvio_evtchn_layout;

static void test_vcpu_layout(void **state)
{
	(void)state;
	/* struct pvio_evtchn_vcpu is the head of vcpu_info. */
	assert_int_equal(L->upcall_pending_off,
			 offsetof(struct vcpu_info, evtchn_upcall_pending));
	assert_int_equal(L->upcall_mask_off,
			 offsetof(struct vcpu_info, evtchn_upcall_mask));
	assert_int_equal(L->pending_sel_off,
			 offsetof(struct vcpu_info, evtchn_pending_sel));
	assert_int_equal(L->upcall_pending_size,
			 FSIZE(struct vcpu_info, evtchn_upcall_pending));
	assert_int_equal(L->upcall_mask_size,
			 FSIZE(struct vcpu_info, evtchn_upcall_mask));
	assert_int_equal(L->pending_sel_size,
			 FSIZE(struct vcpu_info, evtchn_pending_sel));
	/* It ends exactly where vcpu_info's arch part begins. */
	assert_int_equal(L->vcpu_size, offsetof(struct vcpu_info, arch));
	assert_int_equal(L->vcpu_align, _Alignof(struct vcpu_info));
}

static void test_shared_layout(void **state)
{
	(void)state;
	/* 64 words of 64 bits each, pending then mask, back to back. */
	assert_int_equal(ESIZE(struct shared_info, evtchn_pending),
			 sizeof(uint64_t));
	assert_int_equal(FSIZE(struct shared_info, evtchn_pending) /
				 sizeof(uint64_t),
			 64);
	assert_int_equal(L->pending_elem_size,
			 ESIZE(struct shared_info, evtchn_pending));
	assert_int_equal(L->mask_elem_size,
			 ESIZE(struct shared_info, evtchn_mask));
	assert_int_equal(L->pending_size,
			 FSIZE(struct shared_info, evtchn_pending));
	assert_int_equal(L->mask_size, FSIZE(struct shared_info, evtchn_mask));
	assert_int_equal(L->pending_off, 0);
	assert_int_equal(L->mask_off - L->pending_off,
			 offsetof(struct shared_info, evtchn_mask) -
				 offsetof(struct shared_info, evtchn_pending));
	/* Nothing else in it: it ends where wc_version starts. */
	assert_int_equal(L->shared_size,
			 offsetof(struct shared_info, wc_version) -
				 offsetof(struct shared_info, evtchn_pending));
	/*
	 * Overlaying &shared_info->evtchn_pending keeps every word aligned,
	 * which the atomics need.
	 */
	assert_int_equal(offsetof(struct shared_info, evtchn_pending) %
				 L->shared_align,
			 0);
}

static void test_port_space(void **state)
{
	(void)state;
	assert_int_equal(L->nr_channels, EVTCHN_2L_NR_CHANNELS);
	assert_int_equal(L->nr_words * L->word_bits, EVTCHN_2L_NR_CHANNELS);
	assert_int_equal(L->word_bits, sizeof(xen_ulong_t) * 8);
	/* One selector bit per pending word. */
	assert_int_equal(FSIZE(struct vcpu_info, evtchn_pending_sel) * 8,
			 L->nr_words);
	assert_int_equal(L->port_size, sizeof(evtchn_port_t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_layout),
		cmocka_unit_test(test_shared_layout),
		cmocka_unit_test(test_port_space),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
