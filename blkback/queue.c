/* SPDX-License-Identifier: MIT */
/*
 * One blkback queue: a ring, its event channel, a disk queue and the
 * thread that moves requests between them.
 *
 * The loop (one thread, nothing shared with other queues except the
 * domain handle's lock and the vbd's counters):
 *   reap disk completions -> answer them (responses go into the ring's
 *   private slots), consume a batch of requests (each copied once by
 *   libchannel, then decoded and checked from the copy), map their
 *   segments (persistent cache first), prep their disk I/Os, one submit,
 *   unmap what per-request mappings completed (before the push, so a
 *   frontend may end its grants as soon as it sees the response), one
 *   push, notify only if the frontend asked.  Idle: spin for the budget
 *   (loads only), then the ring's final check, then sleep in
 *   pvio_disk_q_wait() on the disk and the event channel together.
 *
 * Ordering: BLKIF_OP_WRITE_BARRIER and BLKIF_OP_FLUSH_DISKCACHE hold the
 * ring: nothing after them is started until they complete, and they
 * start only when every earlier request of the ring has completed
 * (Linux's drain).  Then: the write (if there are segments), then a
 * flush.  A flush therefore covers every write completed before it and
 * every write the frontend had put on the ring before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "blkback.h"

#define BB_BATCH 64U

enum bb_phase {
	PH_IO = 0,    /* a read, write or discard in flight */
	PH_DRAIN = 1, /* barrier/flush waiting for earlier requests */
	PH_WRITE = 2, /* barrier/flush: its write in flight */
	PH_FLUSH = 3, /* barrier/flush: the flush in flight */
};

/* How one segment of an in-flight request is mapped. */
struct bb_segmap {
	struct pvio_gnt_pcache_entry *ent; /* cached: put at completion */
	pvio_grant_handle_t handle;	   /* else our own mapping */
	void *addr;
};

struct bb_slot {
	struct bb_slot *next_free;
	bool busy;
	uint8_t op; /* raw operation, echoed in the response */
	uint8_t phase;
	uint64_t id;
	unsigned int nseg;
	unsigned int cap; /* maps/iov capacity */
	struct bb_segmap *maps;
	struct iovec *iov;
	struct pvio_disk_io dio;
};

struct bb_queue {
	struct bb_vbd *v;
	struct bb_ctx *ctx;
	unsigned int idx;
	enum bb_abi abi;
	size_t req_size;
	struct pvio_ring ring;
	int wait_fd, kick_fd;
	struct pvio_disk_q *dq;
	pthread_t thr;
	bool started;
	/* Set by bb_queue_destroy(), read by the thread (seq_cst; the
	 * eventfd write after it wakes the thread). */
	atomic_bool stop;
	bool halted;

	struct bb_slot *slots;
	unsigned int nslots, busy;
	struct bb_slot *free;
	struct bb_slot *held; /* barrier/flush holding the ring */
	unsigned int staged;  /* prepped since the last submit */

	/* Requests consumed but not yet handled (a barrier stopped us). */
	unsigned char *reqbuf;
	unsigned int rb_n, rb_i;

	bool persistent;
	struct pvio_gnt_pcache pc;
	struct pvio_gnt_pcache_entry *pc_ent;
	uint32_t *pc_bkt;

	/*
	 * Mapping budget (README "Mapping budget"): 'mapped' counts every
	 * grant this queue holds mapped (cache entries, per-request
	 * mappings, and those on unmapq until it is flushed); it never
	 * exceeds 'budget', reserved from the daemon's pool at create.  A
	 * request is taken only if its worst case fits (evicting idle cache
	 * entries if that helps); else it waits in reqbuf for completions.
	 */
	unsigned int budget, mapped, worst;
	bool charged;

