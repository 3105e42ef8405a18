/* SPDX-License-Identifier: MIT */
/*
 * blkfront, Linux-process glue: the xenbus handshake (libxenbus frontend
 * role), rings, event channels, grants, buffers, the service thread that
 * follows the backend, and the public API of pvio/blkfront.h on top of
 * the freestanding core (core.c).
 *
 * Threads.  The service thread owns the xenstore handle and runs every
 * xenbus callback (connect, disconnect, ...).  Queue threads run
 * submit/reap; the I/O path takes no lock and makes no pvio_dom_* call
 * once buffers are granted (persistent grants): a grant is a lookup in a
 * pfn -> gref table, a notify is one write() on the queue's kick eventfd.
 * The service thread stops queue threads before it changes a queue (a
 * reconnect) with the busy/paused pair in struct bf_queue.  Every
 * pvio_dom_* call and every use of the grant table goes under dom_lock
 * (the handle is not thread-safe).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "blkfront_private.h"
#include "pvio/grant.h"
#include "pvio/io/protocols.h"

#define PAGE 4096U
#define GREF_NONE (-1)

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/*
 * One lock for the whole process: a libdomain handle is not thread-safe,
 * and every device of a guest (and the guest's own code, through
 * pvio_blkfront_dom_lock()) shares the domain's one handle.
 */
static pthread_mutex_t g_dom_lock = PTHREAD_MUTEX_INITIALIZER;

void pvio_blkfront_dom_lock(void)
{
	pthread_mutex_lock(&g_dom_lock);
}

void pvio_blkfront_dom_unlock(void)
{
	pthread_mutex_unlock(&g_dom_lock);
}

static void dom_lock(struct pvio_blkfront *f)
{
	(void)f;
	pthread_mutex_lock(&g_dom_lock);
}

static void dom_unlock(struct pvio_blkfront *f)
{
	(void)f;
	pthread_mutex_unlock(&g_dom_lock);
}

/*
 * A grant the backend still maps when we end it (only a misbehaving
 * backend does that: blkback unmaps before it responds).  Kept and
 * retried at every disconnect and at detach, so the ref is not lost for
 * good.  Under the dom lock.
 */
static void defer_end(struct pvio_blkfront *f, uint32_t gref)
{
	if (f->ndeferred == f->cap_deferred) {
		unsigned int cap = f->cap_deferred ? f->cap_deferred * 2 : 64;
		uint32_t *n = realloc(f->deferred, cap * sizeof(*n));

		if (!n)
			return; /* the ref is lost; nothing worse */
		f->deferred = n;
		f->cap_deferred = cap;
	}
	f->deferred[f->ndeferred++] = gref;
}

static void retry_deferred(struct pvio_blkfront *f)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < f->ndeferred; i++)
		if (pvio_dom_grant_end(f->dom, f->deferred[i]) == -EBUSY)
			f->deferred[k++] = f->deferred[i];
	f->ndeferred = k;
}

static void efd_signal(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the reader wakes anyway. */
	}
}

static void efd_drain(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending. */
	}
}

/* ====================================================================== */
/* Grants                                                                 */
/* ====================================================================== */

/* The persistent grant of 'frame', or -1.  Lock-free (queue threads). */
static int gt_lookup(struct pvio_blkfront *f, uint32_t frame)
{
	_Atomic uint32_t *leaf;
	uint32_t v;

	if (frame / BF_GT_LEAF >= BF_GT_TOP)
		return -1;
	/* Pairs with the release store that published the leaf. */
	leaf = atomic_load_explicit(&f->gt[frame / BF_GT_LEAF],
				    memory_order_acquire);
	if (!leaf)
		return -1;
	/* Relaxed: the entry is only read as a number; the grant entry it
	 * names was written by this process before the store (dom_lock). */
	v = atomic_load_explicit(&leaf[frame % BF_GT_LEAF],
				 memory_order_relaxed);
	return v ? (int)(v - 1) : -1;
}

/* Grant under dom_lock; persistent grants are remembered per frame. */
static int grant_locked(struct pvio_blkfront *f, uint32_t frame, bool ro,
			bool remember, uint32_t *gref)
{
	_Atomic uint32_t *leaf = NULL;
	int ref;

	if (remember) {
		if (frame / BF_GT_LEAF >= BF_GT_TOP)
			return -EINVAL;
		ref = gt_lookup(f, frame);
		if (ref >= 0) {
			*gref = (uint32_t)ref;
			return 0;
		}
		leaf = atomic_load_explicit(&f->gt[frame / BF_GT_LEAF],
					    memory_order_relaxed);
		if (!leaf) {
			leaf = calloc(BF_GT_LEAF, sizeof(*leaf));
			if (!leaf)
				return -ENOMEM;
			/* Pairs with gt_lookup()'s acquire load. */
			atomic_store_explicit(&f->gt[frame / BF_GT_LEAF], leaf,
					      memory_order_release);
		}
	}
	ref = pvio_gnt_share_grant_access(f->gnt, f->backend, frame, ro);
	if (ref < 0)
		return ref;
	atomic_fetch_add_explicit(&f->st_grants, 1, memory_order_relaxed);
	if (remember)
		atomic_store_explicit(&leaf[frame % BF_GT_LEAF],
				      (uint32_t)ref + 1, memory_order_relaxed);
	*gref = (uint32_t)ref;
	return 0;
}

/* End every persistent grant (the backend is gone or going). */
static void gt_end_all(struct pvio_blkfront *f)
{
	dom_lock(f);
	for (unsigned int i = 0; i < BF_GT_TOP; i++) {
		_Atomic uint32_t *leaf =
			atomic_load_explicit(&f->gt[i], memory_order_relaxed);

		if (!leaf)
			continue;
		for (unsigned int j = 0; j < BF_GT_LEAF; j++) {
			uint32_t v = atomic_load_explicit(&leaf[j],
							  memory_order_relaxed);
			if (!v)
				continue;
			/* -EBUSY: a backend that is closing still maps it;
			 * retried later, the frame is granted afresh. */
			if (pvio_dom_grant_end(f->dom, v - 1) == -EBUSY)
				defer_end(f, v - 1);
			atomic_store_explicit(&leaf[j], 0,
					      memory_order_relaxed);
		}
	}
	retry_deferred(f);
	dom_unlock(f);
}

static int op_grant(void *ctx, uint32_t frame, bool ro, uint32_t *gref)
{
	struct bf_queue *q = ctx;
	struct pvio_blkfront *f = q->f;
	int rc;

	if (f->persistent) {
		rc = gt_lookup(f, frame);
		if (rc >= 0) {
			*gref = (uint32_t)rc;
			return 0;
		}
	}
	/* First use of a frame (persistent) or every use (not). */
	dom_lock(f);
	rc = grant_locked(f, frame, f->persistent ? false : ro, f->persistent,
			  gref);
	dom_unlock(f);
	return rc;
}

