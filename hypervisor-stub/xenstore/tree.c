/* SPDX-License-Identifier: MIT */
/*
 * The committed node tree, permissions and per-domain accounting.
 *
 * Every node is charged (one node, its Xen record size plus its name) to
 * the domain that owns it (perms.p[0].id); xsd_tree_recharge() keeps the
 * books straight whenever a node's owner, value, perms or child list
 * changes, and CONTROL "check" (xsd_tree_check) recounts them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

struct xsd_domain *xsd_domain_get(struct pvio_xsd *xsd, uint32_t domid,
				  bool create)
{
	struct xsd_domain **b = &xsd->domains[domid & 63], *d;

	for (d = *b; d; d = d->next)
		if (d->domid == domid)
			return d;
	if (!create)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->domid = domid;
	d->next = *b;
	*b = d;
	return d;
}

size_t xsd_node_size(unsigned int nperms, unsigned int vlen,
		     unsigned int childlen)
{
	return XSD_NODE_HDR_BYTES + (size_t)nperms * XSD_PERM_BYTES + vlen +
	       childlen;
}

static struct xsd_node *find_child(const struct xsd_node *n, const char *name,
				   size_t len)
{
	unsigned int i;

	for (i = 0; i < n->nchild; i++) {
		struct xsd_node *c = n->child[i];

		if (!strncmp(c->name, name, len) && c->name[len] == '\0')
			return c;
	}
	return NULL;
}

struct xsd_node *xsd_tree_lookup(struct pvio_xsd *xsd, const char *path)
{
	struct xsd_node *n = xsd->root;

	if (path[0] != '/')
		return NULL;
	path++;
	while (n && *path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);

		n = find_child(n, path, len);
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
}

void xsd_tree_recharge(struct pvio_xsd *xsd, struct xsd_node *n)
{
	struct xsd_domain *d;
	uint32_t owner = n->perms.p[0].id;
	size_t bytes = xsd_node_size(n->perms.num, n->vlen, n->childlen) +
		       strlen(n->name) + 1;

	if (n->acct_bytes) {
		d = xsd_domain_get(xsd, n->acct_dom, false);
		if (d) {
			d->nodes--;
			d->memory -= n->acct_bytes;
		}
		n->acct_bytes = 0;
	}
	d = xsd_domain_get(xsd, owner, true);
	if (!d)
		return; /* out of memory: uncharged, check will say so */
	d->nodes++;
	d->memory += bytes;
	n->acct_dom = owner;
	n->acct_bytes = bytes;
}

static void uncharge(struct pvio_xsd *xsd, struct xsd_node *n)
{
	struct xsd_domain *d;

	if (!n->acct_bytes)
		return;
	d = xsd_domain_get(xsd, n->acct_dom, false);
	if (d) {
		d->nodes--;
		d->memory -= n->acct_bytes;
	}
	n->acct_bytes = 0;
}

static struct xsd_node *node_new(const char *name,
				 const struct xsd_perms *perms)
{
	struct xsd_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = xsd_strdup(name);
	if (!n->name || xsd_perms_copy(&n->perms, perms)) {
		free(n->name);
		free(n);
		return NULL;
	}
	return n;
}

int xsd_tree_add_child(struct pvio_xsd *xsd, struct xsd_node *parent,
		       const char *name, const struct xsd_perms *perms,
		       struct xsd_node **out)
{
	struct xsd_node *n;

	if (parent->nchild == parent->childcap) {
		unsigned int cap = parent->childcap ? parent->childcap * 2 : 4;
		struct xsd_node **c = realloc(parent->child, cap * sizeof(*c));

		if (!c)
			return ENOMEM;
		parent->child = c;
		parent->childcap = cap;
	}
	n = node_new(name, perms);
	if (!n)
		return ENOMEM;
	n->parent = parent;
	n->gen = ++xsd->gen;
	parent->child[parent->nchild++] = n;
	parent->childlen += (unsigned int)strlen(name) + 1;
	parent->gen = ++xsd->gen;
	xsd_tree_recharge(xsd, n);
	xsd_tree_recharge(xsd, parent);
	*out = n;
	return 0;
}

/* Frees n and its subtree; n must already be unlinked from its parent. */
void xsd_tree_free_node(struct pvio_xsd *xsd, struct xsd_node *n)
{
	unsigned int i;

	for (i = 0; i < n->nchild; i++)
		xsd_tree_free_node(xsd, n->child[i]);
	uncharge(xsd, n);
	free(n->child);
	free(n->name);
	free(n->value);
	xsd_perms_free(&n->perms);
	free(n);
}

void xsd_tree_remove(struct pvio_xsd *xsd, struct xsd_node *n)
{
	struct xsd_node *p = n->parent;
	unsigned int i;

	if (!p)
		return; /* never the root */
	for (i = 0; i < p->nchild; i++) {
		if (p->child[i] == n) {
			memmove(&p->child[i], &p->child[i + 1],
				(p->nchild - i - 1) * sizeof(p->child[0]));
			p->nchild--;
			break;
		}
	}
	p->childlen -= (unsigned int)strlen(n->name) + 1;
	p->gen = ++xsd->gen;
	xsd_tree_recharge(xsd, p);
	xsd_tree_free_node(xsd, n);
}

