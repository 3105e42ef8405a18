/* SPDX-License-Identifier: MIT */
/*
 * libgrant: grant tables with Xen's v1 semantics (io/grant_table.h).
 *
 * Three independent parts:
 *
 *   pvio_gnt_share   the granting side: a domain's own grant table.  Grant
 *                    a frame to a peer, end the grant (refused while the
 *                    peer still has it mapped), offer and collect page
 *                    transfers.
 *   pvio_gnt_hv      the checks and bookkeeping the hypervisor applies to
 *                    GNTTABOP_map_grant_ref, unmap_grant_ref, copy and
 *                    transfer, returning exactly Xen's GNTST_* codes; and
 *                    the release of everything a dying domain held.
 *   pvio_gnt_pcache  the mapping side's persistent-grant cache (Linux
 *                    blkback style): grant ref -> live mapping, bounded,
 *                    LRU eviction of idle mappings only.
 *
 * Memory.  Everything is freestanding: the library allocates nothing, the
 * caller supplies every array and struct and owns it; each must outlive
 * the object it was handed to.  The structs below are public so that they
 * can be embedded or placed in static storage without an allocator (a
 * guest kernel may have none); their fields are private to the library
 * unless a comment says otherwise.  Read them, never write them.
 *
 * Threads.  No object locks itself.  Calls on one pvio_gnt_share, one
 * pvio_gnt_hv (with all its domains) or one pvio_gnt_pcache must be
 * serialised by the caller.  The only memory touched concurrently is the
 * shared grant entries themselves: the granter and the hypervisor update
 * their flags with atomic compare-and-swap, in different processes.
 *
 * Errors.  Functions return 0 or a count on success and a negative errno
 * (PVIO_E*, pvio/errno.h) on failure; pointer-returning ones take
 * 'int *err'.  The hypervisor entry points are batched like the hypercall:
 * they return 0 (or -PVIO_EINVAL for unusable arguments) and write one
 * GNTST_* status into each operation.
 *
 * Untrusted op arrays.  The op arrays given to pvio_gnt_hv_map, _unmap,
 * _copy and _transfer may be memory the calling guest can write while the
 * call runs (the stub may pass the hypercall buffer through), and their
 * contents may be hostile.  Each op is read exactly once, into a private
 * copy, before anything is checked; only that copy is validated and acted
 * on.  The library then writes only the OUT fields (status; for map also
 * handle and dev_bus_addr) and never reads them back.  A guest that
 * rewrites an op mid-call changes nothing but what it later reads there.
 */
#ifndef PVIO_GRANT_H
#define PVIO_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/grant_table.h"
#include "io/xen_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ====================================================================== */
/* Granting side                                                          */
/* ====================================================================== */

/*
 * Largest table the granting side manages: refs must fit the non-negative
 * int that pvio_gnt_share_grant_access() returns, and the top few values
 * of a uint32_t are private link markers.
 */
#define PVIO_GNT_SHARE_MAX_ENTRIES 0x7FFFFFF0U

/*
 * A domain's own grant table.  'entries' is the shared array the
 * hypervisor reads (and sets GTF_reading/GTF_writing/transfer bits in);
 * 'link' is private memory (one uint32_t per entry) holding the free list
 * and which kind of grant each allocated ref is.  Refs below
 * GNTTAB_NR_RESERVED_ENTRIES are never handed out (console, xenstore).
 */
struct pvio_gnt_share {
	struct pvio_grant_entry_v1 *entries; /* shared, nr entries */
	uint32_t *link;			     /* private, nr entries */
	uint32_t nr;
	/*
	 * Free refs, oldest first: FIFO so a just-ended ref is reused last,
	 * which keeps a peer's stale ref invalid as long as possible.
	 */
	uint32_t free_head;
	uint32_t free_tail;
	uint32_t nr_free;
};

/*
 * Take over 'entries' and 'link' (nr each, GNTTAB_NR_RESERVED_ENTRIES <=
 * nr <= PVIO_GNT_SHARE_MAX_ENTRIES).  Entries from
 * GNTTAB_NR_RESERVED_ENTRIES up are cleared: call this on a table no
 * peer uses yet.  The reserved entries are left as they are (the
 * toolstack fills them).  -EINVAL on bad arguments.
 */
int pvio_gnt_share_init(struct pvio_gnt_share *s,
			struct pvio_grant_entry_v1 *entries, uint32_t *link,
			uint32_t nr);