static void op_release(void *ctx, uint32_t gref)
{
	struct bf_queue *q = ctx;
	struct pvio_blkfront *f = q->f;

	if (f->persistent)
		return; /* stays granted while connected */
	dom_lock(f);
	if (pvio_dom_grant_end(f->dom, gref) == -EBUSY)
		defer_end(f, gref);
	dom_unlock(f);
}

static void op_notify(void *ctx)
{
	struct bf_queue *q = ctx;

	efd_signal(q->kick_fd);
}

static const struct pvio_bfc_ops core_ops = {
	.grant = op_grant,
	.release = op_release,
	.notify = op_notify,
};

/* ====================================================================== */
/* Zero-copy memory                                                       */
/* ====================================================================== */

/* The frame of 'addr' if it lies in a buffer from buf_alloc().  Lock-free. */
static bool region_pfn(struct pvio_blkfront *f, const void *addr, size_t len,
		       uint32_t *pfn)
{
	/* Pairs with the release store in buf_alloc(). */
	unsigned int n =
		atomic_load_explicit(&f->nregions, memory_order_acquire);
	const unsigned char *a = addr;

	for (unsigned int i = 0; i < n; i++) {
		const struct bf_region *r = &f->regions[i];
		size_t size = (size_t)r->npages * PAGE;

		if (a >= r->va && a < r->va + size &&
		    len <= size - (size_t)(a - r->va)) {
			*pfn = r->pfn + (uint32_t)((size_t)(a - r->va) / PAGE);
			return true;
		}
	}
	return false;
}

void *pvio_blkfront_buf_alloc(struct pvio_blkfront *f, size_t bytes, int *err)
{
	unsigned int npages, n;
	struct bf_region *r;
	void *va;
	uint32_t pfn;
	int e = 0;

	if (!f || bytes == 0 || bytes > 1024U * PAGE) {
		if (err)
			*err = -EINVAL;
		return NULL;
	}
	npages = (unsigned int)((bytes + PAGE - 1) / PAGE);
	dom_lock(f);
	n = atomic_load_explicit(&f->nregions, memory_order_relaxed);
	/* A freed buffer of the same size: its grants may still be live. */
	for (unsigned int i = 0; i < n; i++) {
		r = &f->regions[i];
		if (!atomic_load_explicit(&r->live, memory_order_relaxed) &&
		    r->npages == npages) {
			atomic_store_explicit(&r->live, true,
					      memory_order_relaxed);
			dom_unlock(f);
			memset(r->va, 0, (size_t)npages * PAGE);
			return r->va;
		}
	}
	if (n >= BF_MAX_REGIONS) {
		dom_unlock(f);
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	va = pvio_dom_mem_alloc(f->dom, npages, &pfn, &e);
	if (!va) {
		dom_unlock(f);
		if (err)
			*err = e ? e : -ENOMEM;
		return NULL;
	}
	r = &f->regions[n];
	r->va = va;
	r->pfn = pfn;
	r->npages = npages;
	atomic_store_explicit(&r->live, true, memory_order_relaxed);
	/* Publishes the entry; pairs with region_pfn()'s acquire load. */
	atomic_store_explicit(&f->nregions, n + 1, memory_order_release);
	dom_unlock(f);
	return va;
}

void pvio_blkfront_buf_free(struct pvio_blkfront *f, void *buf, size_t bytes)
{
	unsigned int n;

	(void)bytes;
	if (!f || !buf)
		return;
	/* Kept (and granted) for reuse: a persistent grant can only end
	 * once the backend lets go, i.e. at disconnect or detach. */
	n = atomic_load_explicit(&f->nregions, memory_order_acquire);
	for (unsigned int i = 0; i < n; i++)
		if (f->regions[i].va == buf)
			atomic_store_explicit(&f->regions[i].live, false,
					      memory_order_relaxed);
}

/* ====================================================================== */
/* Queues                                                                 */
/* ====================================================================== */

/* Queue thread: may the queue be used now?  Pairs with pause_queue(). */
static bool q_enter(struct bf_queue *q)
{
	atomic_store_explicit(&q->busy, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&q->paused, memory_order_seq_cst)) {
		atomic_store_explicit(&q->busy, 0, memory_order_release);
		return false;
	}
	return true;
}

static void q_leave(struct bf_queue *q)
{
	/* Release: the queue's changes happen before the service thread,
	 * which acquires busy == 0, touches the queue. */
	atomic_store_explicit(&q->busy, 0, memory_order_release);
}

static void pause_queue(struct bf_queue *q)
{
	atomic_store_explicit(&q->paused, 1, memory_order_seq_cst);
	while (atomic_load_explicit(&q->busy, memory_order_acquire))
		sched_yield();
}

static void unpause_queue(struct bf_queue *q)
{
	atomic_store_explicit(&q->paused, 0, memory_order_seq_cst);
	efd_signal(q->wake_efd);
}

static void pool_put(struct bf_queue *q, struct bf_ctx *c)
{
	for (unsigned int i = 0; i < c->nbounce; i++)
		q->pool_free[q->pool_nfree++] = c->bounce[i];
	c->nbounce = 0;
}

/* Finish one request: copy bounced reads back, free its context. */
static struct pvio_blkfront_req *finish(struct bf_queue *q, void *cookie,
					int status)
{
	struct bf_ctx *c = cookie;
	struct pvio_blkfront_req *r = c->req;

	if (c->nbounce && status == 0 && r->op == PVIO_BLKFRONT_READ) {
		unsigned int pg = 0;
		size_t off = 0;

		for (unsigned int i = 0; i < r->iovcnt; i++) {
			unsigned char *dst = r->iov[i].iov_base;
			size_t left = r->iov[i].iov_len;

			while (left) {
				size_t n = PAGE - off;

				if (n > left)
					n = left;
				memcpy(dst,
				       q->pool_va +
					       (size_t)c->bounce[pg] * PAGE +
					       off,
				       n);
				dst += n;
				left -= n;
				off += n;
				if (off == PAGE) {
					off = 0;
					pg++;
				}
			}
		}
	}
	pool_put(q, c);
	r->status = status;
	c->req = NULL;
	q->ctx_free[q->nctx_free++] = (uint32_t)(c - q->ctx);
	return r;
}

/* Allocate the bounce pool (first need; queue thread). */
static int pool_alloc(struct bf_queue *q)
{
	struct pvio_blkfront *f = q->f;
	unsigned int n = f->max_segs > BF_POOL_MIN ? f->max_segs : BF_POOL_MIN;
	int err = 0;

	if (q->pool_va)
		return 0;
	if (q->pool_failed)
		return -ENOMEM;
	q->pool_free = calloc(n, sizeof(*q->pool_free));
	if (!q->pool_free)
		return -ENOMEM;
	dom_lock(f);
	q->pool_va = pvio_dom_mem_alloc(f->dom, n, &q->pool_pfn, &err);
	dom_unlock(f);
	if (!q->pool_va) {
		free(q->pool_free);
		q->pool_free = NULL;
		q->pool_failed = true;
		return err ? err : -ENOMEM;
	}
	q->pool_n = n;
	for (unsigned int i = n; i > 0; i--)
		q->pool_free[q->pool_nfree++] = (uint16_t)(i - 1);
	return 0;
}

