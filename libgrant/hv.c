/* SPDX-License-Identifier: MIT */
/*
 * Hypervisor side: validation and bookkeeping behind GNTTABOP_map_grant_ref,
 * unmap_grant_ref, copy and transfer, following Xen 4.17's grant_table.c
 * (map_grant_ref, _set_status_v1, unmap_common, acquire_grant_for_copy,
 * gnttab_copy_*, gnttab_transfer, gnttab_prepare_for_transfer): the same
 * checks in the same order, the same GNTST_* codes.
 *
 * Xen serialises with per-table and per-entry locks; here the caller
 * serialises every call on one pvio_gnt_hv (grant.h), so the active
 * entries and maptracks are plain memory.  The granters' shared entries
 * are not: each granter process writes its own table at any time.  Their
 * flags are only accessed atomically; domid and frame are read with
 * relaxed atomic loads after an acquire of the flags that publish them,
 * and each is read once per decision (a hostile granter may rewrite them
 * between two reads).
 *
 * The op arrays are not trusted either: the stub may pass the calling
 * guest's hypercall buffer straight through, and the guest can rewrite it
 * while we work.  Each op is copied once at the top of its *_one()
 * function (op_snapshot_barrier()); only the copy is checked and used,
 * and only the OUT fields are written back to the caller's op.
 */
#include "grant_private.h"

/* GNTMAP_* bits a mapping remembers (the others mean nothing here). */
#define MAP_FLAGS_KEPT                                                         \
	(GNTMAP_device_map | GNTMAP_host_map | GNTMAP_readonly |               \
	 GNTMAP_application_map | GNTMAP_contains_pte)

/* What one map or copy adds to an active entry's pin counters. */
struct pin_delta {
	uint16_t hst_w, hst_r, dev_w, dev_r;
};

static bool act_pinned(const struct pvio_gnt_active *a)
{
	return (a->hst_w | a->hst_r | a->dev_w | a->dev_r) != 0;
}

static bool act_write_pinned(const struct pvio_gnt_active *a)
{
	return (a->hst_w | a->dev_w) != 0;
}

/*
 * Xen 4.17 (since "gnttab: adjust pin count overflow checks") refuses a
 * new pin only if a counter it would raise has reached the limit (act->pin
 * & GNTPIN_incr2oflow_mask(pin_incr)), in map_grant_ref() and
 * acquire_grant_for_copy() alike; counters the pin leaves alone may be
 * full.
 */
static bool act_at_limit(const struct pvio_gnt_hv *hv,
			 const struct pvio_gnt_active *a, struct pin_delta d)
{
	uint16_t l = hv->pin_limit;

	return (d.hst_w != 0 && a->hst_w >= l) ||
	       (d.hst_r != 0 && a->hst_r >= l) ||
	       (d.dev_w != 0 && a->dev_w >= l) ||
	       (d.dev_r != 0 && a->dev_r >= l);
}

/*
 * Called right after an op was copied out of the caller's array.  A
 * compiler barrier only, with no run-time effect, so it pairs with no
 * other fence: the array may be guest memory that changes under us, and
 * the barrier forbids the compiler from dropping the private copy and
 * re-reading the caller's op in its place later on (a double fetch, as in
 * XSA-155; Xen copies ops with copy_from_guest() for the same reason).
 */
