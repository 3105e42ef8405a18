/* SPDX-License-Identifier: MIT */
/*
 * libchannel event channels: freestanding core of the 2-level ABI client.
 *
 * The algorithm is Xen's (evtchn_2l_set_pending, evtchn_2l_unmask) on the
 * delivery side and Linux's (evtchn_2l_handle_events) on the receiving
 * side.  Three invariants make it lose nothing:
 *
 *   I1  A port's pending bit goes 0->1 once per burst, and exactly one
 *       party sees that transition; exactly one party (dispatch or clear)
 *       sees the matching 1->0.  So each burst is handled exactly once.
 *   I2  Whoever sees a 0->1 pending transition on an unmasked port sets
 *       the port's selector bit after it (or unmask does, for a port
 *       that was masked), and whoever sets a selector bit sets
 *       upcall_pending after it.  Dispatch clears them in the opposite
 *       order (upcall_pending, then the selector, then pending bits), so
 *       a set bit is always either still visible to the next step of a
 *       running dispatch or announced by a fresh upcall_pending 0->1.
 *   I3  Only the 0->1 transition of upcall_pending kicks: one kick per
 *       burst, and no kick is skipped unless upcall_pending was already
 *       1, in which case a dispatch is still to come that will see it.
 *
 * Memory ordering (every atomic below names its edge):
 *   E1  raise: RMW pending (seq_cst) ... load mask (seq_cst)
 *       unmask: RMW mask (seq_cst) ... load pending (seq_cst)
 *       A store-then-load on each side (Dekker): with all four in the
 *       single seq_cst order, raise sees the unmask or unmask sees the
 *       pending bit, so an event latched on a masked port is never
 *       stranded.  Both sides may act; I1/I3 make that harmless.
 *   E2  raise/unmask: RMW selector (release) -> dispatch: exchange
 *       selector (acquire).  Makes the pending bit set before the
 *       selector visible to the scan that the selector triggers.
 *   E3  raise/unmask: RMW upcall_pending (seq_cst, includes release) ->
 *       dispatch: exchange upcall_pending (acquire).  A raise that found
 *       upcall_pending already 1 did not kick; the dispatch that clears
 *       it then synchronises with that raise and so sees its selector bit.
 *   E4  raise: RMW pending (includes release) -> dispatch/clear: RMW
 *       pending (acquire).  What the sender wrote before raise (ring
 *       entries, indexes) is visible to the handler.
 *   E5  raise: RMW upcall_pending (seq_cst) ... load upcall_mask
 *       (seq_cst) / upcall_enable: exchange upcall_mask (seq_cst) ... load
 *       upcall_pending (seq_cst).  Dekker again: a kick suppressed by the
 *       upcall mask is seen by upcall_enable.
 * Every location is only ever modified by atomic read-modify-writes once
 * shared, so each release heads a release sequence that later RMWs
 * (by anyone) continue; the acquire side synchronises whichever RMW it
 * reads from.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel_private.h"
#include "pvio/errno.h"
#include "pvio/evtchn.h"

_Static_assert(EVTCHN_2L_NR_CHANNELS == 4096,
	       "2-level ABI on 64-bit guests has 4096 ports");
_Static_assert(PVIO_EVTCHN_NR_WORDS == 64, "one selector bit per pending word");
_Static_assert(sizeof(((struct pvio_evtchn_vcpu *)0)->pending_sel) * 8 ==
		       PVIO_EVTCHN_NR_WORDS,
	       "the selector word has one bit per pending word");
_Static_assert(offsetof(struct pvio_evtchn_vcpu, pending_sel) == 8,
	       "vcpu_info.evtchn_pending_sel is at 8");
_Static_assert(offsetof(struct pvio_evtchn_shared, mask) == 512,
	       "evtchn_mask follows the 64-word evtchn_pending");

/* INT_MAX without <limits.h>, which a freestanding core may not have. */
#define PVIO__INT_MAX __INT_MAX__

/* Word index and bit of a port already checked against the port space. */
static inline unsigned int pvio__evtchn_word(pvio_evtchn_port_t port)
{
	return port / PVIO_EVTCHN_WORD_BITS;
}

static inline uint64_t pvio__evtchn_bit(pvio_evtchn_port_t port)
{
	return (uint64_t)1 << (port % PVIO_EVTCHN_WORD_BITS);
}

/*
 * The one range check: ports come from peers and from the wire.  The
 * comparison is unsigned, so no negative value slips through whatever
 * the caller's integer type was.
 */
