/* SPDX-License-Identifier: MIT */
/*
 * blkfront core: requests -> ring requests, shadows, response checks,
 * replay.  Freestanding (see front_core.h).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "front_core.h"

/* The only libc the core uses (a guest kernel provides these). */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

#define NO_GROUP UINT32_MAX
#define REAP_BATCH 32U
#define FAIL_BATCH 64U

/*
 * The shadow of one request in flight, kept in its pvio_reqid slot.  It
 * holds everything needed to put the request on a ring again: the
 * frames (not only grants: a new backend needs new grants) and the
 * caller's cookie.
 */
struct shadow {
	void *cookie;
	uint64_t sector;
	uint64_t nr_sectors;
	uint32_t gen;	/* q->gen when put on the ring */
	uint32_t group; /* indirect group held, or NO_GROUP */
	uint32_t nsegs;
	int32_t fail; /* != 0: failed by replay with this status */
	uint8_t op;
	uint8_t flag;
	bool granted; /* on the current ring: grants held */
	uint8_t _pad;
	struct pvio_bfc_seg segs[];
};

/* A ring slot's worth of request, whichever shape. */
union ring_req {
	struct pvio_blkif_request rw;
	struct pvio_blkif_request_discard discard;
	struct pvio_blkif_request_indirect ind;
};

static size_t shadow_size(uint32_t max_segs)
{
	return sizeof(struct shadow) +
	       (size_t)max_segs * sizeof(struct pvio_bfc_seg);
}

