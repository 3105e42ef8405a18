/* SPDX-License-Identifier: MIT */
/*
 * libchannel: event-channel client, Xen's 2-level ABI.
 *
 * The state lives in memory the caller supplies and that may be shared
 * between threads or processes:
 *
 *   struct pvio_evtchn_shared  one pending and one mask bit per port
 *                              (Xen shared_info.evtchn_pending/_mask)
 *   struct pvio_evtchn_vcpu    the upcall flags and the selector word
 *                              (the head of Xen's vcpu_info)
 *
 * Both are laid out like Xen's, so on real Xen they can be pointed at
 * &shared_info->evtchn_pending[0] and &shared_info->vcpu_info[n]; a test
 * in tests/evtchn checks the layout against <xen/xen.h>.
 *
 * Two roles use the same memory through their own struct pvio_evtchn:
 *
 *   delivery   pvio_evtchn_raise(): what the hypervisor, or a doorbell
 *              thread standing in for it, does when a peer sends.  It
 *              returns 1 ("kick") when the receiver must be woken, at
 *              most once per burst: only when upcall_pending goes 0->1.
 *   receiver   mask, unmask, clear, is_pending, and pvio_evtchn_dispatch(),
 *              the upcall, which calls the handler bound to each pending,
 *              unmasked port.
 *
 * Thread safety: raise, mask, unmask, clear and is_pending may run in any
 * thread or process at the same time as each other and as dispatch.  Only
 * one dispatch may run at a time over one vcpu, and bind/unbind must not
 * run concurrently with it (bind from the dispatching context, or before
 * dispatching starts).
 *
 * Port numbers are hostile: every port outside [0, EVTCHN_2L_NR_CHANNELS)
 * is rejected with -EINVAL before any memory is touched.
 *
 * Freestanding: no libc, no allocation.  All functions return 0 (or a
 * documented positive value) on success and a negative errno
 * (pvio/errno.h, equal to Linux's) on failure.
 */
#ifndef PVIO_EVTCHN_H
#define PVIO_EVTCHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/event_channel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bits per pending/mask word: Xen's xen_ulong_t on 64-bit guests. */
#define PVIO_EVTCHN_WORD_BITS 64u
/* Words per bitmap: 4096 ports / 64, one selector bit per word. */
#define PVIO_EVTCHN_NR_WORDS (EVTCHN_2L_NR_CHANNELS / PVIO_EVTCHN_WORD_BITS)

/*
 * Per-port bits, shared_info.evtchn_pending[] and evtchn_mask[].
 *   pending  set by delivery (raise), cleared by the receiver (dispatch,
 *            clear); a 1 means "an event arrived and is not handled yet".
 *   mask     written only by the receiver; a masked port still latches
 *            pending but raises no upcall until it is unmasked.
 * Only ever accessed atomically once shared.
 */
struct pvio_evtchn_shared {
	uint64_t pending[64];
	uint64_t mask[64];
};

/*
 * The event-channel head of Xen's vcpu_info (16 bytes at offset 0).
 *   upcall_pending  set by delivery when it sets a selector bit; cleared
 *                   by dispatch before it scans (no set-and-check race).
 *   upcall_mask     set by the receiver to hold off upcalls (kicks);
 *                   see pvio_evtchn_upcall_disable().
 *   pad             Xen's implicit padding; keeps pending_sel at 8.
 *   pending_sel     bit w set: word w of pending may hold unmasked
 *                   events; exchanged to 0 by dispatch.
 */
struct pvio_evtchn_vcpu {
	uint8_t upcall_pending;
	uint8_t upcall_mask;
	uint8_t pad[6];
	uint64_t pending_sel;
};

struct pvio_evtchn;

/*
 * An event handler: called by pvio_evtchn_dispatch() once per delivered
 * event, after the port's pending bit was cleared (so an event arriving
 * while it runs is delivered again).  It may call raise, mask, unmask,
 * clear and is_pending; it must not call dispatch, bind or unbind.
 */
typedef void (*pvio_evtchn_handler_fn)(struct pvio_evtchn *ev,
				       pvio_evtchn_port_t port, void *arg);

/*
 * One slot of the caller-supplied handler table, indexed by port.  The
 * table belongs to the receiver (private memory, never shared with a
 * peer); fn == NULL means "unbound".
 */
struct pvio_evtchn_handler {
	pvio_evtchn_handler_fn fn;
	void *arg;
};

/*
 * One party's handle on the shared state.  Public so that it can be
 * embedded without allocation; its fields are private to the library
 * except 'stray', which the receiver may read.  It points at memory it
 * does not own: 'shared', 'vcpu' and 'handlers' must outlive it.
 */
struct pvio_evtchn {
	struct pvio_evtchn_shared *shared;    /* shared, hostile */
	struct pvio_evtchn_vcpu *vcpu;	      /* shared, hostile */
	struct pvio_evtchn_handler *handlers; /* private, or NULL */
	uint32_t nr_handlers;		      /* slots in 'handlers' */
	/* Pending events found on unbound ports and dropped by dispatch. */
	uint64_t stray;
};

