/* SPDX-License-Identifier: MIT */
/*
 * Transactions, and the one code path every tree operation takes.
 *
 * A transaction copies each node it touches ("txnode") on first access and
 * remembers the committed generation it saw (0 = the node was absent).
 * Operations work on those copies only.  Commit succeeds only if every
 * touched node still has the generation seen at first access (and none had
 * changed after the transaction started), so a commit is serialisable:
 * otherwise EAGAIN, as Xen 4.17.  Adding or removing a child changes the
 * parent's generation, so directory reads conflict too.
 *
 * A request outside a transaction runs as a "oneshot" transaction that
 * commits at once: the daemon is single-threaded, so it cannot conflict.
 * Watch events are recorded while operating and fired after the commit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

void xsd_tx_init(struct xsd_tx *tx, struct xsd_conn *conn, bool oneshot)
{
	memset(tx, 0, sizeof(*tx));
	tx->conn = conn;
	tx->oneshot = oneshot;
	tx->start_gen = conn->xsd->gen;
	tx->fires_tail = &tx->fires;
}

static void txnode_free(struct xsd_txnode *n)
{
	unsigned int i;

	for (i = 0; i < n->nchild; i++)
		free(n->child[i]);
	free(n->child);
	free(n->value);
	xsd_perms_free(&n->perms);
	free(n->path);
	free(n);
}

void xsd_tx_cleanup(struct xsd_tx *tx)
{
	struct xsd_txnode *n, *nn;
	struct xsd_fire *f, *fn;

	for (n = tx->list; n; n = nn) {
		nn = n->next;
		txnode_free(n);
	}
	for (f = tx->fires; f; f = fn) {
		fn = f->next;
		free(f->path);
		xsd_perms_free(&f->perms);
		free(f);
	}
	tx->list = NULL;
	tx->fires = NULL;
	tx->fires_tail = &tx->fires;
	memset(tx->buckets, 0, sizeof(tx->buckets));
	tx->count = 0;
}

static int child_append(struct xsd_txnode *n, const char *name)
{
	if (n->nchild == n->childcap) {
		unsigned int cap = n->childcap ? n->childcap * 2 : 4;
		char **c = realloc(n->child, cap * sizeof(*c));

		if (!c)
			return ENOMEM;
		n->child = c;
		n->childcap = cap;
	}
	n->child[n->nchild] = xsd_strdup(name);
	if (!n->child[n->nchild])
		return ENOMEM;
	n->nchild++;
	n->childlen += (unsigned int)strlen(name) + 1;
	return 0;
}

static void child_remove(struct xsd_txnode *n, const char *name)
{
	unsigned int i;

	for (i = 0; i < n->nchild; i++) {
		if (!strcmp(n->child[i], name)) {
			n->childlen -= (unsigned int)strlen(name) + 1;
			free(n->child[i]);
			memmove(&n->child[i], &n->child[i + 1],
				(n->nchild - i - 1) * sizeof(n->child[0]));
			n->nchild--;
			return;
		}
	}
}

static void child_clear(struct xsd_txnode *n)
{
	unsigned int i;

	for (i = 0; i < n->nchild; i++)
		free(n->child[i]);
	n->nchild = 0;
	n->childlen = 0;
}

static bool unpriv(const struct xsd_tx *tx)
{
	return tx->conn->domid != 0;
}

struct xsd_txnode *xsd_tx_get(struct xsd_tx *tx, const char *path, int *err)
{
	struct pvio_xsd *xsd = tx->conn->xsd;
	unsigned int h = xsd_hash(path, strlen(path)) & 255;
	struct xsd_txnode *n;
	struct xsd_node *g;
	unsigned int i;

	for (n = tx->buckets[h]; n; n = n->hnext)
		if (!strcmp(n->path, path))
			return n;
	/* Bound what a long-lived transaction of a guest may copy. */
	if (!tx->oneshot && unpriv(tx) && tx->count >= XSD_TX_NODES_MAX) {
		*err = ENOSPC;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto nomem;
	n->path = xsd_strdup(path);
	if (!n->path)
		goto nomem_free;
	g = xsd_tree_lookup(xsd, path);
	if (g) {
		n->exists = true;
		n->base_gen = g->gen;
		if (!tx->oneshot && g->gen > tx->start_gen)
			tx->conflict = true;
		n->value = xsd_memdup(g->value, g->vlen);
		n->vlen = g->vlen;
		if (!n->value || xsd_perms_copy(&n->perms, &g->perms))
			goto nomem_free;
		for (i = 0; i < g->nchild; i++)
			if (child_append(n, g->child[i]->name))
				goto nomem_free;
	}
	n->hnext = tx->buckets[h];
	tx->buckets[h] = n;
	n->next = tx->list;
	tx->list = n;
	tx->count++;
	return n;
nomem_free:
	txnode_free(n);
nomem:
	*err = ENOMEM;
	return NULL;
}

