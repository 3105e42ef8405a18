/* SPDX-License-Identifier: MIT */
/*
 * libchannel rings: freestanding core.
 *
 * Index discipline (PROTOCOL-FACTS.md section 1): indexes run free and
 * wrap at 2^32; every comparison is a difference of two indexes.  Each end
 * keeps its own copy of everything it publishes and reads exactly one
 * index the peer writes, the peer's producer, once per call.  The event
 * indexes the peer writes only decide whether we notify, so a hostile
 * value there costs the peer its own wake-ups and nothing else.
 *
 * Memory ordering, per direction (producer P, consumer C):
 *   P: write slots; store-release prod           (A)
 *   C: load-acquire prod (pairs with A); copy slots
 * and, for notification suppression (no lost wake-up), a Dekker pair:
 *   P: push:        seq_cst store prod (S1);  seq_cst load peer's event
 *   C: final check: seq_cst store event (S2); seq_cst load prod again
 * All four accesses are in the single seq_cst total order, so at least
 * one side sees the other's store: the producer notifies or the consumer
 * sees the new work.  Xen writes this as store; mb(); load.  Seq_cst
 * accesses give the same guarantee (on x86 the store is one xchg, on
 * Arm stlr/ldar), and unlike a standalone fence ThreadSanitizer can
 * check them.
 */
#include <stdatomic.h>

#include "channel_private.h"
#include "pvio/channel.h"
#include "pvio/errno.h"

int pvio_ring_entries(size_t bytes, size_t entry_size)
{
	size_t n, p = 1;

	if (entry_size == 0 || bytes < PVIO_RING_HEADER_SIZE + entry_size)
		return -PVIO_EINVAL;
	n = (bytes - PVIO_RING_HEADER_SIZE) / entry_size;
	if (n > (size_t)1 << 30)
		n = (size_t)1 << 30;
	while (p * 2 <= n)
		p *= 2;
	return (int)p;
}

static int ring_setup(struct pvio_ring *r, void *shared, size_t bytes,
		      size_t entry_size, size_t req_size, size_t rsp_size,
		      pvio_ring_idx_t start)
{
	int n;

	if (r == NULL || shared == NULL || req_size == 0 || rsp_size == 0 ||
	    req_size > entry_size || rsp_size > entry_size ||
	    ((uintptr_t)shared & 7) != 0)
		return -PVIO_EINVAL;
	n = pvio_ring_entries(bytes, entry_size);
	if (n < 0)
		return n;
	r->sring = (struct pvio_sring_header *)shared;
	r->entries = (unsigned char *)shared + PVIO_RING_HEADER_SIZE;
	r->size = (uint32_t)n;
	r->entry_size = (uint32_t)entry_size;
	r->req_size = (uint32_t)req_size;
	r->rsp_size = (uint32_t)rsp_size;
	r->prod_pvt = start;
	r->cons = start;
	r->pushed = start;
	r->error = 0;
	return 0;
}

int pvio_ring_front_init(struct pvio_ring *r, void *shared, size_t bytes,
			 size_t entry_size, size_t req_size, size_t rsp_size,
			 pvio_ring_idx_t start)
{
	struct pvio_sring_header *s = (struct pvio_sring_header *)shared;
	int err;

	err = ring_setup(r, shared, bytes, entry_size, req_size, rsp_size,
			 start);
	if (err)
		return err;
	/*
	 * The backend learns of this page only when we publish its grant
	 * (and, on reconnection, only after the old grant was revoked), so
	 * no peer reads it now: plain stores suffice, ordered by the
	 * grant publication.  Re-initialising a page a backend still maps
	 * is a caller bug this function cannot detect.
	 */
	pvio__memset(s, 0, PVIO_RING_HEADER_SIZE);
	s->req_prod = start;
	s->rsp_prod = start;
	s->req_event = start + 1;
	s->rsp_event = start + 1;
	return 0;
}

int pvio_ring_back_attach(struct pvio_ring *r, void *shared, size_t bytes,
			  size_t entry_size, size_t req_size, size_t rsp_size,
			  pvio_ring_idx_t start)
{
	/* Never write the shared page here: only the frontend initialises. */
	return ring_setup(r, shared, bytes, entry_size, req_size, rsp_size,
			  start);
}

uint32_t pvio_ring_size(const struct pvio_ring *r)
{
	return r->size;
}

int pvio_ring_error(const struct pvio_ring *r)
{
	return r->error;
}

static int ring_disable(struct pvio_ring *r)
{
	r->error = -PVIO_EPROTO;
	return r->error;
}

static inline unsigned char *slot(const struct pvio_ring *r,
				  pvio_ring_idx_t idx)
{
	return r->entries + (size_t)(idx & (r->size - 1)) * r->entry_size;
}