/* Append a segment, merging with the previous one when adjacent. */
static int seg_add(struct bf_queue *q, uint32_t *n, uint32_t limit,
		   uint32_t frame, uint32_t off, uint32_t len)
{
	struct pvio_bfc_seg s;

	if (pvio_bfc_seg_make(frame, off, len, &s))
		return -EINVAL;
	if (*n && q->segs[*n - 1].frame == frame &&
	    q->segs[*n - 1].last_sect + 1 == s.first_sect) {
		q->segs[*n - 1].last_sect = s.last_sect;
		return 0;
	}
	if (*n >= limit)
		return -EINVAL;
	q->segs[(*n)++] = s;
	return 0;
}

/*
 * Turn a user request into a core request (segments in q->segs).  0,
 * -EINVAL (malformed), -EAGAIN (bounce pool exhausted: retry after
 * reaping), -ENOMEM.
 */
static int build(struct bf_queue *q, struct pvio_blkfront_req *r,
		 struct bf_ctx *c, struct pvio_bfc_req *out)
{
	struct pvio_blkfront *f = q->f;
	const struct pvio_blkfront_info *in = &f->info;
	uint32_t limit = f->max_indirect && r->op != PVIO_BLKFRONT_WRITE_BARRIER
				 ? f->max_indirect
				 : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	uint32_t n = 0;
	uint64_t bytes = 0;
	bool zc = true;

	memset(out, 0, sizeof(*out));
	out->op = r->op;
	out->sector = r->sector;
	out->cookie = c;
	c->nbounce = 0;
	switch (r->op) {
	case PVIO_BLKFRONT_READ:
		break;
	case PVIO_BLKFRONT_WRITE:
	case PVIO_BLKFRONT_WRITE_BARRIER:
		if (in->readonly)
			return -EINVAL;
		break;
	case PVIO_BLKFRONT_FLUSH:
		return 0;
	case PVIO_BLKFRONT_DISCARD:
		if (!in->discard || in->readonly || r->nr_sectors == 0 ||
		    r->sector > in->sectors ||
		    r->nr_sectors > in->sectors - r->sector)
			return -EINVAL;
		out->nr_sectors = r->nr_sectors;
		out->flag = r->secure ? BLKIF_DISCARD_SECURE : 0;
		return 0;
	default:
		return -EINVAL;
	}
	if (!r->iov || r->iovcnt == 0)
		return -EINVAL;
	for (unsigned int i = 0; i < r->iovcnt; i++) {
		uint32_t pfn;
		size_t len = r->iov[i].iov_len;

		if (len == 0 || len % PVIO_BLKIF_SECTOR_SIZE)
			return -EINVAL;
		bytes += len;
		if (zc && (((uintptr_t)r->iov[i].iov_base &
			    (PVIO_BLKIF_SECTOR_SIZE - 1)) ||
			   !region_pfn(f, r->iov[i].iov_base, len, &pfn)))
			zc = false;
	}
	if (bytes > in->max_sectors * PVIO_BLKIF_SECTOR_SIZE ||
	    r->sector > in->sectors ||
	    bytes / PVIO_BLKIF_SECTOR_SIZE > in->sectors - r->sector)
		return -EINVAL;
	if (zc) {
		for (unsigned int i = 0; i < r->iovcnt; i++) {
			uintptr_t a = (uintptr_t)r->iov[i].iov_base;
			size_t left = r->iov[i].iov_len;
			uint32_t pfn;

			region_pfn(f, r->iov[i].iov_base, left, &pfn);
			while (left) {
				uint32_t off = (uint32_t)(a & (PAGE - 1));
				uint32_t len = PAGE - off;

				if (len > left)
					len = (uint32_t)left;
				if (seg_add(q, &n, limit, pfn, off, len))
					goto bounce; /* too fragmented */
				a += len;
				left -= len;
				pfn++;
			}
		}
		out->segs = q->segs;
		out->nsegs = n;
		return 0;
	}
bounce:
	/* Copy the whole request through pool pages, packed. */
	{
		uint32_t pages = (uint32_t)((bytes + PAGE - 1) / PAGE);
		int rc;

		if (pages > limit)
			return -EINVAL;
		rc = pool_alloc(q);
		if (rc)
			return rc;
		if (pages > q->pool_n)
			return -EINVAL;
		if (pages > q->pool_nfree)
			return -EAGAIN;
		for (uint32_t p = 0; p < pages; p++)
			c->bounce[c->nbounce++] = q->pool_free[--q->pool_nfree];
		n = 0;
		for (uint32_t p = 0; p < pages; p++) {
			uint64_t len = bytes - (uint64_t)p * PAGE;

			if (len > PAGE)
				len = PAGE;
			q->segs[n].frame = q->pool_pfn + c->bounce[p];
			q->segs[n].gref = 0;
			q->segs[n].first_sect = 0;
			q->segs[n].last_sect =
				(uint8_t)(len / PVIO_BLKIF_SECTOR_SIZE - 1);
			q->segs[n]._pad = 0;
			n++;
		}
		if (r->op != PVIO_BLKFRONT_READ) {
			unsigned int pg = 0;
			size_t off = 0;

			for (unsigned int i = 0; i < r->iovcnt; i++) {
				const unsigned char *src = r->iov[i].iov_base;
				size_t left = r->iov[i].iov_len;

				while (left) {
					size_t k = PAGE - off;

					if (k > left)
						k = left;
					memcpy(q->pool_va +
						       (size_t)c->bounce[pg] *
							       PAGE +
						       off,
					       src, k);
					src += k;
					left -= k;
					off += k;
					if (off == PAGE) {
						off = 0;
						pg++;
					}
				}
			}
		}
		q->bounced += bytes;
		out->segs = q->segs;
		out->nsegs = n;
		return 0;
	}
}

/* Hand core completions to the caller (done may be NULL: detach). */
static int deliver(struct bf_queue *q, int n, struct pvio_blkfront_req **done,
		   unsigned int *got)
{
	for (int i = 0; i < n; i++) {
		struct pvio_blkfront_req *r =
			finish(q, q->done[i].cookie, q->done[i].status);

		if (done)
			done[(*got)++] = r;
	}
	return n;
}

static void set_error(struct pvio_blkfront *f, int err)
{
	int zero = 0;

	atomic_compare_exchange_strong(&f->error, &zero, err);
}

