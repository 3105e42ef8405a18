/* SPDX-License-Identifier: MIT */
/*
 * Granting side: a domain's own grant table (Linux gnttab v1 semantics).
 *
 * The shared entries are written concurrently by the hypervisor (which
 * sets GTF_reading/GTF_writing while it pins an access grant and the
 * transfer bits while it moves a page in), so 'flags' is only touched
 * with atomics, and domid/frame are published before the flags that make
 * them valid.  domid/frame use relaxed atomic stores: the hypervisor may
 * be reading them of an older grant of the same ref at the same time.
 */
#include "grant_private.h"

static bool ref_valid(const struct pvio_gnt_share *s, pvio_grant_ref_t ref)
{
	return s != NULL && ref >= GNTTAB_NR_RESERVED_ENTRIES && ref < s->nr;
}

static void free_push(struct pvio_gnt_share *s, uint32_t ref)
{
	s->link[ref] = PVIO__GNT_END;
	if (s->free_tail == PVIO__GNT_END)
		s->free_head = ref;
	else
		s->link[s->free_tail] = ref;
	s->free_tail = ref;
	s->nr_free++;
}

static int free_pop(struct pvio_gnt_share *s, uint32_t kind)
{
	uint32_t ref = s->free_head;

	if (ref == PVIO__GNT_END)
		return -PVIO_ENOSPC;
	s->free_head = s->link[ref];
	if (s->free_head == PVIO__GNT_END)
		s->free_tail = PVIO__GNT_END;
	s->link[ref] = kind;
	s->nr_free--;
	return (int)ref;
}

int pvio_gnt_share_init(struct pvio_gnt_share *s,
			struct pvio_grant_entry_v1 *entries, uint32_t *link,
			uint32_t nr)
{
	uint32_t i;

	if (s == NULL || entries == NULL || link == NULL ||
	    nr < GNTTAB_NR_RESERVED_ENTRIES || nr > PVIO_GNT_SHARE_MAX_ENTRIES)
		return -PVIO_EINVAL;
	s->entries = entries;
	s->link = link;
	s->nr = nr;
	s->free_head = PVIO__GNT_END;
	s->free_tail = PVIO__GNT_END;
	s->nr_free = 0;
	for (i = 0; i < GNTTAB_NR_RESERVED_ENTRIES; i++)
		link[i] = PVIO__GNT_RESERVED;
	for (; i < nr; i++) {
		/* relaxed: published by the release store of flags below */
		__atomic_store_n(&entries[i].domid, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&entries[i].frame, 0, __ATOMIC_RELAXED);
		/*
		 * release: pairs with the hypervisor's acquire of flags
		 * (pvio__gnt_flags_cmpxchg and the loads before it); nobody
		 * should be looking yet, this only keeps the rule uniform.
		 */
		__atomic_store_n(&entries[i].flags, 0, __ATOMIC_RELEASE);
		free_push(s, i);
	}
	return 0;
}

static int grant(struct pvio_gnt_share *s, uint32_t kind, pvio_domid_t domid,
		 uint32_t frame, uint16_t flags)
{
	struct pvio_grant_entry_v1 *e;
	int ref;

	if (s == NULL || s->link == NULL)
		return -PVIO_EINVAL;
	ref = free_pop(s, kind);
	if (ref < 0)
		return ref;
	e = &s->entries[ref];
	/*
	 * relaxed: published by the release store of flags below; atomic
	 * because the hypervisor may still be reading the previous grant's
	 * domid (it then fails its flags check).
	 */
	__atomic_store_n(&e->domid, domid, __ATOMIC_RELAXED);
	__atomic_store_n(&e->frame, frame, __ATOMIC_RELAXED);
	/*
	 * release: pairs with the acquire in pvio__gnt_flags_cmpxchg and the
	 * hypervisor's acquire loads of flags (hv.c set_status/commit): once
	 * it sees these flags it sees the domid and frame above.
	 */
	__atomic_store_n(&e->flags, flags, __ATOMIC_RELEASE);
	return ref;
}

int pvio_gnt_share_grant_access(struct pvio_gnt_share *s, pvio_domid_t domid,
				uint32_t frame, bool readonly)
{
	uint16_t flags = GTF_permit_access;

	if (readonly)
		flags |= GTF_readonly;
	return grant(s, PVIO__GNT_ACCESS, domid, frame, flags);
}

int pvio_gnt_share_grant_transfer(struct pvio_gnt_share *s, pvio_domid_t domid,
				  uint32_t pfn)
{
	return grant(s, PVIO__GNT_TRANSFER, domid, pfn, GTF_accept_transfer);
}