/* Parent path of a canonical path into out ("/" for top-level nodes). */
static void parent_path(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash && slash != path ? (size_t)(slash - path) : 1;

	memcpy(out, path, len);
	out[len] = '\0';
}

int xsd_tx_get_checked(struct xsd_tx *tx, const char *path, unsigned int want,
		       struct xsd_txnode **out)
{
	struct pvio_xsd *xsd = tx->conn->xsd;
	struct xsd_txnode *n, *p;
	char buf[XSD_PATH_BUF];
	int err = 0;

	*out = NULL;
	n = xsd_tx_get(tx, path, &err);
	if (!n)
		return err;
	if (n->exists) {
		if ((xsd_perm_for(xsd, tx->conn->domid, &n->perms) & want) !=
		    want)
			return EACCES;
		*out = n;
		return 0;
	}
	/*
	 * Absent: tell ENOENT only to those the closest existing ancestor
	 * allows, so that a node's existence does not leak (Xen
	 * errno_from_parents()).
	 */
	strcpy(buf, path);
	do {
		parent_path(buf, buf);
		p = xsd_tx_get(tx, buf, &err);
		if (!p)
			return err;
	} while (!p->exists && strcmp(buf, "/"));
	*out = n;
	if (p->exists && (xsd_perm_for(xsd, tx->conn->domid, &p->perms) & want))
		return ENOENT;
	return EACCES;
}

static int record_fire(struct xsd_tx *tx, const char *path, bool exact,
		       const struct xsd_perms *perms)
{
	struct xsd_fire *f = calloc(1, sizeof(*f));

	if (!f)
		return ENOMEM;
	f->path = xsd_strdup(path);
	if (!f->path ||
	    (perms && perms->num && xsd_perms_copy(&f->perms, perms))) {
		free(f->path);
		free(f);
		return ENOMEM;
	}
	f->exact = exact;
	*tx->fires_tail = f;
	tx->fires_tail = &f->next;
	return 0;
}

static const char *basename_of(const char *path)
{
	return strrchr(path, '/') + 1;
}

static int check_size(struct xsd_tx *tx, unsigned int nperms, unsigned int vlen,
		      unsigned int childlen)
{
	if (unpriv(tx) && xsd_node_size(nperms, vlen, childlen) >=
				  tx->conn->xsd->quota.value_bytes)
		return ENOSPC;
	return 0;
}

static int check_memory(struct xsd_tx *tx, size_t add)
{
	struct pvio_xsd *xsd = tx->conn->xsd;
	struct xsd_domain *d;

	if (!unpriv(tx))
		return 0;
	d = xsd_domain_get(xsd, tx->conn->domid, false);
	if ((d ? d->memory : 0) + add > xsd->quota.memory_bytes)
		return ENOMEM;
	return 0;
}

