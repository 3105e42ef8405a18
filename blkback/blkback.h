/* SPDX-License-Identifier: MIT */
/*
 * blkback internals (library pvio_blkback; the daemon pvio-blkback is
 * main.c over it).  Not installed.
 *
 * Objects
 *   struct bb_ctx    the process: the domain handle, the lock that
 *                    serialises every pvio_dom_* call (the handle is not
 *                    thread-safe), options.
 *   struct bb_vbd    one <frontend>/<devid> device: its xenbus machine,
 *                    its disk, its queues while connected, counters.
 *   struct bb_queue  one ring + event channel + disk queue + thread.
 *
 * Control plane (vbd.c) runs on the daemon's main thread; the data path
 * (queue.c) runs on one thread per queue and touches the domain handle
 * only to map/unmap grants, under ctx->hv_lock.
 *
 * Errors: 0 or -errno.
 */
#ifndef PVIO_BLKBACK_BLKBACK_H
#define PVIO_BLKBACK_BLKBACK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <pvio/channel.h>
#include <pvio/domain.h>
#include <pvio/grant.h>
#include <pvio/io/blkif.h>
#include <pvio/xenbus.h>
#include <pvio/xs.h>

#include "disk/disk.h"

/* ---------------------------------------------------------------------- */
/* Options and the process context                                        */
/* ---------------------------------------------------------------------- */

/* Hard limits of this implementation (options are clamped to them). */
#define BB_MAX_QUEUES 16U
#define BB_MAX_RING_ORDER 4U  /* 16 pages: 512 x86_64 entries */
#define BB_MAX_INDIRECT 1024U /* one preadv/pwritev: IOV_MAX */

/*
 * Foreign mappings pvio-hv lets one domain hold at once, across all its
 * vbds (Xen's maptrack limit).  --max-grants may lower it (another
 * backend process in the same driver domain needs some too).
 */
#define BB_MAPTRACK PVIO_DOM_MAPTRACK
/* Per-queue mapping budget asked for at connect (--queue-grants): Linux
 * blkback's max_persistent_grants per ring. */
#define BB_QUEUE_GRANTS 1056U

struct bb_opts {
	enum pvio_disk_engine engine; /* default for vbds without io-engine */
	bool persistent;	      /* offer feature-persistent */
	unsigned int max_queues;      /* 1..BB_MAX_QUEUES */
	unsigned int max_ring_order;  /* 0..BB_MAX_RING_ORDER */
	unsigned int max_indirect;    /* 0 (no indirect) or 11..1024 */
	unsigned int spin_us;	      /* busy-poll budget before sleeping */
	unsigned int max_grants;      /* mappings of the daemon, <= MAPTRACK */
	unsigned int queue_grants;    /* budget a queue asks for at connect */
	bool verbose;
};

void bb_opts_default(struct bb_opts *o);

struct bb_ctx {
	struct pvio_dom *dom;	 /* borrowed */
	pthread_mutex_t hv_lock; /* every pvio_dom_* call of the process */
	struct bb_opts opts;
	/*
	 * Written (8 bytes) by a queue thread that halted its ring, so the
	 * main loop looks at every vbd's 'fatal' (-1: nobody listens).
	 */
	int notify_fd;
	/*
	 * The mapping budget (README "Mapping budget"): every grant mapping
	 * the daemon holds is counted here.  'used' = ring pages mapped +
	 * budgets reserved by queues.  Queue budgets may only grow 'used'
	 * up to total - reserve; rings may use the reserve, so a new
	 * connection's rings always map even when queue budgets took all
	 * they may.  Main thread only (connect/disconnect), no lock.
	 */
	struct {
		unsigned int total, reserve, used;
	} budget;
};

/* The pool from opts.max_grants (call once, before any vbd). */
void bb_budget_init(struct bb_ctx *c);
/*
 * Reserve up to 'want' (at least 'min') mappings: 0 and *got, or
 * -ENOSPC if not even 'min' is left.  'ring': ring pages, which may use
 * the reserve.  Give back with bb_budget_put() once unmapped.
 */
int bb_budget_take(struct bb_ctx *c, unsigned int want, unsigned int min,
		   bool ring, unsigned int *got);
void bb_budget_put(struct bb_ctx *c, unsigned int n);

/* Logging to stderr, one line each. */
void bb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool bb_verbose;
#define bb_debug(...)                                                          \
	do {                                                                   \
		if (bb_verbose)                                                \
			bb_log(__VA_ARGS__);                                   \
	} while (0)

