/* SPDX-License-Identifier: MIT */
/*
 * pvio_xsd: an in-memory xenstore daemon speaking the xenstored socket
 * protocol with Xen 4.17's C xenstored semantics.
 *
 * Design
 * ------
 * One thread, one epoll fd (pvio_xsd_fd()) holding the listening socket
 * and every connection; pvio_xsd_dispatch() never blocks.  Files:
 *   xsd.c          the daemon object, domains coming and going, dispatch
 *   conn.c         the wire: framing, output queues, back-pressure, drops
 *   ops.c          one handler per message type (argument/errno rules)
 *   transaction.c  transactions, and the single path all tree ops take
 *   tree.c         the committed tree, permissions, per-domain accounting
 *   watch.c        watches, their quota, firing with permission checks
 *   util.c         path rules, perm strings, helpers
 *
 * Every tree operation runs against a transaction: the client's, or a
 * "oneshot" one that commits immediately.  A transaction copies the nodes
 * it touches and records the generation it saw; commit fails with EAGAIN
 * if any of them changed (see transaction.c).  So there is one
 * implementation of read/write/mkdir/rm/set_perms, with and without
 * transactions, and a failed operation leaves no trace (checks first,
 * then mutation of private copies, then commit).
 *
 * Identity: connections accepted on the listening socket are dom0 (the
 * socket is mode 0600); pvio-hv hands each domain's socketpair in with
 * pvio_xsd_add_conn().  dom0 bypasses permission checks and, as in Xen,
 * the node, watch, transaction and perms-count quotas; every other domain
 * is checked on every request.
 *
 * Quotas (struct pvio_xsd_quota, Xen 4.17 defaults):
 *   nodes_per_domain 1000   nodes owned by the domain; a create that
 *                           would pass it fails ENOSPC
 *   watches_per_domain 128  registrations per domain, then E2BIG (as
 *                           Xen's do_watch())
 *   value_bytes 2048        Xen's record size (24 + 8 * perms + value +
 *                           child names) must stay below it, else ENOSPC
 *   transactions 10         open per connection, then ENOSPC
 *   perms_per_node 5        SET_PERMS with more entries: ENOSPC
 *   outstanding 20          unsent replies before we stop reading
 *   memory_bytes 2 MiB      node and watch bytes per domain (ENOMEM), and
 *                           the cap of a domain connection's output
 *                           queue (8x for dom0) before it is dropped
 *
 * Choices where Xen is ambiguous or where pvio differs, on purpose:
 *  - Quotas are exact: 128 watches, 10 transactions (Xen's checks use
 *    '>' and allow one more).
 *  - Watch events reach a connection only if it may read the node, with
 *    its perms at the time of the change or now; Xen 4.17 also lets the
 *    parent's read permission through (we do not).
 *  - A released domain's nodes elsewhere are handed to dom0 and ACL
 *    entries naming it are dropped, so a later domain reusing the domid
 *    inherits nothing (XSA-322); Xen 4.17 deletes them by default.
 *  - Perm strings need a decimal domid below 65536 (Xen uses strtol and
 *    accepts anything).
 *  - XS_RELEASE (wire) leaves /local/domain/<domid> to the toolstack, as
 *    Xen; pvio_xsd_release() removes it (the stub is the toolstack).
 *  - A client that leaves more than its output cap unread is dropped
 *    rather than silently losing watch events.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xsd_internal.h"

void xsd_log(struct pvio_xsd *xsd, const char *fmt, ...)
{
	va_list ap;

	(void)xsd;
	if (!getenv("PVIO_XSD_VERBOSE"))
		return;
	fputs("pvio-xsd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct pvio_xsd_quota default_quota = {
	.nodes_per_domain = 1000,
	.watches_per_domain = 128,
	.value_bytes = 2048,
	.transactions = 10,
	.perms_per_node = 5,
	.outstanding = 20,
	.memory_bytes = 2 * 1024 * 1024,
};

static int special_init(struct xsd_perms *p)
{
	p->num = 1;
	p->p = calloc(1, sizeof(*p->p));
	return p->p ? 0 : ENOMEM; /* owner dom0, "n0" */
}

int pvio_xsd_create(struct pvio_xsd **out, const struct pvio_xsd_hooks *hooks,
		    void *ctx)
{
	struct pvio_xsd *xsd;
	int err;

	*out = NULL;
	xsd = calloc(1, sizeof(*xsd));
	if (!xsd)
		return -ENOMEM;
	if (hooks)
		xsd->hooks = *hooks;
	xsd->ctx = ctx;
	xsd->quota = default_quota;
	xsd->listen_fd = -1;
	xsd->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (xsd->epfd < 0) {
		err = -errno;
		free(xsd);
		return err;
	}
	if (xsd_tree_init(xsd) || special_init(&xsd->special_intro) ||
	    special_init(&xsd->special_release)) {
		pvio_xsd_destroy(xsd);
		return -ENOMEM;
	}
	*out = xsd;
	return 0;
}

