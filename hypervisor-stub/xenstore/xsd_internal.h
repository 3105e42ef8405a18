/* SPDX-License-Identifier: MIT */
/*
 * Private to hypervisor-stub/xenstore: the objects of the daemon and the
 * functions each file offers the others.  See xsd.c for the design.
 *
 * Conventions inside the daemon: handlers return 0 or a POSITIVE errno
 * (the value that goes on the wire as its name); functions of xsd.h
 * return negative errnos.
 */
#ifndef PVIO_XSD_INTERNAL_H
#define PVIO_XSD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvio/io/xs_wire.h>

#include "xsd.h"

/* Permission bits (Xen's XS_PERM_*; OWNER is daemon-internal). */
#define XSD_PERM_NONE 0u
#define XSD_PERM_READ 1u
#define XSD_PERM_WRITE 2u
#define XSD_PERM_OWNER 8u

/* Domain ids at or above this are not domains (Xen DOMID_FIRST_RESERVED). */
#define XSD_DOMID_FIRST_RESERVED 0x7FF0u

/* Room for any canonical path plus its NUL (relative prefix included). */
#define XSD_PATH_BUF (XENSTORE_ABS_PATH_MAX + 64)

/*
 * Xen 4.17 charges a node as its TDB record: a 24-byte header, 8 bytes per
 * permission, the value and the NUL-separated child names.  The per-node
 * quota (value_bytes) is checked against this size, as Xen does.
 */
#define XSD_NODE_HDR_BYTES 24u
#define XSD_PERM_BYTES 8u

/* Nodes one transaction of an unprivileged domain may touch (Xen 4.17
 * "transaction-nodes" quota). */
#define XSD_TX_NODES_MAX 1024u

struct xsd_perm {
	uint32_t id;	    /* domain */
	unsigned int perms; /* XSD_PERM_* */
};

/* Entry 0 is the owner; its perms are the default for everyone else. */
struct xsd_perms {
	unsigned int num; /* >= 1 on every node */
	struct xsd_perm *p;
};

/* A node of the committed tree. */
struct xsd_node {
	char *name; /* last path component; "" for the root */
	struct xsd_node *parent;
	struct xsd_node **child; /* in creation order (Xen keeps that too) */
	unsigned int nchild, childcap;
	unsigned int childlen; /* sum of strlen(child name) + 1 */
	char *value;	       /* not NUL-terminated on the wire */
	unsigned int vlen;
	struct xsd_perms perms;
	uint64_t gen;	   /* xsd->gen when last changed; never 0 */
	uint32_t acct_dom; /* domain this node is charged to */
	size_t acct_bytes; /* bytes charged to acct_dom */
};

/* Per-domain accounting, created on first use. */
struct xsd_domain {
	struct xsd_domain *next;
	uint32_t domid;
	bool introduced;
	bool has_target;
	uint32_t target; /* XS_SET_TARGET: acts as owner of target's nodes */
	unsigned int nodes;
	size_t memory;
	unsigned int watches;
};

struct xsd_watch {
	struct xsd_watch *next;
	char *path; /* canonical, or "@..." */
	char *token;
	size_t rel_off;	   /* event paths drop this many chars (relative) */
	size_t acct_bytes; /* charged to the connection's domain memory */
};

/* One queued outgoing message (header + payload, wire bytes). */
struct xsd_out {
	struct xsd_out *next;
	struct xsd_out *hnext; /* pending-event dedup chain */
	bool is_event;
	bool hashed;
	unsigned int hash;
	unsigned int len; /* bytes in buf */
	char buf[];
};

#define XSD_EVHASH 64

struct xsd_tx;

struct xsd_conn {
	struct pvio_xsd *xsd;
	struct xsd_conn *next, *prev; /* xsd->conns */
	struct xsd_conn *grave_next;
	int fd;
	uint32_t domid;
	bool dead;
	uint32_t epoll_mask; /* what is registered now */

	/* Input: one message at a time, header then payload. */
	unsigned char hdr_raw[sizeof(struct pvio_xsd_sockmsg)];
	unsigned int hdr_used;
	struct pvio_xsd_sockmsg hdr; /* decoded when hdr_used == 16 */
	char *in;		     /* hdr.len + 1 bytes */
	unsigned int in_used;

