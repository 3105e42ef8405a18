/* SPDX-License-Identifier: MIT */
/*
 * A tiny freestanding "guest kernel" that uses every freestanding core
 * through its public API: the proof that the cores link into a kernel
 * with nothing but memcpy/memset/memcmp from the environment.
 *
 * It plays a whole split-driver round trip in one address space, with
 * static memory only: a frontend (domain 1) grants a page, queues a
 * request on a shared ring, tracks it by request id, and raises the
 * backend's event channel; the backend (domain 0), upcalled through the
 * event channel, maps the grant through the hypervisor-side grant checks,
 * caches the mapping persistently, copies from the grant, answers on the
 * ring and raises the frontend's port; then everything is torn down,
 * including a page transfer and a domain release.  On the way, the
 * guest's disk driver (blkfront's core) reads a block over a blkif ring.
 *
 * Built twice: with -ffreestanding -nostdlib into pvio_kernel.o (checked
 * by check-undefined.sh), and hosted with kernel_main.c as a test that
 * runs pvio_kernel_main(), so the calls here are known to work and not
 * merely to link.
 *
 * pvio_kernel_main() returns 0, or the number of the first step that
 * failed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "front_core.h"
#include "pvio/channel.h"
#include "pvio/errno.h"
#include "pvio/evtchn.h"
#include "pvio/grant.h"
#include "pvio/io/blkif.h"
#include "pvio/io/event_channel.h"
#include "pvio/io/grant_table.h"
#include "pvio/io/ring.h"
#include "pvio/reqid.h"

int pvio_kernel_main(void);

/* --- the demo protocol ---------------------------------------------- */

struct kreq {
	uint64_t id;
	uint32_t gref; /* granted page holding the payload */
	uint32_t len;
};

struct krsp {
	uint64_t id;
	int32_t status;
	uint32_t sum; /* checksum of the payload the backend copied */
};

PVIO_RING_DEFINE(kdemo, struct kreq, struct krsp);
PVIO_CHANNEL_DEFINE(kdemo, struct kreq, struct krsp)

#define FRONT_DOM 1
#define BACK_DOM 0
#define NR_FRAMES 8
#define NR_GNT 32
#define REQ_PORT 1 /* backend is notified here */
#define RSP_PORT 2 /* frontend is notified here */
#define PAYLOAD 64

/* --- static "memory" -------------------------------------------------- */

static unsigned char frames[2][NR_FRAMES][XEN_PAGE_SIZE]
	__attribute__((aligned(4096)));
static unsigned char ring_page[XEN_PAGE_SIZE] __attribute__((aligned(4096)));

static struct pvio_evtchn_shared ev_shared;
static struct pvio_evtchn_vcpu ev_vcpu;
static struct pvio_evtchn_handler ev_table[8];
static struct pvio_evtchn ev;

static struct pvio_grant_entry_v1 gnt_entries[2][NR_GNT];
static uint32_t gnt_link[NR_GNT];
static struct pvio_gnt_share share; /* the frontend's own table */
static struct pvio_gnt_active active[2][NR_GNT];
static struct pvio_gnt_maptrack maptrack[2][NR_GNT];
static struct pvio_gnt_domain dom[2];
static struct pvio_gnt_hv hv;

static struct pvio_gnt_pcache_entry pc_entries[4];
static uint32_t pc_buckets[4];
static struct pvio_gnt_pcache pcache; /* the backend's */

static uint64_t reqid_mem[256];
static struct pvio_reqid_table reqids; /* the frontend's */

static struct pvio_kdemo_front front;
static struct pvio_kdemo_back back;

static int failed_step;	  /* first failure inside a handler */
static int front_done;	  /* responses the frontend completed */
static uint32_t back_sum; /* what the backend saw */

#define FAIL_IF(cond, step)                                                    \
	do {                                                                   \
		if (cond)                                                      \
			return (step);                                         \
	} while (0)

/* --- environment of the hypervisor-side grant code ------------------- */

static struct pvio_gnt_domain *k_lookup(void *ctx, pvio_domid_t domid)
{
	(void)ctx;
	return domid < 2 ? &dom[domid] : NULL;
}

static void *k_frame_ptr(void *ctx, struct pvio_gnt_domain *d, uint32_t frame,
			 bool writable)
{
	(void)ctx;
	(void)writable;
	return frames[d->domid][frame];
}

static int16_t k_transfer_page(void *ctx, struct pvio_gnt_domain *from,
			       uint32_t frame, struct pvio_gnt_domain *to,
			       uint32_t pfn, uint32_t *new_frame)
{
	(void)ctx;
	/* A real kernel remaps; here the page is copied into place. */
	__builtin_memcpy(frames[to->domid][pfn], frames[from->domid][frame],
			 XEN_PAGE_SIZE);
	*new_frame = pfn;
	return GNTST_okay;
}