static inline bool pvio__evtchn_port_ok(pvio_evtchn_port_t port)
{
	return (uint64_t)port < (uint64_t)EVTCHN_2L_NR_CHANNELS;
}

/*
 * Announce that word 'w' holds a pending, unmasked port: selector bit,
 * then upcall_pending (I2).  Returns 1 if the receiver must be kicked.
 */
static int pvio__evtchn_announce(struct pvio_evtchn *ev, unsigned int w)
{
	struct pvio_evtchn_vcpu *v = ev->vcpu;
	uint64_t sel_bit = (uint64_t)1 << w;
	uint64_t old_sel;
	uint8_t old_up;

	/*
	 * E2 release: pairs with dispatch's acquire exchange of
	 * pending_sel, publishing the pending bit set before this.
	 */
	old_sel = __atomic_fetch_or(&v->pending_sel, sel_bit, __ATOMIC_RELEASE);
	if (old_sel & sel_bit)
		return 0; /* dispatch has not taken the bit yet: it will scan */

	/*
	 * E3/E5 seq_cst: the release half pairs with dispatch's acquire
	 * exchange of upcall_pending (so a dispatch that clears a 1 we
	 * left sees our selector bit); the seq_cst half orders it before
	 * the upcall_mask load below against upcall_enable's store/load.
	 */
	old_up = __atomic_fetch_or(&v->upcall_pending, 1, __ATOMIC_SEQ_CST);
	if (old_up)
		return 0; /* I3: whoever set it kicked, or will dispatch */

	/*
	 * E5 seq_cst: pairs with the seq_cst exchange of upcall_mask in
	 * pvio_evtchn_upcall_enable(); if we miss its clear, its load of
	 * upcall_pending sees our 1 and the receiver dispatches itself.
	 */
	if (__atomic_load_n(&v->upcall_mask, __ATOMIC_SEQ_CST))
		return 0;
	return 1;
}

int pvio_evtchn_shared_init(struct pvio_evtchn_shared *shared,
			    struct pvio_evtchn_vcpu *vcpu, bool mask_all)
{
	if (!shared || !vcpu)
		return -PVIO_EINVAL;
	/* Plain stores: by contract nobody else uses the memory yet. */
	pvio__memset(shared->pending, 0, sizeof(shared->pending));
	pvio__memset(shared->mask, mask_all ? 0xff : 0, sizeof(shared->mask));
	pvio__memset(vcpu, 0, sizeof(*vcpu));
	return 0;
}

int pvio_evtchn_init(struct pvio_evtchn *ev, struct pvio_evtchn_shared *shared,
		     struct pvio_evtchn_vcpu *vcpu,
		     struct pvio_evtchn_handler *handlers, size_t nr_handlers)
{
	if (!ev || !shared || !vcpu)
		return -PVIO_EINVAL;
	if (!handlers && nr_handlers)
		return -PVIO_EINVAL;
	if (nr_handlers > EVTCHN_2L_NR_CHANNELS)
		return -PVIO_EINVAL;
	ev->shared = shared;
	ev->vcpu = vcpu;
	ev->handlers = handlers;
	ev->nr_handlers = (uint32_t)nr_handlers;
	ev->stray = 0;
	if (handlers)
		pvio__memset(handlers, 0, nr_handlers * sizeof(*handlers));
	return 0;
}

int pvio_evtchn_bind(struct pvio_evtchn *ev, pvio_evtchn_port_t port,
		     pvio_evtchn_handler_fn fn, void *arg)
{
	if (!fn || (uint64_t)port >= ev->nr_handlers)
		return -PVIO_EINVAL;
	/* Plain stores: bind never runs concurrently with dispatch. */
	ev->handlers[port].fn = fn;
	ev->handlers[port].arg = arg;
	return 0;
}

int pvio_evtchn_unbind(struct pvio_evtchn *ev, pvio_evtchn_port_t port)
{
	if ((uint64_t)port >= ev->nr_handlers)
		return -PVIO_EINVAL;
	ev->handlers[port].fn = NULL;
	ev->handlers[port].arg = NULL;
	return 0;
}