	unsigned int max_segs;
	struct pvio_dom_map *ops;		  /* map scratch */
	unsigned int *opidx;			  /* op -> segment */
	struct pvio_blkif_request_segment *isegs; /* indirect copy */
	struct pvio_dom_map *unmapq;		  /* per-request unmaps */
	unsigned int nunmap, unmap_cap;
	bool produced;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* ---------------------------------------------------------------------- */
/* Responses                                                              */
/* ---------------------------------------------------------------------- */

static void respond(struct bb_queue *q, uint64_t id, uint8_t op, int status)
{
	unsigned char raw[sizeof(struct pvio_blkif_x86_64_response)];

	if (status != BLKIF_RSP_OKAY)
		atomic_fetch_add_explicit(&q->v->qs.errors, 1,
					  memory_order_relaxed);
	if (q->halted)
		return; /* the ring is disabled: nobody gets answers */
	bb_rsp_encode(q->abi, raw, id, op, (int16_t)status);
	if (pvio_ring_back_produce(&q->ring, raw, 1) == 1)
		q->produced = true;
}

static void halt(struct bb_queue *q, const char *what)
{
	char msg[160];

	if (q->halted)
		return;
	q->halted = true;
	snprintf(msg, sizeof(msg),
		 "queue %u: %s (req_prod %u, responses %u, ring size %u); "
		 "ring halted",
		 q->idx, what, q->ring.sring->req_prod, q->ring.prod_pvt,
		 q->ring.size);
	bb_vbd_fatal(q->v, msg);
}

/* ---------------------------------------------------------------------- */
/* Grant mappings                                                         */
/* ---------------------------------------------------------------------- */

static int unmapq_add(struct bb_queue *q, pvio_grant_handle_t h, void *addr)
{
	if (q->nunmap == q->unmap_cap) {
		unsigned int cap = q->unmap_cap ? q->unmap_cap * 2 : 64;
		struct pvio_dom_map *n =
			realloc(q->unmapq, cap * sizeof(*q->unmapq));

		if (n == NULL) {
			/* Unmap now rather than leak the mapping. */
			struct pvio_dom_map m = {.handle = h, .addr = addr};
			BB_HV_CALL(q->ctx, &q->v->hs,
				   pvio_dom_grant_unmap(q->ctx->dom, &m, 1));
			q->mapped--;
			return 0;
		}
		q->unmapq = n;
		q->unmap_cap = cap;
	}
	q->unmapq[q->nunmap++] =
		(struct pvio_dom_map){.handle = h, .addr = addr};
	return 0;
}

static void unmapq_flush(struct bb_queue *q)
{
	if (q->nunmap == 0)
		return;
	BB_HV_CALL(q->ctx, &q->v->hs,
		   pvio_dom_grant_unmap(q->ctx->dom, q->unmapq, q->nunmap));
	/* Our own handles: the unmap does not fail for them (a status
	 * other than okay would mean the mapping is gone anyway). */
	q->mapped -= q->nunmap < q->mapped ? q->nunmap : q->mapped;
	q->nunmap = 0;
}

/* Drop one segment's mapping: back to the cache or onto the unmap list. */
static void seg_release(struct bb_queue *q, struct bb_segmap *m)
{
	if (m->ent != NULL)
		pvio_gnt_pcache_put(&q->pc, m->ent);
	else if (m->addr != NULL)
		unmapq_add(q, m->handle, m->addr);
	m->ent = NULL;
	m->addr = NULL;
}

/*
 * Map 'n' grants of the frontend into maps[0..n): cache hits first, the
 * misses in one map call (cached afterwards when persistent).  'ro':
 * the backend only reads the pages (per-request mappings only: Linux maps
 * persistent grants writable).  -EFAULT if any grant could not be
 * mapped (everything released again).
 */
static int map_grants(struct bb_queue *q, const pvio_grant_ref_t *refs,
		      size_t stride, unsigned int n, bool ro,
		      struct bb_segmap *maps)
{
	unsigned int nmiss = 0, i;
	bool bad = false;
	int rc;

