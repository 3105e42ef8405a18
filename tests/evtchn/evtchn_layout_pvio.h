/* SPDX-License-Identifier: MIT */
/*
 * The layout of pvio's event-channel structs, as numbers.
 *
 * pvio's headers and Xen's define the same macros (DOMID_SELF,
 * EVTCHN_2L_NR_CHANNELS, ...) with different spellings, so they cannot
 * share a translation unit: evtchn_layout_pvio.c measures pvio's side
 * and test_evtchn_layout.c compares it with <xen/xen.h>.
 */
#ifndef PVIO_TEST_EVTCHN_LAYOUT_PVIO_H
#define PVIO_TEST_EVTCHN_LAYOUT_PVIO_H

#include <stddef.h>

struct pvio_evtchn_layout {
	size_t vcpu_size, vcpu_align;
	size_t upcall_pending_off, upcall_pending_size;
	size_t upcall_mask_off, upcall_mask_size;
	size_t pending_sel_off, pending_sel_size;
	size_t shared_size, shared_align;
	size_t pending_off, pending_size, pending_elem_size;
	size_t mask_off, mask_size, mask_elem_size;
	size_t nr_channels, nr_words, word_bits;
	size_t port_size;
};

extern const struct pvio_evtchn_layout pvio_evtchn_layout;

#endif /* PVIO_TEST_EVTCHN_LAYOUT_PVIO_H */