int pvio_gnt_share_end_access(struct pvio_gnt_share *s, pvio_grant_ref_t ref)
{
	uint16_t *pflags;
	uint16_t flags;
	int tries;

	if (!ref_valid(s, ref) || s->link[ref] != PVIO__GNT_ACCESS)
		return -PVIO_EINVAL;
	pflags = &s->entries[ref].flags;
	/*
	 * acquire: pairs with the release fetch_and that clears GTF_reading/
	 * GTF_writing when the hypervisor drops its last pin (hv.c unpin):
	 * everything done through the mapping happens before we reuse the
	 * page.
	 */
	flags = __atomic_load_n(pflags, __ATOMIC_ACQUIRE);
	/*
	 * Only the hypervisor writes flags besides us, and only GTF_reading/
	 * GTF_writing: a failed swap means they changed, and we either see
	 * one set (refuse) or both clear again (retry).  The bound keeps a
	 * peer that maps and unmaps in a tight loop from holding us here.
	 */
	for (tries = 0;; tries++) {
		if ((flags & (GTF_reading | GTF_writing)) ||
		    tries == PVIO__GNT_CMPXCHG_TRIES)
			return -PVIO_EBUSY;
		/*
		 * acquire (success and failure): as the load above.
		 * release (success): pairs with the acquire in hv.c
		 * set_status() that sees the revocation; it keeps our earlier
		 * writes to the entry before it.  Revoking only while neither
		 * bit is set is the hand-shake with the hypervisor's pin
		 * cmpxchg (pvio__gnt_flags_cmpxchg): of a revocation and a
		 * first pin racing on the same flags, exactly one succeeds.
		 */
		if (__atomic_compare_exchange_n(pflags, &flags, 0, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
	}
	free_push(s, ref);
	return 0;
}

int pvio_gnt_share_end_transfer(struct pvio_gnt_share *s, pvio_grant_ref_t ref,
				uint32_t *frame)
{
	struct pvio_grant_entry_v1 *e;
	uint16_t flags;
	int tries;

	if (!ref_valid(s, ref) || frame == NULL ||
	    s->link[ref] != PVIO__GNT_TRANSFER)
		return -PVIO_EINVAL;
	e = &s->entries[ref];
	/*
	 * acquire: pairs with the release fetch_or of GTF_transfer_completed
	 * in hv.c transfer_one, so the frame written before it is visible.
	 */
	flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	/*
	 * The hypervisor changes an uncommitted entry at most once (setting
	 * GTF_transfer_committed), so two tries suffice; the bound only
	 * guards against a broken one.
	 */
	for (tries = 0; !(flags & GTF_transfer_committed); tries++) {
		if (tries == PVIO__GNT_CMPXCHG_TRIES)
			return -PVIO_EAGAIN;
		/*
		 * acquire (success and failure): pairs with the release
		 * fetch_or of GTF_transfer_completed in hv.c transfer_one()
		 * when the reloaded flags already show it, so the frame read
		 * below is the new one.  release (success): pairs with the
		 * acquire load of flags in transfer_one(), like the store
		 * below.  Winning withdraws the offer: the hypervisor's
		 * commit swap then fails and it reports general_error.
		 */
		if (__atomic_compare_exchange_n(&e->flags, &flags, 0, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			free_push(s, ref);
			return -PVIO_ENOENT;
		}
	}
	if (!(flags & GTF_transfer_completed))
		return -PVIO_EINPROGRESS;
	/* relaxed: ordered by the acquire that saw GTF_transfer_completed */
	*frame = __atomic_load_n(&e->frame, __ATOMIC_RELAXED);
	/*
	 * release: pairs with the hypervisor's acquire loads of flags; the
	 * entry is idle (0) before the ref can be handed out again.
	 */
	__atomic_store_n(&e->flags, 0, __ATOMIC_RELEASE);
	free_push(s, ref);
	return 0;
}

bool pvio_gnt_share_in_use(const struct pvio_gnt_share *s, pvio_grant_ref_t ref)
{
	if (!ref_valid(s, ref))
		return false;
	return s->link[ref] == PVIO__GNT_ACCESS ||
	       s->link[ref] == PVIO__GNT_TRANSFER;
}

int pvio_gnt_share_busy(const struct pvio_gnt_share *s, pvio_grant_ref_t ref)
{
	uint16_t flags;

	if (!ref_valid(s, ref) || s->link[ref] != PVIO__GNT_ACCESS)
		return -PVIO_EINVAL;
	/*
	 * acquire: pairs with the release fetch_and in hv.c unpin, like
	 * pvio_gnt_share_end_access(), so a 0 answer means the peer's
	 * accesses are over.
	 */
	flags = __atomic_load_n(&s->entries[ref].flags, __ATOMIC_ACQUIRE);
	return (flags & (GTF_reading | GTF_writing)) != 0;
}

uint32_t pvio_gnt_share_nr_free(const struct pvio_gnt_share *s)
{
	return s != NULL ? s->nr_free : 0;
}