/*
 * Initialise the shared state before any party uses it: nothing pending,
 * upcalls enabled, and every port masked if 'mask_all' (the safe start
 * for a receiver that unmasks each port once it is bound, as Linux and
 * Mini-OS do) or unmasked otherwise (Xen's state at domain creation).
 * Plain stores: must not race with any other call on this memory.
 * -EINVAL if either pointer is NULL.
 */
int pvio_evtchn_shared_init(struct pvio_evtchn_shared *shared,
			    struct pvio_evtchn_vcpu *vcpu, bool mask_all);

/*
 * Attach 'ev' to initialised shared state; writes nothing shared.
 * The receiver passes its handler table ('nr_handlers' slots, port i in
 * slot i; at most EVTCHN_2L_NR_CHANNELS), which this clears; a party that
 * only delivers (raise) passes NULL, 0.  -EINVAL on NULL pointers, a NULL
 * table with nr_handlers != 0, or a table larger than the port space.
 */
int pvio_evtchn_init(struct pvio_evtchn *ev, struct pvio_evtchn_shared *shared,
		     struct pvio_evtchn_vcpu *vcpu,
		     struct pvio_evtchn_handler *handlers, size_t nr_handlers);

/*
 * Bind fn(ev, port, arg) to 'port', replacing any previous handler;
 * unbind clears the slot (events then count as ev->stray).  Neither
 * changes the mask: unmask the port to start receiving.  -EINVAL if the
 * port has no slot in the handler table, or fn is NULL.
 */
int pvio_evtchn_bind(struct pvio_evtchn *ev, pvio_evtchn_port_t port,
		     pvio_evtchn_handler_fn fn, void *arg);
int pvio_evtchn_unbind(struct pvio_evtchn *ev, pvio_evtchn_port_t port);

/*
 * Delivery: mark 'port' pending.  Returns 1 if the receiver must now be
 * kicked (upcall_pending went 0->1 on an unmasked port while upcalls
 * were enabled), 0 if not (already pending: coalesced; masked: latched
 * until unmask; upcall already pending: the receiver has been or will be
 * kicked by whoever set it), -EINVAL for a port out of range.
 * Everything the caller wrote before raise() is visible to the handler.
 */
int pvio_evtchn_raise(struct pvio_evtchn *ev, pvio_evtchn_port_t port);

/* Mask 'port': it keeps latching events but raises no upcall. */
int pvio_evtchn_mask(struct pvio_evtchn *ev, pvio_evtchn_port_t port);

/*
 * Unmask 'port' (Xen's EVTCHNOP_unmask).  An event that arrived while it
 * was masked is re-raised: returns 1 if the receiver must be kicked
 * (exactly as raise), 0 otherwise, -EINVAL for a bad port.
 */
int pvio_evtchn_unmask(struct pvio_evtchn *ev, pvio_evtchn_port_t port);

/*
 * Clear 'port's pending bit without calling its handler (for polling
 * receivers).  Returns 1 if it was pending, 0 if not, -EINVAL.
 */
int pvio_evtchn_clear(struct pvio_evtchn *ev, pvio_evtchn_port_t port);

/* 1 if 'port' is pending, 0 if not, -EINVAL for a bad port. */
int pvio_evtchn_is_pending(const struct pvio_evtchn *ev,
			   pvio_evtchn_port_t port);

/* 1 if 'port' is masked, 0 if not, -EINVAL for a bad port. */
int pvio_evtchn_is_masked(const struct pvio_evtchn *ev,
			  pvio_evtchn_port_t port);

/*
 * The upcall.  Clears upcall_pending, takes the selector, and for each
 * selected word calls the handler of every pending, unmasked port in
 * ascending port order (clearing its pending bit first); repeats until
 * the selector stays empty.  Pending events on unbound ports are cleared
 * and counted in ev->stray.  Returns the number of handler calls
 * (saturating at INT_MAX).  Masked pending ports stay pending for unmask.
 * As on Xen, a peer that never stops raising keeps it looping: mask the
 * port (from a handler) to throttle such a peer.
 */
int pvio_evtchn_dispatch(struct pvio_evtchn *ev);

/*
 * Hold off kicks (Xen's vcpu_info.evtchn_upcall_mask, like disabling
 * interrupts): events still latch, raise() returns 0 instead of 1.
 * pvio_evtchn_upcall_enable() re-enables them and returns 1 if an upcall
 * became pending meanwhile (the caller must dispatch: nobody kicked), 0
 * if not.  Not nested.  disable returns 0.
 */
int pvio_evtchn_upcall_disable(struct pvio_evtchn *ev);
int pvio_evtchn_upcall_enable(struct pvio_evtchn *ev);

#ifdef __cplusplus
}
#endif

#endif /* PVIO_EVTCHN_H */