/* One non-blocking round of reaping into done[got..max).  Queue entered. */
static int reap_round(struct bf_queue *q, struct pvio_blkfront_req **done,
		      unsigned int *got, unsigned int max)
{
	unsigned int want = max - *got;
	int n, err = atomic_load_explicit(&q->f->error, memory_order_relaxed);

	if (want > q->done_max)
		want = q->done_max;
	if (want == 0)
		return 0;
	if (err) {
		/* Stopped: hand every request back with the error. */
		n = pvio_bfc_fail_all(&q->core, err, q->done, want);
		deliver(q, n, done, got);
		return n ? n : err;
	}
	n = pvio_bfc_reap(&q->core, q->done, want);
	if (n < 0 || q->core.error) {
		set_error(q->f, q->core.error ? q->core.error : n);
		if (n < 0)
			return 0;
	}
	deliver(q, n, done, got);
	return n;
}

int pvio_blkfront_submit(struct pvio_blkfront *f, unsigned int queue,
			 struct pvio_blkfront_req **reqs, unsigned int n)
{
	struct bf_queue *q;
	unsigned int done = 0;
	int rc = 0, err;

	if (!f || queue >= f->nq || (n && !reqs))
		return -EINVAL;
	err = atomic_load_explicit(&f->error, memory_order_relaxed);
	if (err)
		return err;
	q = &f->q[queue];
	if (!q_enter(q))
		return 0; /* reconnecting: requests wait (reap, then retry) */
	for (; done < n; done++) {
		struct pvio_blkfront_req *r = reqs[done];
		struct pvio_bfc_req cr;
		struct bf_ctx *c;

		if (!r) {
			rc = -EINVAL;
			break;
		}
		if (q->nctx_free == 0) {
			rc = -EAGAIN;
			break;
		}
		c = &q->ctx[q->ctx_free[q->nctx_free - 1]];
		c->req = r;
		rc = build(q, r, c, &cr);
		if (rc) {
			pool_put(q, c);
			c->req = NULL;
			break;
		}
		rc = pvio_bfc_submit(&q->core, &cr);
		if (rc) {
			pool_put(q, c);
			c->req = NULL;
			break;
		}
		q->nctx_free--;
		r->status = -EINPROGRESS;
	}
	if (done)
		pvio_bfc_push(&q->core);
	q_leave(q);
	if (done || rc == -EAGAIN)
		return (int)done;
	if (rc == -ENOTCONN)
		return 0; /* between backends: wait */
	return rc;
}

int pvio_blkfront_reap(struct pvio_blkfront *f, unsigned int queue,
		       struct pvio_blkfront_req **done, unsigned int max,
		       unsigned int min, int timeout_ms)
{
	struct bf_queue *q;
	unsigned int got = 0;
	uint64_t deadline = 0;

	if (!f || queue >= f->nq || (max && !done))
		return -EINVAL;
	if (min > max)
		min = max;
	q = &f->q[queue];
	if (timeout_ms > 0)
		deadline = now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	for (;;) {
		int wait_ms;

		if (q_enter(q)) {
			int rc = reap_round(q, done, &got, max);

			if (rc < 0 && got == 0) {
				q_leave(q);
				return rc;
			}
			if (got >= min || got == max) {
				q_leave(q);
				return (int)got;
			}
			/* Spin: a cross-CPU wake-up costs more than a fast
			 * disk's I/O.  Memory loads only. */
			if (f->spin_ns > 0 && pvio_bfc_inflight(&q->core)) {
				uint64_t end = now_ns() + (uint64_t)f->spin_ns;

				do {
					reap_round(q, done, &got, max);
					if (got >= min)
						break;
				} while (now_ns() < end);
				if (got >= min) {
					q_leave(q);
					return (int)got;
				}
			}
			rc = pvio_bfc_final_check(&q->core);
			q_leave(q);
			if (rc > 0)
				continue;
		}
		if (timeout_ms == 0)
			return (int)got;
		if (timeout_ms < 0) {
			wait_ms = -1;
		} else {
			uint64_t t = now_ns();

			if (t >= deadline)
				return (int)got;
			wait_ms = (int)((deadline - t + 999999) / 1000000);
		}
		struct epoll_event ev[2];
		int ne = epoll_wait(q->epfd, ev, 2, wait_ms);

		for (int i = 0; i < ne; i++)
			efd_drain(ev[i].data.fd);
	}
}

unsigned int pvio_blkfront_inflight(const struct pvio_blkfront *f,
				    unsigned int queue)
{
	if (!f || queue >= f->nq)
		return 0;
	return pvio_bfc_inflight(&f->q[queue].core);
}

/* ====================================================================== */
/* The handshake (service thread)                                         */
/* ====================================================================== */

static int read_opt(struct pvio_blkfront *f, const char *dir, const char *key,
		    uint64_t max, uint64_t dflt, uint64_t *out)
{
	int rc = pvio_xenbus_read_uint(f->xs, PVIO_XS_TX_NONE, dir, key, max,
				       out);

	if (rc == -ENOENT) {
		*out = dflt;
		return 0;
	}
	if (rc == -ERANGE) {
		*out = max;
		return 0;
	}
	return rc;
}

static void queue_free_conn(struct pvio_blkfront *f, struct bf_queue *q)
{
	if (q->wait_fd >= 0) {
		epoll_ctl(q->epfd, EPOLL_CTL_DEL, q->wait_fd, NULL);
		close(q->wait_fd);
		q->wait_fd = -1;
	}
	if (q->kick_fd >= 0) {
		close(q->kick_fd);
		q->kick_fd = -1;
	}
	dom_lock(f);
	if (q->port_open)
		pvio_dom_evtchn_close(f->dom, q->port);
	q->port_open = false;
	for (unsigned int i = 0; i < (1U << BF_MAX_RING_ORDER); i++) {
		if (q->ring_gref[i] != GREF_NONE)
			pvio_dom_grant_end(f->dom,
					   (pvio_grant_ref_t)q->ring_gref[i]);
		q->ring_gref[i] = GREF_NONE;
	}
	for (unsigned int i = 0; i < q->ind_npages; i++) {
		if (q->ind_gref[i] != GREF_NONE)
			pvio_dom_grant_end(f->dom,
					   (pvio_grant_ref_t)q->ind_gref[i]);
		q->ind_gref[i] = GREF_NONE;
	}
	dom_unlock(f);
}