/*
 * Let 'domid' map or copy 'frame' (read-only if 'readonly').  Returns the
 * grant ref (>= GNTTAB_NR_RESERVED_ENTRIES) or -ENOSPC when no ref is
 * free, -EINVAL on bad arguments.
 */
int pvio_gnt_share_grant_access(struct pvio_gnt_share *s, pvio_domid_t domid,
				uint32_t frame, bool readonly);

/*
 * End a grant made by pvio_gnt_share_grant_access().  Never waits.
 * Returns 0 when the entry was revoked and the ref freed; -EBUSY, leaving
 * the grant in place, while the hypervisor holds it pinned (GTF_reading or
 * GTF_writing: the peer has it mapped or a copy is running; or the bits
 * kept changing under five swaps) - try again after the peer unmaps;
 * -EINVAL if 'ref' is not an access grant of this table.
 */
int pvio_gnt_share_end_access(struct pvio_gnt_share *s, pvio_grant_ref_t ref);

/*
 * Offer to receive a page from 'domid' (GTF_accept_transfer).  'pfn' is
 * written into the entry's frame field: it tells the hypervisor where the
 * page is wanted; the environment decides what to do with it.  Returns
 * the ref, -ENOSPC or -EINVAL.
 */
int pvio_gnt_share_grant_transfer(struct pvio_gnt_share *s, pvio_domid_t domid,
				  uint32_t pfn);

/*
 * Finish a transfer grant.  Never waits:
 *   0             a page arrived: '*frame' is its frame number here; the
 *                 ref is freed.
 *   -ENOENT       no transfer had been committed; the offer was withdrawn
 *                 and the ref freed (no page arrived).
 *   -EINPROGRESS  the hypervisor committed a transfer and is moving the
 *                 page; call again later.  The ref stays allocated.
 *   -EINVAL       'ref' is not a transfer grant of this table.
 *   -EAGAIN       the entry kept changing under us (only a misbehaving
 *                 hypervisor does that); nothing changed.
 */
int pvio_gnt_share_end_transfer(struct pvio_gnt_share *s, pvio_grant_ref_t ref,
				uint32_t *frame);

/* True if 'ref' is currently allocated (an access or transfer grant). */
bool pvio_gnt_share_in_use(const struct pvio_gnt_share *s,
			   pvio_grant_ref_t ref);

/*
 * 1 if the hypervisor holds an allocated access grant pinned (mapped or
 * being copied), 0 if not, -EINVAL if 'ref' is not an access grant.
 */
int pvio_gnt_share_busy(const struct pvio_gnt_share *s, pvio_grant_ref_t ref);

/* Refs free for granting. */
uint32_t pvio_gnt_share_nr_free(const struct pvio_gnt_share *s);

/* ====================================================================== */
/* Hypervisor side                                                        */
/* ====================================================================== */

/*
 * Xen 4.17 refuses a new pin of an entry if one of the 8-bit pin counters
 * that pin would raise has its top bit set (act->pin &
 * GNTPIN_incr2oflow_mask(pin_incr), since "gnttab: adjust pin count
 * overflow checks"), i.e. has reached 128; a full counter of another kind
 * does not matter.  pvio keeps 16-bit counters and a configurable limit
 * with the same per-counter rule, for maps and copies; this is the
 * default.
 */
#define PVIO_GNT_PIN_LIMIT_DEFAULT 128U
#define PVIO_GNT_PIN_LIMIT_MAX 0xFFFFU

/*
 * Hypervisor-private state of one grant entry (Xen's active entry).  The
 * frame and the pinning domain are captured from the shared entry at the
 * first pin and used until the last unpin, so a granter rewriting its
 * entry meanwhile changes nothing.  One array per granter, one element
 * per grant entry; initialised by pvio_gnt_domain_init().
 */
struct pvio_gnt_active {
	uint32_t frame;	    /* granter's frame, valid while pinned */
	pvio_domid_t domid; /* the domain holding the pins */
	/*
	 * Pins by kind: host/device mappings, writable/read-only.  Copies
	 * take host pins for their duration, as in Xen.
	 */
	uint16_t hst_w, hst_r, dev_w, dev_r;
};

/*
 * One mapping held by a domain (Xen's maptrack entry); its index is the
 * grant handle.  One array per mapper, sized by the stub's maptrack limit.
 */
struct pvio_gnt_maptrack {
	uint32_t ref;	    /* granter's ref */
	pvio_domid_t domid; /* granter */
	uint16_t flags;	    /* GNTMAP_* of the map; 0: slot free */
	uint32_t frame;	    /* granter's frame (for map_info) */
	uint32_t next;	    /* free-list link */
};