static uint32_t groups_pages(uint32_t segs)
{
	return (segs + PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE - 1) /
	       PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t pvio_bfc_mem_size(uint32_t nslots, uint32_t max_segs,
			 uint32_t max_groups)
{
	size_t ids, ip, gf;

	if (nslots == 0 || max_segs == 0 ||
	    max_segs > PVIO_BLKIF_MAX_INDIRECT_SEGMENTS)
		return 0;
	ids = pvio_reqid_mem_size(nslots, shadow_size(max_segs));
	if (ids == 0 || max_groups > 65536)
		return 0;
	ip = (size_t)max_groups * BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST *
	     sizeof(struct pvio_bfc_ipage);
	gf = align8((size_t)max_groups * sizeof(uint32_t));
	if (ids > SIZE_MAX - ip - gf)
		return 0;
	return align8(ids) + ip + gf;
}

int pvio_bfc_init(struct pvio_bfc_queue *q, void *mem, size_t size,
		  uint32_t nslots, uint32_t max_segs, uint32_t max_groups,
		  const struct pvio_bfc_ops *ops, void *ctx)
{
	size_t need = pvio_bfc_mem_size(nslots, max_segs, max_groups);
	size_t ids;
	unsigned char *p = mem;
	int rc;

	if (!q || !mem || !ops || !ops->grant || need == 0 || size < need ||
	    ((uintptr_t)mem & 7))
		return -PVIO_EINVAL;
	memset(q, 0, sizeof(*q));
	ids = pvio_reqid_mem_size(nslots, shadow_size(max_segs));
	rc = pvio_reqid_init(&q->ids, p, ids, nslots, shadow_size(max_segs),
			     64);
	if (rc)
		return rc;
	p += align8(ids);
	q->ipages = (struct pvio_bfc_ipage *)(void *)p;
	p += (size_t)max_groups * BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST *
	     sizeof(struct pvio_bfc_ipage);
	q->group_free = (uint32_t *)(void *)p;
	q->ops = ops;
	q->ctx = ctx;
	q->nslots = nslots;
	q->max_segs = max_segs;
	q->max_groups = max_groups;
	q->gen = 1;
	return 0;
}

uint32_t pvio_bfc_inflight(const struct pvio_bfc_queue *q)
{
	return pvio_reqid_inflight(&q->ids);
}

int pvio_bfc_seg_make(uint32_t frame, uint32_t offset, uint32_t len,
		      struct pvio_bfc_seg *seg)
{
	if (len == 0 || (offset | len) & (PVIO_BLKIF_SECTOR_SIZE - 1) ||
	    offset >= 4096 || len > 4096 - offset)
		return -PVIO_EINVAL;
	seg->frame = frame;
	seg->gref = 0;
	seg->first_sect = (uint8_t)(offset >> PVIO_BLKIF_SECTOR_SHIFT);
	seg->last_sect =
		(uint8_t)(((offset + len) >> PVIO_BLKIF_SECTOR_SHIFT) - 1);
	seg->_pad = 0;
	return 0;
}

/* Segments allowed per request of 'op' on this connection. */
static uint32_t seg_limit(const struct pvio_bfc_queue *q, uint8_t op)
{
	uint32_t lim = BLKIF_MAX_SEGMENTS_PER_REQUEST;

	if ((op == BLKIF_OP_READ || op == BLKIF_OP_WRITE) &&
	    q->max_indirect > lim)
		lim = q->max_indirect;
	return lim < q->max_segs ? lim : q->max_segs;
}

static void release_segs(struct pvio_bfc_queue *q, struct shadow *s, uint32_t n)
{
	if (!q->ops->release)
		return;
	for (uint32_t i = 0; i < n; i++)
		q->ops->release(q->ctx, s->segs[i].gref);
}

/* Drop what the request holds on the current ring. */
static void unhold(struct pvio_bfc_queue *q, struct shadow *s)
{
	if (!s->granted)
		return;
	release_segs(q, s, s->nsegs);
	if (s->group != NO_GROUP && s->gen == q->gen)
		q->group_free[q->ngroup_free++] = s->group;
	s->group = NO_GROUP;
	s->granted = false;
}

/*
 * Put a shadowed request on the ring: needs a free slot (checked by the
 * caller) and, if indirect, a free group.  -EAGAIN if no group; grant()'s
 * error.
 */
static int put_on_ring(struct pvio_bfc_queue *q, struct shadow *s, uint64_t id)
{
	bool ro = s->op == BLKIF_OP_WRITE || s->op == BLKIF_OP_WRITE_BARRIER;
	bool indirect = s->nsegs > BLKIF_MAX_SEGMENTS_PER_REQUEST;
	union ring_req u;
	uint32_t i;
	int rc;

	if (indirect && q->ngroup_free == 0)
		return -PVIO_EAGAIN;
	for (i = 0; i < s->nsegs; i++) {
		rc = q->ops->grant(q->ctx, s->segs[i].frame, ro,
				   &s->segs[i].gref);
		if (rc) {
			release_segs(q, s, i);
			return rc;
		}
	}
	memset(&u, 0, sizeof(u));
	if (s->op == BLKIF_OP_DISCARD) {
		u.discard.operation = BLKIF_OP_DISCARD;
		u.discard.flag = s->flag;
		u.discard.handle = q->handle;
		u.discard.id = id;
		u.discard.sector_number = s->sector;
		u.discard.nr_sectors = s->nr_sectors;
		s->group = NO_GROUP;
	} else if (indirect) {
		uint32_t g = q->group_free[--q->ngroup_free];
		const struct pvio_bfc_ipage *pg =
			&q->ipages[(size_t)g * q->pages_per_group];

		s->group = g;
		u.ind.operation = BLKIF_OP_INDIRECT;
		u.ind.indirect_op = s->op;
		u.ind.nr_segments = (uint16_t)s->nsegs;
		u.ind.id = id;
		u.ind.sector_number = s->sector;
		u.ind.handle = q->handle;
		for (i = 0; i < groups_pages(s->nsegs); i++)
			u.ind.indirect_grefs[i] = pg[i].gref;
		/* The backend reads these pages only after the ring request
		 * is pushed; the push's release barrier orders these writes
		 * before it. */
		for (i = 0; i < s->nsegs; i++) {
			struct pvio_blkif_request_segment d = {
				.gref = s->segs[i].gref,
				.first_sect = s->segs[i].first_sect,
				.last_sect = s->segs[i].last_sect,
			};
			struct pvio_blkif_request_segment *dst =
				pg[i / PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE].va;

			memcpy(&dst[i % PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE], &d,
			       sizeof(d));
		}
		q->stats.indirect++;
	} else {
		u.rw.operation = s->op;
		u.rw.nr_segments = (uint8_t)s->nsegs;
		u.rw.handle = q->handle;
		u.rw.id = id;
		u.rw.sector_number = s->sector;
		for (i = 0; i < s->nsegs; i++) {
			u.rw.seg[i].gref = s->segs[i].gref;
			u.rw.seg[i].first_sect = s->segs[i].first_sect;
			u.rw.seg[i].last_sect = s->segs[i].last_sect;
		}
		s->group = NO_GROUP;
	}
	rc = pvio_ring_front_produce(&q->ring, &u, 1);
	if (rc != 1) {
		/* Cannot happen: the caller checked for a free slot. */
		if (s->group != NO_GROUP)
			q->group_free[q->ngroup_free++] = s->group;
		s->group = NO_GROUP;
		release_segs(q, s, s->nsegs);
		return rc < 0 ? rc : -PVIO_EAGAIN;
	}
	s->gen = q->gen;
	s->granted = true;
	q->stats.requests++;
	return 0;
}

int pvio_bfc_connect(struct pvio_bfc_queue *q, void *sring, size_t bytes,
		     const struct pvio_bfc_conf *conf)
{
	uint32_t ppg = 0, n;
	int rc;

	if (!q || !sring || !conf)
		return -PVIO_EINVAL;
	if (q->connected)
		return -PVIO_EBUSY;
	/* Indirect needs at least one group of pages. */
	if (conf->max_indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST &&
	    conf->ngroups > 0) {
		ppg = groups_pages(conf->max_indirect);
		if (conf->max_indirect > q->max_segs ||
		    conf->ngroups > q->max_groups || !conf->ipages)
			return -PVIO_EINVAL;
	}
	rc = pvio_ring_front_init(&q->ring, sring, bytes,
				  sizeof(union pvio_blkif_sring_entry),
				  sizeof(struct pvio_blkif_request),
				  sizeof(struct pvio_blkif_response), 0);
	if (rc)
		return rc;
	q->handle = conf->handle;
	q->max_indirect = ppg ? conf->max_indirect : 0;
	q->pages_per_group = ppg;
	q->ngroups = ppg ? conf->ngroups : 0;
	n = q->ngroups * ppg;
	for (uint32_t i = 0; i < n; i++)
		q->ipages[i] = conf->ipages[i];
	q->ngroup_free = 0;
	/* Highest group on top: groups are handed out 0, 1, ... */
	for (uint32_t g = q->ngroups; g > 0; g--)
		q->group_free[q->ngroup_free++] = g - 1;
	q->connected = true;
	return 0;
}

void pvio_bfc_disconnect(struct pvio_bfc_queue *q)
{
	uint64_t cur = 0, id;
	void *sh;

	if (!q || !q->connected)
		return;
	while (pvio_reqid_next_inflight(&q->ids, &cur, &id, &sh) == 1) {
		struct shadow *s = sh;

		if (s->granted) {
			unhold(q, s);
			q->unplayed++;
		}
	}
	q->connected = false;
	/* Shadows with the old gen are no longer on any ring. */
	q->gen++;
}

/* Stop the queue: a hostile or broken backend. */
static int stop(struct pvio_bfc_queue *q)
{
	q->error = -PVIO_EPROTO;
	return -PVIO_EPROTO;
}

int pvio_bfc_replay(struct pvio_bfc_queue *q)
{
	uint64_t cur = 0, id;
	bool produced = false;
	void *sh;

	if (q->error)
		return q->error;
	if (!q->connected || q->unplayed == 0)
		return (int)q->unplayed;
	while (q->unplayed &&
	       pvio_reqid_next_inflight(&q->ids, &cur, &id, &sh) == 1) {
		struct shadow *s = sh;
		int rc;

		if (s->granted || s->fail)
			continue;
		if (s->nsegs > seg_limit(q, s->op)) {
			/* The new backend takes fewer segments. */
			s->fail = -PVIO_EIO;
			q->unplayed--;
			q->failed++;
			continue;
		}
		/* Oldest first, none overtaking: stop at the first that does
		 * not fit. */
		if (pvio_ring_front_free(&q->ring) == 0)
			break;
		rc = put_on_ring(q, s, id);
		if (rc == -PVIO_EAGAIN)
			break;
		if (rc) {
			s->fail = rc;
			q->failed++;
		} else {
			produced = true;
			q->stats.replayed++;
		}
		q->unplayed--;
	}
	if (produced)
		pvio_bfc_push(q);
	return (int)q->unplayed;
}

int pvio_bfc_submit(struct pvio_bfc_queue *q, const struct pvio_bfc_req *r)
{
	uint64_t id, total = 0;
	void *sh;
	struct shadow *s;
	uint32_t i;
	int rc;

	if (q->error)
		return q->error;
	if (!q->connected)
		return -PVIO_ENOTCONN;
	switch (r->op) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_WRITE_BARRIER:
		if (r->nsegs == 0 || r->nsegs > seg_limit(q, r->op))
			return -PVIO_EINVAL;
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		if (r->nsegs > seg_limit(q, r->op))
			return -PVIO_EINVAL;
		break;
	case BLKIF_OP_DISCARD:
		if (r->nsegs != 0 || r->nr_sectors == 0 ||
		    r->sector + r->nr_sectors < r->sector)
			return -PVIO_EINVAL;
		break;
	default:
		return -PVIO_EINVAL;
	}
	for (i = 0; i < r->nsegs; i++) {
		if (r->segs[i].first_sect > r->segs[i].last_sect ||
		    r->segs[i].last_sect >= PVIO_BLKIF_SECTORS_PER_PAGE)
			return -PVIO_EINVAL;
		total += (uint64_t)(r->segs[i].last_sect -
				    r->segs[i].first_sect + 1);
	}
	if (r->sector + total < r->sector)
		return -PVIO_EINVAL;
	if (q->unplayed && pvio_bfc_replay(q) != 0)
		return -PVIO_EAGAIN; /* older requests go first */
	if (pvio_ring_front_free(&q->ring) == 0)
		return -PVIO_EAGAIN;
	if (r->nsegs > BLKIF_MAX_SEGMENTS_PER_REQUEST && q->ngroup_free == 0)
		return -PVIO_EAGAIN;
	rc = pvio_reqid_alloc(&q->ids, &id, &sh);
	if (rc)
		return -PVIO_EAGAIN;
	s = sh;
	s->cookie = r->cookie;
	s->sector = r->sector;
	s->nr_sectors = r->nr_sectors;
	s->nsegs = r->nsegs;
	s->fail = 0;
	s->op = r->op;
	s->flag = r->flag;
	s->granted = false;
	s->group = NO_GROUP;
	if (r->nsegs)
		memcpy(s->segs, r->segs, (size_t)r->nsegs * sizeof(s->segs[0]));
	rc = put_on_ring(q, s, id);
	if (rc) {
		pvio_reqid_complete(&q->ids, id, NULL);
		return rc;
	}
	return 0;
}

