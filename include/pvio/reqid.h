/* SPDX-License-Identifier: MIT */
/*
 * Request-ID table: out-of-order completion for a frontend.
 *
 * Requests on a ring carry an id; the backend may answer them in any
 * order.  The table hands out ids, keeps a private shadow copy of each
 * in-flight request (so that a frontend can replay them, in issue order,
 * after a backend restart), and turns a response id back into its request
 * while rejecting ids that are unknown, stale or already completed: a
 * hostile backend's ids never index anything unchecked.
 *
 * An id is (generation << slot_bits) | slot, truncated to the protocol's
 * id width (64 bits for blkif, 16 for netif), so that an id answered twice
 * after its slot was reused is recognised as stale where the width allows.
 *
 * Memory is supplied by the caller (pvio_reqid_mem_size() bytes, 8-byte
 * aligned) and must outlive the table.  Not thread-safe.
 */
#ifndef PVIO_REQID_H
#define PVIO_REQID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Public for embedding; the fields are private to the library. */
struct pvio_reqid_table {
	unsigned char *mem;
	size_t slot_bytes; /* bytes per slot: header + shadow, rounded */
	uint32_t nslots;
	uint32_t slot_bits;   /* bits of an id that name the slot */
	uint32_t id_bits;     /* width of ids on the wire */
	uint32_t shadow_size; /* bytes of shadow per request */
	uint32_t free_head;   /* first free slot, or UINT32_MAX */
	uint32_t oldest;      /* in-flight list, issue order ... */
	uint32_t newest;      /* ... UINT32_MAX when empty */
	uint32_t inflight;
};

/*
 * Bytes of memory a table of nslots slots with shadow_size-byte shadows
 * needs; 0 if that does not fit in a size_t.
 */
size_t pvio_reqid_mem_size(uint32_t nslots, size_t shadow_size);

/*
 * Initialise over 'mem' (mem_size >= pvio_reqid_mem_size()).  id_bits is
 * the id width of the protocol (1..64); nslots must fit in it.  -EINVAL on
 * bad arguments.
 */
int pvio_reqid_init(struct pvio_reqid_table *t, void *mem, size_t mem_size,
		    uint32_t nslots, size_t shadow_size, unsigned int id_bits);

/*
 * Allocate an id; *shadow receives the slot's shadow buffer (shadow_size
 * bytes) for the caller to fill with its copy of the request.
 * -ENOSPC when every slot is in flight.
 */
int pvio_reqid_alloc(struct pvio_reqid_table *t, uint64_t *id, void **shadow);

/*
 * Look up an in-flight id (e.g. from a response).  -ENOENT if the id was
 * never issued (or names an older generation of its slot), -EALREADY if
 * it was issued and has already completed (a duplicate response).
 */
int pvio_reqid_lookup(const struct pvio_reqid_table *t, uint64_t id,
		      void **shadow);

/*
 * Complete an id: as lookup, then free the slot.  *shadow (if non-NULL)
 * receives the shadow, valid until the slot is allocated again.
 */
int pvio_reqid_complete(struct pvio_reqid_table *t, uint64_t id, void **shadow);

/* Number of ids in flight. */
uint32_t pvio_reqid_inflight(const struct pvio_reqid_table *t);

/*
 * Iterate the in-flight requests oldest first (for replay): start with
 * *cursor = 0; each call yields one id and its shadow and returns 1, then
 * 0 when done.  The table must not be changed during the iteration.
 */
int pvio_reqid_next_inflight(const struct pvio_reqid_table *t, uint64_t *cursor,
			     uint64_t *id, void **shadow);

#ifdef __cplusplus
}
#endif

#endif /* PVIO_REQID_H */