void xsd_reap(struct pvio_xsd *xsd)
{
	if (xsd->in_dispatch)
		return;
	while (xsd->grave) {
		struct xsd_conn *c = xsd->grave;

		xsd->grave = c->grave_next;
		xsd_conn_free(c);
	}
}

void pvio_xsd_destroy(struct pvio_xsd *pub)
{
	struct pvio_xsd *xsd = pub;
	unsigned int b;

	if (!xsd)
		return;
	while (xsd->conns)
		xsd_conn_kill(xsd->conns);
	xsd->in_dispatch = 0;
	xsd_reap(xsd);
	if (xsd->root)
		xsd_tree_free_node(xsd, xsd->root);
	for (b = 0; b < 64; b++) {
		while (xsd->domains[b]) {
			struct xsd_domain *d = xsd->domains[b];

			xsd->domains[b] = d->next;
			free(d);
		}
	}
	xsd_perms_free(&xsd->special_intro);
	xsd_perms_free(&xsd->special_release);
	if (xsd->listen_fd >= 0) {
		close(xsd->listen_fd);
		unlink(xsd->listen_path);
	}
	free(xsd->listen_path);
	close(xsd->epfd);
	free(xsd);
}

void pvio_xsd_get_quota(const struct pvio_xsd *pub, struct pvio_xsd_quota *q)
{
	*q = (pub)->quota;
}

int pvio_xsd_set_quota(struct pvio_xsd *pub, const struct pvio_xsd_quota *q)
{
	struct pvio_xsd *xsd = pub;

	/* Zero outstanding would never read; tiny node sizes could not
	 * hold even an empty node. */
	if (!q->outstanding || q->value_bytes <= XSD_NODE_HDR_BYTES)
		return -EINVAL;
	xsd->quota = *q;
	return 0;
}

int pvio_xsd_listen(struct pvio_xsd *pub, const char *path)
{
	struct pvio_xsd *xsd = pub;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = xsd};
	struct stat st;
	int fd, err;

	if (xsd->listen_fd >= 0)
		return -EBUSY;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		/* A live daemon answers; a stale socket file is replaced. */
		int probe;

		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return -errno;
		err = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		close(probe);
		if (err == 0)
			return -EADDRINUSE;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	if (chmod(path, 0600) < 0 || listen(fd, 64) < 0 ||
	    epoll_ctl(xsd->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = -errno;
		unlink(path);
		close(fd);
		return err;
	}
	xsd->listen_path = xsd_strdup(path);
	if (!xsd->listen_path) {
		epoll_ctl(xsd->epfd, EPOLL_CTL_DEL, fd, NULL);
		unlink(path);
		close(fd);
		return -ENOMEM;
	}
	xsd->listen_fd = fd;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

int pvio_xsd_add_conn(struct pvio_xsd *pub, int fd, uint32_t domid)
{
	struct pvio_xsd *xsd = pub;
	int err = 0;

	if (domid >= XSD_DOMID_FIRST_RESERVED) {
		close(fd);
		return -EINVAL;
	}
	if (!xsd_conn_new(xsd, fd, domid, &err))
		return -err;
	return 0;
}

int pvio_xsd_fd(const struct pvio_xsd *pub)
{
	return (pub)->epfd;
}

static void flush_all(struct pvio_xsd *xsd)
{
	struct xsd_conn *c, *next;

	for (c = xsd->conns; c; c = next) {
		next = c->next; /* flush may kill c */
		if (c->out_head)
			xsd_conn_flush(c);
	}
}

static void accept_all(struct pvio_xsd *xsd)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		int err = 0;
		int fd = accept4(xsd->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				xsd_log(xsd, "accept: %s", strerror(errno));
			return;
		}
		if (!xsd_conn_new(xsd, fd, 0, &err))
			xsd_log(xsd, "new connection: %s", strerror(err));
	}
}