static const struct pvio_gnt_hv_ops k_ops = {
	.lookup = k_lookup,
	.frame_ptr = k_frame_ptr,
	.transfer_page = k_transfer_page,
};

/* --- backend: upcalled on REQ_PORT ----------------------------------- */

static int back_handle(void)
{
	struct kreq req;
	struct krsp rsp = {0};
	struct pvio_gnttab_map_grant_ref map = {0};
	struct pvio_gnttab_copy copy = {0};
	struct pvio_gnt_pcache_entry *pe;
	struct pvio_gnt_pcache_victim victim;
	unsigned char *dst = frames[BACK_DOM][2];
	int rc, err;

	FAIL_IF(pvio_ring_back_pending(&back.ring) != 1, 40);
	FAIL_IF(pvio_kdemo_back_consume(&back, &req, 1) != 1, 41);
	FAIL_IF(req.len > PAYLOAD, 42); /* validate the private copy */

	/* Persistent grant: map once, then find it in the cache. */
	pe = pvio_gnt_pcache_get(&pcache, req.gref, &err);
	if (!pe) {
		FAIL_IF(err != -PVIO_ENOENT, 43);
		map.flags = GNTMAP_host_map | GNTMAP_readonly;
		map.ref = req.gref;
		map.dom = FRONT_DOM;
		FAIL_IF(pvio_gnt_hv_map(&hv, &dom[BACK_DOM], &map, NULL, 1) !=
				0,
			44);
		FAIL_IF(map.status != GNTST_okay, 45);
		rc = pvio_gnt_pcache_insert(&pcache, req.gref, map.handle,
					    frames[FRONT_DOM][3], &pe, &victim);
		FAIL_IF(rc != 0, 46);
	}
	FAIL_IF(pvio_gnt_domain_nr_maps(&dom[BACK_DOM]) != 1, 47);

	/* And a grant copy of the payload into the backend's own frame. */
	copy.source.u.ref = req.gref;
	copy.source.domid = FRONT_DOM;
	copy.dest.u.gmfn = 2;
	copy.dest.domid = DOMID_SELF;
	copy.len = (uint16_t)req.len;
	copy.flags = GNTCOPY_source_gref;
	FAIL_IF(pvio_gnt_hv_copy(&hv, &dom[BACK_DOM], &copy, 1) != 0, 48);
	FAIL_IF(copy.status != GNTST_okay, 49);

	rsp.id = req.id;
	rsp.status = 0;
	for (uint32_t i = 0; i < req.len; i++)
		rsp.sum += dst[i];
	back_sum = rsp.sum;
	FAIL_IF(pvio_gnt_pcache_put(&pcache, pe) != 0, 50);

	FAIL_IF(pvio_ring_back_owed(&back.ring) != 1, 51);
	FAIL_IF(pvio_kdemo_back_produce(&back, &rsp, 1) != 1, 52);
	rc = pvio_ring_back_push(&back.ring);
	FAIL_IF(rc < 0, 53);
	/* A raise from inside a handler: the running upcall picks it up. */
	if (rc == 1)
		FAIL_IF(pvio_evtchn_raise(&ev, RSP_PORT) < 0, 54);
	FAIL_IF(pvio_ring_back_final_check(&back.ring) != 0, 55);
	return 0;
}

static void on_req(struct pvio_evtchn *e, pvio_evtchn_port_t port, void *arg)
{
	int rc;

	(void)e;
	(void)port;
	(void)arg;
	rc = back_handle();
	if (rc && !failed_step)
		failed_step = rc;
}

/* --- frontend: upcalled on RSP_PORT ---------------------------------- */

static int front_handle(void)
{
	struct krsp rsp;
	void *shadow;
	struct kreq *sent;

	FAIL_IF(pvio_ring_front_pending(&front.ring) != 1, 60);
	FAIL_IF(pvio_kdemo_front_consume(&front, &rsp, 1) != 1, 61);
	FAIL_IF(pvio_reqid_lookup(&reqids, rsp.id, &shadow) != 0, 62);
	FAIL_IF(pvio_reqid_complete(&reqids, rsp.id, &shadow) != 0, 63);
	/* A duplicate answer from a hostile backend is refused. */
	FAIL_IF(pvio_reqid_complete(&reqids, rsp.id, &shadow) >= 0, 64);
	sent = shadow;
	FAIL_IF(sent->id != rsp.id || rsp.status != 0, 65);
	FAIL_IF(pvio_ring_front_final_check(&front.ring) != 0, 66);
	front_done++;
	return 0;
}