	for (i = 0; i < n; i++) {
		pvio_grant_ref_t ref =
			*(const pvio_grant_ref_t *)((const char *)refs +
						    i * stride);
		struct pvio_gnt_pcache_entry *e = NULL;
		int err;

		if (q->persistent)
			e = pvio_gnt_pcache_get(&q->pc, ref, &err);
		maps[i].ent = e;
		maps[i].addr = e != NULL ? e->addr : NULL;
		if (e == NULL) {
			q->ops[nmiss] = (struct pvio_dom_map){
				.dom = q->v->fe,
				.ref = ref,
				.flags = (!q->persistent && ro)
						 ? GNTMAP_readonly
						 : 0};
			q->opidx[nmiss++] = i;
		}
	}
	if (nmiss == 0)
		return 0;
	rc = BB_HV_CALL(q->ctx, &q->v->hs,
			pvio_dom_grant_map(q->ctx->dom, q->ops, nmiss));
	for (unsigned int k = 0; k < nmiss; k++) {
		struct bb_segmap *m = &maps[q->opidx[k]];
		struct pvio_dom_map *op = &q->ops[k];

		if (rc < 0 || op->status != GNTST_okay || op->addr == NULL) {
			bad = true;
			continue;
		}
		m->handle = op->handle;
		m->addr = op->addr;
		q->mapped++;
		if (q->persistent) {
			struct pvio_gnt_pcache_victim vic;
			struct pvio_gnt_pcache_entry *ent = NULL;
			int r = pvio_gnt_pcache_insert(&q->pc, op->ref,
						       op->handle, op->addr,
						       &ent, &vic);

			if (r >= 0)
				m->ent = ent;
			if (r == 1)
				unmapq_add(q, vic.handle, vic.addr);
			/* -EEXIST (the ref twice in one batch), -ENOSPC
			 * (all in use): keep it as our own mapping. */
		}
	}
	if (bad) {
		for (i = 0; i < n; i++)
			seg_release(q, &maps[i]);
		return -EFAULT;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Requests                                                               */
/* ---------------------------------------------------------------------- */

static struct bb_slot *slot_get(struct bb_queue *q)
{
	struct bb_slot *s = q->free;

	if (s == NULL)
		return NULL;
	q->free = s->next_free;
	s->busy = true;
	s->nseg = 0;
	q->busy++;
	return s;
}

static void slot_put(struct bb_queue *q, struct bb_slot *s)
{
	s->busy = false;
	s->next_free = q->free;
	q->free = s;
	q->busy--;
	if (q->held == s)
		q->held = NULL;
}

static int slot_reserve(struct bb_slot *s, unsigned int n)
{
	if (n <= s->cap)
		return 0;
	struct bb_segmap *m = realloc(s->maps, n * sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	s->maps = m;
	struct iovec *v = realloc(s->iov, n * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	s->iov = v;
	s->cap = n;
	return 0;
}

static void finish(struct bb_queue *q, struct bb_slot *s, int status)
{
	for (unsigned int i = 0; i < s->nseg; i++)
		seg_release(q, &s->maps[i]);
	s->nseg = 0;
	respond(q, s->id, s->op, status);
	slot_put(q, s);
}

static void prep(struct bb_queue *q, struct bb_slot *s, uint8_t op,
		 uint64_t offset, uint64_t len)
{
	int rc;

	s->dio.op = op;
	s->dio.offset = offset;
	s->dio.len = len;
	s->dio.iov = s->iov;
	s->dio.iovcnt = s->nseg;
	s->dio.user = s;
	s->dio.res = 0;
	rc = pvio_disk_q_prep(q->dq, &s->dio);
	if (rc < 0) {
		/* Cannot happen (depth = slots); answer rather than leak. */
		finish(q, s, BLKIF_RSP_ERROR);
		return;
	}
	q->staged++;
}

/*
 * Copy the segment descriptors of an indirect request out of its
 * indirect pages, once; only the copy is checked and used.
 */
static int fetch_indirect(struct bb_queue *q, const struct bb_req *r)
{
	unsigned int pages = bb_indirect_pages(r->nr_segs);
	struct bb_segmap im[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	int rc;

	/* The backend only reads indirect pages. */
	rc = map_grants(q, r->indirect_grefs, sizeof(pvio_grant_ref_t), pages,
			true, im);
	if (rc < 0)
		return rc;
	for (unsigned int p = 0, left = r->nr_segs; p < pages; p++) {
		unsigned int k = left < PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE
					 ? left
					 : PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE;

		memcpy(&q->isegs[p * PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE],
		       im[p].addr, k * sizeof(q->isegs[0]));
		left -= k;
	}
	/* The copy above is the only read of the shared pages: keep the
	 * compiler from re-loading them for the checks below (XSA-155). */
	atomic_signal_fence(memory_order_seq_cst);
	for (unsigned int p = 0; p < pages; p++)
		seg_release(q, &im[p]);
	return 0;
}

static void handle_req(struct bb_queue *q, const struct bb_req *r)
{
	struct bb_vbd *v = q->v;
	const struct pvio_blkif_request_segment *segs = r->seg;
	const char *why = "";
	uint64_t bytes = 0;
	struct bb_slot *s;
	uint8_t kind = r->op;
	int st;

	atomic_fetch_add_explicit(&v->qs.requests, 1, memory_order_relaxed);
	st = bb_req_check(r, &v->lim, &why);
	if (st != BLKIF_RSP_OKAY)
		goto bad;

	if (r->op == BLKIF_OP_DISCARD) {
		if (r->nr_sectors == 0) {
			respond(q, r->id, r->op, BLKIF_RSP_OKAY);
			return;
		}
		s = slot_get(q);
		s->op = r->op;
		s->id = r->id;
		s->phase = PH_IO;
		prep(q, s,
		     (r->flag & BLKIF_DISCARD_SECURE) ? PVIO_DISK_SECURE_DISCARD
						      : PVIO_DISK_DISCARD,
		     r->sector << PVIO_BLKIF_SECTOR_SHIFT,
		     r->nr_sectors << PVIO_BLKIF_SECTOR_SHIFT);
		return;
	}
	if (r->op == BLKIF_OP_FLUSH_DISKCACHE && r->nr_segs == 0 &&
	    v->lim.readonly) {
		/* Nothing this backend wrote can be in a cache. */
		respond(q, r->id, r->op, BLKIF_RSP_OKAY);
		return;
	}
	if (r->op == BLKIF_OP_INDIRECT) {
		if (fetch_indirect(q, r) < 0) {
			why = "bad indirect page grant";
			st = BLKIF_RSP_ERROR;
			goto bad;
		}
		segs = q->isegs;
		kind = r->iop;
	}
	if (r->nr_segs != 0) {
		st = bb_segs_check(segs, r->nr_segs, r->sector, v->lim.sectors,
				   &bytes, &why);
		if (st != BLKIF_RSP_OKAY)
			goto bad;
	}
	s = slot_get(q);
	s->op = r->op;
	s->id = r->id;
	if (slot_reserve(s, r->nr_segs) < 0) {
		slot_put(q, s);
		why = "out of memory";
		st = BLKIF_RSP_ERROR;
		goto bad;
	}
	if (r->nr_segs != 0) {
		if (map_grants(q, &segs[0].gref, sizeof(segs[0]), r->nr_segs,
			       kind != BLKIF_OP_READ, s->maps) < 0) {
			slot_put(q, s);
			why = "grant map failed";
			st = BLKIF_RSP_ERROR;
			goto bad;
		}
		s->nseg = r->nr_segs;
		for (unsigned int i = 0; i < s->nseg; i++) {
			s->iov[i].iov_base = (char *)s->maps[i].addr +
					     ((size_t)segs[i].first_sect
					      << PVIO_BLKIF_SECTOR_SHIFT);
			s->iov[i].iov_len = (size_t)(segs[i].last_sect -
						     segs[i].first_sect + 1U)
					    << PVIO_BLKIF_SECTOR_SHIFT;
		}
	}
	s->dio.offset = r->sector << PVIO_BLKIF_SECTOR_SHIFT;
	if (kind == BLKIF_OP_WRITE_BARRIER ||
	    kind == BLKIF_OP_FLUSH_DISKCACHE) {
		s->phase = PH_DRAIN;
		q->held = s;
		return;
	}
	s->phase = PH_IO;
	prep(q, s, kind == BLKIF_OP_READ ? PVIO_DISK_READ : PVIO_DISK_WRITE,
	     s->dio.offset, bytes);
	return;
bad:
	bb_debug("vbd %s queue %u: request id %llu op %u: %s", v->name, q->idx,
		 (unsigned long long)r->id, r->op, why);
	respond(q, r->id, r->op, st);
}

/* A held barrier/flush starts once it is the only request in flight. */
static void held_start(struct bb_queue *q)
{
	struct bb_slot *s = q->held;

	if (s == NULL || s->phase != PH_DRAIN || q->busy != 1)
		return;
	if (s->nseg != 0) {
		uint64_t bytes = 0;

		for (unsigned int i = 0; i < s->nseg; i++)
			bytes += s->iov[i].iov_len;
		s->phase = PH_WRITE;
		prep(q, s, PVIO_DISK_WRITE, s->dio.offset, bytes);
	} else {
		s->phase = PH_FLUSH;
		prep(q, s, PVIO_DISK_FLUSH, 0, 0);
	}
}

static void complete(struct bb_queue *q, struct bb_slot *s, int res)
{
	int st = res == 0	      ? BLKIF_RSP_OKAY
		 : res == -EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP
				      : BLKIF_RSP_ERROR;

	if (res != 0)
		bb_debug("vbd %s queue %u: id %llu op %u: disk error %d",
			 q->v->name, q->idx, (unsigned long long)s->id, s->op,
			 res);
	if (s->phase == PH_WRITE && res == 0) {
		s->phase = PH_FLUSH;
		prep(q, s, PVIO_DISK_FLUSH, 0, 0);
		return;
	}
	finish(q, s, st);
}

static unsigned int reap(struct bb_queue *q)
{
	struct pvio_disk_io *done[BB_BATCH];
	unsigned int total = 0;
	int n;

	while ((n = pvio_disk_q_reap(q->dq, done, BB_BATCH)) > 0) {
		for (int i = 0; i < n; i++)
			complete(q, done[i]->user, done[i]->res);
		total += (unsigned int)n;
		if ((unsigned int)n < BB_BATCH)
			break;
	}
	return total;
}

/*
 * New mappings request 'r' may need at most: its segments, plus its
 * indirect pages (mapped, and unmapped or cached only at the end of the
 * loop).  Requests the checks reject before mapping anything count 0.
 * Counted as if nothing were cached: the worst case is what must fit.
 */
static unsigned int req_need(const struct bb_queue *q, const struct bb_req *r)
{
	if (r->op == BLKIF_OP_INDIRECT)
		return r->nr_segs <= q->v->max_indirect
			       ? r->nr_segs + bb_indirect_pages(r->nr_segs)
			       : 0;
	return r->nr_segs <= BLKIF_MAX_SEGMENTS_PER_REQUEST ? r->nr_segs : 0;
}

/*
 * Is there room in the budget for 'need' more mappings?  If not, unmap
 * what is queued for unmapping and evict idle cache entries, oldest
 * first, as many as are missing.  Memory loads only while it fits, so
 * the steady state makes no hypercall.  false: hold the request until
 * completions free room (when nothing is in flight, every mapping left
 * is an idle cache entry and 'budget' >= 'worst' >= need: it fits).
 */
static bool budget_room(struct bb_queue *q, unsigned int need)
{
	if (q->mapped + need <= q->budget)
		return true;
	unmapq_flush(q);
	if (q->persistent && q->mapped + need > q->budget) {
		struct pvio_gnt_pcache_victim vic[64];
		unsigned int over = q->mapped + need - q->budget;
		int n;

		while (over > 0 &&
		       (n = pvio_gnt_pcache_flush(&q->pc, vic,
						  over < 64 ? over : 64)) > 0) {
			for (int i = 0; i < n; i++)
				unmapq_add(q, vic[i].handle, vic[i].addr);
			over -= (unsigned int)n;
		}
		unmapq_flush(q);
	}
	return q->mapped + need <= q->budget;
}

/* Take requests off the ring while slots are free and nothing holds it. */
static unsigned int consume(struct bb_queue *q)
{
	unsigned int handled = 0;

	while (q->held == NULL && q->free != NULL) {
		if (q->rb_i == q->rb_n) {
			int avail = pvio_ring_back_pending(&q->ring);
			unsigned int max = BB_BATCH;

			if (avail < 0) {
				halt(q, "frontend moved req_prod impossibly "
					"(producer overflow)");
				break;
			}
			if (avail == 0)
				break;
			if (max > q->nslots - q->busy)
				max = q->nslots - q->busy;
			if (max > (unsigned int)avail)
				max = (unsigned int)avail;
			avail = pvio_ring_back_consume(&q->ring, q->reqbuf,
						       max);
			if (avail <= 0)
				break;
			q->rb_n = (unsigned int)avail;
			q->rb_i = 0;
		}
		struct bb_req r;

		bb_req_decode(q->abi, q->reqbuf + (size_t)q->rb_i * q->req_size,
			      &r);
		/* Stays in reqbuf (decoded again next time) until it fits:
		 * completions wake the thread through the disk queue. */
		if (!budget_room(q, req_need(q, &r)))
			break;
		q->rb_i++;
		handle_req(q, &r);
		handled++;
	}
	return handled;
}

/*
 * The event channel's eventfds are one open file description shared with
 * the frontend, which can clear O_NONBLOCK on it: so never rely on the
 * flag.  One read takes the whole counter; RWF_NOWAIT makes that read
 * non-blocking whatever the flags say (eventfd honours it since Linux
 * 5.12; before, a poll first).  A blocking notify write() cannot be made
 * safe that way (eventfd has no write_iter): it can only stall the ring
 * of the frontend that did it, and bb_queue_destroy() interrupts it with
 * BB_WAKE_SIG.
 */
static bool drain_fd(int fd)
{
	uint64_t v = 0;
	struct iovec io = {.iov_base = &v, .iov_len = sizeof(v)};
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (preadv2(fd, &io, 1, -1, RWF_NOWAIT) >= 0 ||
	    (errno != EOPNOTSUPP && errno != EINVAL))
		return v != 0;
	if (poll(&p, 1, 0) == 1 && read(fd, &v, sizeof(v)) < 0)
		return false; /* drained meanwhile */
	return v != 0;
}

/*
 * Events that bring no work (XSA-332 class; Linux's lateeoi): after the
 * second in a row, stop listening to the frontend's event channel for
 * 2^(n-2) ms, up to 1 s, still reaping the disk.  A frontend that only
 * notifies when its push says so never sends two in a row: each of its
 * events comes with a request, which resets the count.
 */
#define BB_BACKOFF_MAX_MS 1000U

static void backoff(struct bb_queue *q, unsigned int spurious)
{
	unsigned int ms =
		spurious - 2 >= 10 ? BB_BACKOFF_MAX_MS : 1U << (spurious - 2);
	uint64_t end = now_ns() + (uint64_t)ms * 1000000ULL;

	while (!atomic_load(&q->stop)) {
		uint64_t now = now_ns();

		if (now >= end)
			break;
		/* -1: the disk only (a poll io_uring kept armed on the
		 * event fd may end one call early). */
		if (pvio_disk_q_wait(
			    q->dq, -1,
			    (int)((end - now + 999999ULL) / 1000000ULL)) == 1)
			break;
	}
}

static void *qthread(void *arg)
{
	struct bb_queue *q = arg;
	uint64_t spin_ns = (uint64_t)q->ctx->opts.spin_us * 1000ULL;
	uint64_t idle_since = now_ns();
	unsigned int spurious = 0; /* event wake-ups in a row without work */
	bool woke = false;

	for (;;) {
		bool stop = atomic_load(&q->stop);
		unsigned int work = reap(q);

		if (!stop && !q->halted)
			work += consume(q);
		held_start(q);
		if (q->staged != 0) {
			q->staged = 0;
			pvio_disk_q_submit(q->dq);
			work++;
		}
		/* Unmap before the push: the frontend may end its grants as
		 * soon as it sees the responses. */
		unmapq_flush(q);
		if (q->produced) {
			q->produced = false;
			if (pvio_ring_back_push(&q->ring) == 1) {
				uint64_t one = 1;

				if (write(q->kick_fd, &one, sizeof(one)) < 0) {
					/* peer gone: learnt via xenstore */
				}
			}
		}
		if (stop && q->busy == 0)
			break;
		if (work != 0) {
			spurious = 0;
			woke = false;
			idle_since = now_ns();
			continue;
		}
		if (woke) {
			woke = false;
			if (++spurious > 1 && !stop) {
				backoff(q, spurious);
				continue;
			}
		}
		/* No spinning for a frontend that sends empty events. */
		if (!stop && spurious == 0 && now_ns() - idle_since < spin_ns) {
			cpu_relax();
			continue;
		}
		if (!stop && !q->halted && q->held == NULL && q->free != NULL &&
		    q->rb_i == q->rb_n &&
		    pvio_ring_back_final_check(&q->ring) != 0)
			continue; /* work arrived (or overflow: consume sees) */
		pvio_disk_q_wait(q->dq, q->wait_fd, stop ? 10 : 1000);
		woke = drain_fd(q->wait_fd);
		idle_since = now_ns();
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Life cycle                                                             */
/* ---------------------------------------------------------------------- */

struct bb_queue *bb_queue_create(struct bb_vbd *v, unsigned int idx, void *ring,
				 size_t bytes, int wait_fd, int kick_fd,
				 int *err)
{
	struct bb_queue *q = calloc(1, sizeof(*q));
	int rc = -ENOMEM;

	if (q == NULL) {
		close(wait_fd);
		close(kick_fd);
		*err = -ENOMEM;
		return NULL;
	}
	q->v = v;
	q->ctx = v->ctx;
	q->idx = idx;
	q->abi = v->abi;
	q->req_size = bb_abi_req_size(v->abi);
	q->wait_fd = wait_fd;
	q->kick_fd = kick_fd;
	q->persistent = v->persistent;
	atomic_init(&q->stop, false);
	/* Waking must not block: the thread drains until EAGAIN. */
	{
		int fl = fcntl(wait_fd, F_GETFL);
		if (fl >= 0)
			fcntl(wait_fd, F_SETFL, fl | O_NONBLOCK);
	}
	rc = pvio_ring_back_attach(&q->ring, ring, bytes,
				   bb_abi_entry_size(v->abi), q->req_size,
				   bb_abi_rsp_size(v->abi), 0);
	if (rc < 0)
		goto fail;
	q->nslots = pvio_ring_size(&q->ring);
	q->slots = calloc(q->nslots, sizeof(*q->slots));
	q->reqbuf = malloc((size_t)BB_BATCH * q->req_size);
	q->max_segs = v->max_indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST
			      ? v->max_indirect
			      : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	q->ops = calloc(q->max_segs, sizeof(*q->ops));
	q->opidx = calloc(q->max_segs, sizeof(*q->opidx));
	q->isegs = calloc((size_t)BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST *
				  PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE,
			  sizeof(*q->isegs));
	rc = -ENOMEM;
	if (q->slots == NULL || q->reqbuf == NULL || q->ops == NULL ||
	    q->opidx == NULL || q->isegs == NULL)
		goto fail;
	for (unsigned int i = 0; i < q->nslots; i++) {
		q->slots[i].next_free = q->free;
		q->free = &q->slots[i];
		/* Direct requests never grow this. */
		if (slot_reserve(&q->slots[i], BLKIF_MAX_SEGMENTS_PER_REQUEST) <
		    0)
			goto fail;
	}
	/* One worst-case request must always fit. */
	q->worst =
		v->max_indirect != 0
			? v->max_indirect + bb_indirect_pages(v->max_indirect)
			: BLKIF_MAX_SEGMENTS_PER_REQUEST;
	rc = bb_budget_take(q->ctx, q->ctx->opts.queue_grants, q->worst, false,
			    &q->budget);
	if (rc < 0)
		goto fail;
	q->charged = true;
	if (q->persistent) {
		/* Never more cached than the budget: the cache holds at
		 * most every mapping the queue may have. */
		uint32_t cap = q->budget;
		uint32_t nb = 1;

		while (nb < cap)
			nb <<= 1;
		q->pc_ent = calloc(cap, sizeof(*q->pc_ent));
		q->pc_bkt = calloc(nb, sizeof(*q->pc_bkt));
		if (q->pc_ent == NULL || q->pc_bkt == NULL)
			goto fail;
		rc = pvio_gnt_pcache_init(&q->pc, q->pc_ent, cap, q->pc_bkt,
					  nb);
		if (rc < 0)
			goto fail;
	}
	q->dq = pvio_disk_q_open(v->disk, q->nslots, &rc);
	if (q->dq == NULL)
		goto fail;
	return q;
fail:
	*err = rc;
	bb_queue_destroy(q);
	return NULL;
}

/*
 * Interrupts whatever system call a queue thread is blocked in (a notify
 * write() a frontend made blocking, a read, poll or io_uring_enter), so
 * that bb_queue_destroy() never waits on a frontend.  No SA_RESTART: the
 * call fails with EINTR and the thread looks at 'stop'.
 */
#define BB_WAKE_SIG SIGUSR1

static void wake_handler(int sig)
{
	(void)sig;
}

static void wake_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(BB_WAKE_SIG, &sa, NULL);
}

int bb_queue_start(struct bb_queue *q)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int rc;

	pthread_once(&once, wake_install);
	rc = pthread_create(&q->thr, NULL, qthread, q);

	if (rc != 0)
		return -rc;
	q->started = true;
	return 0;
}

void bb_queue_destroy(struct bb_queue *q)
{
	if (q == NULL)
		return;
	if (q->started) {
		/* seq_cst store; the thread loads 'stop' before each blocking
		 * call.  Not an eventfd write to wake it: that fd is the
		 * frontend's too, which can make the write block.  A signal
		 * sent between the thread's load and its call is lost, hence
		 * one every 10 ms until it is gone. */
		atomic_store(&q->stop, true);
		for (;;) {
			struct timespec t;

			pthread_kill(q->thr, BB_WAKE_SIG);
			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_nsec += 10 * 1000000L;
			if (t.tv_nsec >= 1000000000L) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000L;
			}
			if (pthread_timedjoin_np(q->thr, NULL, &t) == 0)
				break;
		}
	}
	/* Every request has completed: only the cache holds mappings. */
	if (q->persistent && q->pc_ent != NULL) {
		struct pvio_gnt_pcache_victim vic[64];
		int n;

		while ((n = pvio_gnt_pcache_flush(&q->pc, vic, 64)) > 0)
			for (int i = 0; i < n; i++)
				unmapq_add(q, vic[i].handle, vic[i].addr);
	}
	unmapq_flush(q);
	if (q->charged)
		bb_budget_put(q->ctx, q->budget);
	pvio_disk_q_close(q->dq);
	for (unsigned int i = 0; q->slots != NULL && i < q->nslots; i++) {
		free(q->slots[i].maps);
		free(q->slots[i].iov);
	}
	free(q->slots);
	free(q->reqbuf);
	free(q->ops);
	free(q->opidx);
	free(q->isegs);
	free(q->unmapq);
	free(q->pc_ent);
	free(q->pc_bkt);
	close(q->wait_fd);
	close(q->kick_fd);
	free(q);
}

unsigned int bb_queue_budget(const struct bb_queue *q)
{
	return q->budget;
}
