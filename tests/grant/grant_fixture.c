/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grant_fixture.h"

static struct pvio_gnt_domain *fx_lookup(void *ctx, pvio_domid_t domid)
{
	struct fx *f = ctx;

	/* The core promises never to ask for reserved ids. */
	assert_true(domid < DOMID_FIRST_RESERVED);
	if (f->on_lookup != NULL)
		f->on_lookup(f, domid);
	if (domid >= FX_NDOM || !f->dom[domid].exists)
		return NULL;
	return &f->dom[domid].d;
}

static struct fx_dom *dom_of(struct pvio_gnt_domain *d)
{
	return (struct fx_dom *)((char *)d - offsetof(struct fx_dom, d));
}

static void *fx_frame_ptr(void *ctx, struct pvio_gnt_domain *d, uint32_t frame,
			  bool writable)
{
	struct fx *f = ctx;
	struct fx_dom *fd = dom_of(d);

	assert_true(frame < d->nr_frames);
	f->frame_ptr_calls++;
	if (f->on_frame_ptr != NULL)
		f->on_frame_ptr(f, d, frame, writable);
	if (!fd->present[frame])
		return NULL;
	return fd->mem[frame];
}

/* Move the page into the receiver's first hole. */
static int16_t fx_transfer_page(void *ctx, struct pvio_gnt_domain *from,
				uint32_t frame, struct pvio_gnt_domain *to,
				uint32_t pfn, uint32_t *new_frame)
{
	struct fx *f = ctx;
	struct fx_dom *src = dom_of(from), *dst = dom_of(to);
	uint32_t i;

	(void)pfn;
	/* The core checks the frame against the sender's memory first. */
	assert_true(frame < from->nr_frames);
	f->transfer_calls++;
	if (f->on_transfer != NULL)
		f->on_transfer(f);
	if (f->transfer_rc != GNTST_okay)
		return f->transfer_rc;
	if (!src->present[frame])
		return GNTST_bad_page;
	for (i = 0; i < FX_NFRAMES; i++)
		if (!dst->present[i])
			break;
	if (i == FX_NFRAMES)
		return GNTST_general_error;
	memcpy(dst->mem[i], src->mem[frame], FX_PAGE);
	dst->present[i] = true;
	memset(src->mem[frame], 0, FX_PAGE);
	src->present[frame] = false;
	*new_frame = i;
	return GNTST_okay;
}

struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	pvio_domid_t id;
	uint32_t fr;

	assert_non_null(f);
	f->ops.lookup = fx_lookup;
	f->ops.frame_ptr = fx_frame_ptr;
	f->ops.transfer_page = fx_transfer_page;
	f->transfer_rc = GNTST_okay;
	assert_int_equal(pvio_gnt_hv_init(&f->hv, &f->ops, f), 0);
	for (id = 0; id < FX_NDOM; id++) {
		struct fx_dom *fd = &f->dom[id];

		fd->exists = id != D_MISSING;
		assert_int_equal(pvio_gnt_share_init(&fd->share, fd->table,
						     fd->link, FX_NENT),
				 0);
		assert_int_equal(pvio_gnt_domain_init(&fd->d, id, fd->table,
						      FX_NENT, fd->active,
						      fd->mt, FX_NMT,
						      FX_NFRAMES),
				 0);
		for (fr = 0; fr < FX_NFRAMES; fr++) {
			fd->present[fr] = fr < FX_HOLE;
			if (fd->present[fr])
				memset(fd->mem[fr], (int)(id * 16 + fr),
				       FX_PAGE);
		}
	}
	return f;
}

void fx_free(struct fx *f)
{
	free(f);
}

struct pvio_gnt_domain *fx_d(struct fx *f, pvio_domid_t domid)
{
	return &f->dom[domid].d;
}

struct pvio_gnt_share *fx_share(struct fx *f, pvio_domid_t domid)
{
	return &f->dom[domid].share;
}

struct pvio_grant_entry_v1 *fx_entry(struct fx *f, pvio_domid_t domid,
				     uint32_t ref)
{
	return &f->dom[domid].table[ref];
}

struct pvio_gnt_active *fx_act(struct fx *f, pvio_domid_t domid, uint32_t ref)
{
	return &f->dom[domid].active[ref];
}

unsigned char *fx_page(struct fx *f, pvio_domid_t domid, uint32_t frame)
{
	return f->dom[domid].mem[frame];
}

uint16_t fx_flags(struct fx *f, pvio_domid_t domid, uint32_t ref)
{
	return __atomic_load_n(&f->dom[domid].table[ref].flags,
			       __ATOMIC_ACQUIRE);
}

uint32_t fx_pins(struct fx *f, pvio_domid_t domid, uint32_t ref)
{
	const struct pvio_gnt_active *a = &f->dom[domid].active[ref];

	return (uint32_t)a->hst_w + a->hst_r + a->dev_w + a->dev_r;
}

void fx_snap(struct fx *f, struct fx_snap *s)
{
	pvio_domid_t id;

	memset(s, 0, sizeof(*s));
	for (id = 0; id < FX_NDOM; id++) {
		struct fx_dom *fd = &f->dom[id];

		memcpy(s->dom[id].table, fd->table, sizeof(fd->table));
		memcpy(s->dom[id].active, fd->active, sizeof(fd->active));
		memcpy(s->dom[id].mt, fd->mt, sizeof(fd->mt));
		s->dom[id].mt_head = fd->d.mt_head;
		s->dom[id].mt_tail = fd->d.mt_tail;
		s->dom[id].mt_free = fd->d.mt_free;
		s->dom[id].dying = fd->d.dying;
	}
}

void fx_assert_unchanged(struct fx *f, const struct fx_snap *s)
{
	pvio_domid_t id;

	for (id = 0; id < FX_NDOM; id++) {
		struct fx_dom *fd = &f->dom[id];

		assert_memory_equal(s->dom[id].table, fd->table,
				    sizeof(fd->table));
		assert_memory_equal(s->dom[id].active, fd->active,
				    sizeof(fd->active));
		assert_memory_equal(s->dom[id].mt, fd->mt, sizeof(fd->mt));
		assert_int_equal(s->dom[id].mt_head, fd->d.mt_head);
		assert_int_equal(s->dom[id].mt_tail, fd->d.mt_tail);
		assert_int_equal(s->dom[id].mt_free, fd->d.mt_free);
		assert_int_equal(s->dom[id].dying, fd->d.dying);
	}
}

int16_t fx_map(struct fx *f, pvio_domid_t mapper, pvio_domid_t granter,
	       uint32_t ref, uint32_t flags, pvio_grant_handle_t *handle)
{
	struct pvio_gnttab_map_grant_ref op;

	memset(&op, 0, sizeof(op));
	op.flags = flags;
	op.ref = ref;
	op.dom = granter;
	op.status = 99;
	op.handle = 0xdeadbeef;
	assert_int_equal(pvio_gnt_hv_map(&f->hv, fx_d(f, mapper), &op, NULL, 1),
			 0);
	if (op.status != GNTST_okay)
		assert_int_equal(op.handle, 0xdeadbeef);
	if (handle != NULL)
		*handle = op.handle;
	return op.status;
}

int16_t fx_unmap(struct fx *f, pvio_domid_t mapper, pvio_grant_handle_t h)
{
	struct pvio_gnttab_unmap_grant_ref op;

	memset(&op, 0, sizeof(op));
	op.handle = h;
	op.status = 99;
	assert_int_equal(
		pvio_gnt_hv_unmap(&f->hv, fx_d(f, mapper), &op, NULL, 1), 0);
	return op.status;
}