/* Sizes fixed for the device's life, from the first backend. */
static int size_device(struct pvio_blkfront *f, uint64_t b_queues,
		       uint64_t b_order, uint64_t b_indirect)
{
	unsigned int want_q = f->opts.max_queues ? f->opts.max_queues : 1;
	unsigned int order;
	uint32_t segs;

	(void)b_order;
	if (want_q > BF_MAX_QUEUES)
		want_q = BF_MAX_QUEUES;
	f->nq = want_q < b_queues ? want_q : (unsigned int)b_queues;
	if (f->nq == 0)
		f->nq = 1;
	order = f->opts.ring_order ? f->opts.ring_order : BF_MAX_RING_ORDER;
	if (order > BF_MAX_RING_ORDER)
		order = BF_MAX_RING_ORDER;
	f->ring_order = order;
	f->nslots = (uint32_t)pvio_ring_entries(
		(size_t)PAGE << order, sizeof(union pvio_blkif_sring_entry));
	segs = BLKIF_MAX_SEGMENTS_PER_REQUEST;
	if (!f->opts.no_indirect) {
		uint32_t want = f->opts.max_indirect ? f->opts.max_indirect
						     : BF_MAX_INDIRECT;
		if (want > PVIO_BLKIF_MAX_INDIRECT_SEGMENTS)
			want = PVIO_BLKIF_MAX_INDIRECT_SEGMENTS;
		if (b_indirect < want)
			want = (uint32_t)b_indirect;
		if (want > segs)
			segs = want;
	}
	f->max_segs = segs;
	f->q = aligned_alloc(64, sizeof(*f->q) * f->nq);
	if (!f->q)
		return -ENOMEM;
	memset(f->q, 0, sizeof(*f->q) * f->nq);
	for (unsigned int i = 0; i < f->nq; i++) {
		struct bf_queue *q = &f->q[i];
		size_t msz = pvio_bfc_mem_size(f->nslots, segs, BF_MAX_GROUPS);
		struct epoll_event ev = {.events = EPOLLIN};
		uint32_t ppg = (segs + PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE - 1) /
			       PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE;

		q->f = f;
		q->idx = i;
		q->wait_fd = q->kick_fd = q->epfd = q->wake_efd = -1;
		atomic_init(&q->paused, 1);
		atomic_init(&q->busy, 0);
		for (unsigned int k = 0; k < (1U << BF_MAX_RING_ORDER); k++)
			q->ring_gref[k] = GREF_NONE;
		q->core_mem = aligned_alloc(64, (msz + 63) & ~(size_t)63);
		q->ctx = calloc(f->nslots, sizeof(*q->ctx));
		q->ctx_free = calloc(f->nslots, sizeof(*q->ctx_free));
		q->bounce_mem =
			calloc((size_t)f->nslots * segs, sizeof(uint16_t));
		q->segs = calloc(segs, sizeof(*q->segs));
		q->done_max = 64;
		q->done = calloc(q->done_max, sizeof(*q->done));
		q->ind_npages = segs > BLKIF_MAX_SEGMENTS_PER_REQUEST
					? BF_MAX_GROUPS * ppg
					: 0;
		q->ipage_arr = calloc(q->ind_npages + 1, sizeof(*q->ipage_arr));
		q->ind_gref = calloc(q->ind_npages + 1, sizeof(int));
		if (!q->core_mem || !q->ctx || !q->ctx_free || !q->bounce_mem ||
		    !q->segs || !q->done || !q->ipage_arr || !q->ind_gref)
			return -ENOMEM;
		for (unsigned int k = 0; k < q->ind_npages; k++)
			q->ind_gref[k] = GREF_NONE;
		if (pvio_bfc_init(&q->core, q->core_mem, msz, f->nslots, segs,
				  BF_MAX_GROUPS, &core_ops, q))
			return -EINVAL;
		for (uint32_t k = f->nslots; k > 0; k--) {
			q->ctx[k - 1].bounce =
				q->bounce_mem + (size_t)(k - 1) * segs;
			q->ctx_free[q->nctx_free++] = k - 1;
		}
		q->epfd = epoll_create1(EPOLL_CLOEXEC);
		q->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->epfd < 0 || q->wake_efd < 0)
			return -errno;
		ev.data.fd = q->wake_efd;
		if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->wake_efd, &ev))
			return -errno;
	}
	f->sized = true;
	return 0;
}

