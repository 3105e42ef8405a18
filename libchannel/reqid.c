/* SPDX-License-Identifier: MIT */
/*
 * Request-ID table: freestanding core (see pvio/reqid.h).
 *
 * Each slot is a small header followed by the shadow.  Free slots form a
 * LIFO list (a recently freed slot is warm in cache); in-flight slots form
 * a doubly linked list in issue order, so that completion is O(1) in any
 * order and replay walks the requests oldest first, the order a block
 * frontend must resubmit overlapping writes in.
 */
#include <stdint.h>

#include "channel_private.h"
#include "pvio/errno.h"
#include "pvio/reqid.h"

#define NIL UINT32_MAX

struct slot_hdr {
	uint64_t gen;	   /* generation of the id now (or last) issued */
	uint32_t prev;	   /* in-flight list, or unused */
	uint32_t next;	   /* in-flight list, or the free list */
	uint32_t inflight; /* 1 while the id is outstanding */
	uint32_t pad;
};

/* Bytes per slot, or 0 if that does not fit in a size_t. */
static size_t slot_bytes(size_t shadow_size)
{
	if (shadow_size > SIZE_MAX - sizeof(struct slot_hdr) - 7)
		return 0;
	return (sizeof(struct slot_hdr) + shadow_size + 7) & ~(size_t)7;
}

size_t pvio_reqid_mem_size(uint32_t nslots, size_t shadow_size)
{
	size_t per = slot_bytes(shadow_size);

	/* 0 for an impossible size: 32-bit guests have a small size_t. */
	if (per == 0 || nslots > SIZE_MAX / per)
		return 0;
	return (size_t)nslots * per;
}

static struct slot_hdr *hdr(const struct pvio_reqid_table *t, uint32_t i)
{
	return (struct slot_hdr *)(t->mem + (size_t)i * t->slot_bytes);
}

static void *shadow_of(const struct pvio_reqid_table *t, uint32_t i)
{
	return (unsigned char *)hdr(t, i) + sizeof(struct slot_hdr);
}

static uint64_t id_mask(const struct pvio_reqid_table *t)
{
	return t->id_bits == 64 ? UINT64_MAX
				: (((uint64_t)1 << t->id_bits) - 1);
}

static uint64_t make_id(const struct pvio_reqid_table *t, uint32_t i)
{
	return ((hdr(t, i)->gen << t->slot_bits) | i) & id_mask(t);
}

int pvio_reqid_init(struct pvio_reqid_table *t, void *mem, size_t mem_size,
		    uint32_t nslots, size_t shadow_size, unsigned int id_bits)
{
	uint32_t bits = 0;

	if (t == NULL || mem == NULL || ((uintptr_t)mem & 7) != 0 ||
	    nslots == 0 || nslots == NIL || id_bits == 0 || id_bits > 64 ||
	    shadow_size > UINT32_MAX ||
	    pvio_reqid_mem_size(nslots, shadow_size) == 0 ||
	    mem_size < pvio_reqid_mem_size(nslots, shadow_size))
		return -PVIO_EINVAL;
	while (bits < 32 && ((uint64_t)1 << bits) < nslots)
		bits++;
	if (bits > id_bits)
		return -PVIO_EINVAL;
	t->mem = (unsigned char *)mem;
	t->slot_bytes = slot_bytes(shadow_size);
	t->nslots = nslots;
	t->slot_bits = bits;
	t->id_bits = id_bits;
	t->shadow_size = (uint32_t)shadow_size;
	t->oldest = t->newest = NIL;
	t->inflight = 0;
	pvio__memset(mem, 0, pvio_reqid_mem_size(nslots, shadow_size));
	for (uint32_t i = 0; i < nslots; i++)
		hdr(t, i)->next = i + 1 < nslots ? i + 1 : NIL;
	t->free_head = 0;
	return 0;
}

int pvio_reqid_alloc(struct pvio_reqid_table *t, uint64_t *id, void **shadow)
{
	uint32_t i = t->free_head;
	struct slot_hdr *h;

	if (i == NIL)
		return -PVIO_ENOSPC;
	h = hdr(t, i);
	t->free_head = h->next;
	h->gen++;
	h->inflight = 1;
	h->prev = t->newest;
	h->next = NIL;
	if (t->newest != NIL)
		hdr(t, t->newest)->next = i;
	else
		t->oldest = i;
	t->newest = i;
	t->inflight++;
	*id = make_id(t, i);
	if (shadow)
		*shadow = shadow_of(t, i);
	return 0;
}

/* Map a wire id to its slot, or a negative errno. */
static int64_t find(const struct pvio_reqid_table *t, uint64_t id)
{
	uint64_t slot_mask = ((uint64_t)1 << t->slot_bits) - 1;
	uint32_t i;

	if (id & ~id_mask(t))
		return -PVIO_ENOENT;
	i = (uint32_t)(id & slot_mask);
	if (i >= t->nslots)
		return -PVIO_ENOENT;
	/*
	 * The slot remembers the last id it issued, live or not; a slot
	 * that never issued one (generation 0) knows no id at all.
	 */
	if (hdr(t, i)->gen == 0 || make_id(t, i) != id)
		return -PVIO_ENOENT; /* never issued, or an older generation */
	if (!hdr(t, i)->inflight)
		return -PVIO_EALREADY; /* issued and already completed */
	return i;
}

int pvio_reqid_lookup(const struct pvio_reqid_table *t, uint64_t id,
		      void **shadow)
{
	int64_t i = find(t, id);

	if (i < 0)
		return (int)i;
	if (shadow)
		*shadow = shadow_of(t, (uint32_t)i);
	return 0;
}

int pvio_reqid_complete(struct pvio_reqid_table *t, uint64_t id, void **shadow)
{
	int64_t found = find(t, id);
	struct slot_hdr *h;
	uint32_t i;

	if (found < 0)
		return (int)found;
	i = (uint32_t)found;
	h = hdr(t, i);
	if (h->prev != NIL)
		hdr(t, h->prev)->next = h->next;
	else
		t->oldest = h->next;
	if (h->next != NIL)
		hdr(t, h->next)->prev = h->prev;
	else
		t->newest = h->prev;
	h->inflight = 0;
	h->next = t->free_head;
	t->free_head = i;
	t->inflight--;
	if (shadow)
		*shadow = shadow_of(t, i);
	return 0;
}

uint32_t pvio_reqid_inflight(const struct pvio_reqid_table *t)
{
	return t->inflight;
}

int pvio_reqid_next_inflight(const struct pvio_reqid_table *t, uint64_t *cursor,
			     uint64_t *id, void **shadow)
{
	/* The cursor holds the next slot + 1; 0 means "from the oldest". */
	uint32_t i = *cursor == 0 ? t->oldest : (uint32_t)(*cursor - 1);

	if (i == NIL || i >= t->nslots || !hdr(t, i)->inflight)
		return 0;
	*id = make_id(t, i);
	if (shadow)
		*shadow = shadow_of(t, i);
	*cursor = hdr(t, i)->next == NIL ? (uint64_t)NIL + 1
					 : (uint64_t)hdr(t, i)->next + 1;
	return 1;
}
