/* SPDX-License-Identifier: MIT */
/*
 * Request handlers: one per message type, Xen 4.17 argument and errno
 * rules.  Each returns 0 after queueing its reply, or a positive errno that
 * xsd_process() sends as the error name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsd_internal.h"

struct req {
	struct xsd_conn *c;
	struct xsd_tx *tx; /* the client's transaction, or NULL */
	const char *p;	   /* payload, NUL-terminated one past len */
	unsigned int len;
	struct xsd_perms perms; /* XS_SET_PERMS: parsed new perms */
};

/* Exactly one NUL, at the end (Xen onearg()); NULL otherwise. */
static const char *onearg(const struct req *r)
{
	if (!r->len || memchr(r->p, '\0', r->len) != r->p + r->len - 1)
		return NULL;
	return r->p;
}

static void ack(struct xsd_conn *c)
{
	xsd_conn_reply(c, c->hdr.type, "OK", 3);
}

/* Run op on the client's transaction, or on a oneshot one that commits
 * at once; the reply is queued before the watch events. */
typedef int (*tree_op)(struct req *r, struct xsd_tx *tx, const char *path);

static int run_tree_op(struct req *r, const char *in_path, tree_op op)
{
	char path[XSD_PATH_BUF];
	struct xsd_tx one;
	int err = xsd_canonicalize(r->c->domid, in_path, path, false, NULL);

	if (err)
		return err;
	if (r->tx)
		return op(r, r->tx, path);
	xsd_tx_init(&one, r->c, true);
	err = op(r, &one, path);
	/* Read-only ops reply from op(); they modify nothing, so the
	 * commit that follows has nothing to do and cannot fail. */
	if (!err)
		err = xsd_tx_commit(&one);
	if (!err)
		xsd_tx_fire(&one);
	xsd_tx_cleanup(&one);
	return err;
}

static int op_directory(struct req *r, struct xsd_tx *tx, const char *path)
{
	struct xsd_txnode *n;
	char *buf;
	unsigned int i, off = 0;
	int err = xsd_tx_get_checked(tx, path, XSD_PERM_READ, &n);

	if (err)
		return err;
	buf = malloc(n->childlen + 1);
	if (!buf)
		return ENOMEM;
	for (i = 0; i < n->nchild; i++) {
		size_t l = strlen(n->child[i]) + 1;

		memcpy(buf + off, n->child[i], l);
		off += (unsigned int)l;
	}
	xsd_conn_reply(r->c, XS_DIRECTORY, buf, off); /* E2BIG if > 4096 */
	free(buf);
	return 0;
}

static unsigned int parse_uint(const char *s)
{
	unsigned long v = strtoul(s, NULL, 10); /* Xen: atoi() */

	return v > 0xffffffffUL ? 0xffffffffu : (unsigned int)v;
}

static int op_directory_part(struct req *r, struct xsd_tx *tx, const char *path)
{
	struct xsd_txnode *n;
	char gen[24], *all, *data;
	unsigned int i, pos = 0, off, len, maxlen, genlen;
	int err = xsd_tx_get_checked(tx, path, XSD_PERM_READ, &n);

	if (err)
		return err;
	off = parse_uint(r->p + strlen(r->p) + 1);
	genlen = (unsigned int)snprintf(gen, sizeof(gen), "%llu",
					(unsigned long long)n->base_gen) +
		 1;
	if (off >= n->childlen) {
		/* Offset behind the list: the generation and "". */
		gen[genlen] = '\0';
		xsd_conn_reply(r->c, XS_DIRECTORY_PART, gen, genlen + 1);
		return 0;
	}
	all = malloc(n->childlen + 1);
	data = malloc(XENSTORE_PAYLOAD_MAX + 1);
	if (!all || !data) {
		free(all);
		free(data);
		return ENOMEM;
	}
	for (i = 0; i < n->nchild; i++) {
		size_t l = strlen(n->child[i]) + 1;

		memcpy(all + pos, n->child[i], l);
		pos += (unsigned int)l;
	}
	/* As Xen 4.17: whole names that fit after the generation; the last
	 * chunk ends with an extra NUL.  An offset inside a name returns
	 * from there, as Xen does. */
	len = 0;
	maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
	while (off + len < n->childlen) {
		size_t l = strlen(all + off + len);

		if (len + l >= maxlen)
			break;
		len += (unsigned int)l + 1;
	}
	memcpy(data, gen, genlen);
	memcpy(data + genlen, all + off, len);
	if (off + len == n->childlen) {
		data[genlen + len] = '\0';
		len++;
	}
	xsd_conn_reply(r->c, XS_DIRECTORY_PART, data, genlen + len);
	free(all);
	free(data);
	return 0;
}