static int f_connect(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx)
{
	struct pvio_blkfront *f = ctx;
	const char *bdir = pvio_xenbus_other_path(dev);
	uint64_t b_queues, b_order, b_indirect, b_persistent;
	unsigned int order;
	int rc;

	(void)tx;
	if (!bdir)
		return -EAGAIN;
	f->backend = (pvio_domid_t)pvio_xenbus_other_id(dev);
	rc = read_opt(f, bdir, "multi-queue-max-queues", BF_MAX_QUEUES, 1,
		      &b_queues);
	if (!rc)
		rc = read_opt(f, bdir, "max-ring-page-order", 16, 0, &b_order);
	if (!rc)
		rc = read_opt(f, bdir, "feature-max-indirect-segments",
			      PVIO_BLKIF_MAX_INDIRECT_SEGMENTS, 0, &b_indirect);
	if (!rc)
		rc = read_opt(f, bdir, "feature-persistent", 1, 0,
			      &b_persistent);
	if (rc)
		return rc == -EINVAL ? -EPROTO : rc;
	if (!f->sized) {
		rc = size_device(f, b_queues, b_order, b_indirect);
		if (rc)
			return rc;
	}
	if (b_queues < f->nq) {
		/* Requests cannot move between queues: this device is over.
		 * Let queue threads see the error (the cores are
		 * disconnected, fail_all is safe). */
		set_error(f, -ENOTCONN);
		for (unsigned int i = 0; i < f->nq; i++)
			unpause_queue(&f->q[i]);
		return -EOPNOTSUPP;
	}
	order = f->ring_order < b_order ? f->ring_order : (unsigned int)b_order;
	f->persistent = !f->opts.no_persistent && b_persistent;
	f->max_indirect = 0;
	if (!f->opts.no_indirect && b_indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		f->max_indirect = b_indirect < f->max_segs
					  ? (uint32_t)b_indirect
					  : f->max_segs;
	for (unsigned int i = 0; i < f->nq; i++) {
		struct bf_queue *q = &f->q[i];
		unsigned int npages = 1U << order;
		uint32_t ppg = (f->max_indirect +
				PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE - 1) /
			       PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE;
		uint32_t ngroups = f->max_indirect ? BF_MAX_GROUPS : 0;
		struct pvio_bfc_conf conf = {.handle = (uint16_t)f->devid,
					     .max_indirect = f->max_indirect,
					     .ipages = q->ipage_arr,
					     .ngroups = ngroups};
		int err = 0;

		dom_lock(f);
		if (!q->ring_va) {
			q->ring_va =
				pvio_dom_mem_alloc(f->dom, 1U << f->ring_order,
						   &q->ring_pfn, &err);
			if (q->ring_va)
				q->ring_npages = 1U << f->ring_order;
		}
		if (q->ring_va && q->ind_npages && !q->ind_va) {
			q->ind_va = pvio_dom_mem_alloc(f->dom, q->ind_npages,
						       &q->ind_pfn, &err);
		}
		if (!q->ring_va || (q->ind_npages && !q->ind_va)) {
			dom_unlock(f);
			rc = err ? err : -ENOMEM;
			goto fail;
		}
		for (unsigned int k = 0; k < npages; k++) {
			int ref = pvio_gnt_share_grant_access(
				f->gnt, f->backend, q->ring_pfn + k, false);

			if (ref < 0) {
				dom_unlock(f);
				rc = ref;
				goto fail;
			}
			q->ring_gref[k] = ref;
		}
		for (unsigned int k = 0; k < ngroups * ppg; k++) {
			int ref = pvio_gnt_share_grant_access(
				f->gnt, f->backend, q->ind_pfn + k, false);

			if (ref < 0) {
				dom_unlock(f);
				rc = ref;
				goto fail;
			}
			q->ind_gref[k] = ref;
			q->ipage_arr[k].va =
				(unsigned char *)q->ind_va + (size_t)k * PAGE;
			q->ipage_arr[k].gref = (uint32_t)ref;
		}
		rc = pvio_dom_evtchn_alloc_unbound(f->dom, f->backend,
						   &q->port);
		if (!rc)
			q->port_open = true;
		dom_unlock(f);
		if (rc)
			goto fail;
		q->ring_order = order;
		rc = pvio_bfc_connect(&q->core, q->ring_va,
				      (size_t)npages * PAGE, &conf);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	for (unsigned int i = 0; i < f->nq; i++) {
		pvio_bfc_disconnect(&f->q[i].core);
		queue_free_conn(f, &f->q[i]);
	}
	return rc;
}

static int write_ring_keys(struct pvio_blkfront *f, pvio_xs_tx_t tx,
			   const char *dir, struct bf_queue *q)
{
	char key[32];
	int rc = 0;

	if (q->ring_order == 0) {
		rc = pvio_xs_key_printf(f->xs, tx, dir, "ring-ref", "%u",
					(unsigned int)q->ring_gref[0]);
	} else {
		for (unsigned int k = 0; !rc && k < (1U << q->ring_order);
		     k++) {
			snprintf(key, sizeof(key), "ring-ref%u", k);
			rc = pvio_xs_key_printf(f->xs, tx, dir, key, "%u",
						(unsigned int)q->ring_gref[k]);
		}
	}
	if (!rc)
		rc = pvio_xs_key_printf(f->xs, tx, dir, "event-channel", "%u",
					(unsigned int)q->port);
	return rc;
}

static int f_write_keys(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *ctx)
{
	struct pvio_blkfront *f = ctx;
	const char *dir = pvio_xenbus_path(dev);
	int rc;

	rc = pvio_xs_key_printf(f->xs, tx, dir, "protocol", "%s",
				XEN_IO_PROTO_ABI_NATIVE);
	if (!rc)
		rc = pvio_xs_key_printf(f->xs, tx, dir, "feature-persistent",
					"%d", f->opts.no_persistent ? 0 : 1);
	if (!rc && f->q[0].ring_order)
		rc = pvio_xs_key_printf(f->xs, tx, dir, "ring-page-order", "%u",
					(unsigned int)f->q[0].ring_order);
	if (rc)
		return rc;
	if (f->nq == 1)
		return write_ring_keys(f, tx, dir, &f->q[0]);
	rc = pvio_xs_key_printf(f->xs, tx, dir, "multi-queue-num-queues", "%u",
				(unsigned int)f->nq);
	for (unsigned int i = 0; !rc && i < f->nq; i++) {
		char qdir[200];

		snprintf(qdir, sizeof(qdir), "%s/queue-%u", dir, i);
		rc = write_ring_keys(f, tx, qdir, &f->q[i]);
	}
	return rc;
}

static int f_connected(struct pvio_xenbus_dev *dev, void *ctx)
{
	struct pvio_blkfront *f = ctx;
	const char *bdir = pvio_xenbus_other_path(dev);
	struct pvio_blkfront_info in = f->info;
	uint64_t v;
	int rc;

	if (!bdir)
		return -EAGAIN;
	rc = pvio_xenbus_read_uint(f->xs, PVIO_XS_TX_NONE, bdir, "sectors",
				   UINT64_MAX, &in.sectors);
	if (rc)
		return rc;
	read_opt(f, bdir, "sector-size", 1U << 20, 512, &v);
	in.sector_size = (uint32_t)v;
	read_opt(f, bdir, "physical-sector-size", 1U << 20, in.sector_size, &v);
	in.physical_sector_size = (uint32_t)v;
	read_opt(f, bdir, "info", UINT32_MAX, 0, &v);
	in.vdisk_info = (uint32_t)v;
	in.readonly = (in.vdisk_info & VDISK_READONLY) != 0;
	read_opt(f, bdir, "feature-flush-cache", 1, 0, &v);
	in.flush = v;
	read_opt(f, bdir, "feature-barrier", 1, 0, &v);
	in.barrier = v;
	read_opt(f, bdir, "feature-discard", 1, 0, &v);
	in.discard = v;
	read_opt(f, bdir, "discard-granularity", UINT32_MAX, 0, &v);
	in.discard_granularity = (uint32_t)v;
	read_opt(f, bdir, "discard-alignment", UINT32_MAX, 0, &v);
	in.discard_alignment = (uint32_t)v;
	in.persistent = f->persistent;
	in.nr_queues = f->nq;
	in.ring_pages = 1U << f->q[0].ring_order;
	in.queue_depth = pvio_ring_size(&f->q[0].core.ring);
	if (in.queue_depth > f->nslots)
		in.queue_depth = f->nslots;
	in.max_segments = f->max_indirect ? f->max_indirect
					  : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	in.max_sectors =
		(uint64_t)in.max_segments * PVIO_BLKIF_SECTORS_PER_PAGE;
	in.backend_id = f->backend;
	in.devid = f->devid;
	for (unsigned int i = 0; i < f->nq; i++) {
		struct bf_queue *q = &f->q[i];
		struct epoll_event ev = {.events = EPOLLIN};

		if (q->wait_fd >= 0)
			continue;
		dom_lock(f);
		rc = pvio_dom_evtchn_take_fds(f->dom, q->port, &q->wait_fd,
					      &q->kick_fd);
		dom_unlock(f);
		if (rc)
			return rc;
		ev.data.fd = q->wait_fd;
		if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->wait_fd, &ev))
			return -errno;
	}
	/* Queues are paused: nobody reads info or the cores now. */
	f->info = in;
	for (unsigned int i = 0; i < f->nq; i++)
		pvio_bfc_replay(&f->q[i].core);
	atomic_store(&f->connected, true);
	for (unsigned int i = 0; i < f->nq; i++)
		unpause_queue(&f->q[i]);
	pthread_mutex_lock(&f->state_lock);
	pthread_cond_broadcast(&f->state_cond);
	pthread_mutex_unlock(&f->state_lock);
	return 0;
}