static void op_snapshot_barrier(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static pvio_domid_t entry_domid(const struct pvio_grant_entry_v1 *e)
{
	/* relaxed: ordered by the acquire of flags that precedes every call */
	return __atomic_load_n(&e->domid, __ATOMIC_RELAXED);
}

static uint32_t entry_frame(const struct pvio_grant_entry_v1 *e)
{
	/* relaxed: ordered by the acquire of flags that precedes every call */
	return __atomic_load_n(&e->frame, __ATOMIC_RELAXED);
}

static void entry_clear_flags(struct pvio_grant_entry_v1 *e, uint16_t bits)
{
	/*
	 * release: pairs with the acquire load and cmpxchg of flags in
	 * pvio_gnt_share_end_access() (and _busy(), _end_transfer()): the
	 * granter that sees the bit gone also sees everything done under
	 * the pin.
	 */
	__atomic_fetch_and(&e->flags, (uint16_t)~bits, __ATOMIC_RELEASE);
}

/*
 * A domain that may take part in a new map, copy or transfer: reserved
 * ids (DOMID_SELF included) name no domain here, as in Xen's
 * rcu_lock_domain_by_id().
 */
static struct pvio_gnt_domain *find_domain(struct pvio_gnt_hv *hv,
					   pvio_domid_t domid)
{
	if (domid >= DOMID_FIRST_RESERVED)
		return NULL;
	return hv->ops->lookup(hv->ctx, domid);
}

/*
 * Xen's _set_status_v1(): set GTF_reading (and GTF_writing for a writable
 * pin) in the granter's entry, checking type and grantee first unless the
 * entry is already pinned.  'mapflag' also rejects GTF_sub_page, as Xen
 * does for maps but not for copies.
 */
static int16_t set_status(struct pvio_grant_entry_v1 *e, bool pinned,
			  bool readonly, bool mapflag, pvio_domid_t ldom)
{
	uint16_t mask = GTF_type_mask | (mapflag ? GTF_sub_page : 0);
	uint16_t flags, nflags;
	int tries = 0;

	/*
	 * acquire: pairs with the release store of flags in
	 * pvio_gnt_share_grant_access(): the domid checked below is the one
	 * these flags publish.
	 */
	flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	for (;;) {
		if (!pinned && ((flags & mask) != GTF_permit_access ||
				entry_domid(e) != ldom))
			return GNTST_general_error;
		nflags = flags | GTF_reading;
		if (!readonly) {
			nflags |= GTF_writing;
			if (flags & GTF_readonly)
				return GNTST_general_error;
		}
		/* acq_rel, see pvio__gnt_flags_cmpxchg() */
		if (pvio__gnt_flags_cmpxchg(&e->flags, &flags, nflags))
			break;
		if (++tries == PVIO__GNT_CMPXCHG_TRIES)
			return GNTST_general_error;
	}
	/*
	 * Xen swaps flags and domid as one 32-bit word.  We swap the flags
	 * only, so the granter could have ended the grant and re-granted the
	 * ref to someone else with the same flags in between (ABA).  Now that
	 * GTF_reading is set it can no longer end it: check the grantee again.
	 */
	if (!pinned && entry_domid(e) != ldom) {
		entry_clear_flags(e, (uint16_t)(nflags & ~flags));
		return GNTST_general_error;
	}
	return GNTST_okay;
}

/*
 * Pin entry 'ref' of 'rd' for 'ldom' (Xen's map_grant_ref middle part and
 * acquire_grant_for_copy()).  Changes nothing unless it returns okay.
 */
static int16_t pin(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *rd,
		   uint32_t ref, pvio_domid_t ldom, struct pin_delta d,
		   bool readonly, bool mapflag, uint32_t *frame)
{
	struct pvio_gnt_active *act;
	struct pvio_grant_entry_v1 *e;
	bool pinned;
	int16_t rc;

	if (ref >= rd->nr_entries)
		return GNTST_bad_gntref;
	act = &rd->active[ref];
	e = &rd->shared[ref];
	pinned = act_pinned(act);
	if (pinned && (act->domid != ldom || act_at_limit(hv, act, d)))
		return GNTST_general_error;
	if (!pinned || (!readonly && !act_write_pinned(act))) {
		rc = set_status(e, pinned, readonly, mapflag, ldom);
		if (rc != GNTST_okay)
			return rc;
		if (!pinned) {
			/* Read once: the pin keeps using this frame. */
			uint32_t f = entry_frame(e);

			if (f >= rd->nr_frames) {
				entry_clear_flags(
					e,
					GTF_reading |
						(readonly ? 0 : GTF_writing));
				return GNTST_bad_page;
			}
			act->frame = f;
			act->domid = ldom;
		}
	}
	act->hst_w += d.hst_w;
	act->hst_r += d.hst_r;
	act->dev_w += d.dev_w;
	act->dev_r += d.dev_r;
	*frame = act->frame;
	return GNTST_okay;
}

/* Undo one pin(); clear the entry's bits as the counts reach 0. */
static void unpin(struct pvio_gnt_domain *rd, uint32_t ref, struct pin_delta d,
		  bool readonly)
{
	struct pvio_gnt_active *act = &rd->active[ref];
	uint16_t clear = 0;

	act->hst_w -= d.hst_w;
	act->hst_r -= d.hst_r;
	act->dev_w -= d.dev_w;
	act->dev_r -= d.dev_r;
	if (!readonly && !act_write_pinned(act))
		clear |= GTF_writing;
	if (!act_pinned(act)) {
		clear |= GTF_reading;
		/* Nothing stale survives the last pin. */
		act->frame = 0;
		act->domid = 0;
	}
	if (clear)
		entry_clear_flags(&rd->shared[ref], clear);
}

static struct pin_delta map_delta(uint32_t gflags)
{
	struct pin_delta d = {0, 0, 0, 0};
	bool ro = (gflags & GNTMAP_readonly) != 0;

	if (gflags & GNTMAP_device_map) {
		if (ro)
			d.dev_r = 1;
		else
			d.dev_w = 1;
	}
	if (gflags & GNTMAP_host_map) {
		if (ro)
			d.hst_r = 1;
		else
			d.hst_w = 1;
	}
	return d;
}

/* --- maptrack ---------------------------------------------------------- */

static uint32_t mt_alloc(struct pvio_gnt_domain *d)
{
	uint32_t h = d->mt_head;

	d->mt_head = d->maptrack[h].next;
	if (d->mt_head == PVIO__GNT_END)
		d->mt_tail = PVIO__GNT_END;
	d->mt_free--;
	return h;
}

/*
 * Freed handles go to the tail, as in Xen, so a stale handle stays stale
 * for as long as possible.
 */
static void mt_release(struct pvio_gnt_domain *d, uint32_t h)
{
	struct pvio_gnt_maptrack *mt = &d->maptrack[h];

	mt->flags = 0;
	mt->next = PVIO__GNT_END;
	if (d->mt_tail == PVIO__GNT_END)
		d->mt_head = h;
	else
		d->maptrack[d->mt_tail].next = h;
	d->mt_tail = h;
	d->mt_free++;
}

/* --- domains and setup ------------------------------------------------- */

int pvio_gnt_domain_init(struct pvio_gnt_domain *d, pvio_domid_t domid,
			 struct pvio_grant_entry_v1 *shared,
			 uint32_t nr_entries, struct pvio_gnt_active *active,
			 struct pvio_gnt_maptrack *maptrack,
			 uint32_t nr_maptrack, uint32_t nr_frames)
{
	uint32_t i;

	if (d == NULL || domid >= DOMID_FIRST_RESERVED ||
	    (nr_entries != 0 && (shared == NULL || active == NULL)) ||
	    (nr_maptrack != 0 && maptrack == NULL) ||
	    nr_maptrack >= PVIO__GNT_RESERVED)
		return -PVIO_EINVAL;
	d->domid = domid;
	d->dying = false;
	d->shared = shared;
	d->nr_entries = nr_entries;
	d->active = active;
	if (nr_entries != 0)
		__builtin_memset(active, 0, sizeof(*active) * nr_entries);
	d->maptrack = maptrack;
	d->nr_maptrack = nr_maptrack;
	d->mt_head = PVIO__GNT_END;
	d->mt_tail = PVIO__GNT_END;
	d->mt_free = 0;
	for (i = 0; i < nr_maptrack; i++) {
		maptrack[i].ref = 0;
		maptrack[i].domid = 0;
		maptrack[i].frame = 0;
		mt_release(d, i);
	}
	d->nr_frames = nr_frames;
	d->env = NULL;
	return 0;
}

uint32_t pvio_gnt_domain_nr_pinned(const struct pvio_gnt_domain *d)
{
	uint32_t i, n = 0;

	if (d == NULL)
		return 0;
	for (i = 0; i < d->nr_entries; i++)
		n += act_pinned(&d->active[i]);
	return n;
}

uint32_t pvio_gnt_domain_nr_maps(const struct pvio_gnt_domain *d)
{
	return d != NULL ? d->nr_maptrack - d->mt_free : 0;
}

int pvio_gnt_hv_init(struct pvio_gnt_hv *hv, const struct pvio_gnt_hv_ops *ops,
		     void *ctx)
{
	if (hv == NULL || ops == NULL || ops->lookup == NULL)
		return -PVIO_EINVAL;
	hv->ops = ops;
	hv->ctx = ctx;
	hv->pin_limit = PVIO_GNT_PIN_LIMIT_DEFAULT;
	return 0;
}

int pvio_gnt_hv_set_pin_limit(struct pvio_gnt_hv *hv, unsigned int limit)
{
	if (hv == NULL || limit == 0 || limit > PVIO_GNT_PIN_LIMIT_MAX)
		return -PVIO_EINVAL;
	hv->pin_limit = (uint16_t)limit;
	return 0;
}

/* --- map / unmap ------------------------------------------------------- */

/* Reads *op once; writes back only handle and dev_bus_addr (on success). */
static int16_t map_one(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *ld,
		       struct pvio_gnttab_map_grant_ref *op, uint32_t *frame)
{
	const struct pvio_gnttab_map_grant_ref o = *op;
	struct pvio_gnt_domain *rd;
	struct pvio_gnt_maptrack *mt;
	uint32_t gflags;
	uint32_t h, f;
	int16_t rc;

	op_snapshot_barrier(); /* only 'o' from here on */
	gflags = o.flags;
	if (!(gflags & (GNTMAP_device_map | GNTMAP_host_map)))
		return GNTST_bad_gntref;
	if (ld->dying)
		return GNTST_permission_denied;
	rd = find_domain(hv, o.dom);
	if (rd == NULL || rd->dying)
		return GNTST_bad_domain;
	/*
	 * Xen takes the handle here and gives it back on failure; checking
	 * only keeps the free list's order untouched by failed maps.
	 */
	if (ld->mt_free == 0)
		return GNTST_no_space;
	rc = pin(hv, rd, o.ref, ld->domid, map_delta(gflags),
		 (gflags & GNTMAP_readonly) != 0, true, &f);
	if (rc != GNTST_okay)
		return rc;
	h = mt_alloc(ld);
	mt = &ld->maptrack[h];
	mt->ref = o.ref;
	mt->domid = rd->domid;
	mt->frame = f;
	mt->flags = (uint16_t)(gflags & MAP_FLAGS_KEPT);
	op->handle = h;
	op->dev_bus_addr = (uint64_t)f << XEN_PAGE_SHIFT;
	*frame = f;
	return GNTST_okay;
}

int pvio_gnt_hv_map(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *caller,
		    struct pvio_gnttab_map_grant_ref *op, uint32_t *frames,
		    unsigned int count)
{
	unsigned int i;
	uint32_t f;
	int16_t rc;

	if (hv == NULL || caller == NULL || (op == NULL && count != 0))
		return -PVIO_EINVAL;
	for (i = 0; i < count; i++) {
		f = 0;
		rc = map_one(hv, caller, &op[i], &f);
		op[i].status = rc;
		/* rc, not op[i].status: ops are written, never re-read */
		if (frames != NULL && rc == GNTST_okay)
			frames[i] = f;
	}
	return 0;
}

static void fill_info(const struct pvio_gnt_maptrack *mt,
		      struct pvio_gnt_map_info *info)
{
	info->domid = mt->domid;
	info->flags = mt->flags;
	info->ref = mt->ref;
	info->frame = mt->frame;
}

/* Drop the pins of mapping 'h' of 'ld' and free it. */
static int16_t unmap_handle(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *ld,
			    uint32_t h)
{
	struct pvio_gnt_maptrack *mt = &ld->maptrack[h];
	struct pvio_gnt_domain *rd;

	/* A dying granter is still looked up: its peers must unmap. */
	rd = find_domain(hv, mt->domid);
	if (rd == NULL || mt->ref >= rd->nr_entries) {
		mt_release(ld, h);
		return GNTST_bad_domain;
	}
	unpin(rd, mt->ref, map_delta(mt->flags),
	      (mt->flags & GNTMAP_readonly) != 0);
	mt_release(ld, h);
	return GNTST_okay;
}

/* Reads *op once; writes nothing back (the caller stores the status). */
static int16_t unmap_one(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *ld,
			 const struct pvio_gnttab_unmap_grant_ref *op,
			 struct pvio_gnt_map_info *info)
{
	const struct pvio_gnttab_unmap_grant_ref o = *op;
	struct pvio_gnt_maptrack *mt;

	op_snapshot_barrier(); /* only 'o' from here on */
	if (o.handle >= ld->nr_maptrack)
		return GNTST_bad_handle;
	mt = &ld->maptrack[o.handle];
	if (mt->flags == 0)
		return GNTST_bad_handle;
	/*
	 * Xen 4.16+ ("gnttab: adjust unmap checking of dev_bus_addr"): only
	 * a device mapping has a bus address to compare; elsewhere the field
	 * is ignored.
	 */
	if (o.dev_bus_addr != 0 && (mt->flags & GNTMAP_device_map) &&
	    o.dev_bus_addr != (uint64_t)mt->frame << XEN_PAGE_SHIFT)
		return GNTST_bad_dev_addr;
	if (info != NULL)
		fill_info(mt, info);
	return unmap_handle(hv, ld, o.handle);
}

int pvio_gnt_hv_unmap(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *caller,
		      struct pvio_gnttab_unmap_grant_ref *op,
		      struct pvio_gnt_map_info *info, unsigned int count)
{
	unsigned int i;

	if (hv == NULL || caller == NULL || (op == NULL && count != 0))
		return -PVIO_EINVAL;
	for (i = 0; i < count; i++)
		op[i].status = unmap_one(hv, caller, &op[i],
					 info != NULL ? &info[i] : NULL);
	return 0;
}

int pvio_gnt_hv_map_info(const struct pvio_gnt_domain *d,
			 pvio_grant_handle_t handle,
			 struct pvio_gnt_map_info *info)
{
	if (d == NULL || info == NULL)
		return -PVIO_EINVAL;
	if (handle >= d->nr_maptrack || d->maptrack[handle].flags == 0)
		return -PVIO_ENOENT;
	fill_info(&d->maptrack[handle], info);
	return 0;
}

int pvio_gnt_hv_release_domain(struct pvio_gnt_hv *hv,
			       struct pvio_gnt_domain *d)
{
	uint32_t h;
	int n = 0;

	if (d == NULL)
		return 0;
	if (hv == NULL)
		return -PVIO_EINVAL;
	/* First, so that nothing can name it again meanwhile. */
	d->dying = true;
	for (h = 0; h < d->nr_maptrack; h++) {
		if (d->maptrack[h].flags == 0)
			continue;
		(void)unmap_handle(hv, d, h);
		n++;
	}
	return n;
}

/* --- copy -------------------------------------------------------------- */

struct copy_side {
	struct pvio_gnt_domain *d;
	uint32_t ref;
	bool pinned;
	unsigned char *page;
};

static const struct pin_delta copy_read = {0, 1, 0, 0};
static const struct pin_delta copy_write = {1, 0, 0, 0};

/* Xen's gnttab_copy_lock_domain() (4.17: only DOMID_SELF by frame). */
static int16_t copy_lock_domain(struct pvio_gnt_hv *hv,
				struct pvio_gnt_domain *ld,
				const struct pvio_gnttab_copy_ptr *p,
				bool is_gref, struct copy_side *side)
{
	if (!is_gref && p->domid != DOMID_SELF)
		return GNTST_permission_denied;
	if (p->domid == DOMID_SELF)
		side->d = ld;
	else
		side->d = find_domain(hv, p->domid);
	if (side->d == NULL || side->d->dying)
		return GNTST_bad_domain;
	return GNTST_okay;
}

/* Xen's gnttab_copy_claim_buf(): pin or check the frame, then map it. */
static int16_t copy_claim(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *ld,
			  const struct pvio_gnttab_copy_ptr *p, bool is_gref,
			  bool readonly, struct copy_side *side)
{
	uint32_t frame;
	int16_t rc;

	if (is_gref) {
		rc = pin(hv, side->d, p->u.ref, ld->domid,
			 readonly ? copy_read : copy_write, readonly, false,
			 &frame);
		if (rc != GNTST_okay)
			return rc;
		side->ref = p->u.ref;
		side->pinned = true;
	} else {
		if (p->u.gmfn >= side->d->nr_frames)
			return GNTST_bad_page;
		frame = (uint32_t)p->u.gmfn;
	}
	side->page = hv->ops->frame_ptr(hv->ctx, side->d, frame, !readonly);
	if (side->page == NULL)
		return GNTST_bad_page;
	return GNTST_okay;
}

static void copy_release(struct copy_side *side, bool readonly)
{
	if (side->pinned)
		unpin(side->d, side->ref, readonly ? copy_read : copy_write,
		      readonly);
	side->pinned = false;
}

/* memmove without libc: source and destination may be the same frame. */
static void copy_bytes(unsigned char *dst, const unsigned char *src, size_t n)
{
	uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;

	if (d + n <= s || s + n <= d) {
		__builtin_memcpy(dst, src, n);
	} else if (d < s) {
		while (n--)
			*dst++ = *src++;
	} else if (d > s) {
		while (n--)
			dst[n] = src[n];
	}
}

/* Reads *op once; writes nothing back (the caller stores the status). */
static int16_t copy_one(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *ld,
			const struct pvio_gnttab_copy *op)
{
	const struct pvio_gnttab_copy o = *op;
	struct copy_side src = {NULL, 0, false, NULL};
	struct copy_side dst = {NULL, 0, false, NULL};
	bool src_gref, dst_gref;
	int16_t rc;

	op_snapshot_barrier(); /* only 'o' from here on */
	src_gref = (o.flags & GNTCOPY_source_gref) != 0;
	dst_gref = (o.flags & GNTCOPY_dest_gref) != 0;
	if (ld->dying)
		return GNTST_permission_denied;
	if (hv->ops->frame_ptr == NULL)
		return GNTST_general_error;
	rc = copy_lock_domain(hv, ld, &o.source, src_gref, &src);
	if (rc != GNTST_okay)
		return rc;
	rc = copy_lock_domain(hv, ld, &o.dest, dst_gref, &dst);
	if (rc != GNTST_okay)
		return rc;
	rc = copy_claim(hv, ld, &o.source, src_gref, true, &src);
	if (rc != GNTST_okay)
		goto out;
	rc = copy_claim(hv, ld, &o.dest, dst_gref, false, &dst);
	if (rc != GNTST_okay)
		goto out;
	/* Xen checks the page bounds only once both sides are claimed. */
	if ((uint32_t)o.source.offset + o.len > XEN_PAGE_SIZE ||
	    (uint32_t)o.dest.offset + o.len > XEN_PAGE_SIZE) {
		rc = GNTST_bad_copy_arg;
		goto out;
	}
	copy_bytes(dst.page + o.dest.offset, src.page + o.source.offset, o.len);
	rc = GNTST_okay;
out:
	copy_release(&dst, false);
	copy_release(&src, true);
	return rc;
}

int pvio_gnt_hv_copy(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *caller,
		     struct pvio_gnttab_copy *op, unsigned int count)
{
	unsigned int i;

	if (hv == NULL || caller == NULL || (op == NULL && count != 0))
		return -PVIO_EINVAL;
	for (i = 0; i < count; i++)
		op[i].status = copy_one(hv, caller, &op[i]);
	return 0;
}

/* --- transfer ---------------------------------------------------------- */

static void uncommit(struct pvio_grant_entry_v1 *e)
{
	/*
	 * release: pairs with the acquire load/cmpxchg of flags in
	 * pvio_gnt_share_end_transfer(), which may then reclaim the offer.
	 */
	__atomic_fetch_and(&e->flags, (uint16_t)~GTF_transfer_committed,
			   __ATOMIC_RELEASE);
}

/* Reads *op once; writes nothing back (the caller stores the status). */
static int16_t transfer_one(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *ld,
			    const struct pvio_gnttab_transfer *op)
{
	const struct pvio_gnttab_transfer o = *op;
	struct pvio_gnt_domain *rd;
	struct pvio_grant_entry_v1 *e;
	uint32_t new_frame = 0;
	uint16_t flags;
	int16_t rc;
	int tries = 0;

	op_snapshot_barrier(); /* only 'o' from here on */
	if (ld->dying)
		return GNTST_permission_denied;
	if (o.mfn >= ld->nr_frames)
		return GNTST_bad_page;
	rd = find_domain(hv, o.domid);
	if (rd == NULL)
		return GNTST_bad_domain;
	/* Xen: "Transferee d%d is dying" -> general_error, not bad_domain. */
	if (rd->dying || hv->ops->transfer_page == NULL)
		return GNTST_general_error;
	/* gnttab_prepare_for_transfer(): a bad ref is a general_error. */
	if (o.ref >= rd->nr_entries)
		return GNTST_general_error;
	e = &rd->shared[o.ref];
	/*
	 * acquire: pairs with the release store of flags in
	 * pvio_gnt_share_grant_transfer(): domid and frame below are the
	 * ones these flags publish.
	 */
	flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	for (;;) {
		if (flags != GTF_accept_transfer || entry_domid(e) != ld->domid)
			return GNTST_general_error;
		/* acq_rel, see pvio__gnt_flags_cmpxchg() */
		if (pvio__gnt_flags_cmpxchg(&e->flags, &flags,
					    GTF_accept_transfer |
						    GTF_transfer_committed))
			break;
		if (++tries == PVIO__GNT_CMPXCHG_TRIES)
			return GNTST_general_error;
	}
	/*
	 * Same ABA as in set_status(): once committed the receiver may not
	 * withdraw, so the domid is stable now.
	 */
	if (entry_domid(e) != ld->domid) {
		uncommit(e);
		return GNTST_general_error;
	}
	rc = hv->ops->transfer_page(hv->ctx, ld, (uint32_t)o.mfn, rd,
				    entry_frame(e), &new_frame);
	if (rc != GNTST_okay) {
		uncommit(e);
		return rc < 0 ? rc : GNTST_general_error;
	}
	/* relaxed: published by the release fetch_or below */
	__atomic_store_n(&e->frame, new_frame, __ATOMIC_RELAXED);
	/*
	 * release: pairs with the acquire load of flags in
	 * pvio_gnt_share_end_transfer(): the receiver that sees
	 * GTF_transfer_completed reads the new frame stored above.
	 */
	__atomic_fetch_or(&e->flags, (uint16_t)GTF_transfer_completed,
			  __ATOMIC_RELEASE);
	return GNTST_okay;
}

int pvio_gnt_hv_transfer(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *caller,
			 struct pvio_gnttab_transfer *op, unsigned int count)
{
	unsigned int i;

	if (hv == NULL || caller == NULL || (op == NULL && count != 0))
		return -PVIO_EINVAL;
	for (i = 0; i < count; i++)
		op[i].status = transfer_one(hv, caller, &op[i]);
	return 0;
}
