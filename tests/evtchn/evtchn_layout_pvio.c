/* SPDX-License-Identifier: MIT */
/* pvio's side of the layout comparison (see evtchn_layout_pvio.h). */
#include <stddef.h>

#include "evtchn_layout_pvio.h"
#include "pvio/evtchn.h"

#define FSIZE(type, field) sizeof(((type *)0)->field)
#define ESIZE(type, field) sizeof(((type *)0)->field[0])

const struct pvio_evtchn_layout pvio_evtchn_layout = {
	.vcpu_size = sizeof(struct pvio_evtchn_vcpu),
	.vcpu_align = _Alignof(struct pvio_evtchn_vcpu),
	.upcall_pending_off = offsetof(struct pvio_evtchn_vcpu, upcall_pending),
	.upcall_pending_size = FSIZE(struct pvio_evtchn_vcpu, upcall_pending),
	.upcall_mask_off = offsetof(struct pvio_evtchn_vcpu, upcall_mask),
	.upcall_mask_size = FSIZE(struct pvio_evtchn_vcpu, upcall_mask),
	.pending_sel_off = offsetof(struct pvio_evtchn_vcpu, pending_sel),
	.pending_sel_size = FSIZE(struct pvio_evtchn_vcpu, pending_sel),
	.shared_size = sizeof(struct pvio_evtchn_shared),
	.shared_align = _Alignof(struct pvio_evtchn_shared),
	.pending_off = offsetof(struct pvio_evtchn_shared, pending),
	.pending_size = FSIZE(struct pvio_evtchn_shared, pending),
	.pending_elem_size = ESIZE(struct pvio_evtchn_shared, pending),
	.mask_off = offsetof(struct pvio_evtchn_shared, mask),
	.mask_size = FSIZE(struct pvio_evtchn_shared, mask),
	.mask_elem_size = ESIZE(struct pvio_evtchn_shared, mask),
	.nr_channels = EVTCHN_2L_NR_CHANNELS,
	.nr_words = PVIO_EVTCHN_NR_WORDS,
	.word_bits = PVIO_EVTCHN_WORD_BITS,
	.port_size = sizeof(pvio_evtchn_port_t),
};