static void on_rsp(struct pvio_evtchn *e, pvio_evtchn_port_t port, void *arg)
{
	int rc;

	(void)e;
	(void)port;
	(void)arg;
	rc = front_handle();
	if (rc && !failed_step)
		failed_step = rc;
}

/* --- the kernel ------------------------------------------------------ */

static int setup(void)
{
	int n;

	/* Event channels: all ports masked until bound. */
	FAIL_IF(pvio_evtchn_shared_init(&ev_shared, &ev_vcpu, true) != 0, 1);
	FAIL_IF(pvio_evtchn_init(&ev, &ev_shared, &ev_vcpu, ev_table, 8) != 0,
		2);
	FAIL_IF(pvio_evtchn_bind(&ev, REQ_PORT, on_req, NULL) != 0, 3);
	FAIL_IF(pvio_evtchn_bind(&ev, RSP_PORT, on_rsp, NULL) != 0, 4);
	FAIL_IF(pvio_evtchn_unmask(&ev, REQ_PORT) != 0, 5);
	FAIL_IF(pvio_evtchn_unmask(&ev, RSP_PORT) != 0, 6);
	/* Hostile port numbers are refused. */
	FAIL_IF(pvio_evtchn_raise(&ev, EVTCHN_2L_NR_CHANNELS) != -PVIO_EINVAL,
		7);

	/* Grant tables and the hypervisor's view of both domains. */
	FAIL_IF(pvio_gnt_share_init(&share, gnt_entries[FRONT_DOM], gnt_link,
				    NR_GNT) != 0,
		8);
	for (int d = 0; d < 2; d++)
		FAIL_IF(pvio_gnt_domain_init(&dom[d], (pvio_domid_t)d,
					     gnt_entries[d], NR_GNT, active[d],
					     maptrack[d], NR_GNT,
					     NR_FRAMES) != 0,
			9);
	FAIL_IF(pvio_gnt_hv_init(&hv, &k_ops, NULL) != 0, 10);
	FAIL_IF(pvio_gnt_hv_set_pin_limit(&hv, PVIO_GNT_PIN_LIMIT_DEFAULT) != 0,
		11);
	FAIL_IF(pvio_gnt_pcache_init(&pcache, pc_entries, 4, pc_buckets, 4) !=
			0,
		12);

	/* Request ids: 16 slots, 64-bit ids (blkif). */
	FAIL_IF(pvio_reqid_mem_size(16, sizeof(struct kreq)) >
			sizeof(reqid_mem),
		13);
	FAIL_IF(pvio_reqid_init(&reqids, reqid_mem, sizeof(reqid_mem), 16,
				sizeof(struct kreq), 64) != 0,
		14);

	/* The ring: the frontend initialises, the backend attaches. */
	n = pvio_ring_entries(sizeof(ring_page),
			      sizeof(union pvio_kdemo_sring_entry));
	FAIL_IF(n <= 0, 15);
	FAIL_IF(pvio_kdemo_front_init(&front, ring_page, sizeof(ring_page)) !=
			0,
		16);
	FAIL_IF(pvio_kdemo_back_attach(&back, ring_page, sizeof(ring_page)) !=
			0,
		17);
	FAIL_IF(pvio_ring_size(&front.ring) != (uint32_t)n, 18);
	return 0;
}