static int create_path(struct xsd_tx *tx, const char *path, const char *val,
		       unsigned int vlen)
{
	struct pvio_xsd *xsd = tx->conn->xsd;
	struct xsd_txnode *levels[XENSTORE_ABS_PATH_MAX / 2 + 2];
	struct xsd_txnode *anc;
	struct xsd_domain *d;
	char buf[XSD_PATH_BUF];
	unsigned int nlev = 0, i, nperms;
	size_t add = 0;
	int err = 0, r;

	/* Missing nodes, bottom-up, then the closest existing ancestor. */
	strcpy(buf, path);
	for (;;) {
		struct xsd_txnode *n = xsd_tx_get(tx, buf, &err);

		if (!n)
			return err;
		if (n->exists) {
			anc = n;
			break;
		}
		levels[nlev++] = n;
		parent_path(buf, buf);
	}
	nperms = anc->perms.num;
	if (unpriv(tx)) {
		d = xsd_domain_get(xsd, tx->conn->domid, false);
		if ((long)(d ? d->nodes : 0) + tx->node_delta + (long)nlev >
		    (long)xsd->quota.nodes_per_domain)
			return ENOSPC;
		r = check_size(tx, anc->perms.num, anc->vlen,
			       anc->childlen +
				       (unsigned int)strlen(basename_of(
					       levels[nlev - 1]->path)) +
				       1);
		if (r)
			return r;
		for (i = 0; i < nlev; i++) {
			unsigned int cl = i ? (unsigned int)strlen(basename_of(
						      levels[i - 1]->path)) +
							  1
					    : 0;
			unsigned int vl = i ? 0 : vlen;

			r = check_size(tx, nperms, vl, cl);
			if (r)
				return r;
			add += xsd_node_size(nperms, vl, cl) +
			       strlen(basename_of(levels[i]->path)) + 1;
		}
		r = check_memory(tx, add);
		if (r)
			return r;
	}
	/* Checks done: from here on only allocation can fail. */
	for (i = nlev; i-- > 0;) {
		struct xsd_txnode *n = levels[i];
		struct xsd_txnode *parent = i + 1 < nlev ? levels[i + 1] : anc;

		r = xsd_perms_copy(&n->perms, &parent->perms);
		if (r)
			return r;
		/* "Domains own what they create" (Xen construct_node()). */
		if (unpriv(tx))
			n->perms.p[0].id = tx->conn->domid;
		child_clear(n);
		free(n->value);
		n->value = xsd_memdup(i ? "" : val, i ? 0 : vlen);
		if (!n->value)
			return ENOMEM;
		n->vlen = i ? 0 : vlen;
		n->exists = true;
		n->data_mod = true;
		n->seq = ++tx->seq;
		if (n->perms.p[0].id == tx->conn->domid)
			tx->node_delta++;
		r = child_append(parent, basename_of(n->path));
		if (r)
			return r;
	}
	return record_fire(tx, path, false, &levels[0]->perms);
}

int xsd_tx_write(struct xsd_tx *tx, const char *path, const char *val,
		 unsigned int vlen, bool mkdir)
{
	struct xsd_txnode *n;
	int r = xsd_tx_get_checked(tx, path, XSD_PERM_WRITE, &n);
	char *v;

	if (r == ENOENT)
		return create_path(tx, path, val, vlen);
	if (r)
		return r;
	if (mkdir)
		return 0; /* exists already: fine, no event (Xen) */
	r = check_size(tx, n->perms.num, vlen, n->childlen);
	if (!r && vlen > n->vlen)
		r = check_memory(tx, vlen - n->vlen);
	if (r)
		return r;
	v = xsd_memdup(val, vlen);
	if (!v)
		return ENOMEM;
	free(n->value);
	n->value = v;
	n->vlen = vlen;
	n->data_mod = true;
	return record_fire(tx, path, false, &n->perms);
}

struct rmvec {
	struct xsd_txnode **v;
	unsigned int n, cap;
};