int pvio_evtchn_raise(struct pvio_evtchn *ev, pvio_evtchn_port_t port)
{
	unsigned int w;
	uint64_t bit, old;

	if (!pvio__evtchn_port_ok(port))
		return -PVIO_EINVAL;
	w = pvio__evtchn_word(port);
	bit = pvio__evtchn_bit(port);

	/*
	 * E4 release: pairs with the acquire RMW that clears the bit in
	 * dispatch/clear, publishing the sender's data to the handler.
	 * E1 seq_cst: ordered before the mask load below, against
	 * unmask's RMW of the mask and load of pending.
	 */
	old = __atomic_fetch_or(&ev->shared->pending[w], bit, __ATOMIC_SEQ_CST);
	if (old & bit)
		return 0; /* I1: coalesced into the burst already pending */

	/*
	 * E1 seq_cst: pairs with unmask's seq_cst RMW of the mask; if we
	 * still see the port masked, unmask's load of pending sees our bit
	 * and announces it.
	 */
	if (__atomic_load_n(&ev->shared->mask[w], __ATOMIC_SEQ_CST) & bit)
		return 0; /* latched: unmask delivers it */

	return pvio__evtchn_announce(ev, w);
}

int pvio_evtchn_mask(struct pvio_evtchn *ev, pvio_evtchn_port_t port)
{
	if (!pvio__evtchn_port_ok(port))
		return -PVIO_EINVAL;
	/*
	 * Pairs with nothing that needs ordering (relaxed is enough): the
	 * mask only suppresses upcalls.  A raise that read the mask before
	 * this announces as usual; one that reads it after latches, and
	 * unmask announces.  Dispatch may still deliver an event that was
	 * announced before the mask took effect, exactly as on Xen.
	 */
	__atomic_fetch_or(&ev->shared->mask[pvio__evtchn_word(port)],
			  pvio__evtchn_bit(port), __ATOMIC_RELAXED);
	return 0;
}

int pvio_evtchn_unmask(struct pvio_evtchn *ev, pvio_evtchn_port_t port)
{
	unsigned int w;
	uint64_t bit, old;

	if (!pvio__evtchn_port_ok(port))
		return -PVIO_EINVAL;
	w = pvio__evtchn_word(port);
	bit = pvio__evtchn_bit(port);

	/*
	 * E1 seq_cst: pairs with raise's seq_cst RMW of pending and load
	 * of the mask (Dekker): either raise sees the port unmasked or we
	 * see its pending bit below.
	 */
	old = __atomic_fetch_and(&ev->shared->mask[w], ~bit, __ATOMIC_SEQ_CST);
	if (!(old & bit))
		return 0; /* was not masked: nothing was latched by us */

	/* E1 seq_cst: the load half of the Dekker pair above. */
	if (!(__atomic_load_n(&ev->shared->pending[w], __ATOMIC_SEQ_CST) & bit))
		return 0;

	/*
	 * The port is pending and now unmasked: re-raise it.  If raise
	 * also saw it unmasked, both announce; the selector and
	 * upcall_pending RMWs let at most one of us kick per upcall.
	 */
	return pvio__evtchn_announce(ev, w);
}

int pvio_evtchn_clear(struct pvio_evtchn *ev, pvio_evtchn_port_t port)
{
	uint64_t bit, old;

	if (!pvio__evtchn_port_ok(port))
		return -PVIO_EINVAL;
	bit = pvio__evtchn_bit(port);
	/*
	 * E4 acquire: pairs with raise's release RMW that set the bit, so
	 * a caller that gets 1 sees what the sender wrote before raising.
	 */
	old = __atomic_fetch_and(&ev->shared->pending[pvio__evtchn_word(port)],
				 ~bit, __ATOMIC_ACQUIRE);
	return (old & bit) ? 1 : 0;
}

int pvio_evtchn_is_pending(const struct pvio_evtchn *ev,
			   pvio_evtchn_port_t port)
{
	uint64_t word;

	if (!pvio__evtchn_port_ok(port))
		return -PVIO_EINVAL;
	/*
	 * E4 acquire: pairs with raise's release RMW, so seeing the bit
	 * means seeing the sender's data.
	 */
	word = __atomic_load_n(&ev->shared->pending[pvio__evtchn_word(port)],
			       __ATOMIC_ACQUIRE);
	return (word & pvio__evtchn_bit(port)) ? 1 : 0;
}

int pvio_evtchn_is_masked(const struct pvio_evtchn *ev, pvio_evtchn_port_t port)
{
	uint64_t word;

	if (!pvio__evtchn_port_ok(port))
		return -PVIO_EINVAL;
	/*
	 * Relaxed: pairs with nothing; a snapshot of a bit only the
	 * receiver changes, ordering nothing else.
	 */
	word = __atomic_load_n(&ev->shared->mask[pvio__evtchn_word(port)],
			       __ATOMIC_RELAXED);
	return (word & pvio__evtchn_bit(port)) ? 1 : 0;
}