/* Counters of pvio_dom_* activity attributed to one vbd (deltas of
 * pvio_dom_get_stats taken under hv_lock around each call). */
struct bb_hvstats {
	_Atomic uint64_t maps, unmaps, hypercalls;
};

/* hv_lock held around 'call'; its stats delta added to 's'. */
#define BB_HV_CALL(ctx, s, call)                                               \
	({                                                                     \
		struct pvio_dom_stats bb__a, bb__b;                            \
		pthread_mutex_lock(&(ctx)->hv_lock);                           \
		pvio_dom_get_stats((ctx)->dom, &bb__a);                        \
		__auto_type bb__r = (call);                                    \
		pvio_dom_get_stats((ctx)->dom, &bb__b);                        \
		pthread_mutex_unlock(&(ctx)->hv_lock);                         \
		atomic_fetch_add_explicit(&(s)->maps,                          \
					  bb__b.grant_maps - bb__a.grant_maps, \
					  memory_order_relaxed);               \
		atomic_fetch_add_explicit(                                     \
			&(s)->unmaps, bb__b.grant_unmaps - bb__a.grant_unmaps, \
			memory_order_relaxed);                                 \
		atomic_fetch_add_explicit(&(s)->hypercalls,                    \
					  bb__b.hypercalls - bb__a.hypercalls, \
					  memory_order_relaxed);               \
		bb__r;                                                         \
	})

/* ---------------------------------------------------------------------- */
/* Protocol: requests in one ABI-independent form (proto.c, pure)         */
/* ---------------------------------------------------------------------- */

enum bb_abi { BB_ABI_X86_64 = 0, BB_ABI_X86_32 = 1 };

/* Size of a raw request / response / ring entry in 'abi'. */
size_t bb_abi_req_size(enum bb_abi abi);
size_t bb_abi_rsp_size(enum bb_abi abi);
size_t bb_abi_entry_size(enum bb_abi abi);
/* "x86_64-abi" / "x86_32-abi" (NULL: native = x86_64); -EINVAL else. */
int bb_abi_parse(const char *s, enum bb_abi *abi);

/*
 * A request as decoded from the private copy of a ring slot.  'op' is the
 * raw operation byte; for BLKIF_OP_INDIRECT 'iop' is indirect_op and the
 * segments are fetched separately from the indirect pages.
 */