static int op_read(struct req *r, struct xsd_tx *tx, const char *path)
{
	struct xsd_txnode *n;
	int err = xsd_tx_get_checked(tx, path, XSD_PERM_READ, &n);

	if (err)
		return err;
	xsd_conn_reply(r->c, XS_READ, n->value, n->vlen);
	return 0;
}

static int op_get_perms(struct req *r, struct xsd_tx *tx, const char *path)
{
	struct xsd_txnode *n;
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	int len, err = xsd_tx_get_checked(tx, path, XSD_PERM_READ, &n);

	if (err)
		return err;
	len = xsd_perms_format(&n->perms, buf, sizeof(buf));
	if (len < 0)
		return E2BIG;
	xsd_conn_reply(r->c, XS_GET_PERMS, buf, (unsigned int)len);
	return 0;
}

static int op_write(struct req *r, struct xsd_tx *tx, const char *path)
{
	size_t off = strlen(r->p) + 1;

	return xsd_tx_write(tx, path, r->p + off, r->len - (unsigned int)off,
			    false);
}

static int op_mkdir(struct req *r, struct xsd_tx *tx, const char *path)
{
	(void)r;
	return xsd_tx_write(tx, path, "", 0, true);
}

static int op_rm(struct req *r, struct xsd_tx *tx, const char *path)
{
	(void)r;
	return xsd_tx_rm(tx, path);
}

static int op_set_perms(struct req *r, struct xsd_tx *tx, const char *path)
{
	return xsd_tx_set_perms(tx, path, &r->perms);
}

/* Modifying ops: reply "OK" once the change is in (or in the tx). */
static int modify(struct req *r, const char *path, tree_op op)
{
	int err = run_tree_op(r, path, op);

	if (err)
		return err;
	/* Events of a oneshot op were queued by the commit already; the
	 * order of reply and events is free (libxenstore sorts them). */
	ack(r->c);
	return 0;
}

static int h_set_perms(struct req *r)
{
	struct pvio_xsd *xsd = r->c->xsd;
	unsigned int n = xsd_count_strings(r->p, r->len);
	int err;

	if (n < 2)
		return EINVAL;
	n--;
	if (!xsd_conn_priv(r->c) && n > xsd->quota.perms_per_node)
		return ENOSPC;
	err = xsd_perms_parse(&r->perms, r->p + strlen(r->p) + 1, n);
	if (err)
		return err;
	if (r->p[0] == '@') {
		struct xsd_perms *sp;

		if (!strcmp(r->p, "@introduceDomain"))
			sp = &xsd->special_intro;
		else if (!strcmp(r->p, "@releaseDomain"))
			sp = &xsd->special_release;
		else
			sp = NULL;
		if (!sp) {
			err = EINVAL;
		} else if ((xsd_perm_for(xsd, r->c->domid, sp) &
			    (XSD_PERM_WRITE | XSD_PERM_OWNER)) !=
			   (XSD_PERM_WRITE | XSD_PERM_OWNER)) {
			err = EACCES;
		} else {
			xsd_perms_free(sp);
			*sp = r->perms;
			r->perms.p = NULL;
			r->perms.num = 0;
			ack(r->c);
		}
	} else {
		err = modify(r, r->p, op_set_perms);
	}
	xsd_perms_free(&r->perms);
	return err;
}

static int h_watch(struct req *r, bool add)
{
	const char *path = r->p, *token;
	int err;

	if (xsd_count_strings(r->p, r->len) != 2)
		return EINVAL;
	token = path + strlen(path) + 1;
	if (!add)
		err = xsd_watch_remove(r->c, path, token);
	else
		err = xsd_watch_add(r->c, path, token);
	if (err)
		return err;
	ack(r->c);
	/* We fire once up front: simplifies clients (Xen). */
	if (add)
		xsd_conn_event(r->c, path, token);
	return 0;
}

static int h_tx_start(struct req *r)
{
	char buf[16];
	uint32_t id;
	int err;

	if (r->tx)
		return EBUSY;
	err = xsd_tx_start(r->c, &id);
	if (err)
		return err;
	snprintf(buf, sizeof(buf), "%u", id);
	xsd_conn_reply(r->c, XS_TRANSACTION_START, buf,
		       (unsigned int)strlen(buf) + 1);
	return 0;
}