int pvio_bfc_push(struct pvio_bfc_queue *q)
{
	int rc;

	if (!q->connected)
		return q->error ? q->error : -PVIO_ENOTCONN;
	rc = pvio_ring_front_push(&q->ring);
	if (rc < 0)
		return stop(q);
	if (rc > 0) {
		q->stats.notifies++;
		if (q->ops->notify)
			q->ops->notify(q->ctx);
	}
	return 0;
}

static int map_status(int16_t st)
{
	switch (st) {
	case BLKIF_RSP_OKAY:
		return 0;
	case BLKIF_RSP_EOPNOTSUPP:
		return -PVIO_EOPNOTSUPP;
	default:
		return -PVIO_EIO; /* ERROR, and anything undefined */
	}
}

/* Report requests that replay could not resubmit. */
static unsigned int reap_failed(struct pvio_bfc_queue *q,
				struct pvio_bfc_done *done, unsigned int max)
{
	uint64_t ids[FAIL_BATCH], cur = 0, id;
	unsigned int n = 0, k = 0;
	void *sh;

	while (n < max && n < FAIL_BATCH &&
	       pvio_reqid_next_inflight(&q->ids, &cur, &id, &sh) == 1)
		if (((struct shadow *)sh)->fail)
			ids[n++] = id;
	for (unsigned int i = 0; i < n; i++) {
		if (pvio_reqid_complete(&q->ids, ids[i], &sh))
			continue;
		done[k].cookie = ((struct shadow *)sh)->cookie;
		done[k].status = ((struct shadow *)sh)->fail;
		k++;
		q->failed--;
	}
	return k;
}