/*
 * A domain as the hypervisor sees it.  The stub owns one per domain and
 * returns it from pvio_gnt_hv_ops.lookup.  'env' is the stub's own field;
 * 'dying' may be read by anyone.  Everything else is private.
 */
struct pvio_gnt_domain {
	pvio_domid_t domid;
	bool dying; /* set by pvio_gnt_hv_release_domain() */
	/* Its grant table as the hypervisor maps it (shared with it). */
	struct pvio_grant_entry_v1 *shared;
	uint32_t nr_entries;
	struct pvio_gnt_active *active; /* nr_entries */
	/* Its mappings of other domains' grants. */
	struct pvio_gnt_maptrack *maptrack;
	uint32_t nr_maptrack;
	uint32_t mt_head, mt_tail, mt_free; /* FIFO: delay handle reuse */
	/* Frames 0..nr_frames-1 exist; anything else is GNTST_bad_page. */
	uint32_t nr_frames;
	void *env; /* the environment's, never touched by the library */
};

/*
 * Set up 'd'.  'shared' (nr_entries) is the domain's grant table, which
 * the domain itself keeps writing; 'active' (nr_entries) and 'maptrack'
 * (nr_maptrack, < 2^32 - 1) are hypervisor-private memory.  'env' is set
 * to NULL.  -EINVAL if domid >= DOMID_FIRST_RESERVED or a pointer is NULL
 * with a non-zero size.
 */
int pvio_gnt_domain_init(struct pvio_gnt_domain *d, pvio_domid_t domid,
			 struct pvio_grant_entry_v1 *shared,
			 uint32_t nr_entries, struct pvio_gnt_active *active,
			 struct pvio_gnt_maptrack *maptrack,
			 uint32_t nr_maptrack, uint32_t nr_frames);

/* Entries of d's table pinned by anyone (0: its memory can be retired). */
uint32_t pvio_gnt_domain_nr_pinned(const struct pvio_gnt_domain *d);

/* Mappings d holds (live maptrack entries). */
uint32_t pvio_gnt_domain_nr_maps(const struct pvio_gnt_domain *d);

/*
 * What the environment provides.  All callbacks get the 'ctx' given to
 * pvio_gnt_hv_init().
 */
struct pvio_gnt_hv_ops {
	/*
	 * The record of 'domid', or NULL if there is no such domain
	 * (GNTST_bad_domain).  Never called with DOMID_SELF.  A dying domain
	 * must still be returned while pvio_gnt_domain_nr_pinned() of it is
	 * non-zero, so that its peers can unmap.  Required.
	 */
	struct pvio_gnt_domain *(*lookup)(void *ctx, pvio_domid_t domid);
	/*
	 * Address of frame 'frame' (< d->nr_frames, already checked) of d,
	 * for a grant copy that reads it or writes it.  NULL: the frame is
	 * unusable (GNTST_bad_page).  Optional: without it copies fail with
	 * GNTST_general_error.
	 */
	void *(*frame_ptr)(void *ctx, struct pvio_gnt_domain *d, uint32_t frame,
			   bool writable);
	/*
	 * Move frame 'frame' of 'from' into 'to', which asked for it at 'pfn'
	 * (the receiver's entry frame field).  Store the frame number it now
	 * has in 'to' in '*new_frame' and return GNTST_okay, or return a
	 * GNTST_* error and leave the page with 'from'.  Optional: without it
	 * transfers fail with GNTST_general_error.
	 */
	int16_t (*transfer_page)(void *ctx, struct pvio_gnt_domain *from,
				 uint32_t frame, struct pvio_gnt_domain *to,
				 uint32_t pfn, uint32_t *new_frame);
};

struct pvio_gnt_hv {
	const struct pvio_gnt_hv_ops *ops;
	void *ctx;
	uint16_t pin_limit;
};

/* -EINVAL if hv, ops or ops->lookup is NULL. */
int pvio_gnt_hv_init(struct pvio_gnt_hv *hv, const struct pvio_gnt_hv_ops *ops,
		     void *ctx);

/* Pins per counter, 1..PVIO_GNT_PIN_LIMIT_MAX; -EINVAL otherwise. */
int pvio_gnt_hv_set_pin_limit(struct pvio_gnt_hv *hv, unsigned int limit);

/*
 * What a live mapping refers to: the stub needs it to build and tear down
 * the mapper's view of the page.
 */
struct pvio_gnt_map_info {
	pvio_domid_t domid; /* granter */
	uint16_t flags;	    /* GNTMAP_* */
	pvio_grant_ref_t ref;
	uint32_t frame; /* granter's frame */
};

