/* SPDX-License-Identifier: MIT */
/*
 * Event channels (Xen event_channel.h, wire and ABI compatible).
 *
 * An event channel is a one-bit doorbell between two ports.  A port is
 * allocated unbound for one named remote domain, the remote domain binds
 * to it, and afterwards either side can send on its own port to set the
 * pending bit of the other.  The EVTCHNOP_* structs are the arguments of
 * the event_channel_op hypercall; pvio's hypervisor stub takes the same
 * layouts.
 *
 * These are pvio's own definitions; tests/compat proves that they match
 * the Xen 4.17 public headers (sizes, offsets and constant values).
 */
#ifndef PVIO_IO_EVENT_CHANNEL_H
#define PVIO_IO_EVENT_CHANNEL_H

#include <stdint.h>

#include "xen_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A port number, local to the domain that owns it. */
typedef uint32_t pvio_evtchn_port_t;

/* event_channel_op sub-operations (each takes the struct named after it). */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_bind_pirq 2
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_status 5
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_bind_vcpu 8
#define EVTCHNOP_unmask 9
#define EVTCHNOP_reset 10
#define EVTCHNOP_init_control 11
#define EVTCHNOP_expand_array 12
#define EVTCHNOP_set_priority 13

/* Reserve a port that only domain remote_dom may bind to. */
struct pvio_evtchn_alloc_unbound {
	pvio_domid_t dom;	 /* in: owner of the new port (DOMID_SELF) */
	pvio_domid_t remote_dom; /* in: the only domain allowed to bind */
	pvio_evtchn_port_t port; /* out: the reserved port */
};

/* Connect a new local port to a remote port reserved for the caller. */
struct pvio_evtchn_bind_interdomain {
	pvio_domid_t remote_dom;	/* in: domain owning remote_port */
	pvio_evtchn_port_t remote_port; /* in: an unbound port for us */
	pvio_evtchn_port_t local_port;	/* out: starts out pending */
};

/* Bind a virtual IRQ (timer, console, ...) of one vcpu to a port. */
struct pvio_evtchn_bind_virq {
	uint32_t virq;		 /* in: VIRQ_* number */
	uint32_t vcpu;		 /* in: vcpu that receives it */
	pvio_evtchn_port_t port; /* out */
};

/* Bind a physical IRQ to a port (privileged domains). */
struct pvio_evtchn_bind_pirq {
	uint32_t pirq;		 /* in: physical IRQ */
	uint32_t flags;		 /* in: BIND_PIRQ__* */
	pvio_evtchn_port_t port; /* out */
};

/* The IRQ line may be shared with other guests. */
#define BIND_PIRQ__WILL_SHARE 1

/* Allocate a port for inter-vcpu notifications within the caller. */
struct pvio_evtchn_bind_ipi {
	uint32_t vcpu;		 /* in: vcpu that receives it */
	pvio_evtchn_port_t port; /* out */
};

/* Free a port; an interdomain peer falls back to unbound. */
struct pvio_evtchn_close {
	pvio_evtchn_port_t port; /* in */
};

/* Set the pending bit on the far end of a port. */
struct pvio_evtchn_send {
	pvio_evtchn_port_t port; /* in */
};

/* Port states reported by EVTCHNOP_status. */
#define EVTCHNSTAT_closed 0	 /* free */
#define EVTCHNSTAT_unbound 1	 /* reserved, waiting for the remote bind */
#define EVTCHNSTAT_interdomain 2 /* connected to a remote port */
#define EVTCHNSTAT_pirq 3	 /* bound to a physical IRQ */
#define EVTCHNSTAT_virq 4	 /* bound to a virtual IRQ */
#define EVTCHNSTAT_ipi 5	 /* bound to an IPI */

/* Query the state of a port of domain dom. */
struct pvio_evtchn_status {
	pvio_domid_t dom;	 /* in: domain to query (DOMID_SELF) */
	pvio_evtchn_port_t port; /* in */
	uint32_t status;	 /* out: EVTCHNSTAT_* */
	uint32_t vcpu;		 /* out: vcpu the port notifies */
	union {
		struct {
			pvio_domid_t dom; /* domain allowed to bind */
		} unbound;
		struct {
			pvio_domid_t dom;	 /* peer domain */
			pvio_evtchn_port_t port; /* peer port */
		} interdomain;
		uint32_t pirq;
		uint32_t virq;
	} u; /* out: selected by status */
};