struct bb_req {
	uint8_t op;
	uint8_t iop;	  /* indirect_op */
	uint8_t flag;	  /* discard flag */
	uint16_t nr_segs; /* nr_segments (u8 direct, u16 indirect) */
	uint64_t id;
	uint64_t sector;
	uint64_t nr_sectors; /* discard */
	pvio_grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct pvio_blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/* Decode a private copy of one raw request of 'abi' (never the ring). */
void bb_req_decode(enum bb_abi abi, const void *raw, struct bb_req *r);

/*
 * Encode a response into 'raw' (bb_abi_rsp_size bytes), every padding
 * byte zero (XSA-216).
 */
void bb_rsp_encode(enum bb_abi abi, void *raw, uint64_t id, uint8_t op,
		   int16_t status);

/* What the backend knows when it checks a request. */
struct bb_limits {
	uint64_t sectors; /* disk size, 512-byte units */
	bool readonly;
	bool discard;	     /* feature-discard published */
	bool secure_discard; /* discard-secure published */
	unsigned int max_indirect;
};

/*
 * Check a decoded request before anything is mapped (PROTOCOL-FACTS
 * section 2, Linux blkback).  Returns BLKIF_RSP_OKAY if it may proceed,
 * else the status to answer with (ERROR / EOPNOTSUPP); 'why' gets a
 * static description for debug logs.  Segment bounds of indirect
 * requests are checked by bb_segs_check() once fetched.
 */
int bb_req_check(const struct bb_req *r, const struct bb_limits *l,
		 const char **why);

/*
 * Check 'n' segments (bounds 0..7, first <= last) and that sector +
 * their sectors stays on the disk without wrapping.  *bytes gets the
 * transfer length.  BLKIF_RSP_OKAY or BLKIF_RSP_ERROR.
 */
int bb_segs_check(const struct pvio_blkif_request_segment *seg, unsigned int n,
		  uint64_t sector, uint64_t disk_sectors, uint64_t *bytes,
		  const char **why);

/* Indirect pages needed for n segments. */
static inline unsigned int bb_indirect_pages(unsigned int n)
{
	return (n + PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE - 1) /
	       PVIO_BLKIF_SEGS_PER_INDIRECT_PAGE;
}

/* ---------------------------------------------------------------------- */
/* Queues (queue.c)                                                       */
/* ---------------------------------------------------------------------- */

struct bb_vbd;
struct bb_queue;

/* Per-queue counters, summed into the vbd's log line. */
struct bb_qstats {
	_Atomic uint64_t requests, errors;
};

/*
 * Set up queue 'idx' of 'v' on a ring the caller mapped ('ring', 'bytes')
 * and a bound port whose fds were taken (ownership of the fds passes to
 * the queue).  Reserves the queue's mapping budget (-ENOSPC if not even
 * one worst-case request fits; bb_queue_destroy gives it back).  Does
 * not start the thread.
 */
struct bb_queue *bb_queue_create(struct bb_vbd *v, unsigned int idx, void *ring,
				 size_t bytes, int wait_fd, int kick_fd,
				 int *err);
int bb_queue_start(struct bb_queue *q);
/* Mappings the queue may hold (its reserved budget). */
unsigned int bb_queue_budget(const struct bb_queue *q);
/*
 * Stop the thread (it waits for its in-flight disk I/O first), unmap
 * every grant it holds, close its fds and disk queue, free it.  The ring
 * itself is the caller's to unmap.  NULL is a no-op.
 */
void bb_queue_destroy(struct bb_queue *q);

/* ---------------------------------------------------------------------- */
/* Devices (vbd.c)                                                        */
/* ---------------------------------------------------------------------- */

struct bb_ring_map {
	void *addr;
	unsigned int pages;
	pvio_grant_handle_t handles[1U << BB_MAX_RING_ORDER];
	pvio_evtchn_port_t port;
	bool bound;
	bool charged; /* 'pages' taken from the budget */
};

struct bb_vbd {
	struct bb_ctx *ctx;
	struct pvio_xs *xs; /* borrowed (the main loop's) */
	struct pvio_xenbus_dev *dev;
	char path[128]; /* backend dir */
	char name[32];	/* "<F>/<devid>" for logs */
	pvio_domid_t fe;
	uint32_t devid;
	struct pvio_disk *disk;
	struct bb_limits lim;
	unsigned int max_indirect; /* published */

	/* While connected. */
	enum bb_abi abi;
	bool persistent;
	unsigned int nq;
	struct bb_ring_map rings[BB_MAX_QUEUES];
	struct bb_queue *q[BB_MAX_QUEUES];

	/* Set by a queue thread that halted its ring (first one wins). */
	_Atomic int fatal;
	char fatal_msg[160];
	/* Written once the error node and Closing were written for it. */
	bool fatal_done;
	/* A connect failure to write into xenstore ("error" node). */
	char conn_err[160];
	bool conn_hard; /* connect refused the frontend's keys */

	struct bb_qstats qs;
	struct bb_hvstats hs;
	bool failed; /* probe failed: never served, kept until removed */
};

/*
 * Probe the vbd at 'path' (/local/domain/<self>/backend/vbd/<F>/<D>):
 * read params/type/mode/io-engine, open the disk, start the handshake.
 * NULL with *err: -ENOENT / -EAGAIN (not complete yet: try again at the
 * next event), other errors were written to the vbd's "error" node and
 * a vbd with 'failed' set is returned instead so that it is not probed
 * again until its directory goes away.
 */
struct bb_vbd *bb_vbd_create(struct bb_ctx *ctx, struct pvio_xs *xs,
			     const char *path, pvio_domid_t fe, uint32_t devid,
			     int *err);
/* Feed a watch event (NULL: re-evaluate).  1 if it was this vbd's. */
int bb_vbd_handle(struct bb_vbd *v, const char *path, const char *token);
/* Halted ring: write the error node and Closing (main thread). */
void bb_vbd_check_fatal(struct bb_vbd *v);
bool bb_vbd_removed(const struct bb_vbd *v);
/* Tear down (disconnect, close handshake, close disk), log, free. */
void bb_vbd_destroy(struct bb_vbd *v);

/* Called by a queue thread: halt with 'msg' and tell the main loop. */
void bb_vbd_fatal(struct bb_vbd *v, const char *msg);

/* ---------------------------------------------------------------------- */
/* Sandbox (sandbox.c)                                                    */
/* ---------------------------------------------------------------------- */

/* PR_SET_NO_NEW_PRIVS + the seccomp allow-list. */
int bb_sandbox_apply(void);

#endif /* PVIO_BLKBACK_BLKBACK_H */