unsigned int xsd_perm_for(struct pvio_xsd *xsd, uint32_t domid,
			  const struct xsd_perms *perms)
{
	const unsigned int all =
		XSD_PERM_READ | XSD_PERM_WRITE | XSD_PERM_OWNER;
	struct xsd_domain *d;
	bool tgt = false;
	uint32_t target = 0;
	unsigned int i;

	if (domid == 0)
		return all;
	d = xsd_domain_get(xsd, domid, false);
	if (d && d->has_target) {
		tgt = true;
		target = d->target;
	}
	if (perms->p[0].id == domid || (tgt && perms->p[0].id == target))
		return all;
	for (i = 1; i < perms->num; i++)
		if (perms->p[i].id == domid ||
		    (tgt && perms->p[i].id == target))
			return perms->p[i].perms & all;
	return perms->p[0].perms & all;
}

int xsd_tree_init(struct pvio_xsd *xsd)
{
	struct xsd_perm p0 = {.id = 0, .perms = XSD_PERM_NONE};
	struct xsd_perms perms = {.num = 1, .p = &p0};
	struct xsd_node *tool, *xsdn;

	xsd->root = node_new("", &perms);
	if (!xsd->root)
		return ENOMEM;
	xsd->root->gen = ++xsd->gen;
	xsd_tree_recharge(xsd, xsd->root);
	/* The nodes the reference daemon creates at start. */
	if (xsd_tree_add_child(xsd, xsd->root, "tool", &perms, &tool) ||
	    xsd_tree_add_child(xsd, tool, "xenstored", &perms, &xsdn))
		return ENOMEM;
	return 0;
}

static void forget_walk(struct pvio_xsd *xsd, struct xsd_node *n,
			uint32_t domid)
{
	unsigned int i, j;
	bool changed = false;

	if (n->perms.p[0].id == domid) {
		n->perms.p[0].id = 0;
		changed = true;
	}
	for (i = j = 1; i < n->perms.num; i++) {
		if (n->perms.p[i].id == domid) {
			changed = true;
			continue;
		}
		n->perms.p[j++] = n->perms.p[i];
	}
	n->perms.num = j;
	if (changed) {
		n->gen = ++xsd->gen;
		xsd_tree_recharge(xsd, n);
	}
	for (i = 0; i < n->nchild; i++)
		forget_walk(xsd, n->child[i], domid);
}

void xsd_tree_forget_domain(struct pvio_xsd *xsd, uint32_t domid)
{
	if (domid != 0)
		forget_walk(xsd, xsd->root, domid);
}

struct check_ctx {
	struct pvio_xsd *xsd;
	bool bad;
};

static void check_walk(struct check_ctx *cc, struct xsd_node *n)
{
	struct xsd_domain *d;
	unsigned int i, childlen = 0;
	size_t bytes = xsd_node_size(n->perms.num, n->vlen, n->childlen) +
		       strlen(n->name) + 1;

	if (n->perms.num < 1 || n->acct_dom != n->perms.p[0].id ||
	    n->acct_bytes != bytes)
		cc->bad = true;
	d = xsd_domain_get(cc->xsd, n->acct_dom, false);
	if (!d) {
		cc->bad = true;
	} else {
		/* Pay the node back: every domain must end at zero. */
		d->nodes--;
		d->memory -= n->acct_bytes;
	}
	for (i = 0; i < n->nchild; i++) {
		if (n->child[i]->parent != n)
			cc->bad = true;
		childlen += (unsigned int)strlen(n->child[i]->name) + 1;
		check_walk(cc, n->child[i]);
	}
	if (childlen != n->childlen)
		cc->bad = true;
}

static void restore_walk(struct pvio_xsd *xsd, struct xsd_node *n)
{
	struct xsd_domain *d = xsd_domain_get(xsd, n->acct_dom, false);
	unsigned int i;

	if (d) {
		d->nodes++;
		d->memory += n->acct_bytes;
	}
	for (i = 0; i < n->nchild; i++)
		restore_walk(xsd, n->child[i]);
}

int xsd_tree_check(struct pvio_xsd *xsd)
{
	struct check_ctx cc = {.xsd = xsd, .bad = false};
	struct xsd_domain *d;
	unsigned int b;

	check_walk(&cc, xsd->root);
	for (b = 0; b < 64; b++) {
		for (d = xsd->domains[b]; d; d = d->next) {
			/* Watches are charged to memory too. */
			struct xsd_conn *c;
			size_t wmem = 0;

			for (c = xsd->conns; c; c = c->next) {
				struct xsd_watch *w;

				if (c->domid != d->domid)
					continue;
				for (w = c->watches; w; w = w->next)
					wmem += w->acct_bytes;
			}
			if (d->nodes != 0 || d->memory != wmem)
				cc.bad = true;
		}
	}
	restore_walk(xsd, xsd->root);
	return cc.bad ? EIO : 0;
}