/*
 * Deliver the pending, unmasked ports of word 'w' in ascending order.
 * The snapshot is taken once: a port raised again after its bit was
 * cleared went 0->1 again and re-announced itself through the selector,
 * so the outer loop in dispatch comes back for it.
 */
static int pvio__evtchn_scan_word(struct pvio_evtchn *ev, unsigned int w)
{
	struct pvio_evtchn_shared *sh = ev->shared;
	uint64_t ready, bit, old;
	unsigned int b;
	pvio_evtchn_port_t port;
	struct pvio_evtchn_handler *h;
	int calls = 0;

	/*
	 * Relaxed loads: the acquire exchange of the selector (E2) already
	 * made the announced pending bits and any unmask that announced
	 * visible; the per-bit acquire RMW below orders the handler.
	 */
	ready = __atomic_load_n(&sh->pending[w], __ATOMIC_RELAXED) &
		~__atomic_load_n(&sh->mask[w], __ATOMIC_RELAXED);

	while (ready) {
		b = (unsigned int)__builtin_ctzll(ready);
		bit = (uint64_t)1 << b;
		ready &= ~bit;
		/*
		 * E4 acquire: pairs with raise's release RMW of this word;
		 * the handler sees the sender's data.  Clearing before the
		 * call (as Linux does) means an event raised while the
		 * handler runs is a new 0->1 and is delivered again.
		 */
		old = __atomic_fetch_and(&sh->pending[w], ~bit,
					 __ATOMIC_ACQUIRE);
		if (!(old & bit))
			continue; /* clear() took it meanwhile (I1) */

		port = (pvio_evtchn_port_t)(w * PVIO_EVTCHN_WORD_BITS + b);
		h = (uint64_t)port < ev->nr_handlers ? &ev->handlers[port]
						     : NULL;
		if (!h || !h->fn) {
			ev->stray++;
			continue;
		}
		h->fn(ev, port, h->arg);
		calls++;
	}
	return calls;
}

int pvio_evtchn_dispatch(struct pvio_evtchn *ev)
{
	struct pvio_evtchn_vcpu *v = ev->vcpu;
	uint64_t sel;
	unsigned int w;
	int calls = 0, n;

	for (;;) {
		/*
		 * E3 acquire: pairs with announce's RMW of upcall_pending.
		 * Cleared before the selector is taken (Xen's set-and-check
		 * rule): an announce that comes after this either leaves its
		 * selector bit for the exchange below or finds 0 here and
		 * kicks again.
		 */
		__atomic_exchange_n(&v->upcall_pending, 0, __ATOMIC_ACQUIRE);

		/*
		 * E2 acquire: pairs with announce's release RMW of the
		 * selector; the pending bits it announced are visible.
		 */
		sel = __atomic_exchange_n(&v->pending_sel, 0, __ATOMIC_ACQUIRE);
		if (!sel)
			break;

		/* Ascending words: port order within a pass. */
		while (sel) {
			w = (unsigned int)__builtin_ctzll(sel);
			sel &= sel - 1;
			n = pvio__evtchn_scan_word(ev, w);
			/* Saturate: a peer raising forever keeps us here. */
			calls = calls > PVIO__INT_MAX - n ? PVIO__INT_MAX
							  : calls + n;
		}
	}
	return calls;
}

int pvio_evtchn_upcall_disable(struct pvio_evtchn *ev)
{
	/*
	 * Pairs with announce's seq_cst load of upcall_mask (E5).  Relaxed
	 * would do for the disable direction alone; seq_cst keeps every
	 * access of this Dekker pair in the single total order.
	 */
	__atomic_exchange_n(&ev->vcpu->upcall_mask, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int pvio_evtchn_upcall_enable(struct pvio_evtchn *ev)
{
	uint8_t up;

	/*
	 * E5 seq_cst: pairs with announce's seq_cst RMW of upcall_pending
	 * and load of upcall_mask: if announce saw the mask still set and
	 * did not kick, our load below sees its upcall_pending.
	 */
	__atomic_exchange_n(&ev->vcpu->upcall_mask, 0, __ATOMIC_SEQ_CST);
	/* E5 seq_cst: the load half of the Dekker pair above. */
	up = __atomic_load_n(&ev->vcpu->upcall_pending, __ATOMIC_SEQ_CST);
	return up ? 1 : 0;
}