/*
 * GNTTABOP_map_grant_ref for 'caller'.  Per op: status; on GNTST_okay
 * also handle and dev_bus_addr (frame << XEN_PAGE_SHIFT, as Xen writes
 * it for every successful map) and, if 'frames' is not NULL,
 * frames[i] = the granter's frame.  host_addr is not interpreted: the
 * environment owns address spaces.  Checks, in Xen 4.17's order:
 *   neither GNTMAP_host_map nor GNTMAP_device_map   GNTST_bad_gntref
 *   caller dying (pvio)                             GNTST_permission_denied
 *   op->dom unknown or dying                        GNTST_bad_domain
 *   caller's maptrack full                          GNTST_no_space
 *   ref >= granter's table size                     GNTST_bad_gntref
 *   pinned by another domain / a pin counter this map would raise
 *   (host or device, writable or read-only) at the limit
 *                                                   GNTST_general_error
 *   entry not permit_access (or sub_page), domid != caller, writable map
 *   of a GTF_readonly entry, entry still changing after 5 cmpxchg tries
 *                                                   GNTST_general_error
 *   granted frame >= granter's nr_frames            GNTST_bad_page
 * A failed op changes nothing.
 */
int pvio_gnt_hv_map(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *caller,
		    struct pvio_gnttab_map_grant_ref *op, uint32_t *frames,
		    unsigned int count);

/*
 * GNTTABOP_unmap_grant_ref for 'caller': releases the whole mapping named
 * by op->handle (host_addr is not interpreted).  If 'info' is not NULL,
 * info[i] describes what was unmapped.  Per op:
 *   handle >= maptrack size, or slot not in use     GNTST_bad_handle
 *   the mapping has GNTMAP_device_map, dev_bus_addr != 0 and
 *   dev_bus_addr != frame << 12                     GNTST_bad_dev_addr
 *   granter's record gone (a stub bug): the slot is freed, status
 *                                                   GNTST_bad_domain
 * As in Xen 4.16+ ("gnttab: adjust unmap checking of dev_bus_addr"),
 * dev_bus_addr is ignored for a mapping without GNTMAP_device_map.
 */
int pvio_gnt_hv_unmap(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *caller,
		      struct pvio_gnttab_unmap_grant_ref *op,
		      struct pvio_gnt_map_info *info, unsigned int count);

/*
 * GNTTABOP_copy for 'caller', through ops->frame_ptr.  Per op, in Xen
 * 4.17's order (source side first, then destination):
 *   caller dying (pvio)                             GNTST_permission_denied
 *   frame side with domid != DOMID_SELF             GNTST_permission_denied
 *   gref side: domain unknown or dying              GNTST_bad_domain
 *   source, then dest: ref >= table size            GNTST_bad_gntref
 *     not permit_access, domid != caller, dest GTF_readonly, pinned by
 *     another domain, the counter the copy raises (source: host
 *     read-only, dest: host writable) at the pin limit, unstable entry
 *                                                   GNTST_general_error
 *     frame outside the owner's memory, or NULL from ops->frame_ptr
 *                                                   GNTST_bad_page
 *   offset + len > 4096 on either side              GNTST_bad_copy_arg
 * The gref sides are pinned (GTF_reading for the source, GTF_writing for
 * the destination) only while the copy runs.
 */
int pvio_gnt_hv_copy(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *caller,
		     struct pvio_gnttab_copy *op, unsigned int count);

/*
 * GNTTABOP_transfer for 'caller', through ops->transfer_page.  Per op:
 *   caller dying (pvio)                             GNTST_permission_denied
 *   op->mfn >= caller's nr_frames                   GNTST_bad_page
 *   receiver unknown                                GNTST_bad_domain
 *   receiver dying                                  GNTST_general_error
 *   ref >= receiver's table size                    GNTST_general_error
 *   entry not exactly GTF_accept_transfer for the caller, or unstable
 *                                                   GNTST_general_error
 *   ops->transfer_page failed                       its GNTST_* code
 * (Xen 4.17 gnttab_transfer/gnttab_prepare_for_transfer report the three
 * before the last as general_error.)  On success the entry gets
 * GTF_transfer_committed, then the new frame, then GTF_transfer_completed.
 * Unlike Xen, a failed transfer leaves the page with the caller.
 */
int pvio_gnt_hv_transfer(struct pvio_gnt_hv *hv, struct pvio_gnt_domain *caller,
			 struct pvio_gnttab_transfer *op, unsigned int count);

