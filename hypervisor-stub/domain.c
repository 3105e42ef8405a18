/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv: domains, their memory and grant tables, the grant hypercalls
 * and domain control.  See docs/hv.md for the memory model.
 *
 * Every request payload handed in here is pvio-hv's private copy of the
 * message (hv.c received it into its own buffer and checked its size);
 * fields are still hostile and checked before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "evtchn.h"
#include "hv_internal.h"
#include "xenstore/xsd.h"

#define PAGE PVIO_DOM_PAGE_SIZE

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* ---- pages ------------------------------------------------------------ */

/*
 * A fresh grantable page: its own memfd of exactly one page, sealed so
 * that nobody holding it (a peer that mapped it) can shrink it and make
 * the granter's or our accesses SIGBUS, or grow it.  Mode 0400: a
 * process of our uid that got a read-only fd cannot reopen it writable
 * through /proc/self/fd (the open O_RDWR descriptions keep their access).
 */
static int page_create(pvio_domid_t domid, uint32_t pfn)
{
	char name[48];
	int fd;

	snprintf(name, sizeof(name), "pvio-d%u-p%u", domid, pfn);
	fd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, PAGE) < 0 || fchmod(fd, 0400) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) <
		    0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* A fresh page holding a copy of 'old_fd's content. */
static int page_clone(pvio_domid_t domid, uint32_t pfn, int old_fd)
{
	unsigned char buf[PAGE];
	int fd;

	if (pread(old_fd, buf, PAGE, 0) != (ssize_t)PAGE)
		return -EIO;
	fd = page_create(domid, pfn);
	if (fd < 0)
		return fd;
	if (pwrite(fd, buf, PAGE, 0) != (ssize_t)PAGE) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/*
 * True if some grant entry of 'd' naming a frame in [pfn, pfn + n) is
 * pinned.  One pass over the active entries whatever 'n' is: a guest must
 * not be able to make a request cost pages x entries.
 */
static bool range_pinned(const struct pvio__hv_domain *d, uint32_t pfn,
			 uint32_t n)
{
	uint32_t i;

	for (i = 0; i < d->gnt.nr_entries; i++) {
		const struct pvio_gnt_active *a = &d->active[i];

		if ((a->hst_w | a->hst_r | a->dev_w | a->dev_r) != 0 &&
		    a->frame - pfn < n) /* unsigned: below pfn wraps high */
			return true;
	}
	return false;
}

static bool frame_pinned(const struct pvio__hv_domain *d, uint32_t pfn)
{
	return range_pinned(d, pfn, 1);
}

/* ---- libgrant environment --------------------------------------------- */

static struct pvio_gnt_domain *gnt_lookup(void *ctx, pvio_domid_t domid)
{
	struct pvio__hv *hv = ctx;

	if (domid > PVIO__HV_DOMID_MAX || hv->doms[domid] == NULL)
		return NULL;
	return &hv->doms[domid]->gnt; /* dying too: peers must unmap */
}

/*
 * Copy mappings live for one batch: frame_ptr() mmaps the page and
 * remembers it here, the copy handler unmaps them all afterwards.  Why
 * mmap and not pread/pwrite: libgrant copies between two pointers while
 * both entries are pinned, and a mapping per op costs less than two
 * syscalls plus a bounce buffer anyway.
 */
struct copy_maps {
	void *addr[2 * PVIO_HV_BATCH_MAX];
	unsigned int n;
};
static struct copy_maps *g_copy_maps;

static void *gnt_frame_ptr(void *ctx, struct pvio_gnt_domain *gd,
			   uint32_t frame, bool writable)
{
	struct pvio__hv_domain *d = gd->env;
	void *p;

	(void)ctx, (void)writable;
	if (g_copy_maps == NULL || g_copy_maps->n >= 2 * PVIO_HV_BATCH_MAX ||
	    frame >= d->mem_max_pages || d->pages[frame].fd < 0)
		return NULL;
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 d->pages[frame].fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	g_copy_maps->addr[g_copy_maps->n++] = p;
	return p;
}

static uint32_t first_free_pfn(const struct pvio__hv_domain *d)
{
	uint32_t i;

	for (i = 0; i < d->mem_max_pages; i++)
		if (d->pages[i].fd < 0)
			return i;
	return UINT32_MAX;
}

/*
 * Page flip.  The receiver gets a fresh memfd with the content, not the
 * sender's memfd: the sender's process may have kept a mapping or a dup
 * of it, and must keep nothing of a page that is no longer its own.
 */
static int16_t gnt_transfer_page(void *ctx, struct pvio_gnt_domain *from_gd,
				 uint32_t frame, struct pvio_gnt_domain *to_gd,
				 uint32_t pfn, uint32_t *new_frame)
{
	struct pvio__hv_domain *from = from_gd->env, *to = to_gd->env;
	uint32_t dst;
	int fd;

	(void)ctx;
	if (frame >= from->mem_max_pages || from->pages[frame].fd < 0)
		return GNTST_bad_page;
	/* Xen's steal_page() fails for a page with other references. */
	if (frame_pinned(from, frame))
		return GNTST_bad_page;
	/* Xen: "Transferee has no reservation headroom". */
	if (to->mem_used_pages >= to->mem_max_pages)
		return GNTST_general_error;
	dst = pfn < to->mem_max_pages && to->pages[pfn].fd < 0
		      ? pfn
		      : first_free_pfn(to);
	if (dst == UINT32_MAX)
		return GNTST_general_error;
	fd = page_clone(to->domid, dst, from->pages[frame].fd);
	if (fd < 0)
		return GNTST_general_error;
	close(from->pages[frame].fd);
	from->pages[frame].fd = -1;
	from->pages[frame].exposed = false;
	from->mem_used_pages--;
	to->pages[dst].fd = fd;
	to->pages[dst].exposed = false;
	to->mem_used_pages++;
	*new_frame = dst;
	return GNTST_okay;
}

static const struct pvio_gnt_hv_ops gnt_ops = {
	.lookup = gnt_lookup,
	.frame_ptr = gnt_frame_ptr,
	.transfer_page = gnt_transfer_page,
};

/* ---- domain records --------------------------------------------------- */

static const char *state_name(enum pvio_dom_state s)
{
	switch (s) {
	case PVIO_DOM_CREATED:
		return "created";
	case PVIO_DOM_RUNNING:
		return "running";
	case PVIO_DOM_PAUSED:
		return "paused";
	case PVIO_DOM_DYING:
		return "dying";
	}
	return "?";
}

static void dom_free(struct pvio__hv *hv, struct pvio__hv_domain *d)
{
	uint32_t i;

	for (i = 0; i < d->mem_max_pages; i++)
		if (d->pages[i].fd >= 0)
			close(d->pages[i].fd);
	hv->pool_used -= d->mem_used_pages;
	if (d->gnttab != NULL)
		munmap(d->gnttab, PVIO_HV_GNTTAB_FRAMES * PAGE);
	if (d->gnttab_fd >= 0)
		close(d->gnttab_fd);
	if (d->pidfd >= 0) {
		pvio__hv_epoll_pidfd(hv, d->pidfd, d->domid, false);
		close(d->pidfd);
	}
	free(d->pages);
	free(d->active);
	free(d->maptrack);
	hv->doms[d->domid] = NULL;
	free(d);
}

static int dom_new(struct pvio__hv *hv, pvio_domid_t domid, const char *name,
		   uint32_t mem_pages, struct pvio__hv_domain **out)
{
	struct pvio__hv_domain *d = calloc(1, sizeof(*d));
	uint32_t i;
	int rc = -ENOMEM;

	if (d == NULL)
		return -ENOMEM;
	d->domid = domid;
	d->pidfd = -1;
	d->gnttab_fd = -1;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->mem_max_pages = mem_pages;
	hv->doms[domid] = d;
	d->pages = calloc(mem_pages ? mem_pages : 1, sizeof(*d->pages));
	d->active = calloc(PVIO_HV_GNTTAB_ENTRIES, sizeof(*d->active));
	d->maptrack = calloc(PVIO_HV_MAPTRACK, sizeof(*d->maptrack));
	if (d->pages == NULL || d->active == NULL || d->maptrack == NULL)
		goto fail;
	for (i = 0; i < mem_pages; i++)
		d->pages[i].fd = -1;
	d->gnttab_fd =
		memfd_create("pvio-gnttab", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (d->gnttab_fd < 0 ||
	    ftruncate(d->gnttab_fd, PVIO_HV_GNTTAB_FRAMES * PAGE) < 0 ||
	    fcntl(d->gnttab_fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		rc = -errno;
		goto fail;
	}
	d->gnttab = mmap(NULL, PVIO_HV_GNTTAB_FRAMES * PAGE,
			 PROT_READ | PROT_WRITE, MAP_SHARED, d->gnttab_fd, 0);
	if (d->gnttab == MAP_FAILED) {
		d->gnttab = NULL;
		rc = -errno;
		goto fail;
	}
	rc = pvio_gnt_domain_init(&d->gnt, domid, d->gnttab,
				  PVIO_HV_GNTTAB_ENTRIES, d->active,
				  d->maptrack, PVIO_HV_MAPTRACK, mem_pages);
	if (rc < 0)
		goto fail;
	d->gnt.env = d;
	*out = d;
	return 0;
fail:
	dom_free(hv, d);
	return rc;
}

struct pvio__hv_domain *pvio__hv_domain_get(struct pvio__hv *hv, uint32_t domid)
{
	struct pvio__hv_domain *d;

	if (domid > PVIO__HV_DOMID_MAX)
		return NULL;
	d = hv->doms[domid];
	return d != NULL && d->state != PVIO_DOM_DYING ? d : NULL;
}

/* Free a dying domain once nobody maps its grants any more. */
static void dom_try_free(struct pvio__hv *hv, struct pvio__hv_domain *d)
{
	if (d == NULL || d->state != PVIO_DOM_DYING ||
	    pvio_gnt_domain_nr_pinned(&d->gnt) != 0)
		return;
	pvio__hv_log(hv, d->domid, "released (\"%s\")", d->name);
	dom_free(hv, d);
}

static void try_free_all_dying(struct pvio__hv *hv)
{
	uint32_t i;

	for (i = 1; i <= PVIO__HV_DOMID_MAX; i++)
		if (hv->doms[i] != NULL && hv->doms[i]->state == PVIO_DOM_DYING)
			dom_try_free(hv, hv->doms[i]);
}

/*
 * The one release path of death and destroy.  Afterwards the credential
 * fails (stale), the connections are closed, its mappings of others'
 * grants and its ports are gone, its xenstore subtree is removed, its
 * memory is given back.  The record itself stays (state dying) while
 * other domains still map its grants, so that they can unmap.
 */
static void dom_kill(struct pvio__hv *hv, struct pvio__hv_domain *d,
		     const char *why)
{
	struct pvio__hv_conn *c;
	uint32_t i;
	int maps, rc;

	if (d->state == PVIO_DOM_DYING)
		return;
	d->state = PVIO_DOM_DYING;
	d->cred_valid = false;
	if (d->pgrp_leader) {
		/*
		 * A guest that dies leaves its background processes (a FUSE
		 * server, say) holding a dead credential.  Linux never hands
		 * out a pid that is still some group's id, so while members
		 * remain this reaches only them; once none remain the call
		 * finds nothing (ESRCH), as this runs when the pidfd reports
		 * the death, long before the pid could be reused by a new
		 * group leader.
		 */
		if (kill(-d->pid, SIGKILL) < 0 && errno != ESRCH)
			pvio__hv_log(hv, d->domid,
				     "killing process group %d: %s", d->pid,
				     strerror(errno));
		d->pgrp_leader = false;
	}
	if (d->pidfd >= 0) {
		pvio__hv_epoll_pidfd(hv, d->pidfd, d->domid, false);
		close(d->pidfd);
		d->pidfd = -1;
	}
	/* Detach: hv.c closes them after this loop iteration. */
	while ((c = d->conns) != NULL) {
		d->conns = c->dom_next;
		c->dom_next = NULL;
		c->dom = NULL;
		c->dead = true;
	}
	d->gnttab_owner = NULL;
	maps = pvio_gnt_hv_release_domain(&hv->gnt, &d->gnt);
	pvio__hv_evtchn_domain_release(hv, d);
	rc = pvio_xsd_release(hv->xsd, d->domid);
	if (rc < 0)
		pvio__hv_log(hv, d->domid, "xenstore release: %s",
			     strerror(-rc));
	/* Peers that map its pages keep their own mappings of them. */
	for (i = 0; i < d->mem_max_pages; i++) {
		if (d->pages[i].fd >= 0) {
			close(d->pages[i].fd);
			d->pages[i].fd = -1;
		}
	}
	hv->pool_used -= d->mem_used_pages;
	d->mem_used_pages = 0;
	pvio__hv_log(hv, d->domid,
		     "%s (\"%s\"): %d mappings released, %u own grants still "
		     "mapped by others",
		     why, d->name, maps, pvio_gnt_domain_nr_pinned(&d->gnt));
	/*
	 * Its unmaps may have been the last pins on dying granters; 'd'
	 * itself is one of the dying (freed here if nobody maps its grants;
	 * do not touch it afterwards).
	 */
	try_free_all_dying(hv);
}

int pvio__hv_domains_init(struct pvio__hv *hv)
{
	struct pvio__hv_domain *d0;
	int rc;

	hv->doms = calloc(PVIO__HV_DOMID_MAX + 1, sizeof(*hv->doms));
	if (hv->doms == NULL)
		return -ENOMEM;
	rc = pvio_gnt_hv_init(&hv->gnt, &gnt_ops, hv);
	if (rc < 0)
		return rc;
	hv->next_domid = 1;
	rc = dom_new(hv, 0, "Domain-0", hv->pool_pages, &d0);
	if (rc < 0)
		return rc;
	d0->state = PVIO_DOM_RUNNING;
	d0->pid = (int)getpid();
	return 0;
}

void pvio__hv_domains_fini(struct pvio__hv *hv)
{
	uint32_t i;

	if (hv->doms == NULL)
		return;
	for (i = 1; i <= PVIO__HV_DOMID_MAX; i++) {
		struct pvio__hv_domain *d = hv->doms[i];

		if (d == NULL || d->state == PVIO_DOM_DYING)
			continue;
		if (d->pidfd >= 0)
			sys_pidfd_send_signal(d->pidfd, SIGKILL);
		dom_kill(hv, d, "destroyed at shutdown");
	}
	/* What is left is pinned by dom0's mappings or by other dying ones. */
	if (hv->doms[0] != NULL) {
		struct pvio__hv_domain *d0 = hv->doms[0];
		struct pvio__hv_conn *c;

		while ((c = d0->conns) != NULL) {
			d0->conns = c->dom_next;
			c->dom = NULL;
			c->dead = true;
		}
		pvio_gnt_hv_release_domain(&hv->gnt, &d0->gnt);
		d0->gnttab_owner = NULL;
	}
	for (i = 0; i <= PVIO__HV_DOMID_MAX; i++)
		if (hv->doms[i] != NULL)
			dom_free(hv, hv->doms[i]);
	free(hv->doms);
	hv->doms = NULL;
}

/* ---- connections ------------------------------------------------------ */

/* True if no grant of 'd' is in use: a new owner may reinitialise it. */
static bool gnttab_idle(const struct pvio__hv_domain *d)
{
	uint32_t i;

	for (i = GNTTAB_NR_RESERVED_ENTRIES; i < d->gnt.nr_entries; i++)
		if (__atomic_load_n(&d->gnttab[i].flags, __ATOMIC_RELAXED) != 0)
			return false;
	return pvio_gnt_domain_nr_pinned(&d->gnt) == 0;
}

void pvio__hv_dom_conn_gone(struct pvio__hv *hv, struct pvio__hv_conn *c)
{
	struct pvio__hv_domain *d = c->dom;
	struct pvio__hv_conn **pp;

	(void)hv;
	for (pp = &d->conns; *pp != NULL; pp = &(*pp)->dom_next) {
		if (*pp == c) {
			*pp = c->dom_next;
			break;
		}
	}
	if (d->gnttab_owner == c) {
		/*
		 * The table's free list lived in that process.  If grants are
		 * still in use nobody else can take the table over (it would
		 * not know which refs are taken): it stays orphaned, as in a
		 * domain whose kernel lost its grant state.
		 */
		d->gnttab_owner = NULL;
		d->gnttab_orphaned = !gnttab_idle(d);
		if (d->gnttab_orphaned)
			pvio__hv_log(hv, d->domid,
				     "grant table owner left with grants in "
				     "use: table orphaned");
	}
	c->dom = NULL;
}

void pvio__hv_dom_pidfd_ready(struct pvio__hv *hv, uint32_t domid)
{
	struct pvio__hv_domain *d = pvio__hv_domain_get(hv, domid);

	if (d != NULL && d->domid != 0)
		dom_kill(hv, d, "died");
}

/* "<domid>:<64 hex>" -> domid and token; false if malformed. */
static bool parse_cred(const char *s, uint32_t *domid, uint8_t token[32])
{
	unsigned long v = 0;
	int i, digits = 0;

	while (*s >= '0' && *s <= '9' && digits < 6) {
		v = v * 10 + (unsigned long)(*s++ - '0');
		digits++;
	}
	if (digits == 0 || *s++ != ':' || v == 0 || v > PVIO__HV_DOMID_MAX)
		return false;
	for (i = 0; i < 64; i++) {
		char ch = s[i];
		int x;

		if (ch >= '0' && ch <= '9')
			x = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			x = ch - 'a' + 10;
		else
			return false;
		if (i % 2 == 0)
			token[i / 2] = (uint8_t)(x << 4);
		else
			token[i / 2] |= (uint8_t)x;
	}
	if (s[64] != '\0')
		return false;
	*domid = (uint32_t)v;
	return true;
}

int pvio__hv_hello(struct pvio__hv *hv, struct pvio__hv_conn *c,
		   const void *payload, struct pvio__hv_reply *r)
{
	struct pvio__hv_hello hello;
	struct pvio__hv_hello_reply *rep = r->buf;
	struct pvio__hv_domain *d;
	uint8_t token[32], diff = 0;
	uint32_t domid;
	unsigned int i;

	memcpy(&hello, payload, sizeof(hello));
	hello.cred[sizeof(hello.cred) - 1] = '\0';
	if (hello.magic != PVIO_HV_MAGIC ||
	    hello.version != PVIO_HV_PROTO_VERSION) {
		pvio__hv_log(hv, -1,
			     "connection %llu: protocol mismatch, refused",
			     (unsigned long long)c->id);
		return -EPERM;
	}
	if (hello.cred[0] == '\0') {
		struct ucred uc;
		socklen_t sl = sizeof(uc);

		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &sl) < 0 ||
		    (uc.uid != 0 && uc.uid != getuid())) {
			pvio__hv_log(hv, -1,
				     "connection %llu: dom0 refused to uid %d",
				     (unsigned long long)c->id,
				     sl == sizeof(uc) ? (int)uc.uid : -1);
			return -EPERM;
		}
		d = hv->doms[0];
	} else {
		if (!parse_cred(hello.cred, &domid, token)) {
			pvio__hv_log(hv, -1,
				     "connection %llu: malformed credential "
				     "refused",
				     (unsigned long long)c->id);
			return -EPERM;
		}
		d = pvio__hv_domain_get(hv, domid);
		/* Constant time: the comparison leaks nothing of the token. */
		for (i = 0; i < 32; i++)
			diff |= (uint8_t)(token[i] ^
					  (d != NULL ? d->token[i] : 0xA5));
		if (d == NULL || !d->cred_valid || diff != 0) {
			pvio__hv_log(hv, (int)domid,
				     "connection %llu: credential refused "
				     "(%s)",
				     (unsigned long long)c->id,
				     d == NULL ? "no such domain" : "forged");
			return -EPERM;
		}
	}
	c->dom = d;
	c->dom_next = d->conns;
	d->conns = c;
	memset(rep, 0, sizeof(*rep));
	rep->domid = d->domid;
	rep->mem_max_pages = d->mem_max_pages;
	rep->mem_used_pages = d->mem_used_pages;
	rep->hv_version = PVIO_HV_VERSION;
	r->len = sizeof(*rep);
	return 0;
}

/* ---- simple ops ------------------------------------------------------- */

PVIO__HV_HANDLER(pvio__hv_op_version)
{
	uint32_t v = PVIO_HV_VERSION;

	(void)hv, (void)c, (void)h, (void)payload, (void)len;
	memcpy(r->buf, &v, sizeof(v));
	r->len = sizeof(v);
	return 0;
}

PVIO__HV_HANDLER(pvio__hv_op_xs_open)
{
	int sv[2], rc;

	(void)h, (void)payload, (void)len;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	rc = pvio_xsd_add_conn(hv->xsd, sv[0], c->dom->domid);
	if (rc < 0) {
		close(sv[1]);
		return rc;
	}
	return pvio__hv_reply_fd(r, sv[1], true);
}

/* ---- memory ----------------------------------------------------------- */

PVIO__HV_HANDLER(pvio__hv_op_mem_alloc)
{
	struct pvio__hv_domain *d = c->dom;
	struct pvio__hv_mem_alloc req;
	struct pvio__hv_mem_alloc_reply rep = {0};
	uint32_t i, run = 0, start = 0;
	int fd;

	(void)h, (void)len;
	memcpy(&req, payload, sizeof(req));
	if (req.n == 0 || req.n > PVIO_HV_BATCH_MAX)
		return -EINVAL;
	if (req.n > d->mem_max_pages - d->mem_used_pages ||
	    req.n > hv->pool_pages - hv->pool_used)
		return -ENOMEM;
	/* First fit of n consecutive free frames. */
	for (i = 0; i < d->mem_max_pages && run < req.n; i++) {
		if (d->pages[i].fd >= 0) {
			run = 0;
		} else {
			if (run == 0)
				start = i;
			run++;
		}
	}
	if (run < req.n)
		return -ENOMEM; /* fragmented */
	for (i = 0; i < req.n; i++) {
		fd = page_create(d->domid, start + i);
		if (fd < 0) {
			while (i-- > 0) {
				close(d->pages[start + i].fd);
				d->pages[start + i].fd = -1;
			}
			r->nfds = 0;
			return fd;
		}
		d->pages[start + i].fd = fd;
		d->pages[start + i].exposed = false;
		pvio__hv_reply_fd(r, fd, false);
	}
	d->mem_used_pages += req.n;
	hv->pool_used += req.n;
	rep.pfn = start;
	memcpy(r->buf, &rep, sizeof(rep));
	r->len = sizeof(rep);
	return 0;
}

static int check_range(const struct pvio__hv_domain *d,
		       const struct pvio__hv_mem_range *m)
{
	if (m->n == 0 || m->pfn >= d->mem_max_pages ||
	    m->n > d->mem_max_pages - m->pfn)
		return -EINVAL;
	return 0;
}

PVIO__HV_HANDLER(pvio__hv_op_mem_free)
{
	struct pvio__hv_domain *d = c->dom;
	struct pvio__hv_mem_range req;
	uint32_t i;

	(void)h, (void)len, (void)r;
	memcpy(&req, payload, sizeof(req));
	if (check_range(d, &req) < 0)
		return -EINVAL;
	for (i = 0; i < req.n; i++)
		if (d->pages[req.pfn + i].fd < 0)
			return -EINVAL;
	/* A page someone maps through a grant cannot go (Xen would keep
	 * a reference; we keep it simple and refuse). */
	if (range_pinned(d, req.pfn, req.n))
		return -EBUSY;
	for (i = 0; i < req.n; i++) {
		close(d->pages[req.pfn + i].fd);
		d->pages[req.pfn + i].fd = -1;
		d->pages[req.pfn + i].exposed = false;
	}
	d->mem_used_pages -= req.n;
	hv->pool_used -= req.n;
	return 0;
}

PVIO__HV_HANDLER(pvio__hv_op_mem_get)
{
	struct pvio__hv_domain *d = c->dom;
	struct pvio__hv_mem_range req;
	uint8_t *present = r->buf;
	uint32_t i;

	(void)hv, (void)h, (void)len;
	memcpy(&req, payload, sizeof(req));
	if (check_range(d, &req) < 0 || req.n > PVIO_HV_BATCH_MAX)
		return -EINVAL;
	for (i = 0; i < req.n; i++) {
		int fd = d->pages[req.pfn + i].fd;

		present[i] = fd >= 0;
		if (fd >= 0)
			pvio__hv_reply_fd(r, fd, false);
	}
	r->len = req.n;
	r->count = req.n;
	return 0;
}

/* ---- own grant table -------------------------------------------------- */

PVIO__HV_HANDLER(pvio__hv_op_gnttab_setup)
{
	struct pvio__hv_domain *d = c->dom;
	struct pvio__hv_gnttab_reply rep = {PVIO_HV_GNTTAB_ENTRIES};
	int fd;

	(void)hv, (void)h, (void)payload, (void)len;
	if (d->gnttab_orphaned && gnttab_idle(d))
		d->gnttab_orphaned = false;
	/* One manager: the free list is private to the process. */
	if ((d->gnttab_owner != NULL && d->gnttab_owner != c) ||
	    d->gnttab_orphaned)
		return -EBUSY;
	fd = fcntl(d->gnttab_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	d->gnttab_owner = c;
	memcpy(r->buf, &rep, sizeof(rep));
	r->len = sizeof(rep);
	return pvio__hv_reply_fd(r, fd, true);
}

PVIO__HV_HANDLER(pvio__hv_op_retire)
{
	struct pvio__hv_domain *d = c->dom;
	struct pvio__hv_retire req;
	struct pvio__hv_retire_reply rep = {0};
	struct pvio__hv_page *pg;
	int fd;

	(void)h, (void)len;
	memcpy(&req, payload, sizeof(req));
	if (req.pfn >= d->mem_max_pages || d->pages[req.pfn].fd < 0)
		return -EINVAL;
	pg = &d->pages[req.pfn];
	/*
	 * Another grant of the same frame still mapped: that peer is
	 * entitled to see later writes, so the swap waits for the grant end
	 * that leaves the frame unmapped (the page stays exposed).
	 */
	if (pg->exposed && !frame_pinned(d, req.pfn)) {
		fd = page_clone(d->domid, req.pfn, pg->fd);
		if (fd < 0)
			return fd;
		close(pg->fd);
		pg->fd = fd;
		pg->exposed = false;
		rep.swapped = 1;
		pvio__hv_reply_fd(r, fd, false);
		pvio__hv_log(hv, d->domid, "frame %u retired", req.pfn);
	}
	memcpy(r->buf, &rep, sizeof(rep));
	r->len = sizeof(rep);
	return 0;
}

/* ---- grant ops -------------------------------------------------------- */

/*
 * The fd a mapper gets: the page's own (read-write) description for a
 * writable map; for a read-only map a new read-only description of the
 * same memfd, so mmap(PROT_WRITE) and mprotect(PROT_WRITE) of it fail
 * in the mapper's kernel.
 */
static int map_fd(int page_fd, bool readonly, bool *owned)
{
	char path[64];
	int fd;

	if (!readonly) {
		*owned = false;
		return page_fd;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", page_fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*owned = true;
	return fd;
}

PVIO__HV_HANDLER(pvio__hv_op_map)
{
	const struct pvio__hv_map_op *in = payload;
	struct pvio__hv_map_res *res = r->buf;
	struct pvio_gnttab_map_grant_ref ops[PVIO_HV_BATCH_MAX];
	uint32_t frames[PVIO_HV_BATCH_MAX];
	uint32_t i, n = h->count;

	(void)len;
	for (i = 0; i < n; i++) {
		struct pvio__hv_map_op o;

		memcpy(&o, &in[i], sizeof(o));
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].flags = GNTMAP_host_map | (o.flags & GNTMAP_readonly);
		ops[i].ref = o.ref;
		/* An out-of-range domid names no domain: bad_domain. */
		ops[i].dom = o.dom <= 0xFFFF ? (pvio_domid_t)o.dom
					     : (pvio_domid_t)DOMID_INVALID;
		if ((o.flags & ~(uint32_t)GNTMAP_readonly) != 0)
			ops[i].flags = 0; /* libgrant: bad_gntref */
	}
	pvio_gnt_hv_map(&hv->gnt, &c->dom->gnt, ops, frames, n);
	for (i = 0; i < n; i++) {
		res[i].status = ops[i].status;
		res[i].handle = ops[i].handle;
		if (ops[i].status != GNTST_okay)
			continue;
		struct pvio_gnt_domain *gd = gnt_lookup(hv, ops[i].dom);
		struct pvio__hv_domain *g = gd->env;
		bool ro = (ops[i].flags & GNTMAP_readonly) != 0, owned = false;
		int fd = -EINVAL;

		if (frames[i] < g->mem_max_pages && g->pages[frames[i]].fd >= 0)
			fd = map_fd(g->pages[frames[i]].fd, ro, &owned);
		if (fd < 0) {
			/* Granted frame not allocated: undo the pin. */
			struct pvio_gnttab_unmap_grant_ref u = {0};

			u.handle = ops[i].handle;
			pvio_gnt_hv_unmap(&hv->gnt, &c->dom->gnt, &u, NULL, 1);
			res[i].status = fd == -EINVAL ? GNTST_bad_page
						      : GNTST_general_error;
			res[i].handle = 0;
			continue;
		}
		g->pages[frames[i]].exposed = true;
		pvio__hv_reply_fd(r, fd, owned);
	}
	r->len = n * sizeof(*res);
	r->count = n;
	return 0;
}

PVIO__HV_HANDLER(pvio__hv_op_unmap)
{
	const uint32_t *handles = payload;
	int32_t *status = r->buf;
	struct pvio_gnttab_unmap_grant_ref ops[PVIO_HV_BATCH_MAX];
	struct pvio_gnt_map_info info[PVIO_HV_BATCH_MAX];
	uint32_t i, n = h->count;

	(void)len;
	memset(ops, 0, n * sizeof(ops[0]));
	for (i = 0; i < n; i++)
		memcpy(&ops[i].handle, &handles[i], sizeof(uint32_t));
	pvio_gnt_hv_unmap(&hv->gnt, &c->dom->gnt, ops, info, n);
	for (i = 0; i < n; i++) {
		status[i] = ops[i].status;
		if (ops[i].status == GNTST_okay)
			dom_try_free(hv, hv->doms[info[i].domid]);
	}
	r->len = n * sizeof(*status);
	r->count = n;
	return 0;
}

PVIO__HV_HANDLER(pvio__hv_op_copy)
{
	static struct copy_maps maps;
	struct pvio_gnttab_copy ops[PVIO_HV_BATCH_MAX];
	int32_t *status = r->buf;
	uint32_t i, n = h->count;

	(void)len;
	memcpy(ops, payload, n * sizeof(ops[0]));
	maps.n = 0;
	g_copy_maps = &maps;
	pvio_gnt_hv_copy(&hv->gnt, &c->dom->gnt, ops, n);
	g_copy_maps = NULL;
	for (i = 0; i < maps.n; i++)
		munmap(maps.addr[i], PAGE);
	for (i = 0; i < n; i++)
		status[i] = ops[i].status;
	r->len = n * sizeof(*status);
	r->count = n;
	return 0;
}

PVIO__HV_HANDLER(pvio__hv_op_transfer)
{
	struct pvio_gnttab_transfer ops[PVIO_HV_BATCH_MAX];
	int32_t *status = r->buf;
	uint32_t i, n = h->count;

	(void)len;
	memcpy(ops, payload, n * sizeof(ops[0]));
	pvio_gnt_hv_transfer(&hv->gnt, &c->dom->gnt, ops, n);
	for (i = 0; i < n; i++) {
		status[i] = ops[i].status;
		if (ops[i].status == GNTST_okay)
			pvio__hv_log(hv, c->dom->domid,
				     "frame %llu transferred to d%u",
				     (unsigned long long)ops[i].mfn,
				     ops[i].domid);
	}
	r->len = n * sizeof(*status);
	r->count = n;
	return 0;
}

/* ---- domain control (dom0) -------------------------------------------- */

/* A name: 1..63 bytes of printable ASCII, NUL-terminated in its buffer. */
static bool name_ok(const char *name, size_t cap)
{
	size_t i, n = strnlen(name, cap);

	if (n == 0 || n == cap)
		return false;
	for (i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

static struct pvio__hv_domain *find_name(struct pvio__hv *hv, const char *name)
{
	uint32_t i;

	for (i = 0; i <= PVIO__HV_DOMID_MAX; i++) {
		struct pvio__hv_domain *d = hv->doms[i];

		if (d != NULL && d->state != PVIO_DOM_DYING &&
		    strcmp(d->name, name) == 0)
			return d;
	}
	return NULL;
}

PVIO__HV_HANDLER(pvio__hv_op_ctl_create)
{
	struct pvio__hv_ctl_create req;
	struct pvio__hv_ctl_create_reply rep;
	struct pvio__hv_domain *d;
	uint32_t domid, tries;
	int rc, i;

	(void)c, (void)h, (void)len;
	memcpy(&req, payload, sizeof(req));
	if (!name_ok(req.name, sizeof(req.name)) ||
	    req.mem_pages > hv->pool_pages)
		return -EINVAL;
	if (find_name(hv, req.name) != NULL)
		return -EEXIST;
	/* Round robin: a just-freed domid is reused as late as possible. */
	domid = hv->next_domid;
	for (tries = 0; tries < PVIO__HV_DOMID_MAX; tries++) {
		if (hv->doms[domid] == NULL)
			break;
		domid = domid == PVIO__HV_DOMID_MAX ? 1 : domid + 1;
	}
	if (tries == PVIO__HV_DOMID_MAX)
		return -ENOSPC;
	rc = dom_new(hv, (pvio_domid_t)domid, req.name, req.mem_pages, &d);
	if (rc < 0)
		return rc;
	if (getrandom(d->token, sizeof(d->token), 0) !=
	    (ssize_t)sizeof(d->token)) {
		rc = -errno;
		dom_free(hv, d);
		return rc;
	}
	d->cred_valid = true;
	hv->next_domid = domid == PVIO__HV_DOMID_MAX ? 1 : domid + 1;
	memset(&rep, 0, sizeof(rep));
	rep.domid = domid;
	i = snprintf(rep.cred, sizeof(rep.cred), "%u:", domid);
	for (unsigned int k = 0; k < sizeof(d->token); k++)
		i += snprintf(rep.cred + i, sizeof(rep.cred) - (size_t)i,
			      "%02x", d->token[k]);
	rc = pvio_xsd_introduce(hv->xsd, domid);
	if (rc < 0)
		pvio__hv_log(hv, (int)domid, "xenstore introduce: %s",
			     strerror(-rc));
	pvio__hv_log(hv, (int)domid, "created \"%s\", %u pages", d->name,
		     d->mem_max_pages);
	memcpy(r->buf, &rep, sizeof(rep));
	r->len = sizeof(rep);
	return 0;
}

static struct pvio__hv_domain *ctl_target(struct pvio__hv *hv,
					  const void *payload,
					  struct pvio__hv_ctl_dom *req)
{
	memcpy(req, payload, sizeof(*req));
	if (req->domid == 0) /* dom0 is not controlled through itself */
		return NULL;
	return pvio__hv_domain_get(hv, req->domid);
}

PVIO__HV_HANDLER(pvio__hv_op_ctl_set_pid)
{
	struct pvio__hv_ctl_dom req;
	struct pvio__hv_domain *d = ctl_target(hv, payload, &req);
	int fd, rc;

	(void)c, (void)h, (void)len, (void)r;
	if (d == NULL)
		return -ESRCH;
	if (req.pid <= 0)
		return -EINVAL;
	if (d->pidfd >= 0)
		return -EBUSY;
	fd = sys_pidfd_open(req.pid);
	if (fd < 0)
		return -errno;
	rc = pvio__hv_epoll_pidfd(hv, fd, d->domid, true);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	d->pidfd = fd;
	d->pid = req.pid;
	/* Asked after pidfd_open succeeded: if the process died in between,
	 * its pidfd is already readable and dom_kill follows at once. */
	d->pgrp_leader = getpgid(req.pid) == req.pid;
	d->state = PVIO_DOM_RUNNING;
	pvio__hv_log(hv, d->domid, "process %d registered", req.pid);
	return 0;
}

PVIO__HV_HANDLER(pvio__hv_op_ctl_destroy)
{
	struct pvio__hv_ctl_dom req;
	struct pvio__hv_domain *d = ctl_target(hv, payload, &req);

	(void)c, (void)h, (void)len, (void)r;
	if (d == NULL)
		return -ESRCH;
	if (d->pidfd >= 0 && sys_pidfd_send_signal(d->pidfd, SIGKILL) < 0 &&
	    errno != ESRCH)
		pvio__hv_log(hv, d->domid, "SIGKILL failed: %s",
			     strerror(errno));
	dom_kill(hv, d, "destroyed");
	return 0;
}

static int pause_common(struct pvio__hv *hv, const void *payload, bool pause)
{
	struct pvio__hv_ctl_dom req;
	struct pvio__hv_domain *d = ctl_target(hv, payload, &req);

	if (d == NULL)
		return -ESRCH;
	if (d->pidfd < 0)
		return -ESRCH; /* no process to stop */
	if (sys_pidfd_send_signal(d->pidfd, pause ? SIGSTOP : SIGCONT) < 0)
		return -errno;
	d->state = pause ? PVIO_DOM_PAUSED : PVIO_DOM_RUNNING;
	pvio__hv_log(hv, d->domid, "%s", pause ? "paused" : "unpaused");
	return 0;
}

PVIO__HV_HANDLER(pvio__hv_op_ctl_pause)
{
	(void)c, (void)h, (void)len, (void)r;
	return pause_common(hv, payload, true);
}

PVIO__HV_HANDLER(pvio__hv_op_ctl_unpause)
{
	(void)c, (void)h, (void)len, (void)r;
	return pause_common(hv, payload, false);
}

PVIO__HV_HANDLER(pvio__hv_op_ctl_list)
{
	struct pvio__hv_ctl_list req;
	struct pvio__hv_ctl_list_reply rep = {0};
	struct pvio_dom_info *info = (void *)((uint8_t *)r->buf + sizeof(rep));
	uint32_t i, n = 0, max;

	(void)c, (void)h, (void)len;
	memcpy(&req, payload, sizeof(req));
	max = req.max < PVIO_HV_LIST_MAX ? req.max : PVIO_HV_LIST_MAX;
	for (i = 0; i <= PVIO__HV_DOMID_MAX; i++) {
		struct pvio__hv_domain *d = hv->doms[i];

		if (d == NULL)
			continue;
		rep.total++;
		if (i < req.first || n >= max)
			continue;
		memset(&info[n], 0, sizeof(info[n]));
		info[n].domid = d->domid;
		snprintf(info[n].name, sizeof(info[n].name), "%s", d->name);
		info[n].state = d->state;
		info[n].pid = d->pid;
		info[n].mem_max_pages = d->mem_max_pages;
		info[n].mem_used_pages = d->mem_used_pages;
		info[n].grants_mapped = pvio_gnt_domain_nr_maps(&d->gnt);
		info[n].evtchn_open = pvio__hv_evtchn_nr_open(d);
		n++;
	}
	memcpy(r->buf, &rep, sizeof(rep));
	r->len = sizeof(rep) + n * sizeof(*info);
	r->count = n;
	(void)state_name;
	return 0;
}

PVIO__HV_HANDLER(pvio__hv_op_ctl_lookup)
{
	struct pvio__hv_ctl_lookup req;
	struct pvio__hv_ctl_lookup_reply rep = {0};
	struct pvio__hv_domain *d;

	(void)c, (void)h, (void)len;
	memcpy(&req, payload, sizeof(req));
	if (!name_ok(req.name, sizeof(req.name)))
		return -EINVAL;
	d = find_name(hv, req.name);
	if (d == NULL)
		return -ENOENT;
	rep.domid = d->domid;
	memcpy(r->buf, &rep, sizeof(rep));
	r->len = sizeof(rep);
	return 0;
}
