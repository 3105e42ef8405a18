/* SPDX-License-Identifier: MIT */
/*
 * A domain process for tests (hvtest_agent_*): opens the domain named by
 * $PVIO_DOMAIN_CRED in $PVIO_RUN_DIR and executes commands from fd 3
 * until EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pvio/domain.h>
#include <pvio/grant.h>

#include "hvtest.h"

#define MAXH 64

struct msg {
	long op, x, y, z;
};
struct res {
	long r0, r1;
};

static struct pvio_dom_map maps[MAXH];
static unsigned char *kept_map;
static int kept_fd = -1;

static struct pvio_dom_map *by_handle(long h)
{
	int i;

	for (i = 0; i < MAXH; i++)
		if (maps[i].addr != NULL && (long)maps[i].handle == h)
			return &maps[i];
	return NULL;
}

static void do_cmd(struct pvio_dom *dom, const struct msg *m, struct res *r)
{
	struct pvio_dom_map *mp;
	int i, rc;

	r->r0 = 0;
	r->r1 = 0;
	switch (m->op) {
	case HVA_DOMID:
		r->r0 = pvio_dom_id(dom);
		break;
	case HVA_MAP:
		for (i = 0; i < MAXH && maps[i].addr != NULL; i++)
			;
		if (i == MAXH) {
			r->r0 = -ENOSPC;
			break;
		}
		memset(&maps[i], 0, sizeof(maps[i]));
		maps[i].dom = (pvio_domid_t)m->x;
		maps[i].ref = (pvio_grant_ref_t)m->y;
		maps[i].flags = m->z ? GNTMAP_readonly : 0;
		rc = pvio_dom_grant_map(dom, &maps[i], 1);
		r->r0 = rc < 0 ? rc : maps[i].status;
		r->r1 = maps[i].handle;
		if (rc < 0 || maps[i].status != GNTST_okay)
			maps[i].addr = NULL;
		break;
	case HVA_UNMAP:
		mp = by_handle(m->x);
		if (mp == NULL) {
			struct pvio_dom_map u = {0};

			u.handle = (pvio_grant_handle_t)m->x;
			rc = pvio_dom_grant_unmap(dom, &u, 1);
			r->r0 = rc < 0 ? rc : u.status;
			break;
		}
		rc = pvio_dom_grant_unmap(dom, mp, 1);
		r->r0 = rc < 0 ? rc : mp->status;
		mp->addr = NULL;
		break;
	case HVA_READ:
		mp = by_handle(m->x);
		r->r0 = mp ? ((unsigned char *)mp->addr)[m->y & 4095] : -ENOENT;
		break;
	case HVA_WRITE:
		mp = by_handle(m->x);
		if (mp)
			((unsigned char *)mp->addr)[m->y & 4095] =
				(unsigned char)m->z;
		r->r0 = mp ? 0 : -ENOENT;
		break;
	case HVA_MPROTECT_RW:
		mp = by_handle(m->x);
		if (mp == NULL)
			r->r0 = -ENOENT;
		else if (mprotect(mp->addr, 4096, PROT_READ | PROT_WRITE) < 0)
			r->r0 = -errno;
		break;
	case HVA_KEEP: {
		char path[128];
		void *p;

		mp = by_handle(m->x);
		if (mp == NULL) {
			r->r0 = -ENOENT;
			break;
		}
		/* old_size 0 on a shared mapping: a second mapping of it */
		p = mremap(mp->addr, 0, 4096, MREMAP_MAYMOVE);
		if (p == MAP_FAILED) {
			r->r0 = -errno;
			break;
		}
		kept_map = p;
		/* And an fd of the page (root may open map_files). */
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
			 (unsigned long)p, (unsigned long)p + 4096);
		kept_fd = open(path, O_RDONLY | O_CLOEXEC);
		r->r1 = kept_fd >= 0;
		break;
	}
	case HVA_READ_KEPT: {
		unsigned char b = 0;

		r->r0 = kept_map ? kept_map[m->y & 4095] : -ENOENT;
		if (kept_fd >= 0 && pread(kept_fd, &b, 1, m->y & 4095) == 1)
			r->r1 = b;
		else
			r->r1 = -1;
		break;
	}
	case HVA_ALLOC: {
		uint32_t pfn;
		int err = 0;

		if (pvio_dom_mem_alloc(dom, (unsigned)m->x, &pfn, &err) == NULL)
			r->r0 = err;
		else
			r->r0 = pfn;
		break;
	}
	case HVA_GRANT: {
		struct pvio_gnt_share *s = pvio_dom_gnttab(dom);

		r->r0 = s ? pvio_gnt_share_grant_access(s, (pvio_domid_t)m->x,
							(uint32_t)m->y,
							m->z != 0)
			  : -EBUSY;
		break;
	}
	case HVA_END:
		r->r0 = pvio_dom_grant_end(dom, (pvio_grant_ref_t)m->x);
		break;
	case HVA_WRITE_OWN: {
		unsigned char *p = pvio_dom_page(dom, (uint32_t)m->x);

		if (p)
			p[m->y & 4095] = (unsigned char)m->z;
		r->r0 = p ? 0 : -ENOENT;
		break;
	}
	case HVA_READ_OWN: {
		unsigned char *p = pvio_dom_page(dom, (uint32_t)m->x);

		r->r0 = p ? p[m->y & 4095] : -ENOENT;
		break;
	}
	default:
		r->r0 = -EINVAL;
	}
}

int main(void)
{
	struct pvio_dom *dom;
	struct msg m;
	struct res r;
	int err = 0;

	dom = pvio_dom_open(NULL, NULL, &err);
	if (dom == NULL) {
		fprintf(stderr, "hvagent: open: %s\n", strerror(-err));
		return 1;
	}
	while (recv(3, &m, sizeof(m), 0) == sizeof(m)) {
		do_cmd(dom, &m, &r);
		if (send(3, &r, sizeof(r), MSG_NOSIGNAL) != sizeof(r))
			break;
	}
	if (kept_fd >= 0)
		close(kept_fd);
	pvio_dom_close(dom);
	return 0;
}