int pvio_xsd_dispatch(struct pvio_xsd *pub)
{
	struct pvio_xsd *xsd = pub;
	struct epoll_event evs[64];
	int n, i;

	n = epoll_wait(xsd->epfd, evs, 64, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	xsd->in_dispatch++;
	for (i = 0; i < n; i++) {
		struct xsd_conn *c = evs[i].data.ptr;

		if (evs[i].data.ptr == xsd) {
			accept_all(xsd);
			continue;
		}
		/* Killed earlier in this batch: still allocated (grave). */
		if (c->dead)
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			xsd_conn_input(c);
		if (!c->dead &&
		    (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
			xsd_conn_flush(c);
	}
	flush_all(xsd);
	xsd->in_dispatch--;
	xsd_reap(xsd);
	return 0;
}

bool xsd_domain_exists(struct pvio_xsd *xsd, uint32_t domid)
{
	if (domid >= XSD_DOMID_FIRST_RESERVED)
		return false;
	if (!xsd->hooks.domain_exists)
		return true;
	return xsd->hooks.domain_exists(xsd->ctx, domid);
}

int xsd_do_introduce(struct pvio_xsd *xsd, uint32_t domid)
{
	struct xsd_domain *d = xsd_domain_get(xsd, domid, true);

	if (!d)
		return ENOMEM;
	if (d->introduced)
		return 0;
	d->introduced = true;
	xsd_fire(xsd, "@introduceDomain", false, NULL);
	return 0;
}

struct rm_rec {
	char *path;
	struct xsd_perms perms;
};

struct rm_list {
	struct rm_rec *v;
	size_t n, cap;
	bool oom;
};

static void collect(struct rm_list *l, struct xsd_node *n, const char *path)
{
	char buf[XSD_PATH_BUF + 256];
	unsigned int i;

	for (i = 0; i < n->nchild; i++) {
		int len = snprintf(buf, sizeof(buf), "%s/%s", path,
				   n->child[i]->name);

		if (len > 0 && (size_t)len < sizeof(buf))
			collect(l, n->child[i], buf);
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct rm_rec *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].path = xsd_strdup(path);
	if (!l->v[l->n].path || xsd_perms_copy(&l->v[l->n].perms, &n->perms)) {
		free(l->v[l->n].path);
		l->oom = true;
		return;
	}
	l->n++;
}

/* Remove 'path' and everything under it, firing watches as an rm does. */
static void remove_subtree(struct pvio_xsd *xsd, const char *path)
{
	struct xsd_node *g = xsd_tree_lookup(xsd, path);
	struct rm_list l = {0};
	size_t i;

	if (!g)
		return;
	collect(&l, g, path);
	if (l.oom)
		xsd_log(xsd, "remove %s: events lost", path);
	xsd_tree_remove(xsd, g);
	/* As an rm: children fire exact watches only. */
	for (i = 0; i < l.n; i++) {
		xsd_fire(xsd, l.v[i].path, i + 1 < l.n, &l.v[i].perms);
		free(l.v[i].path);
		xsd_perms_free(&l.v[i].perms);
	}
	free(l.v);
}

int xsd_do_release(struct pvio_xsd *xsd, uint32_t domid, bool remove_tree,
		   bool require_introduced)
{
	struct xsd_domain *d = xsd_domain_get(xsd, domid, false), *o;
	struct xsd_conn *c, *next;
	unsigned int b;

	if (require_introduced && (!d || !d->introduced))
		return ENOENT;
	for (c = xsd->conns; c; c = next) {
		next = c->next;
		if (c->domid == domid)
			xsd_conn_kill(c);
	}
	if (remove_tree && domid != 0) {
		char path[XSD_PATH_BUF];
		struct xsd_node *local, *backend;
		unsigned int i, j;

		snprintf(path, sizeof(path), "/local/domain/%u", domid);
		remove_subtree(xsd, path);
		/* The backend directories that served it (under any backend
		 * domain, any device type) go too, as xl does when a domain
		 * dies: a backend driver watching its directory sees it
		 * vanish and tears the device down. */
		local = xsd_tree_lookup(xsd, "/local/domain");
		for (i = 0; local && i < local->nchild; i++) {
			snprintf(path, sizeof(path), "/local/domain/%s/backend",
				 local->child[i]->name);
			backend = xsd_tree_lookup(xsd, path);
			for (j = 0; backend && j < backend->nchild; j++) {
				snprintf(path, sizeof(path),
					 "/local/domain/%s/backend/%s/%u",
					 local->child[i]->name,
					 backend->child[j]->name, domid);
				remove_subtree(xsd, path);
			}
		}
	}
	xsd_tree_forget_domain(xsd, domid);
	if (d) {
		d->introduced = false;
		d->has_target = false;
	}
	for (b = 0; b < 64; b++)
		for (o = xsd->domains[b]; o; o = o->next)
			if (o->has_target && o->target == domid)
				o->has_target = false;
	xsd_fire(xsd, "@releaseDomain", false, NULL);
	return 0;
}

int pvio_xsd_introduce(struct pvio_xsd *pub, uint32_t domid)
{
	struct pvio_xsd *xsd = pub;
	int err;

	if (domid == 0 || domid >= XSD_DOMID_FIRST_RESERVED)
		return -EINVAL;
	err = xsd_do_introduce(xsd, domid);
	flush_all(xsd);
	xsd_reap(xsd);
	return -err;
}

int pvio_xsd_release(struct pvio_xsd *pub, uint32_t domid)
{
	struct pvio_xsd *xsd = pub;
	int err;

	if (domid == 0 || domid >= XSD_DOMID_FIRST_RESERVED)
		return -EINVAL;
	err = xsd_do_release(xsd, domid, true, false);
	flush_all(xsd);
	xsd_reap(xsd);
	return -err;
}