/* n entries of len bytes, each array with its own stride. */
static inline void copy_strided(unsigned char *dst, size_t dst_step,
				const unsigned char *src, size_t src_step,
				size_t len, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, dst += dst_step, src += src_step)
		pvio__memcpy(dst, src, len);
}

/*
 * Copy entries smaller than their slot (every response of blkif and
 * netif), which cannot move as one block.  The common sizes get a
 * constant length, which the compiler turns into a move or two: a libc
 * memcpy call per 16-byte entry costs more than the copy itself.
 */
static void copy_entries(unsigned char *dst, size_t dst_step,
			 const unsigned char *src, size_t src_step, size_t len,
			 unsigned int n)
{
	switch (len) {
	case 4:
		copy_strided(dst, dst_step, src, src_step, 4, n);
		break;
	case 8:
		copy_strided(dst, dst_step, src, src_step, 8, n);
		break;
	case 12:
		copy_strided(dst, dst_step, src, src_step, 12, n);
		break;
	case 16:
		copy_strided(dst, dst_step, src, src_step, 16, n);
		break;
	default:
		copy_strided(dst, dst_step, src, src_step, len, n);
		break;
	}
}

/* Entries from idx up to the end of the ring, at most n. */
static uint32_t run_to_wrap(const struct pvio_ring *r, pvio_ring_idx_t idx,
			    unsigned int n)
{
	uint32_t first = r->size - (idx & (r->size - 1));

	return first < n ? first : n;
}

/*
 * Copy n entries of 'len' bytes each between the shared slots starting at
 * index 'idx' and the packed private array 'priv': at most two runs
 * around the wrap, each one block when entries fill their slots.
 */
static void copy_out(const struct pvio_ring *r, pvio_ring_idx_t idx,
		     unsigned char *priv, size_t len, unsigned int n)
{
	uint32_t first = run_to_wrap(r, idx, n);

	if (len == r->entry_size) {
		pvio__memcpy(priv, slot(r, idx), (size_t)first * len);
		pvio__memcpy(priv + (size_t)first * len, r->entries,
			     (size_t)(n - first) * len);
	} else {
		copy_entries(priv, len, slot(r, idx), r->entry_size, len,
			     first);
		copy_entries(priv + (size_t)first * len, len, r->entries,
			     r->entry_size, len, n - first);
	}
	/*
	 * Compiler barrier: the caller validates and uses only the private
	 * copies; forbid the compiler from re-reading a shared slot in
	 * their place (a double fetch, XSA-155).
	 */
	atomic_signal_fence(memory_order_seq_cst);
}

static void copy_in(const struct pvio_ring *r, pvio_ring_idx_t idx,
		    const unsigned char *priv, size_t len, unsigned int n)
{
	uint32_t first = run_to_wrap(r, idx, n);

	if (len == r->entry_size) {
		pvio__memcpy(slot(r, idx), priv, (size_t)first * len);
		pvio__memcpy(r->entries, priv + (size_t)first * len,
			     (size_t)(n - first) * len);
		return;
	}
	copy_entries(slot(r, idx), r->entry_size, priv, len, len, first);
	copy_entries(r->entries, r->entry_size, priv + (size_t)first * len, len,
		     len, n - first);
}

/*
 * Publish our producer index and decide whether the peer asked to be
 * notified: it did if its event index lies in (old, new].
 */
static int push(struct pvio_ring *r, pvio_ring_idx_t *shared_prod,
		pvio_ring_idx_t *shared_event)
{
	pvio_ring_idx_t old = r->pushed, new_prod = r->prod_pvt, event;

	if (r->error)
		return r->error;
	if (old == new_prod)
		return 0;
	/*
	 * S1, a release (A): our slot writes before the index, pairing with
	 * the peer's load-acquire in *_pending(); and seq_cst: ordered
	 * before the event load below, pairing with S2 in the peer's
	 * final check.
	 */
	__atomic_store_n(shared_prod, new_prod, __ATOMIC_SEQ_CST);
	r->pushed = new_prod;
	event = __atomic_load_n(shared_event, __ATOMIC_SEQ_CST);
	return (pvio_ring_idx_t)(new_prod - event) <
	       (pvio_ring_idx_t)(new_prod - old);
}

/* --- frontend ---------------------------------------------------------- */

uint32_t pvio_ring_front_inflight(const struct pvio_ring *r)
{
	return r->prod_pvt - r->cons;
}

uint32_t pvio_ring_front_free(const struct pvio_ring *r)
{
	if (r->error)
		return 0;
	return r->size - (r->prod_pvt - r->cons);
}

int pvio_ring_front_produce(struct pvio_ring *r, const void *reqs,
			    unsigned int n)
{
	uint32_t room;

	if (r->error)
		return r->error;
	room = pvio_ring_front_free(r);
	if (n > room)
		n = room;
	copy_in(r, r->prod_pvt, (const unsigned char *)reqs, r->req_size, n);
	r->prod_pvt += n;
	return (int)n;
}

