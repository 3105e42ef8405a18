/* SPDX-License-Identifier: MIT */
/*
 * pvio_xsd: the xenstore daemon inside pvio-hv (private to the stub).
 *
 * It owns its listening socket, its connections and an epoll fd that
 * gathers them; the stub's main loop adds pvio_xsd_fd() to its own epoll
 * and calls pvio_xsd_dispatch() when it is readable.  Nothing blocks.
 *
 * Each connection acts as one domain: dom0 for connections accepted on
 * the listening socket, the domain given to pvio_xsd_add_conn() for the
 * socketpairs pvio-hv hands to domain processes.
 *
 * Errors: 0 or a negative errno.
 */
#ifndef PVIO_XSD_H
#define PVIO_XSD_H

#include <stdbool.h>
#include <stdint.h>

struct pvio_xsd;

/* What the daemon asks of the stub. */
struct pvio_xsd_hooks {
	/* True if 'domid' is a live domain (XS_INTRODUCE, perms checks). */
	bool (*domain_exists)(void *ctx, uint32_t domid);
};

/* Quotas; pvio_xsd_create() starts from Xen 4.17's C xenstored values. */
struct pvio_xsd_quota {
	unsigned int nodes_per_domain;	 /* 1000 */
	unsigned int watches_per_domain; /* 128 */
	unsigned int value_bytes;	 /* 2048 */
	unsigned int transactions;	 /* 10 per connection */
	unsigned int perms_per_node;	 /* 5 */
	unsigned int outstanding;	 /* 20 requests queued per connection */
	unsigned int memory_bytes;	 /* 2 MiB per domain */
};

int pvio_xsd_create(struct pvio_xsd **out, const struct pvio_xsd_hooks *hooks,
		    void *ctx);
/* Closes every connection and frees the tree.  NULL is a no-op. */
void pvio_xsd_destroy(struct pvio_xsd *xsd);

void pvio_xsd_get_quota(const struct pvio_xsd *xsd, struct pvio_xsd_quota *q);
int pvio_xsd_set_quota(struct pvio_xsd *xsd, const struct pvio_xsd_quota *q);

/* Create, bind and listen on the dom0 socket at 'path' (mode 0600). */
int pvio_xsd_listen(struct pvio_xsd *xsd, const char *path);

/* Serve connected stream socket 'fd' as 'domid'; takes ownership of fd
 * whatever the result. */
int pvio_xsd_add_conn(struct pvio_xsd *xsd, int fd, uint32_t domid);

/* Readable when pvio_xsd_dispatch() has work. */
int pvio_xsd_fd(const struct pvio_xsd *xsd);

/* Accept, read, answer, write, without blocking; 0 or -errno (fatal). */
int pvio_xsd_dispatch(struct pvio_xsd *xsd);

/* A new domain: fires @introduceDomain (once per domid). */
int pvio_xsd_introduce(struct pvio_xsd *xsd, uint32_t domid);

/*
 * A domain died or was destroyed: close its connections (their watches
 * and transactions go with them), remove /local/domain/<domid>, fire
 * @releaseDomain.
 */
int pvio_xsd_release(struct pvio_xsd *xsd, uint32_t domid);

#endif /* PVIO_XSD_H */
