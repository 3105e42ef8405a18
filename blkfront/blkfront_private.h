/* SPDX-License-Identifier: MIT */
/*
 * blkfront's Linux-process glue: private structures (blkfront.c).
 */
#ifndef PVIO_BLKFRONT_PRIVATE_H
#define PVIO_BLKFRONT_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "front_core.h"
#include "pvio/blkfront.h"
#include "pvio/domain.h"
#include "pvio/xenbus.h"
#include "pvio/xs.h"

#define BF_MAX_RING_ORDER 3U /* 8 pages, 256 slots */
#define BF_MAX_QUEUES 16U
#define BF_MAX_INDIRECT 256U
#define BF_MAX_GROUPS 32U
#define BF_MAX_REGIONS 256U
#define BF_POOL_MIN 64U
/* pfn -> persistent grant table: 2 levels of 1024 x 16384 (2^24 frames,
 * libdomain's memory limit). */
#define BF_GT_LEAF 1024U
#define BF_GT_TOP 16384U

/* Per request in flight: what the glue needs at completion. */
struct bf_ctx {
	struct pvio_blkfront_req *req;
	uint16_t nbounce;
	uint16_t *bounce; /* pool page indexes, max_segs of them */
};

struct bf_queue {
	struct pvio_blkfront *f;
	unsigned int idx;
	struct pvio_bfc_queue core;
	void *core_mem;
	/*
	 * Pause protocol (no lock on the I/O path): the queue's thread sets
	 * busy (seq_cst) and then reads paused; the service thread sets
	 * paused (seq_cst) and then waits for busy == 0.  Dekker-style: with
	 * both sides sequentially consistent at least one sees the other.
	 */
	_Atomic int busy;
	_Atomic int paused;
	int epfd;     /* stable: wake_efd + the current wait_fd */
	int wake_efd; /* stable: the service thread's "look again" */
	int wait_fd;  /* this connection's event from the backend, or -1 */
	int kick_fd;  /* this connection's event to the backend, or -1 */
	pvio_evtchn_port_t port;
	bool port_open;
	/* Ring pages, kept across reconnects (re-granted). */
	void *ring_va;
	uint32_t ring_pfn;
	unsigned int ring_npages; /* allocated */
	unsigned int ring_order;  /* this connection */
	int ring_gref[1U << BF_MAX_RING_ORDER];
	/* Indirect pages: ngroups * ppg, granted per connection. */
	void *ind_va;
	uint32_t ind_pfn;
	unsigned int ind_npages;
	struct pvio_bfc_ipage *ipage_arr; /* ind_npages */
	int *ind_gref;			  /* ind_npages, -1: not granted */
	unsigned int ind_granted;
	/* Bounce pool (allocated on first need). */
	unsigned char *pool_va;
	uint32_t pool_pfn;
	unsigned int pool_n;
	uint16_t *pool_free;
	unsigned int pool_nfree;
	bool pool_failed;
	/* Contexts, one per core slot. */
	struct bf_ctx *ctx;
	uint32_t *ctx_free;
	unsigned int nctx_free;
	uint16_t *bounce_mem;
	struct pvio_bfc_seg *segs;  /* scratch, max_segs */
	struct pvio_bfc_done *done; /* scratch */
	unsigned int done_max;
	uint64_t bounced; /* bytes, this queue's thread only */
} __attribute__((aligned(64)));

struct bf_region {
	unsigned char *va;
	uint32_t pfn;
	unsigned int npages;
	_Atomic bool live; /* false: freed by the user, kept for reuse */
};

struct pvio_blkfront {
	struct pvio_dom *dom; /* every pvio_dom_* / gnttab call: dom lock */
	struct pvio_gnt_share *gnt;
	struct pvio_xs *xs; /* the service thread's (attach's, detach's) */
	struct pvio_xenbus_dev *dev;
	char path[128];
	uint32_t devid;
	pvio_domid_t self;
	pvio_domid_t want_backend;
	struct pvio_blkfront_opts opts;
	int spin_ns;

	/* Negotiated at the first connection, fixed afterwards. */
	bool sized;
	unsigned int nq;
	uint32_t nslots;
	uint32_t max_segs;
	unsigned int ring_order;
	struct bf_queue *q;

	/* This connection. */
	pvio_domid_t backend;
	bool persistent;
	uint32_t max_indirect;
	_Atomic bool connected;
	_Atomic int error; /* sticky: -EPROTO etc. */
	struct pvio_blkfront_info info;

	/* Service thread. */
	pthread_t svc;
	bool svc_running;
	int stop_efd;
	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;
	int connect_err; /* a failure during the handshake */

	/* Zero-copy memory. */
	struct bf_region regions[BF_MAX_REGIONS];
	_Atomic unsigned int nregions;
	/* pfn -> persistent gref + 1 (0: none); leaves under dom_lock,
	 * published with release stores, read with acquire loads. */
	_Atomic(_Atomic uint32_t *) gt[BF_GT_TOP];

	/* Grants a backend still mapped when ended (dom lock). */
	uint32_t *deferred;
	unsigned int ndeferred, cap_deferred;

	/* Synchronous helpers. */
	pthread_mutex_t sync_lock;

	/* Stats. */
	_Atomic uint64_t st_grants;
	_Atomic uint64_t st_reconnects;
};

#endif /* PVIO_BLKFRONT_PRIVATE_H */