	/* Output queue. */
	struct xsd_out *out_head, **out_tail;
	unsigned int out_off;	  /* bytes of out_head already written */
	size_t out_bytes;	  /* queued bytes */
	unsigned int out_replies; /* queued replies (not events) */
	struct xsd_out *evhash[XSD_EVHASH];

	struct xsd_watch *watches;
	unsigned int nwatches;
	struct xsd_tx *txs;
	unsigned int ntx;
	uint32_t next_txid;
};

struct pvio_xsd {
	struct pvio_xsd_hooks hooks;
	void *ctx;
	struct pvio_xsd_quota quota;
	int epfd;
	int listen_fd;
	char *listen_path;
	struct xsd_node *root;
	uint64_t gen; /* last generation handed out */
	struct xsd_domain *domains[64];
	struct xsd_conn *conns;
	struct xsd_conn *grave; /* killed, freed after dispatch */
	unsigned int in_dispatch;
	struct xsd_perms special_intro, special_release;
};

/* util.c */
char *xsd_strdup(const char *s);
void *xsd_memdup(const void *p, size_t n);
unsigned int xsd_hash(const void *p, size_t n);
int xsd_perms_copy(struct xsd_perms *dst, const struct xsd_perms *src);
void xsd_perms_free(struct xsd_perms *p);
/* Parse 'num' NUL-terminated perm strings starting at s. */
int xsd_perms_parse(struct xsd_perms *out, const char *s, unsigned int num);
/* Write "r0\0b5\0..." into buf (cap bytes); returns length or -1. */
int xsd_perms_format(const struct xsd_perms *p, char *buf, size_t cap);
/* Count NUL-terminated strings in a payload (Xen xs_count_strings). */
unsigned int xsd_count_strings(const char *p, unsigned int len);
/* Decimal domid, digits only, < 2^16; -1 if invalid. */
long xsd_parse_domid(const char *s);
/*
 * Canonicalise a request path for 'domid': relative paths are made
 * absolute under /local/domain/<domid>; checks characters, slashes and
 * the Xen 4.17 length rule.  '@' names are accepted only if
 * allow_special.  Returns 0 or EINVAL.
 */
int xsd_canonicalize(uint32_t domid, const char *in, char *out,
		     bool allow_special, size_t *rel_off);
bool xsd_is_child(const char *child, const char *parent);
unsigned int xsd_depth(const char *path);

/* tree.c */
struct xsd_domain *xsd_domain_get(struct pvio_xsd *xsd, uint32_t domid,
				  bool create);
struct xsd_node *xsd_tree_lookup(struct pvio_xsd *xsd, const char *path);
size_t xsd_node_size(unsigned int nperms, unsigned int vlen,
		     unsigned int childlen);
int xsd_tree_init(struct pvio_xsd *xsd);
void xsd_tree_free_node(struct pvio_xsd *xsd, struct xsd_node *n);
/* Recompute what n is charged and to whom. */
void xsd_tree_recharge(struct pvio_xsd *xsd, struct xsd_node *n);
/* New child of parent (name copied) with perms copied; 0 or ENOMEM. */
int xsd_tree_add_child(struct pvio_xsd *xsd, struct xsd_node *parent,
		       const char *name, const struct xsd_perms *perms,
		       struct xsd_node **out);
void xsd_tree_remove(struct pvio_xsd *xsd, struct xsd_node *n);
unsigned int xsd_perm_for(struct pvio_xsd *xsd, uint32_t domid,
			  const struct xsd_perms *perms);
/* Domain death: owner of its nodes becomes dom0, ACL entries dropped. */
void xsd_tree_forget_domain(struct pvio_xsd *xsd, uint32_t domid);
/* Recount nodes and bytes per domain; 0 if the books balance, else EIO. */
int xsd_tree_check(struct pvio_xsd *xsd);

/* transaction.c */
struct xsd_txnode {
	char *path;
	struct xsd_txnode *hnext, *next;
	uint64_t base_gen; /* committed gen at first access; 0 = absent */
	bool exists;
	bool data_mod;	   /* value or perms changed (or node created) */
	bool deleted;	   /* existed at first access and was removed */
	unsigned long seq; /* order of creation, kept at commit */
	char *value;
	unsigned int vlen;
	struct xsd_perms perms;
	char **child;
	unsigned int nchild, childcap, childlen;
};