static int h_tx_end(struct req *r)
{
	const char *arg = onearg(r);
	int err;

	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return EINVAL;
	if (!r->tx)
		return ENOENT;
	err = xsd_tx_end(r->tx, arg[0] == 'T');
	r->tx = NULL;
	if (err)
		return err;
	ack(r->c);
	return 0;
}

static int get_domid_arg(const char *s, uint32_t *out)
{
	long d = xsd_parse_domid(s);

	if (d < 0)
		return EINVAL;
	*out = (uint32_t)d;
	return 0;
}

static int h_introduce(struct req *r)
{
	struct pvio_xsd *xsd = r->c->xsd;
	uint32_t domid;

	/* domid\0gfn\0evtchn\0: the page and port mean nothing here. */
	if (xsd_count_strings(r->p, r->len) < 3 || get_domid_arg(r->p, &domid))
		return EINVAL;
	if (domid == 0 || domid >= XSD_DOMID_FIRST_RESERVED ||
	    !xsd_domain_exists(xsd, domid))
		return EINVAL;
	xsd_do_introduce(xsd, domid);
	ack(r->c);
	return 0;
}

static int h_release(struct req *r)
{
	uint32_t domid;
	int err;

	if (get_domid_arg(onearg(r), &domid) || domid == 0)
		return EINVAL;
	/* Xen: the toolstack removes the domain's nodes itself. */
	err = xsd_do_release(r->c->xsd, domid, false, true);
	if (err)
		return err;
	ack(r->c);
	return 0;
}

static int h_get_domain_path(struct req *r)
{
	char buf[32];
	uint32_t domid;

	if (get_domid_arg(onearg(r), &domid))
		return EINVAL;
	snprintf(buf, sizeof(buf), "/local/domain/%u", domid);
	xsd_conn_reply(r->c, XS_GET_DOMAIN_PATH, buf,
		       (unsigned int)strlen(buf) + 1);
	return 0;
}

static int h_is_introduced(struct req *r)
{
	struct xsd_domain *d;
	uint32_t domid;
	bool yes;

	if (get_domid_arg(onearg(r), &domid))
		return EINVAL;
	d = xsd_domain_get(r->c->xsd, domid, false);
	yes = domid == 0 || (d && d->introduced);
	xsd_conn_reply(r->c, XS_IS_DOMAIN_INTRODUCED, yes ? "T" : "F", 2);
	return 0;
}

static int h_resume(struct req *r)
{
	struct xsd_domain *d;
	uint32_t domid;

	if (get_domid_arg(onearg(r), &domid))
		return EINVAL;
	d = xsd_domain_get(r->c->xsd, domid, false);
	if (!d || !d->introduced)
		return ENOENT;
	ack(r->c);
	return 0;
}

static int h_set_target(struct req *r)
{
	struct pvio_xsd *xsd = r->c->xsd;
	const char *t;
	uint32_t domid, target;
	struct xsd_domain *d;

	if (xsd_count_strings(r->p, r->len) < 2)
		return EINVAL;
	t = r->p + strlen(r->p) + 1;
	if (get_domid_arg(r->p, &domid) || get_domid_arg(t, &target))
		return EINVAL;
	if (!xsd_domain_exists(xsd, domid) || !xsd_domain_exists(xsd, target))
		return ENOENT;
	d = xsd_domain_get(xsd, domid, true);
	if (!d)
		return ENOMEM;
	d->has_target = true;
	d->target = target;
	ack(r->c);
	return 0;
}

static int h_reset_watches(struct req *r)
{
	xsd_watch_drop_all(r->c);
	xsd_tx_drop_all(r->c);
	r->tx = NULL;
	ack(r->c);
	return 0;
}

