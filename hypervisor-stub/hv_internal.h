/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv: the daemon's own state and the handlers of domain.c (private
 * to hv.c and domain.c; evtchn.c uses hv.h only).
 */
#ifndef PVIO_HV_INTERNAL_H
#define PVIO_HV_INTERNAL_H

#include <limits.h>

#include "hv.h"

/* Default --mem-pages: 1 GiB of grantable memory in all. */
#define PVIO__HV_DEFAULT_POOL 262144U
#define PVIO__HV_MAX_POOL (1U << 24)
/* Domain ids handed out: 1 .. 0x7FEF (DOMID_FIRST_RESERVED - 1). */
#define PVIO__HV_DOMID_MAX (DOMID_FIRST_RESERVED - 1U)

struct pvio__hv {
	char run_dir[PATH_MAX];
	char sock_path[PATH_MAX];
	char xs_path[PATH_MAX];
	char pid_path[PATH_MAX];
	FILE *log;
	int listen_fd, sigfd, epfd, pid_fd;
	bool stop;
	struct pvio_xsd *xsd;

	/* Connections (all, including those before hello). */
	struct pvio__hv_conn *conns;
	uint64_t next_conn_id;
	uint8_t *rxbuf; /* PVIO_HV_MSG_MAX: the private copy of a request */
	struct pvio__hv_reply reply;

	/* Domains by domid (NULL: free); dying ones stay until unpinned. */
	struct pvio__hv_domain **doms;
	uint32_t next_domid; /* where the next allocation search starts */
	uint32_t pool_pages; /* --mem-pages */
	uint32_t pool_used;
	struct pvio_gnt_hv gnt;
};

/* domain.c */
int pvio__hv_domains_init(struct pvio__hv *hv);
void pvio__hv_domains_fini(struct pvio__hv *hv);
void pvio__hv_dom_conn_gone(struct pvio__hv *hv, struct pvio__hv_conn *c);
void pvio__hv_dom_pidfd_ready(struct pvio__hv *hv, uint32_t domid);
int pvio__hv_hello(struct pvio__hv *hv, struct pvio__hv_conn *c,
		   const void *payload, struct pvio__hv_reply *r);

#define PVIO__HV_HANDLER(name)                                                 \
	int name(struct pvio__hv *hv, struct pvio__hv_conn *c,                 \
		 const struct pvio__hv_hdr *h, const void *payload,            \
		 size_t len, struct pvio__hv_reply *r)
PVIO__HV_HANDLER(pvio__hv_op_version);
PVIO__HV_HANDLER(pvio__hv_op_mem_alloc);
PVIO__HV_HANDLER(pvio__hv_op_mem_free);
PVIO__HV_HANDLER(pvio__hv_op_mem_get);
PVIO__HV_HANDLER(pvio__hv_op_gnttab_setup);
PVIO__HV_HANDLER(pvio__hv_op_retire);
PVIO__HV_HANDLER(pvio__hv_op_map);
PVIO__HV_HANDLER(pvio__hv_op_unmap);
PVIO__HV_HANDLER(pvio__hv_op_copy);
PVIO__HV_HANDLER(pvio__hv_op_transfer);
PVIO__HV_HANDLER(pvio__hv_op_xs_open);
PVIO__HV_HANDLER(pvio__hv_op_ctl_create);
PVIO__HV_HANDLER(pvio__hv_op_ctl_set_pid);
PVIO__HV_HANDLER(pvio__hv_op_ctl_destroy);
PVIO__HV_HANDLER(pvio__hv_op_ctl_pause);
PVIO__HV_HANDLER(pvio__hv_op_ctl_unpause);
PVIO__HV_HANDLER(pvio__hv_op_ctl_list);
PVIO__HV_HANDLER(pvio__hv_op_ctl_lookup);

/* hv.c: add/remove a domain's pidfd to/from the main epoll. */
int pvio__hv_epoll_pidfd(struct pvio__hv *hv, int pidfd, uint32_t domid,
			 bool add);

#endif /* PVIO_HV_INTERNAL_H */