int pvio_bfc_reap(struct pvio_bfc_queue *q, struct pvio_bfc_done *done,
		  unsigned int max)
{
	struct pvio_blkif_response rsp[REAP_BATCH];
	unsigned int k = 0;

	if (q->error)
		return q->error;
	if (q->failed && max)
		k = reap_failed(q, done, max);
	while (q->connected && k < max) {
		unsigned int want = max - k;
		int n;

		n = pvio_ring_front_pending(&q->ring);
		if (n < 0) {
			stop(q);
			break;
		}
		if (n == 0)
			break;
		if (want > REAP_BATCH)
			want = REAP_BATCH;
		n = pvio_ring_front_consume(&q->ring, rsp, want);
		if (n <= 0) {
			if (n < 0)
				stop(q);
			break;
		}
		for (int i = 0; i < n; i++) {
			/* rsp[] is our private copy (libchannel copied it
			 * once, with a compiler barrier): check, then use. */
			void *sh;
			struct shadow *s;
			uint8_t op = rsp[i].operation;

			if (pvio_reqid_lookup(&q->ids, rsp[i].id, &sh)) {
				stop(q); /* unknown or duplicate id */
				break;
			}
			s = sh;
			if (!s->granted || s->gen != q->gen) {
				stop(q); /* an id this ring never carried */
				break;
			}
			/* Linux's blkback answers an indirect request with
			 * its indirect_op; accept BLKIF_OP_INDIRECT too. */
			if (op != s->op &&
			    !(op == BLKIF_OP_INDIRECT &&
			      s->nsegs > BLKIF_MAX_SEGMENTS_PER_REQUEST)) {
				stop(q);
				break;
			}
			unhold(q, s);
			done[k].cookie = s->cookie;
			done[k].status = map_status(rsp[i].status);
			k++;
			pvio_reqid_complete(&q->ids, rsp[i].id, NULL);
		}
		if (q->error)
			break;
	}
	if (!q->error && q->unplayed)
		pvio_bfc_replay(q);
	if (q->error && k == 0)
		return q->error;
	return (int)k;
}