struct xsd_fire {
	struct xsd_fire *next;
	char *path;
	bool exact;
	struct xsd_perms
		perms; /* node's perms when it changed (num may be 0) */
};

struct xsd_tx {
	struct xsd_tx *next;
	struct xsd_conn *conn;
	uint32_t id;
	bool oneshot; /* a single request outside a transaction */
	bool conflict;
	uint64_t start_gen;
	struct xsd_txnode *buckets[256];
	struct xsd_txnode *list;
	unsigned int count;
	struct xsd_fire *fires, **fires_tail;
	int node_delta; /* conn domain's nodes created minus removed */
	unsigned long seq;
};

void xsd_tx_init(struct xsd_tx *tx, struct xsd_conn *conn, bool oneshot);
void xsd_tx_cleanup(struct xsd_tx *tx);
/* Entry for path (copied in on first access); NULL + *err on failure. */
struct xsd_txnode *xsd_tx_get(struct xsd_tx *tx, const char *path, int *err);
/* Look up with permission check, Xen get_node() errno rules. */
int xsd_tx_get_checked(struct xsd_tx *tx, const char *path, unsigned int want,
		       struct xsd_txnode **out);
int xsd_tx_write(struct xsd_tx *tx, const char *path, const char *val,
		 unsigned int vlen, bool mkdir);
int xsd_tx_rm(struct xsd_tx *tx, const char *path);
int xsd_tx_set_perms(struct xsd_tx *tx, const char *path,
		     const struct xsd_perms *perms);
/* Check conflicts and apply; 0 or EAGAIN/ENOMEM.  Fires nothing. */
int xsd_tx_commit(struct xsd_tx *tx);
/* Queue the watch events recorded by a committed transaction. */
void xsd_tx_fire(struct xsd_tx *tx);
struct xsd_tx *xsd_tx_find(struct xsd_conn *c, uint32_t id);
int xsd_tx_start(struct xsd_conn *c, uint32_t *id);
/* Ends (and frees) a transaction; commit or abort. */
int xsd_tx_end(struct xsd_tx *tx, bool commit);
void xsd_tx_drop_all(struct xsd_conn *c);

/* watch.c */
int xsd_watch_add(struct xsd_conn *c, const char *path, const char *token);
int xsd_watch_remove(struct xsd_conn *c, const char *path, const char *token);
void xsd_watch_drop_all(struct xsd_conn *c);
/* Fire for a change of 'path'; perms: the node's perms at that time. */
void xsd_fire(struct pvio_xsd *xsd, const char *path, bool exact,
	      const struct xsd_perms *perms);

/* conn.c */
struct xsd_conn *xsd_conn_new(struct pvio_xsd *xsd, int fd, uint32_t domid,
			      int *err);
void xsd_conn_kill(struct xsd_conn *c);
void xsd_conn_free(struct xsd_conn *c);
void xsd_conn_input(struct xsd_conn *c);
void xsd_conn_flush(struct xsd_conn *c);
void xsd_conn_reply(struct xsd_conn *c, uint32_t type, const void *data,
		    unsigned int len);
void xsd_conn_error(struct xsd_conn *c, int err);
void xsd_conn_event(struct xsd_conn *c, const char *path, const char *token);
bool xsd_conn_priv(const struct xsd_conn *c);

/* ops.c */
void xsd_process(struct xsd_conn *c);

/* xsd.c */
bool xsd_domain_exists(struct pvio_xsd *xsd, uint32_t domid);
/* 0 if newly introduced (fires @introduceDomain) or already was. */
int xsd_do_introduce(struct pvio_xsd *xsd, uint32_t domid);
/* Close domid's connections, forget its perms, optionally remove
 * /local/domain/<domid>, fire @releaseDomain.  ENOENT if not introduced
 * and require_introduced. */
int xsd_do_release(struct pvio_xsd *xsd, uint32_t domid, bool remove_tree,
		   bool require_introduced);
void xsd_log(struct pvio_xsd *xsd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xsd_reap(struct pvio_xsd *xsd);

#endif /* PVIO_XSD_INTERNAL_H */