static int h_control(struct req *r)
{
	struct pvio_xsd *xsd = r->c->xsd;
	unsigned int n = xsd_count_strings(r->p, r->len);
	const char *cmd = r->p;
	char buf[512];
	int len, err;

	if (n < 1)
		return EINVAL;
	if (!strcmp(cmd, "check")) {
		err = xsd_tree_check(xsd);
		if (err)
			return err;
		ack(r->c);
		return 0;
	}
	if (!strcmp(cmd, "print")) {
		if (n < 2)
			return EINVAL;
		xsd_log(xsd, "control: %s", cmd + strlen(cmd) + 1);
		ack(r->c);
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		static const char help[] = "Valid commands:\n"
					   "check\n"
					   "print|<string>\n"
					   "quota\n"
					   "help\n";

		xsd_conn_reply(r->c, XS_CONTROL, help, sizeof(help));
		return 0;
	}
	if (!strcmp(cmd, "quota")) {
		const struct pvio_xsd_quota *q = &xsd->quota;

		len = snprintf(buf, sizeof(buf),
			       "Nodes per Domain: %u\n"
			       "Watches per Domain: %u\n"
			       "Max. Node Size: %u\n"
			       "Transactions per Connection: %u\n"
			       "Permissions per Node: %u\n"
			       "Outstanding Requests: %u\n"
			       "Memory per Domain: %u\n",
			       q->nodes_per_domain, q->watches_per_domain,
			       q->value_bytes, q->transactions,
			       q->perms_per_node, q->outstanding,
			       q->memory_bytes);
		xsd_conn_reply(r->c, XS_CONTROL, buf, (unsigned int)len + 1);
		return 0;
	}
	return EINVAL;
}

static bool priv_only(uint32_t type)
{
	switch (type) {
	case XS_CONTROL:
	case XS_INTRODUCE:
	case XS_RELEASE:
	case XS_IS_DOMAIN_INTRODUCED:
	case XS_RESUME:
	case XS_SET_TARGET:
		return true;
	default:
		return false;
	}
}

static int handle(struct req *r)
{
	uint32_t type = r->c->hdr.type;

	switch (type) {
	case XS_DIRECTORY:
		return run_tree_op(r, onearg(r), op_directory);
	case XS_DIRECTORY_PART:
		if (xsd_count_strings(r->p, r->len) != 2)
			return EINVAL;
		return run_tree_op(r, r->p, op_directory_part);
	case XS_READ:
		return run_tree_op(r, onearg(r), op_read);
	case XS_GET_PERMS:
		return run_tree_op(r, onearg(r), op_get_perms);
	case XS_WRITE:
		/* Extra "strings" can be created by binary data. */
		if (xsd_count_strings(r->p, r->len) < 1)
			return EINVAL;
		return modify(r, r->p, op_write);
	case XS_MKDIR:
		return modify(r, onearg(r), op_mkdir);
	case XS_RM:
		return modify(r, onearg(r), op_rm);
	case XS_SET_PERMS:
		return h_set_perms(r);
	case XS_WATCH:
		return h_watch(r, true);
	case XS_UNWATCH:
		return h_watch(r, false);
	case XS_TRANSACTION_START:
		return h_tx_start(r);
	case XS_TRANSACTION_END:
		return h_tx_end(r);
	case XS_INTRODUCE:
		return h_introduce(r);
	case XS_RELEASE:
		return h_release(r);
	case XS_GET_DOMAIN_PATH:
		return h_get_domain_path(r);
	case XS_IS_DOMAIN_INTRODUCED:
		return h_is_introduced(r);
	case XS_RESUME:
		return h_resume(r);
	case XS_SET_TARGET:
		return h_set_target(r);
	case XS_RESET_WATCHES:
		return h_reset_watches(r);
	case XS_CONTROL:
		return h_control(r);
	default:
		return ENOSYS;
	}
}

void xsd_process(struct xsd_conn *c)
{
	struct req r = {.c = c, .tx = NULL, .p = c->in, .len = c->hdr.len};
	uint32_t type = c->hdr.type;
	int err;

	if (type >= XS_TYPE_COUNT || type == XS_WATCH_EVENT ||
	    type == XS_ERROR || type == 20 /* was XS_RESTRICT */) {
		xsd_conn_error(c, ENOSYS);
		return;
	}
	if (priv_only(type) && !xsd_conn_priv(c)) {
		xsd_conn_error(c, EACCES);
		return;
	}
	/* Watches ignore the transaction id (Xen XS_FLAG_NOTID). */
	if (type != XS_WATCH && type != XS_UNWATCH && c->hdr.tx_id) {
		r.tx = xsd_tx_find(c, c->hdr.tx_id);
		if (!r.tx) {
			xsd_conn_error(c, ENOENT);
			return;
		}
	}
	err = handle(&r);
	if (err)
		xsd_conn_error(c, err);
}