int pvio_ring_front_push(struct pvio_ring *r)
{
	return push(r, &r->sring->req_prod, &r->sring->req_event);
}

/* Validate the backend's response producer and count what it offers. */
static int front_check(struct pvio_ring *r, pvio_ring_idx_t prod)
{
	/*
	 * The backend may answer only requests we published: more
	 * responses than that (or an index that moved backwards, which
	 * looks the same in modular arithmetic) is a hostile backend.
	 */
	if ((pvio_ring_idx_t)(prod - r->cons) >
	    (pvio_ring_idx_t)(r->pushed - r->cons))
		return ring_disable(r);
	return (int)(pvio_ring_idx_t)(prod - r->cons);
}

int pvio_ring_front_pending(struct pvio_ring *r)
{
	if (r->error)
		return r->error;
	/* Acquire: pairs with the backend's release of rsp_prod (A), so the
	 * response slots are read after the index. */
	return front_check(
		r, __atomic_load_n(&r->sring->rsp_prod, __ATOMIC_ACQUIRE));
}

int pvio_ring_front_consume(struct pvio_ring *r, void *rsps, unsigned int max)
{
	int avail = pvio_ring_front_pending(r);

	if (avail < 0)
		return avail;
	if ((unsigned int)avail > max)
		avail = (int)max;
	copy_out(r, r->cons, (unsigned char *)rsps, r->rsp_size,
		 (unsigned int)avail);
	r->cons += (unsigned int)avail;
	return avail;
}

int pvio_ring_front_final_check(struct pvio_ring *r)
{
	int n = pvio_ring_front_pending(r);

	if (n != 0)
		return n;
	/* S2: event store before the producer re-load (both seq_cst);
	 * pairs with S1 in the backend's push().  The re-load is also the
	 * acquire of (A). */
	__atomic_store_n(&r->sring->rsp_event, r->cons + 1, __ATOMIC_SEQ_CST);
	return front_check(
		r, __atomic_load_n(&r->sring->rsp_prod, __ATOMIC_SEQ_CST));
}

/* --- backend ----------------------------------------------------------- */

uint32_t pvio_ring_back_owed(const struct pvio_ring *r)
{
	return r->cons - r->prod_pvt;
}

/* Validate the frontend's request producer and count what we may take. */
static int back_check(struct pvio_ring *r, pvio_ring_idx_t prod)
{
	pvio_ring_idx_t ahead, consumed;

	/*
	 * Measured from our oldest unanswered request, the producer may be
	 * at most one ring ahead (more would overwrite requests we have
	 * not answered: Xen's RING_REQUEST_PROD_OVERFLOW) and never behind
	 * our consumer (it would hand us slots it never filled).
	 */
	ahead = prod - r->prod_pvt;
	consumed = r->cons - r->prod_pvt;
	if (ahead > r->size || ahead < consumed)
		return ring_disable(r);
	return (int)(ahead - consumed);
}

int pvio_ring_back_pending(struct pvio_ring *r)
{
	if (r->error)
		return r->error;
	/* Acquire: pairs with the frontend's release of req_prod (A). */
	return back_check(
		r, __atomic_load_n(&r->sring->req_prod, __ATOMIC_ACQUIRE));
}

int pvio_ring_back_consume(struct pvio_ring *r, void *reqs, unsigned int max)
{
	int avail = pvio_ring_back_pending(r);

	if (avail < 0)
		return avail;
	if ((unsigned int)avail > max)
		avail = (int)max;
	copy_out(r, r->cons, (unsigned char *)reqs, r->req_size,
		 (unsigned int)avail);
	r->cons += (unsigned int)avail;
	return avail;
}

int pvio_ring_back_produce(struct pvio_ring *r, const void *rsps,
			   unsigned int n)
{
	uint32_t owed;

	if (r->error)
		return r->error;
	owed = pvio_ring_back_owed(r);
	if (n > owed)
		n = owed;
	copy_in(r, r->prod_pvt, (const unsigned char *)rsps, r->rsp_size, n);
	r->prod_pvt += n;
	return (int)n;
}

int pvio_ring_back_push(struct pvio_ring *r)
{
	return push(r, &r->sring->rsp_prod, &r->sring->rsp_event);
}

int pvio_ring_back_final_check(struct pvio_ring *r)
{
	int n = pvio_ring_back_pending(r);

	if (n != 0)
		return n;
	/* S2: pairs with S1 in the frontend's push(); the re-load is also
	 * the acquire of (A). */
	__atomic_store_n(&r->sring->req_event, r->cons + 1, __ATOMIC_SEQ_CST);
	return back_check(
		r, __atomic_load_n(&r->sring->req_prod, __ATOMIC_SEQ_CST));
}