/* Deliver a port's notifications to another vcpu. */
struct pvio_evtchn_bind_vcpu {
	pvio_evtchn_port_t port; /* in */
	uint32_t vcpu;		 /* in */
};

/* Clear a port's mask bit, redelivering an event that stayed pending. */
struct pvio_evtchn_unmask {
	pvio_evtchn_port_t port; /* in */
};

/* Close every port of a domain. */
struct pvio_evtchn_reset {
	pvio_domid_t dom; /* in: DOMID_SELF or a domain we control */
};

/* Switch a vcpu to the FIFO ABI by registering its control block. */
struct pvio_evtchn_init_control {
	uint64_t control_gfn; /* in: frame holding the control block */
	uint32_t offset;      /* in: byte offset of the block in it */
	uint32_t vcpu;	      /* in */
	uint8_t link_bits;    /* out: EVTCHN_FIFO_LINK_BITS */
	uint8_t _pad[7];
};

/* Add one page of FIFO event words. */
struct pvio_evtchn_expand_array {
	uint64_t array_gfn; /* in */
};

/* Move a port to another FIFO priority queue. */
struct pvio_evtchn_set_priority {
	pvio_evtchn_port_t port; /* in */
	uint32_t priority;	 /* in: EVTCHN_FIFO_PRIORITY_* range */
};

/* Argument of the obsolete multiplexed hypercall (cmd + argument). */
struct pvio_evtchn_op {
	uint32_t cmd; /* EVTCHNOP_* */
	union {
		struct pvio_evtchn_alloc_unbound alloc_unbound;
		struct pvio_evtchn_bind_interdomain bind_interdomain;
		struct pvio_evtchn_bind_virq bind_virq;
		struct pvio_evtchn_bind_pirq bind_pirq;
		struct pvio_evtchn_bind_ipi bind_ipi;
		struct pvio_evtchn_close close;
		struct pvio_evtchn_send send;
		struct pvio_evtchn_status status;
		struct pvio_evtchn_bind_vcpu bind_vcpu;
		struct pvio_evtchn_unmask unmask;
	} u;
};

/*
 * Ports of the 2-level ABI on a 64-bit guest: a 64-bit selector word whose
 * bits each pick one 64-bit word of the pending/mask bitmaps (64 * 64).
 */
#define EVTCHN_2L_NR_CHANNELS 4096

/* FIFO ABI: 16 priority queues, 0 is served first. */
#define EVTCHN_FIFO_PRIORITY_MAX 0
#define EVTCHN_FIFO_PRIORITY_DEFAULT 7
#define EVTCHN_FIFO_PRIORITY_MIN 15
#define EVTCHN_FIFO_MAX_QUEUES (EVTCHN_FIFO_PRIORITY_MIN + 1)

/* One 32-bit event word per port: four state bits and a link field. */
typedef uint32_t pvio_event_word_t;

/* Bit numbers in an event word. */
#define EVTCHN_FIFO_PENDING 31
#define EVTCHN_FIFO_MASKED 30
#define EVTCHN_FIFO_LINKED 29
#define EVTCHN_FIFO_BUSY 28

/* The low bits link to the next port in the same queue. */
#define EVTCHN_FIFO_LINK_BITS 17
#define EVTCHN_FIFO_LINK_MASK ((1 << EVTCHN_FIFO_LINK_BITS) - 1)
#define EVTCHN_FIFO_NR_CHANNELS (1 << EVTCHN_FIFO_LINK_BITS)

/* Per-vcpu FIFO control block, shared with the hypervisor. */
struct pvio_evtchn_fifo_control_block {
	uint32_t ready; /* bit q set: queue q is non-empty */
	uint32_t _rsvd;
	uint32_t head[EVTCHN_FIFO_MAX_QUEUES]; /* first port of each queue */
};

#ifdef __cplusplus
}
#endif

#endif /* PVIO_IO_EVENT_CHANNEL_H */