/* Post-order list of the subtree under n (every node copied in). */
static int collect(struct xsd_tx *tx, struct xsd_txnode *n, struct rmvec *rv)
{
	char buf[XSD_PATH_BUF + 256];
	unsigned int i;
	int err = 0;

	for (i = 0; i < n->nchild; i++) {
		struct xsd_txnode *c;
		int len = strcmp(n->path, "/")
				  ? snprintf(buf, sizeof(buf), "%s/%s", n->path,
					     n->child[i])
				  : snprintf(buf, sizeof(buf), "/%s",
					     n->child[i]);

		if (len < 0 || (size_t)len >= sizeof(buf))
			return EIO;
		c = xsd_tx_get(tx, buf, &err);
		if (!c)
			return err;
		if (!c->exists)
			continue; /* stale child entry: nothing to remove */
		err = collect(tx, c, rv);
		if (err)
			return err;
	}
	if (rv->n == rv->cap) {
		unsigned int cap = rv->cap ? rv->cap * 2 : 16;
		struct xsd_txnode **v = realloc(rv->v, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->n++] = n;
	return 0;
}

int xsd_tx_rm(struct xsd_tx *tx, const char *path)
{
	struct xsd_txnode *n, *parent;
	struct rmvec rv = {0};
	char buf[XSD_PATH_BUF];
	unsigned int i;
	int r = xsd_tx_get_checked(tx, path, XSD_PERM_WRITE, &n);
	int err = 0;

	if (r == ENOENT) {
		/* Didn't exist already?  Fine, if the parent exists. */
		parent_path(path, buf);
		parent = xsd_tx_get(tx, buf, &err);
		if (!parent)
			return err;
		return parent->exists ? 0 : ENOENT;
	}
	if (r)
		return r;
	if (!strcmp(path, "/"))
		return EINVAL;
	parent_path(path, buf);
	parent = xsd_tx_get(tx, buf, &err);
	if (!parent)
		return err;
	r = collect(tx, n, &rv);
	if (r)
		goto out;
	/*
	 * Children fire only watches on themselves; the removed node fires
	 * its own and its ancestors' (Xen 4.17 delnode_sub()).
	 */
	for (i = 0; i < rv.n; i++) {
		struct xsd_txnode *c = rv.v[i];

		r = record_fire(tx, c->path, c != n, &c->perms);
		if (r)
			goto out;
	}
	for (i = 0; i < rv.n; i++) {
		struct xsd_txnode *c = rv.v[i];

		if (c->perms.num && c->perms.p[0].id == tx->conn->domid)
			tx->node_delta--;
		c->exists = false;
		c->deleted = true;
		c->data_mod = false;
		child_clear(c);
	}
	child_remove(parent, basename_of(path));
out:
	free(rv.v);
	return r;
}

int xsd_tx_set_perms(struct xsd_tx *tx, const char *path,
		     const struct xsd_perms *perms)
{
	struct xsd_txnode *n;
	struct xsd_perms old, np;
	int r = xsd_tx_get_checked(tx, path, XSD_PERM_WRITE | XSD_PERM_OWNER,
				   &n);

	if (r)
		return r;
	/* Unprivileged domains may not change the owner. */
	if (unpriv(tx) && perms->p[0].id != n->perms.p[0].id)
		return EPERM;
	r = check_size(tx, perms->num, n->vlen, n->childlen);
	if (r)
		return r;
	if (xsd_perms_copy(&np, perms))
		return ENOMEM;
	old = n->perms;
	n->perms = np;
	n->data_mod = true;
	/* Readers under the old perms or the new ones hear of it. */
	r = record_fire(tx, path, false, &old);
	xsd_perms_free(&old);
	return r;
}

static int by_depth(const void *a, const void *b)
{
	const struct xsd_txnode *x = *(struct xsd_txnode *const *)a;
	const struct xsd_txnode *y = *(struct xsd_txnode *const *)b;
	unsigned int dx = xsd_depth(x->path), dy = xsd_depth(y->path);

	/* Siblings are created in the order the client created them. */
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int xsd_tx_commit(struct xsd_tx *tx)
{
	struct pvio_xsd *xsd = tx->conn->xsd;
	struct xsd_txnode *n, **v;
	unsigned int nv = 0, i;
	char buf[XSD_PATH_BUF];

	if (!tx->oneshot) {
		if (tx->conflict)
			return EAGAIN;
		for (n = tx->list; n; n = n->next) {
			struct xsd_node *g = xsd_tree_lookup(xsd, n->path);

			if ((g ? g->gen : 0) != n->base_gen)
				return EAGAIN;
		}
	}
	v = malloc((tx->count ? tx->count : 1) * sizeof(*v));
	if (!v)
		return ENOMEM;
	for (n = tx->list; n; n = n->next)
		if ((n->exists && n->data_mod) || (!n->exists && n->deleted))
			v[nv++] = n;
	qsort(v, nv, sizeof(*v), by_depth);
	/* Creations and updates, parents first. */
	for (i = 0; i < nv; i++) {
		struct xsd_node *g;
		char *val;

		n = v[i];
		if (!n->exists)
			continue;
		g = xsd_tree_lookup(xsd, n->path);
		if (!g) {
			struct xsd_node *p;

			parent_path(n->path, buf);
			p = xsd_tree_lookup(xsd, buf);
			if (!p ||
			    xsd_tree_add_child(xsd, p, basename_of(n->path),
					       &n->perms, &g)) {
				xsd_log(xsd, "commit: cannot create %s",
					n->path);
				continue;
			}
		}
		val = xsd_memdup(n->value, n->vlen);
		if (!val) {
			xsd_log(xsd, "commit: no memory for %s", n->path);
			continue;
		}
		free(g->value);
		g->value = val;
		g->vlen = n->vlen;
		/* Move the perms: the txnode is freed after commit. */
		xsd_perms_free(&g->perms);
		g->perms = n->perms;
		n->perms.p = NULL;
		n->perms.num = 0;
		g->gen = ++xsd->gen;
		xsd_tree_recharge(xsd, g);
	}
	/* Removals, deepest first. */
	for (i = nv; i-- > 0;) {
		struct xsd_node *g;

		n = v[i];
		if (n->exists)
			continue;
		g = xsd_tree_lookup(xsd, n->path);
		if (g && g != xsd->root)
			xsd_tree_remove(xsd, g);
	}
	free(v);
	return 0;
}

void xsd_tx_fire(struct xsd_tx *tx)
{
	struct xsd_fire *f;

	for (f = tx->fires; f; f = f->next)
		xsd_fire(tx->conn->xsd, f->path, f->exact, &f->perms);
}

struct xsd_tx *xsd_tx_find(struct xsd_conn *c, uint32_t id)
{
	struct xsd_tx *t;

	for (t = c->txs; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

int xsd_tx_start(struct xsd_conn *c, uint32_t *id)
{
	struct xsd_tx *t;

	/* Xen exempts dom0 from the transaction quota. */
	if (c->domid != 0 && c->ntx >= c->xsd->quota.transactions)
		return ENOSPC;
	t = malloc(sizeof(*t));
	if (!t)
		return ENOMEM;
	xsd_tx_init(t, c, false);
	do {
		t->id = c->next_txid++;
	} while (t->id == 0 || xsd_tx_find(c, t->id));
	t->next = c->txs;
	c->txs = t;
	c->ntx++;
	*id = t->id;
	return 0;
}

static void tx_unlink(struct xsd_tx *tx)
{
	struct xsd_conn *c = tx->conn;
	struct xsd_tx **pp;

	for (pp = &c->txs; *pp; pp = &(*pp)->next) {
		if (*pp == tx) {
			*pp = tx->next;
			c->ntx--;
			return;
		}
	}
}

int xsd_tx_end(struct xsd_tx *tx, bool commit)
{
	int r = 0;

	tx_unlink(tx);
	if (commit) {
		r = xsd_tx_commit(tx);
		if (!r)
			xsd_tx_fire(tx);
	}
	xsd_tx_cleanup(tx);
	free(tx);
	return r;
}

void xsd_tx_drop_all(struct xsd_conn *c)
{
	while (c->txs)
		xsd_tx_end(c->txs, false);
}
