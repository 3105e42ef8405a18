/* SPDX-License-Identifier: MIT */
/*
 * Watches: registration, quotas and firing.
 *
 * A change of node N fires every watch on N or an ancestor of N (and, for
 * the children of a removed node, only watches on exactly that child), but
 * only for connections allowed to read N: with the perms N had when it
 * changed or with its perms now (a set_perms event reaches readers under
 * the old and the new perms).  Special names (@introduceDomain,
 * @releaseDomain) reach dom0 and domains their perms let read them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

int xsd_watch_add(struct xsd_conn *c, const char *path, const char *token)
{
	struct pvio_xsd *xsd = c->xsd;
	char buf[XSD_PATH_BUF];
	struct xsd_watch *w;
	struct xsd_domain *d = NULL;
	size_t rel_off, bytes;
	int r;

	r = xsd_canonicalize(c->domid, path, buf, true, &rel_off);
	if (r)
		return r;
	for (w = c->watches; w; w = w->next)
		if (!strcmp(w->path, buf) && !strcmp(w->token, token))
			return EEXIST;
	bytes = strlen(buf) + strlen(token) + 2;
	if (c->domid != 0) {
		/* Xen 4.17 exempts dom0 from the watch quota. */
		d = xsd_domain_get(xsd, c->domid, true);
		if (!d)
			return ENOMEM;
		if (d->watches >= xsd->quota.watches_per_domain)
			return E2BIG;
		if (d->memory + bytes > xsd->quota.memory_bytes)
			return ENOMEM;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->path = xsd_strdup(buf);
	w->token = xsd_strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		free(w);
		return ENOMEM;
	}
	w->rel_off = rel_off;
	d = xsd_domain_get(xsd, c->domid, true);
	if (d) {
		d->watches++;
		d->memory += bytes;
		w->acct_bytes = bytes;
	}
	w->next = c->watches;
	c->watches = w;
	c->nwatches++;
	return 0;
}

static void watch_free(struct xsd_conn *c, struct xsd_watch *w)
{
	struct xsd_domain *d = xsd_domain_get(c->xsd, c->domid, false);

	if (d && w->acct_bytes) {
		d->watches--;
		d->memory -= w->acct_bytes;
	}
	c->nwatches--;
	free(w->path);
	free(w->token);
	free(w);
}

int xsd_watch_remove(struct xsd_conn *c, const char *path, const char *token)
{
	char buf[XSD_PATH_BUF];
	struct xsd_watch **pp;
	int r = xsd_canonicalize(c->domid, path, buf, true, NULL);

	if (r)
		return r;
	for (pp = &c->watches; *pp; pp = &(*pp)->next) {
		struct xsd_watch *w = *pp;

		if (!strcmp(w->path, buf) && !strcmp(w->token, token)) {
			*pp = w->next;
			watch_free(c, w);
			return 0;
		}
	}
	return ENOENT;
}

void xsd_watch_drop_all(struct xsd_conn *c)
{
	while (c->watches) {
		struct xsd_watch *w = c->watches;

		c->watches = w->next;
		watch_free(c, w);
	}
}

static bool permitted(struct xsd_conn *c, const char *path,
		      const struct xsd_perms *perms)
{
	struct pvio_xsd *xsd = c->xsd;
	struct xsd_node *g;

	if (c->domid == 0)
		return true;
	if (perms && perms->num &&
	    (xsd_perm_for(xsd, c->domid, perms) & XSD_PERM_READ))
		return true;
	g = xsd_tree_lookup(xsd, path);
	return g && (xsd_perm_for(xsd, c->domid, &g->perms) & XSD_PERM_READ);
}

static bool special_permitted(struct xsd_conn *c, const char *path)
{
	struct pvio_xsd *xsd = c->xsd;
	const struct xsd_perms *p;

	if (c->domid == 0)
		return true;
	if (!strcmp(path, "@introduceDomain"))
		p = &xsd->special_intro;
	else if (!strcmp(path, "@releaseDomain"))
		p = &xsd->special_release;
	else
		return false;
	return xsd_perm_for(xsd, c->domid, p) & XSD_PERM_READ;
}

void xsd_fire(struct pvio_xsd *xsd, const char *path, bool exact,
	      const struct xsd_perms *perms)
{
	bool special = path[0] == '@';
	struct xsd_conn *c, *next;

	for (c = xsd->conns; c; c = next) {
		/* Queueing may kill c (output overflow): step first. */
		struct xsd_watch *w, *wn;
		int allowed = -1; /* not asked yet */

		next = c->next;
		if (c->dead)
			continue;
		if (special && !special_permitted(c, path))
			continue;
		for (w = c->watches; w; w = wn) {
			bool match = exact ? !strcmp(path, w->path)
					   : xsd_is_child(path, w->path);

			wn = w->next;
			if (!match)
				continue;
			if (!special && allowed < 0)
				allowed = permitted(c, path, perms);
			if (!special && !allowed)
				continue;
			xsd_conn_event(c,
				       path + (strlen(path) >= w->rel_off
						       ? w->rel_off
						       : 0),
				       w->token);
			if (c->dead)
				break; /* its watches are gone */
		}
	}
}
