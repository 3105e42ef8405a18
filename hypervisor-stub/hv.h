/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv internals shared by its files (private to the stub).
 *
 * One thread, one epoll: the listening hypercall socket, every
 * connection, every domain's pidfd, the signalfd and pvio_xsd's fd.  No
 * locks: every handler runs to completion on the main loop.
 */
#ifndef PVIO_HV_H
#define PVIO_HV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pvio/domain.h>
#include <pvio/grant.h>

#include "hv_proto.h"

struct pvio__hv;
struct pvio_xsd;
/* Defined by the event-channel code (hypervisor-stub/evtchn.c). */
struct pvio__hv_evtchn_dom;
struct pvio__hv_evtchn_conn;

/* One grantable page of a domain. */
struct pvio__hv_page {
	int fd;	      /* memfd, 4096 bytes, sealed; -1: frame not allocated */
	bool exposed; /* its fd was handed to another domain (map) */
};

/* One connection on hv.sock. */
struct pvio__hv_conn {
	int fd;
	uint64_t id; /* for logs; never reused */
	/* The domain it acts as; NULL until a successful hello. */
	struct pvio__hv_domain *dom;
	bool dead; /* closed at the end of this loop iteration */
	struct pvio__hv_conn *next, *prev;   /* all connections */
	struct pvio__hv_conn *dom_next;	     /* dom->conns list */
	struct pvio__hv_evtchn_conn *evtchn; /* evtchn.c's, NULL at first */
};

struct pvio__hv_domain {
	/* libgrant's view; gnt.env points back here. */
	struct pvio_gnt_domain gnt;
	pvio_domid_t domid;
	char name[PVIO_DOM_NAME_MAX + 1];
	enum pvio_dom_state state;
	bool paused;
	int pid;   /* 0: none registered */
	int pidfd; /* -1: none */
	/* The process led its own process group when registered: the
	 * group goes with the domain (what a guest left running). */
	bool pgrp_leader;
	uint8_t token[32];
	bool cred_valid; /* false once dying: stale credentials fail */

	/* Memory: pages[0..mem_max_pages). */
	uint32_t mem_max_pages;
	uint32_t mem_used_pages;
	struct pvio__hv_page *pages;

	/* Grant table: one memfd of PVIO_HV_GNTTAB_FRAMES pages. */
	int gnttab_fd;
	struct pvio_grant_entry_v1 *gnttab; /* mmap of gnttab_fd here */
	/* The one connection that manages the table, NULL if none. */
	struct pvio__hv_conn *gnttab_owner;
	/* The owner left while grants were in use: nobody may take over. */
	bool gnttab_orphaned;
	struct pvio_gnt_active *active;
	struct pvio_gnt_maptrack *maptrack;

	/* Connections acting as this domain (conn->dom_next). */
	struct pvio__hv_conn *conns;

	/* evtchn.c's per-domain state; NULL until it sets it. */
	struct pvio__hv_evtchn_dom *evtchn;
};

/*
 * A reply being built.  The handler writes 'buf' (capacity 'cap'),
 * sets 'len' and 'count', and appends fds with pvio__hv_reply_fd().
 */
struct pvio__hv_reply {
	void *buf;
	size_t cap;
	size_t len;
	uint32_t count;
	int *fds;
	uint8_t *fd_owned; /* 1: closed after sending (a temporary) */
	unsigned int nfds;
	unsigned int max_fds;
};

/* Append 'fd' to the reply; 'owned': close it once sent.  -E2BIG. */
int pvio__hv_reply_fd(struct pvio__hv_reply *r, int fd, bool owned);

/* The live (not dying) domain 'domid', or NULL. */
struct pvio__hv_domain *pvio__hv_domain_get(struct pvio__hv *hv,
					    uint32_t domid);

/*
 * Send an async notice (PVIO_HV_ASYNC_*) to one connection, with 'fds'
 * (which stay the caller's: they are duplicated into the message by the
 * kernel).  A connection that does not read its notices until its socket
 * buffer is full is marked dead (closed after this loop iteration) and
 * -ECONNRESET is returned.
 */
int pvio__hv_send_async(struct pvio__hv *hv, struct pvio__hv_conn *c,
			uint32_t type, const void *payload, size_t len,
			const int *fds, unsigned int nfds);

/* One log line: time, domid (-1: none), message. */
void pvio__hv_log(struct pvio__hv *hv, int domid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* PVIO_HV_H */