static void f_disconnect(struct pvio_xenbus_dev *dev, void *ctx)
{
	struct pvio_blkfront *f = ctx;
	bool was = atomic_exchange(&f->connected, false);

	(void)dev;
	for (unsigned int i = 0; i < f->nq; i++)
		pause_queue(&f->q[i]);
	for (unsigned int i = 0; i < f->nq; i++) {
		pvio_bfc_disconnect(&f->q[i].core);
		queue_free_conn(f, &f->q[i]);
	}
	gt_end_all(f);
	if (was)
		atomic_fetch_add(&f->st_reconnects, 1);
}

static void f_report(struct pvio_xenbus_dev *dev, void *ctx, int err,
		     const char *what)
{
	struct pvio_blkfront *f = ctx;

	(void)dev;
	if (getenv("PVIO_BLKFRONT_DEBUG"))
		fprintf(stderr, "blkfront %s: %s (%d)\n", f->path, what, err);
	if (err && !atomic_load(&f->connected)) {
		pthread_mutex_lock(&f->state_lock);
		f->connect_err = err;
		pthread_cond_broadcast(&f->state_cond);
		pthread_mutex_unlock(&f->state_lock);
	}
}

static const struct pvio_xenbus_ops front_ops = {
	.connect = f_connect,
	.write_keys = f_write_keys,
	.connected = f_connected,
	.disconnect = f_disconnect,
	.report = f_report,
};