int pvio_bfc_final_check(struct pvio_bfc_queue *q)
{
	int rc;

	if (q->error)
		return q->error;
	if (q->failed)
		return 1;
	if (!q->connected)
		return -PVIO_ENOTCONN;
	rc = pvio_ring_front_final_check(&q->ring);
	if (rc < 0)
		return stop(q);
	return rc;
}

int pvio_bfc_fail_all(struct pvio_bfc_queue *q, int status,
		      struct pvio_bfc_done *done, unsigned int max)
{
	uint64_t ids[FAIL_BATCH], cur = 0, id;
	unsigned int n = 0, k = 0;
	void *sh;

	while (n < max && n < FAIL_BATCH &&
	       pvio_reqid_next_inflight(&q->ids, &cur, &id, &sh) == 1)
		ids[n++] = id;
	for (unsigned int i = 0; i < n; i++) {
		struct shadow *s;

		if (pvio_reqid_complete(&q->ids, ids[i], &sh))
			continue;
		s = sh;
		if (s->granted)
			unhold(q, s);
		else if (!s->fail && q->unplayed)
			q->unplayed--;
		if (s->fail && q->failed)
			q->failed--;
		done[k].cookie = s->cookie;
		done[k].status = s->fail ? s->fail : status;
		k++;
	}
	return (int)k;
}
