/* SPDX-License-Identifier: MIT */
/*
 * Mapping side: persistent-grant cache (Linux xen-blkback's persistent
 * grants, with caller-supplied storage and O(1) eviction).
 *
 * Entries are in exactly one of: the free list (never cached), or cached
 * and then in a hash chain and, while in_use == 0, on the idle list.  An
 * entry in use is never on the idle list, which is how "never evict or
 * hand back an entry in use" holds by construction.
 */
#include "grant_private.h"

#define END PVIO__GNT_END

static uint32_t bucket_of(const struct pvio_gnt_pcache *c, pvio_grant_ref_t ref)
{
	/*
	 * Frontends hand out refs densely from one end of their table;
	 * multiplicative hashing spreads runs over the buckets.
	 */
	uint32_t h = ref * 0x9E3779B1U;

	return (h ^ (h >> 16)) & c->bucket_mask;
}

static uint32_t find(const struct pvio_gnt_pcache *c, pvio_grant_ref_t ref)
{
	uint32_t i;

	for (i = c->bucket[bucket_of(c, ref)]; i != END; i = c->e[i].hnext)
		if (c->e[i].ref == ref)
			return i;
	return END;
}

static void hash_del(struct pvio_gnt_pcache *c, uint32_t idx)
{
	uint32_t *p = &c->bucket[bucket_of(c, c->e[idx].ref)];

	while (*p != idx)
		p = &c->e[*p].hnext;
	*p = c->e[idx].hnext;
}

static void idle_del(struct pvio_gnt_pcache *c, uint32_t idx)
{
	struct pvio_gnt_pcache_entry *x = &c->e[idx];

	if (x->prev == END)
		c->idle_head = x->next;
	else
		c->e[x->prev].next = x->next;
	if (x->next == END)
		c->idle_tail = x->prev;
	else
		c->e[x->next].prev = x->prev;
	x->prev = x->next = END;
}

static void idle_add_tail(struct pvio_gnt_pcache *c, uint32_t idx)
{
	struct pvio_gnt_pcache_entry *x = &c->e[idx];

	x->next = END;
	x->prev = c->idle_tail;
	if (c->idle_tail == END)
		c->idle_head = idx;
	else
		c->e[c->idle_tail].next = idx;
	c->idle_tail = idx;
}

/* Take the oldest idle entry out of the cache, describing it in 'v'. */
static uint32_t evict_oldest(struct pvio_gnt_pcache *c,
			     struct pvio_gnt_pcache_victim *v)
{
	uint32_t idx = c->idle_head;
	struct pvio_gnt_pcache_entry *x = &c->e[idx];

	idle_del(c, idx);
	hash_del(c, idx);
	v->ref = x->ref;
	v->handle = x->handle;
	v->addr = x->addr;
	x->addr = NULL;
	c->count--;
	return idx;
}

int pvio_gnt_pcache_init(struct pvio_gnt_pcache *c,
			 struct pvio_gnt_pcache_entry *entries, uint32_t cap,
			 uint32_t *buckets, uint32_t nr_buckets)
{
	uint32_t i;

	if (c == NULL || entries == NULL || buckets == NULL || cap == 0 ||
	    cap > 0x80000000U || nr_buckets == 0 ||
	    (nr_buckets & (nr_buckets - 1)) != 0)
		return -PVIO_EINVAL;
	c->e = entries;
	c->cap = cap;
	c->bucket = buckets;
	c->bucket_mask = nr_buckets - 1;
	for (i = 0; i < nr_buckets; i++)
		buckets[i] = END;
	for (i = 0; i < cap; i++) {
		entries[i].ref = 0;
		entries[i].handle = 0;
		entries[i].addr = NULL;
		entries[i].in_use = 0;
		entries[i].hnext = END;
		entries[i].prev = END;
		entries[i].next = i + 1 < cap ? i + 1 : END;
	}
	c->free_head = 0;
	c->idle_head = c->idle_tail = END;
	c->count = 0;
	return 0;
}

struct pvio_gnt_pcache_entry *
pvio_gnt_pcache_get(struct pvio_gnt_pcache *c, pvio_grant_ref_t ref, int *err)
{
	struct pvio_gnt_pcache_entry *x;
	uint32_t idx;
	int dummy;

	if (err == NULL)
		err = &dummy;
	if (c == NULL) {
		*err = -PVIO_EINVAL;
		return NULL;
	}
	idx = find(c, ref);
	if (idx == END) {
		*err = -PVIO_ENOENT;
		return NULL;
	}
	x = &c->e[idx];
	if (x->in_use == 0)
		idle_del(c, idx);
	x->in_use++;
	*err = 0;
	return x;
}

/* Index of 'ent' in the cache's storage, or END if it is not one. */
static uint32_t index_of(const struct pvio_gnt_pcache *c,
			 const struct pvio_gnt_pcache_entry *ent)
{
	uintptr_t base = (uintptr_t)c->e, p = (uintptr_t)ent;

	if (p < base || (p - base) % sizeof(*ent) != 0 ||
	    (p - base) / sizeof(*ent) >= c->cap)
		return END;
	return (uint32_t)((p - base) / sizeof(*ent));
}

int pvio_gnt_pcache_put(struct pvio_gnt_pcache *c,
			struct pvio_gnt_pcache_entry *ent)
{
	uint32_t idx;

	if (c == NULL || ent == NULL)
		return -PVIO_EINVAL;
	idx = index_of(c, ent);
	if (idx == END || c->e[idx].in_use == 0)
		return -PVIO_EINVAL;
	if (--c->e[idx].in_use == 0)
		idle_add_tail(c, idx);
	return 0;
}

int pvio_gnt_pcache_insert(struct pvio_gnt_pcache *c, pvio_grant_ref_t ref,
			   pvio_grant_handle_t handle, void *addr,
			   struct pvio_gnt_pcache_entry **ent,
			   struct pvio_gnt_pcache_victim *victim)
{
	struct pvio_gnt_pcache_entry *x;
	uint32_t idx, b;
	int ret = 0;

	if (c == NULL || victim == NULL)
		return -PVIO_EINVAL;
	if (find(c, ref) != END)
		return -PVIO_EEXIST;
	if (c->free_head != END) {
		idx = c->free_head;
		c->free_head = c->e[idx].next;
	} else if (c->idle_head != END) {
		idx = evict_oldest(c, victim);
		ret = 1;
	} else {
		return -PVIO_ENOSPC;
	}
	x = &c->e[idx];
	x->ref = ref;
	x->handle = handle;
	x->addr = addr;
	x->in_use = 1;
	x->prev = x->next = END;
	b = bucket_of(c, ref);
	x->hnext = c->bucket[b];
	c->bucket[b] = idx;
	c->count++;
	if (ent != NULL)
		*ent = x;
	return ret;
}

int pvio_gnt_pcache_flush(struct pvio_gnt_pcache *c,
			  struct pvio_gnt_pcache_victim *victims,
			  unsigned int max)
{
	unsigned int n = 0;
	uint32_t idx;

	if (c == NULL || (victims == NULL && max != 0) || max > 0x7FFFFFFFU)
		return -PVIO_EINVAL;
	while (n < max && c->idle_head != END) {
		idx = evict_oldest(c, &victims[n]);
		c->e[idx].next = c->free_head;
		c->free_head = idx;
		n++;
	}
	return (int)n;
}

uint32_t pvio_gnt_pcache_count(const struct pvio_gnt_pcache *c)
{
	return c != NULL ? c->count : 0;
}
