/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv's event-channel state (private to hypervisor-stub/evtchn.c).
 *
 * pvio-hv keeps only the bookkeeping of Xen's struct evtchn: who is
 * connected to whom.  Pending and mask bits live in the domains'
 * processes (libdomain/evtchn.c) and the doorbells are eventfds that
 * pvio-hv creates at bind time, hands to both ends and closes at once:
 * it holds no fd per channel, so a send never involves it and closing a
 * channel needs no fd bookkeeping here.
 */
#ifndef PVIO_HV_EVTCHN_STATE_H
#define PVIO_HV_EVTCHN_STATE_H

#include <stdint.h>

#include <pvio/io/event_channel.h>

/* Xen's ECS_* port states (xen/include/xen/sched.h). */
enum pvio__hv_ecs {
	PVIO__ECS_FREE = 0,
	PVIO__ECS_RESERVED = 1, /* port 0: never handed out */
	PVIO__ECS_UNBOUND = 2,
	PVIO__ECS_INTERDOMAIN = 3,
};

/*
 * Xen grows a domain's port space in buckets and treats ports beyond the
 * last allocated bucket as invalid (-EINVAL even for status), ports
 * inside it but free as closed.  We keep the same visible boundary: one
 * bucket is 64 ports (a 4 KiB page of 64-byte struct evtchn on x86-64).
 */
#define PVIO__HV_EVTCHN_BUCKET 64U

struct pvio__hv_evtchn_port {
	uint8_t state;	      /* enum pvio__hv_ecs */
	uint16_t remote_dom;  /* unbound: who may bind; interdomain: peer */
	uint32_t remote_port; /* interdomain: the peer's port */
};

struct pvio__hv_evtchn_dom {
	/* All of them, for freeing at exit (see evtchn.c's 'all_doms'). */
	struct pvio__hv_evtchn_dom *next, *prev;
	uint16_t domid;
	uint32_t valid;	  /* ports [0, valid) are valid (Xen valid_evtchns) */
	uint32_t nr_open; /* ports 1.. not free */
	struct pvio__hv_evtchn_port ports[EVTCHN_2L_NR_CHANNELS];
};

#endif /* PVIO_HV_EVTCHN_STATE_H */
