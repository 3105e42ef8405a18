/* SPDX-License-Identifier: MIT */
/*
 * A small "hypervisor stub" for the libgrant tests: a few domains with
 * their memory, grant tables, active entries and maptracks, and the
 * environment callbacks pvio_gnt_hv needs.  Each domain's grant table
 * array is used both by the domain's own pvio_gnt_share (as the granter
 * writes it) and by the hypervisor side (as it sees it), which is what
 * the real stub arranges through shared memory.
 */
#ifndef GRANT_FIXTURE_H
#define GRANT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "pvio/grant.h"

#define FX_PAGE 4096u
#define FX_NDOM 5     /* domids 0..4 */
#define FX_NENT 32    /* grant entries per domain */
#define FX_NMT 8      /* maptrack slots per domain */
#define FX_NFRAMES 16 /* frames per domain */
/* Frames FX_HOLE.. are holes (no page) until a transfer fills them. */
#define FX_HOLE 12

/* Domids of the test cast. */
#define D_GUEST 1   /* granter */
#define D_BACK 2    /* mapper (backend) */
#define D_OTHER 3   /* a third domain */
#define D_MISSING 4 /* no such domain: lookup returns NULL */

struct fx_dom {
	struct pvio_gnt_domain d;
	struct pvio_grant_entry_v1 table[FX_NENT];
	uint32_t link[FX_NENT];
	struct pvio_gnt_share share;
	struct pvio_gnt_active active[FX_NENT];
	struct pvio_gnt_maptrack mt[FX_NMT];
	unsigned char mem[FX_NFRAMES][FX_PAGE];
	bool present[FX_NFRAMES]; /* a page is there */
	bool exists;
};

struct fx;
typedef void (*fx_frame_hook)(struct fx *f, struct pvio_gnt_domain *d,
			      uint32_t frame, bool writable);
typedef void (*fx_transfer_hook)(struct fx *f);
typedef void (*fx_lookup_hook)(struct fx *f, pvio_domid_t domid);

struct fx {
	struct fx_dom dom[FX_NDOM];
	struct pvio_gnt_hv hv;
	struct pvio_gnt_hv_ops ops;
	/* Observations and knobs for individual tests. */
	int frame_ptr_calls;
	fx_frame_hook on_frame_ptr;
	int transfer_calls;
	int16_t transfer_rc; /* what transfer_page returns (okay default) */
	fx_transfer_hook on_transfer;
	/* Called first thing in every lookup (before the domain is found). */
	fx_lookup_hook on_lookup;
	void *user;
};

/* Everything the hypervisor side may change, to prove nothing did. */
struct fx_snap {
	struct {
		struct pvio_grant_entry_v1 table[FX_NENT];
		struct pvio_gnt_active active[FX_NENT];
		struct pvio_gnt_maptrack mt[FX_NMT];
		uint32_t mt_head, mt_tail, mt_free;
		bool dying;
	} dom[FX_NDOM];
};

/* calloc'ed fixture: domains 0..3 exist, 4 does not. */
struct fx *fx_new(void);
void fx_free(struct fx *f);

struct pvio_gnt_domain *fx_d(struct fx *f, pvio_domid_t domid);
struct pvio_gnt_share *fx_share(struct fx *f, pvio_domid_t domid);
struct pvio_grant_entry_v1 *fx_entry(struct fx *f, pvio_domid_t domid,
				     uint32_t ref);
struct pvio_gnt_active *fx_act(struct fx *f, pvio_domid_t domid, uint32_t ref);
unsigned char *fx_page(struct fx *f, pvio_domid_t domid, uint32_t frame);
uint16_t fx_flags(struct fx *f, pvio_domid_t domid, uint32_t ref);
uint32_t fx_pins(struct fx *f, pvio_domid_t domid, uint32_t ref);

void fx_snap(struct fx *f, struct fx_snap *s);
/* cmocka-fails if anything differs from the snapshot. */
void fx_assert_unchanged(struct fx *f, const struct fx_snap *s);

/* One map / unmap through the batched API; returns the status. */
int16_t fx_map(struct fx *f, pvio_domid_t mapper, pvio_domid_t granter,
	       uint32_t ref, uint32_t flags, pvio_grant_handle_t *handle);
int16_t fx_unmap(struct fx *f, pvio_domid_t mapper, pvio_grant_handle_t h);

#endif /* GRANT_FIXTURE_H */