static void *svc_main(void *arg)
{
	struct pvio_blkfront *f = arg;

	for (;;) {
		struct pollfd p[2] = {
			{.fd = pvio_xs_fd(f->xs), .events = POLLIN},
			{.fd = f->stop_efd, .events = POLLIN},
		};
		char *path, *tok;

		if (poll(p, 2, 20) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		while (pvio_xs_read_watch(f->xs, &path, &tok, 0) == 0) {
			pvio_xenbus_handle(f->dev, path, tok);
			free(path);
			free(tok);
		}
		/* Retries a connect that said -EAGAIN. */
		pvio_xenbus_handle(f->dev, NULL, NULL);
		if (pvio_xenbus_removed(f->dev) &&
		    !atomic_load(&f->connected) &&
		    atomic_load(&f->error) == 0) {
			/*
			 * The toolstack removed this vbd (block-detach): no
			 * backend will ever come back for it, so requests
			 * waiting for one would wait forever.  Hand them
			 * back with -ENOTCONN, as for a backend with too few
			 * queues (the cores are disconnected).
			 */
			set_error(f, -ENOTCONN);
			for (unsigned int i = 0; i < f->nq; i++)
				unpause_queue(&f->q[i]);
			pthread_mutex_lock(&f->state_lock);
			pthread_cond_broadcast(&f->state_cond);
			pthread_mutex_unlock(&f->state_lock);
		}
	}
	return NULL;
}

/* ====================================================================== */
/* Attach / detach                                                        */
/* ====================================================================== */

static void free_all(struct pvio_blkfront *f)
{
	if (f->dev)
		pvio_xenbus_close(f->dev); /* disconnect runs if live */
	f->dev = NULL;
	if (f->q)
		f_disconnect(NULL, f); /* idempotent; pauses the queues */
	gt_end_all(f);
	dom_lock(f);
	for (unsigned int i = 0; f->q && i < f->nq; i++) {
		struct bf_queue *q = &f->q[i];

		if (q->ring_va)
			pvio_dom_mem_free(f->dom, q->ring_pfn, q->ring_npages);
		if (q->ind_va)
			pvio_dom_mem_free(f->dom, q->ind_pfn, q->ind_npages);
		if (q->pool_va)
			pvio_dom_mem_free(f->dom, q->pool_pfn, q->pool_n);
	}
	for (unsigned int i = 0; i < atomic_load(&f->nregions); i++)
		pvio_dom_mem_free(f->dom, f->regions[i].pfn,
				  f->regions[i].npages);
	dom_unlock(f);
	for (unsigned int i = 0; f->q && i < f->nq; i++) {
		struct bf_queue *q = &f->q[i];

		if (q->epfd >= 0)
			close(q->epfd);
		if (q->wake_efd >= 0)
			close(q->wake_efd);
		free(q->core_mem);
		free(q->ctx);
		free(q->ctx_free);
		free(q->bounce_mem);
		free(q->segs);
		free(q->done);
		free(q->ipage_arr);
		free(q->ind_gref);
		free(q->pool_free);
	}
	free(f->q);
	for (unsigned int i = 0; i < BF_GT_TOP; i++)
		free((void *)atomic_load(&f->gt[i]));
	if (f->xs)
		pvio_xs_close(f->xs);
	if (f->stop_efd >= 0)
		close(f->stop_efd);
	free(f->deferred);
	pthread_mutex_destroy(&f->state_lock);
	pthread_mutex_destroy(&f->sync_lock);
	pthread_cond_destroy(&f->state_cond);
	free(f);
}

static void stop_svc(struct pvio_blkfront *f)
{
	if (!f->svc_running)
		return;
	efd_signal(f->stop_efd);
	pthread_join(f->svc, NULL);
	f->svc_running = false;
}

struct pvio_blkfront *pvio_blkfront_attach(struct pvio_dom *dom,
					   pvio_domid_t backend,
					   const char *vdev,
					   const struct pvio_blkfront_opts *o,
					   int *err)
{
	struct pvio_blkfront *f;
	struct pvio_xenbus_cfg cfg = {0};
	struct timespec dl;
	int rc = 0, timeout;

	if (!dom || !vdev) {
		rc = -EINVAL;
		goto out;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	f->stop_efd = -1;
	pthread_mutex_init(&f->state_lock, NULL);
	pthread_mutex_init(&f->sync_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->state_cond, &ca);
	pthread_condattr_destroy(&ca);
	f->dom = dom;
	f->want_backend = backend;
	if (o)
		f->opts = *o;
	f->spin_ns = f->opts.spin_us < 0   ? 0
		     : f->opts.spin_us > 0 ? f->opts.spin_us * 1000
					   : 50000;
	rc = pvio_blkfront_vdev_parse(vdev, &f->devid);
	if (rc)
		goto fail;
	f->self = pvio_dom_id(dom);
	rc = pvio_xenbus_frontend_path(f->path, sizeof(f->path), f->self, "vbd",
				       f->devid);
	if (rc)
		goto fail;
	f->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->stop_efd < 0) {
		rc = -errno;
		goto fail;
	}
	dom_lock(f);
	f->gnt = pvio_dom_gnttab(dom);
	f->xs = f->gnt ? pvio_dom_xs_open(dom, &rc) : NULL;
	dom_unlock(f);
	if (!f->gnt) {
		rc = -EBUSY;
		goto fail;
	}
	if (!f->xs)
		goto fail;
	if (backend != PVIO_BLKFRONT_ANY_BACKEND) {
		uint64_t id;

		rc = pvio_xenbus_read_uint(f->xs, PVIO_XS_TX_NONE, f->path,
					   "backend-id", 0xFFFF, &id);
		if (rc)
			goto fail;
		if (id != backend) {
			rc = -ENOENT;
			goto fail;
		}
	}
	cfg.role = PVIO_XENBUS_FRONTEND;
	cfg.type = "vbd";
	cfg.path = f->path;
	cfg.ops = &front_ops;
	cfg.ctx = f;
	f->dev = pvio_xenbus_open(f->xs, &cfg, &rc);
	if (!f->dev)
		goto fail;
	rc = pthread_create(&f->svc, NULL, svc_main, f);
	if (rc) {
		rc = -rc;
		goto fail;
	}
	f->svc_running = true;
	timeout = f->opts.timeout_ms ? f->opts.timeout_ms : 10000;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	if (timeout > 0) {
		dl.tv_sec += timeout / 1000;
		dl.tv_nsec += (long)(timeout % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&f->state_lock);
	rc = 0;
	while (!atomic_load(&f->connected) && !f->connect_err && !rc) {
		if (timeout > 0)
			rc = pthread_cond_timedwait(&f->state_cond,
						    &f->state_lock, &dl);
		else
			rc = pthread_cond_wait(&f->state_cond, &f->state_lock);
	}
	if (atomic_load(&f->connected))
		rc = 0;
	else if (f->connect_err)
		rc = f->connect_err;
	else
		rc = -ETIMEDOUT;
	pthread_mutex_unlock(&f->state_lock);
	if (rc)
		goto fail;
	if (err)
		*err = 0;
	return f;
fail:
	stop_svc(f);
	free_all(f);
out:
	if (err)
		*err = rc;
	return NULL;
}

void pvio_blkfront_detach(struct pvio_blkfront *f, int timeout_ms)
{
	uint64_t deadline;

	if (!f)
		return;
	stop_svc(f);
	/* Let requests in flight finish (nobody else uses the queues now). */
	deadline = now_ns() +
		   (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ULL;
	for (unsigned int i = 0; i < f->nq; i++) {
		struct bf_queue *q = &f->q[i];
		unsigned int got = 0;

		while (atomic_load(&f->connected) &&
		       pvio_bfc_inflight(&q->core) && now_ns() < deadline) {
			if (q_enter(q)) {
				got = 0;
				reap_round(q, NULL, &got, q->done_max);
				q_leave(q);
			}
			struct epoll_event ev[2];
			int ne = epoll_wait(q->epfd, ev, 2, 1);

			for (int k = 0; k < ne; k++)
				efd_drain(ev[k].data.fd);
		}
		/* The rest fail: the device goes away. */
		for (;;) {
			int n = pvio_bfc_fail_all(&q->core, -ENOTCONN, q->done,
						  q->done_max);
			if (n <= 0)
				break;
			deliver(q, n, NULL, &got);
		}
	}
	free_all(f);
}

const struct pvio_blkfront_info *
pvio_blkfront_info(const struct pvio_blkfront *f)
{
	return f ? &f->info : NULL;
}

int pvio_blkfront_error(const struct pvio_blkfront *f)
{
	int e;

	if (!f)
		return -EINVAL;
	e = atomic_load(&((struct pvio_blkfront *)f)->error);
	if (e)
		return e;
	return atomic_load(&((struct pvio_blkfront *)f)->connected) ? 0
								    : -ENOTCONN;
}

void pvio_blkfront_get_stats(const struct pvio_blkfront *f,
			     struct pvio_blkfront_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!f)
		return;
	for (unsigned int i = 0; i < f->nq; i++) {
		st->requests += f->q[i].core.stats.requests;
		st->notifies += f->q[i].core.stats.notifies;
		st->replayed += f->q[i].core.stats.replayed;
		st->bounced += f->q[i].bounced;
	}
	st->grants = atomic_load(&((struct pvio_blkfront *)f)->st_grants);
	st->reconnects =
		atomic_load(&((struct pvio_blkfront *)f)->st_reconnects);
}

/* ====================================================================== */
/* Synchronous helpers                                                    */
/* ====================================================================== */

static int sync_one(struct pvio_blkfront *f, struct pvio_blkfront_req *r)
{
	struct pvio_blkfront_req *rp = r, *done[8];
	int rc;

	for (;;) {
		rc = pvio_blkfront_submit(f, 0, &rp, 1);
		if (rc < 0)
			return rc;
		if (rc == 1)
			break;
		rc = pvio_blkfront_reap(f, 0, done, 8, 1, 100);
		if (rc < 0)
			return rc;
	}
	for (;;) {
		rc = pvio_blkfront_reap(f, 0, done, 8, 1, -1);
		if (rc < 0)
			return rc;
		for (int i = 0; i < rc; i++)
			if (done[i] == r)
				return r->status;
	}
}

static int sync_rw(struct pvio_blkfront *f, uint8_t op, uint64_t sector,
		   void *buf, size_t len)
{
	size_t max;
	int rc = 0;

	if (!f || (len && !buf) || len % PVIO_BLKIF_SECTOR_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&f->sync_lock);
	max = (size_t)f->info.max_sectors * PVIO_BLKIF_SECTOR_SIZE;
	while (len && !rc) {
		size_t n = len < max ? len : max;
		struct iovec iov = {.iov_base = buf, .iov_len = n};
		struct pvio_blkfront_req r = {
			.op = op, .sector = sector, .iov = &iov, .iovcnt = 1};

		rc = sync_one(f, &r);
		buf = (unsigned char *)buf + n;
		len -= n;
		sector += n / PVIO_BLKIF_SECTOR_SIZE;
	}
	pthread_mutex_unlock(&f->sync_lock);
	return rc;
}

int pvio_blkfront_read(struct pvio_blkfront *f, uint64_t sector, void *buf,
		       size_t len)
{
	return sync_rw(f, PVIO_BLKFRONT_READ, sector, buf, len);
}

int pvio_blkfront_write(struct pvio_blkfront *f, uint64_t sector,
			const void *buf, size_t len)
{
	return sync_rw(f, PVIO_BLKFRONT_WRITE, sector, (void *)buf, len);
}

int pvio_blkfront_flush(struct pvio_blkfront *f)
{
	struct pvio_blkfront_req r = {.op = PVIO_BLKFRONT_FLUSH};
	int rc;

	if (!f)
		return -EINVAL;
	if (!f->info.flush)
		return 0; /* no volatile cache to flush */
	pthread_mutex_lock(&f->sync_lock);
	rc = sync_one(f, &r);
	pthread_mutex_unlock(&f->sync_lock);
	return rc;
}

int pvio_blkfront_discard(struct pvio_blkfront *f, uint64_t sector,
			  uint64_t nr_sectors)
{
	struct pvio_blkfront_req r = {.op = PVIO_BLKFRONT_DISCARD,
				      .sector = sector,
				      .nr_sectors = nr_sectors};
	int rc;

	if (!f)
		return -EINVAL;
	pthread_mutex_lock(&f->sync_lock);
	rc = sync_one(f, &r);
	pthread_mutex_unlock(&f->sync_lock);
	return rc;
}