static int round_trip(pvio_grant_ref_t *gref)
{
	struct kreq req = {0};
	void *shadow;
	int ref, rc;

	/* Frontend: put a payload in a frame and grant it to the backend. */
	for (int i = 0; i < PAYLOAD; i++)
		frames[FRONT_DOM][3][i] = (unsigned char)i;
	ref = pvio_gnt_share_grant_access(&share, BACK_DOM, 3, true);
	FAIL_IF(ref < GNTTAB_NR_RESERVED_ENTRIES, 20);
	FAIL_IF(!pvio_gnt_share_in_use(&share, (pvio_grant_ref_t)ref), 21);

	FAIL_IF(pvio_reqid_alloc(&reqids, &req.id, &shadow) != 0, 22);
	req.gref = (uint32_t)ref;
	req.len = PAYLOAD;
	__builtin_memcpy(shadow, &req, sizeof(req));
	FAIL_IF(pvio_reqid_inflight(&reqids) != 1, 23);

	FAIL_IF(pvio_ring_front_free(&front.ring) == 0, 24);
	FAIL_IF(pvio_kdemo_front_produce(&front, &req, 1) != 1, 25);
	rc = pvio_ring_front_push(&front.ring);
	FAIL_IF(rc != 1, 26); /* a fresh ring wants the first event */
	FAIL_IF(pvio_ring_front_inflight(&front.ring) != 1, 27);

	/* "Send": the delivery side raises the backend's port. */
	FAIL_IF(pvio_evtchn_raise(&ev, REQ_PORT) != 1, 28);
	FAIL_IF(pvio_evtchn_is_pending(&ev, REQ_PORT) != 1, 29);

	/* The upcall: the backend runs, answers, raises the frontend. */
	rc = pvio_evtchn_dispatch(&ev);
	FAIL_IF(failed_step, failed_step);
	FAIL_IF(rc != 2, 30);
	FAIL_IF(front_done != 1, 31);
	FAIL_IF(back_sum != (PAYLOAD * (PAYLOAD - 1)) / 2, 32);
	FAIL_IF(pvio_reqid_inflight(&reqids) != 0, 33);

	/* The grant is still mapped (persistent): ending it must wait. */
	FAIL_IF(pvio_gnt_share_busy(&share, (pvio_grant_ref_t)ref) != 1, 34);
	FAIL_IF(pvio_gnt_share_end_access(&share, (pvio_grant_ref_t)ref) !=
			-PVIO_EBUSY,
		35);
	*gref = (pvio_grant_ref_t)ref;
	return 0;
}

static int teardown(pvio_grant_ref_t ref)
{
	struct pvio_gnt_pcache_victim victims[4];
	struct pvio_gnttab_unmap_grant_ref unmap = {0};
	struct pvio_gnttab_transfer xfer = {0};
	struct pvio_gnt_map_info info;
	uint64_t cursor = 0, id;
	void *shadow;
	uint32_t frame;
	int n, tref;

	/* Backend drops its persistent mapping. */
	n = pvio_gnt_pcache_flush(&pcache, victims, 4);
	FAIL_IF(n != 1 || pvio_gnt_pcache_count(&pcache) != 0, 70);
	FAIL_IF(pvio_gnt_hv_map_info(&dom[BACK_DOM], victims[0].handle,
				     &info) != 0,
		71);
	unmap.handle = victims[0].handle;
	FAIL_IF(pvio_gnt_hv_unmap(&hv, &dom[BACK_DOM], &unmap, &info, 1) != 0,
		72);
	FAIL_IF(unmap.status != GNTST_okay, 73);
	FAIL_IF(pvio_gnt_domain_nr_pinned(&dom[FRONT_DOM]) != 0, 74);

	/* Now the frontend can end the grant. */
	FAIL_IF(pvio_gnt_share_end_access(&share, ref) != 0, 75);
	FAIL_IF(pvio_gnt_share_nr_free(&share) !=
			NR_GNT - GNTTAB_NR_RESERVED_ENTRIES,
		76);

	/* A page flip from the backend into the frontend's pfn 5. */
	tref = pvio_gnt_share_grant_transfer(&share, BACK_DOM, 5);
	FAIL_IF(tref < 0, 77);
	xfer.mfn = 1;
	xfer.domid = FRONT_DOM;
	xfer.ref = (pvio_grant_ref_t)tref;
	FAIL_IF(pvio_gnt_hv_transfer(&hv, &dom[BACK_DOM], &xfer, 1) != 0, 78);
	FAIL_IF(xfer.status != GNTST_okay, 79);
	FAIL_IF(pvio_gnt_share_end_transfer(&share, (pvio_grant_ref_t)tref,
					    &frame) != 0 ||
			frame != 5,
		80);

	/* Nothing in flight to replay. */
	FAIL_IF(pvio_reqid_next_inflight(&reqids, &cursor, &id, &shadow) != 0,
		81);

	/* Event-channel housekeeping: mask, latch, clear, unbind. */
	FAIL_IF(pvio_evtchn_mask(&ev, REQ_PORT) != 0, 82);
	FAIL_IF(pvio_evtchn_is_masked(&ev, REQ_PORT) != 1, 83);
	FAIL_IF(pvio_evtchn_raise(&ev, REQ_PORT) != 0, 84);
	FAIL_IF(pvio_evtchn_clear(&ev, REQ_PORT) != 1, 85);
	FAIL_IF(pvio_evtchn_upcall_disable(&ev) != 0, 86);
	FAIL_IF(pvio_evtchn_upcall_enable(&ev) != 0, 87);
	FAIL_IF(pvio_evtchn_unbind(&ev, REQ_PORT) != 0, 88);
	FAIL_IF(pvio_evtchn_unbind(&ev, RSP_PORT) != 0, 89);

	/* The backend domain dies: nothing of it is left mapped. */
	FAIL_IF(pvio_gnt_hv_release_domain(&hv, &dom[BACK_DOM]) != 0, 90);
	FAIL_IF(!dom[BACK_DOM].dying, 91);
	return 0;
}