/* The mapping 'handle' of 'd': 0, or -ENOENT if not in use, -EINVAL. */
int pvio_gnt_hv_map_info(const struct pvio_gnt_domain *d,
			 pvio_grant_handle_t handle,
			 struct pvio_gnt_map_info *info);

/*
 * Domain death: unmap every mapping 'd' holds (dropping its pins on the
 * granters' entries) and mark it dying, so that maps and copies naming it
 * fail with GNTST_bad_domain, transfers to it with GNTST_general_error,
 * and its own maps, copies and transfers with GNTST_permission_denied.
 * Returns the number of mappings released.  Grants of 'd' that other
 * domains still map stay pinned until they unmap (see
 * pvio_gnt_domain_nr_pinned()).  NULL 'd' is a no-op returning 0.
 */
int pvio_gnt_hv_release_domain(struct pvio_gnt_hv *hv,
			       struct pvio_gnt_domain *d);

/* ====================================================================== */
/* Mapping side: persistent-grant cache                                  */
/* ====================================================================== */

/*
 * One cached mapping.  ref, handle, addr and in_use are public and
 * read-only for the caller; the rest is private.
 */
struct pvio_gnt_pcache_entry {
	pvio_grant_ref_t ref;
	pvio_grant_handle_t handle; /* from the map, needed to unmap */
	void *addr;		    /* where the page is mapped */
	uint32_t in_use;	    /* gets minus puts */
	uint32_t hnext;		    /* hash chain */
	uint32_t prev, next;	    /* idle (LRU) list, or free list */
};

/* A mapping the cache gave up: the caller must unmap it. */
struct pvio_gnt_pcache_victim {
	pvio_grant_ref_t ref;
	pvio_grant_handle_t handle;
	void *addr;
};

/*
 * Idle entries (in_use == 0) sit on a list ordered by when they became
 * idle, oldest first: that is Linux blkback's LRU (last_used is stamped
 * when a request puts the grant), and it makes eviction O(1).
 */
struct pvio_gnt_pcache {
	struct pvio_gnt_pcache_entry *e;
	uint32_t cap;
	uint32_t *bucket;
	uint32_t bucket_mask;
	uint32_t free_head;
	uint32_t idle_head, idle_tail;
	uint32_t count; /* cached entries */
};

/*
 * 'entries' (cap, 1..2^31) and 'buckets' (nr_buckets, a power of two) are
 * the cache's storage.  -EINVAL on bad arguments.
 */
int pvio_gnt_pcache_init(struct pvio_gnt_pcache *c,
			 struct pvio_gnt_pcache_entry *entries, uint32_t cap,
			 uint32_t *buckets, uint32_t nr_buckets);

/*
 * Look 'ref' up.  A hit counts one more user (release with
 * pvio_gnt_pcache_put()); a miss returns NULL with *err = -ENOENT.
 */
struct pvio_gnt_pcache_entry *
pvio_gnt_pcache_get(struct pvio_gnt_pcache *c, pvio_grant_ref_t ref, int *err);

/* One user fewer.  -EINVAL if 'ent' is not a cached entry in use. */
int pvio_gnt_pcache_put(struct pvio_gnt_pcache *c,
			struct pvio_gnt_pcache_entry *ent);

/*
 * Cache a mapping the caller just made; it starts with one user.  If the
 * cache is full, the least recently used idle entry is evicted and
 * described in '*victim' (the caller unmaps it).  '*ent' (if not NULL)
 * receives the new entry.  Returns 0, 1 if '*victim' was filled, -EEXIST
 * if 'ref' is already cached, -ENOSPC if every entry is in use (use a
 * per-request mapping instead), -EINVAL.
 */
int pvio_gnt_pcache_insert(struct pvio_gnt_pcache *c, pvio_grant_ref_t ref,
			   pvio_grant_handle_t handle, void *addr,
			   struct pvio_gnt_pcache_entry **ent,
			   struct pvio_gnt_pcache_victim *victim);

/*
 * Remove up to 'max' idle entries, oldest first, into 'victims' for
 * unmapping.  Entries in use stay.  Returns how many were removed.
 */
int pvio_gnt_pcache_flush(struct pvio_gnt_pcache *c,
			  struct pvio_gnt_pcache_victim *victims,
			  unsigned int max);

/* Entries cached (in use or idle). */
uint32_t pvio_gnt_pcache_count(const struct pvio_gnt_pcache *c);

#ifdef __cplusplus
}
#endif

#endif /* PVIO_GRANT_H */