/* --- a block read through blkfront's core ---------------------------- */

static uint64_t bfc_mem[512];
static struct pvio_bfc_queue bfq;
static unsigned char blk_ring[XEN_PAGE_SIZE] __attribute__((aligned(4096)));
static struct pvio_ring blk_back;
static int bfc_grants, bfc_notifies;

static int k_bfc_grant(void *ctx, uint32_t frame, bool readonly, uint32_t *gref)
{
	int ref =
		pvio_gnt_share_grant_access(&share, BACK_DOM, frame, readonly);

	(void)ctx;
	if (ref < 0)
		return ref;
	bfc_grants++;
	*gref = (uint32_t)ref;
	return 0;
}

static void k_bfc_release(void *ctx, uint32_t gref)
{
	(void)ctx;
	if (pvio_gnt_share_end_access(&share, gref) == 0)
		bfc_grants--;
}

static void k_bfc_notify(void *ctx)
{
	(void)ctx;
	bfc_notifies++;
}

static const struct pvio_bfc_ops k_bfc_ops = {
	.grant = k_bfc_grant,
	.release = k_bfc_release,
	.notify = k_bfc_notify,
};

/*
 * The guest's disk driver reads 2 KiB into frame 3: the core builds the
 * blkif request, the "backend" answers it, the core checks the response
 * and gives the request back, its grant ended.
 */
static int block_read(void)
{
	struct pvio_bfc_conf conf = {.handle = 51712};
	struct pvio_blkif_request req;
	struct pvio_blkif_response rsp;
	struct pvio_bfc_seg seg;
	struct pvio_bfc_req r = {.op = BLKIF_OP_READ, .sector = 8};
	struct pvio_bfc_done done;
	size_t sz = pvio_bfc_mem_size(8, 11, 0);
	int cookie;

	FAIL_IF(sz == 0 || sz > sizeof(bfc_mem), 100);
	FAIL_IF(pvio_bfc_init(&bfq, bfc_mem, sz, 8, 11, 0, &k_bfc_ops, NULL) !=
			0,
		101);
	FAIL_IF(pvio_bfc_connect(&bfq, blk_ring, sizeof(blk_ring), &conf) != 0,
		102);
	FAIL_IF(pvio_ring_back_attach(&blk_back, blk_ring, sizeof(blk_ring),
				      sizeof(union pvio_blkif_sring_entry),
				      sizeof(req), sizeof(rsp), 0) != 0,
		103);
	FAIL_IF(pvio_bfc_seg_make(3, 1024, 2048, &seg) != 0, 104);
	r.segs = &seg;
	r.nsegs = 1;
	r.cookie = &cookie;
	FAIL_IF(pvio_bfc_submit(&bfq, &r) != 0 || bfc_grants != 1, 105);
	FAIL_IF(pvio_bfc_push(&bfq) < 0 || bfc_notifies != 1, 106);

	FAIL_IF(pvio_ring_back_consume(&blk_back, &req, 1) != 1, 107);
	FAIL_IF(req.operation != BLKIF_OP_READ || req.nr_segments != 1 ||
			req.sector_number != 8 || req.seg[0].first_sect != 2 ||
			req.seg[0].last_sect != 5,
		108);
	rsp = (struct pvio_blkif_response){0}; /* padding zero (XSA-216) */
	rsp.id = req.id;
	rsp.operation = BLKIF_OP_READ;
	rsp.status = BLKIF_RSP_OKAY;
	FAIL_IF(pvio_ring_back_produce(&blk_back, &rsp, 1) != 1, 109);
	FAIL_IF(pvio_ring_back_push(&blk_back) < 0, 110);

	FAIL_IF(pvio_bfc_reap(&bfq, &done, 1) != 1, 111);
	FAIL_IF(done.cookie != &cookie || done.status != 0, 112);
	FAIL_IF(bfc_grants != 0 || pvio_bfc_inflight(&bfq) != 0, 113);
	pvio_bfc_disconnect(&bfq);
	return 0;
}

int pvio_kernel_main(void)
{
	pvio_grant_ref_t ref;
	int rc;

	rc = setup();
	if (!rc)
		rc = round_trip(&ref);
	if (!rc)
		rc = block_read();
	if (!rc)
		rc = teardown(ref);
	return rc;
}
