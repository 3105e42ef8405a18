/* SPDX-License-Identifier: MIT */
/*
 * The hypercall transport between libdomain and pvio-hv (private: both
 * sides are built from this tree at the same time, so the layout is not
 * a stable ABI; the version in the hello message catches a mismatch).
 *
 * Socket: SOCK_SEQPACKET at <run_dir>/hv.sock.  Message boundaries are
 * kept by the kernel, so one message is one request, one reply fragment
 * or one async notice; no framing of our own, and a truncated message
 * (MSG_TRUNC) is detectable.
 *
 * Every message starts with struct pvio__hv_hdr, then 'len' bytes of
 * payload (the op's fixed struct, then 'count' array elements where the
 * op has an array).  File descriptors travel as SCM_RIGHTS, at most
 * PVIO_HV_MAX_FDS per message (the kernel's SCM_MAX_FD is 253); a reply
 * that carries more is split into fragments: the first holds the
 * payload and the first fds, the others only fds, each but the last has
 * 'more' set.  So a batch of 1000 maps is still one round trip.
 *
 * Requests: seq != 0, chosen by the client, echoed in the reply; the
 * reply's type is the request's | PVIO_HV_REPLY and 'ret' is 0 or a
 * negative errno for the call as a whole (per-op results, e.g. GNTST_*,
 * are in the payload).  Async notices from pvio-hv (PVIO_HV_ASYNC_*) have
 * seq 0 and may arrive at any time, also between a request and its
 * reply: the client routes them (libdomain: pvio__dom_route_async()).
 *
 * The first request on a connection must be PVIO_HV_OP_HELLO: it names
 * the domain the connection acts as, for the rest of its life.  A failed
 * hello gets -EPERM and the connection is closed.
 *
 * Everything a domain sends is hostile: pvio-hv copies the message into
 * its own buffer once (recvmsg does), then checks len against the op's
 * size exactly (len == fixed + count * element), count against
 * PVIO_HV_BATCH_MAX, and fds against what the op takes (no request takes
 * fds today: any fd attached is closed and the reply is -EINVAL).
 */
#ifndef PVIO_HV_PROTO_H
#define PVIO_HV_PROTO_H

#include <stdint.h>

#include <pvio/domain.h>
#include <pvio/io/event_channel.h>
#include <pvio/io/grant_table.h>

#define PVIO_HV_MAGIC 0x76687670U /* "pvhv" little-endian */
#define PVIO_HV_PROTO_VERSION 1U
#define PVIO_HV_VERSION ((0U << 16) | 1U) /* pvio-hv 0.1: xen_version */

#define PVIO_HV_SOCK_NAME "hv.sock"
/* Largest message either side sends or accepts, header included. */
#define PVIO_HV_MSG_MAX 65536U
/* SCM_MAX_FD of Linux: more fds in one message fail with EINVAL. */
#define PVIO_HV_MAX_FDS 253U
/* Largest 'count' of one batched request; libdomain splits larger ones. */
#define PVIO_HV_BATCH_MAX 1024U
/* Grant table: Xen's default max_grant_frames (v1: 512 entries a frame). */
#define PVIO_HV_GNTTAB_FRAMES 32U
#define PVIO_HV_GNTTAB_ENTRIES                                                 \
	(PVIO_HV_GNTTAB_FRAMES * PVIO_DOM_PAGE_SIZE /                          \
	 sizeof(struct pvio_grant_entry_v1))
/* Mappings one domain may hold at once (maptrack size). */
#define PVIO_HV_MAPTRACK PVIO_DOM_MAPTRACK

#define PVIO_HV_REPLY 0x80000000U

enum pvio__hv_op {
	PVIO_HV_OP_HELLO = 1,
	PVIO_HV_OP_VERSION = 2,
	/* memory */
	PVIO_HV_OP_MEM_ALLOC = 10,
	PVIO_HV_OP_MEM_FREE = 11,
	PVIO_HV_OP_MEM_GET = 12,
	/* own grant table */
	PVIO_HV_OP_GNTTAB_SETUP = 20,
	PVIO_HV_OP_RETIRE = 21,
	/* grant ops */
	PVIO_HV_OP_MAP = 30,
	PVIO_HV_OP_UNMAP = 31,
	PVIO_HV_OP_COPY = 32,
	PVIO_HV_OP_TRANSFER = 33,
	/* event channels (hypervisor-stub/evtchn.c, libdomain/evtchn.c) */
	PVIO_HV_OP_EVTCHN_ALLOC_UNBOUND = 40,
	PVIO_HV_OP_EVTCHN_BIND = 41,
	PVIO_HV_OP_EVTCHN_CLOSE = 42,
	PVIO_HV_OP_EVTCHN_STATUS = 43,
	/* xenstore */
	PVIO_HV_OP_XS_OPEN = 50,
	/* dom0 only */
	PVIO_HV_OP_CTL_CREATE = 60,
	PVIO_HV_OP_CTL_SET_PID = 61,
	PVIO_HV_OP_CTL_DESTROY = 62,
	PVIO_HV_OP_CTL_PAUSE = 63,
	PVIO_HV_OP_CTL_UNPAUSE = 64,
	PVIO_HV_OP_CTL_LIST = 65,
	PVIO_HV_OP_CTL_LOOKUP = 66,
	PVIO_HV_OP_MAX_ = 67, /* one past the largest; not an op */

	/* pvio-hv -> domain, seq 0, no reply */
	PVIO_HV_ASYNC_EVTCHN_BOUND = 0x1000,  /* payload below + fds */
	PVIO_HV_ASYNC_EVTCHN_CLOSED = 0x1001, /* payload below */
};

struct pvio__hv_hdr {
	uint32_t type;	/* PVIO_HV_OP_* [| PVIO_HV_REPLY] or PVIO_HV_ASYNC_* */
	uint32_t seq;	/* request's, echoed; 0 for async */
	int32_t ret;	/* reply: 0 or -errno; request: 0 */
	uint32_t count; /* array elements after the op's fixed struct */
	uint32_t len;	/* payload bytes after this header */
	uint16_t nfds;	/* fds attached to this message */
	uint16_t more;	/* reply: 1 if another fragment (fds only) follows */
};

/* ---- HELLO ----------------------------------------------------------- */
struct pvio__hv_hello {
	uint32_t magic;	  /* PVIO_HV_MAGIC */
	uint32_t version; /* PVIO_HV_PROTO_VERSION */
	/* "" for dom0, else "<domid>:<64 hex>", NUL-terminated */
	char cred[PVIO_DOM_CRED_MAX];
};
struct pvio__hv_hello_reply {
	uint32_t domid;
	uint32_t mem_max_pages;
	uint32_t mem_used_pages;
	uint32_t hv_version;
};

/* ---- VERSION: no payload; reply uint32_t version ------------------- */

/* ---- MEM_ALLOC {n} -> {pfn} + n fds (read-write page memfds) -------- */
struct pvio__hv_mem_alloc {
	uint32_t n;
};
struct pvio__hv_mem_alloc_reply {
	uint32_t pfn;
};

/* ---- MEM_FREE {pfn, n} ----------------------------------------------- */
struct pvio__hv_mem_range {
	uint32_t pfn;
	uint32_t n; /* <= PVIO_HV_BATCH_MAX for MEM_GET */
};

/*
 * ---- MEM_GET {pfn, n} -> uint8_t present[n] + one fd per present page.
 * A process of the domain that opened after other processes allocated
 * pages maps them with this (and the receiver of a transfer).
 */

/* ---- GNTTAB_SETUP: no payload -> {nr_entries} + 1 fd (the table) --- */
struct pvio__hv_gnttab_reply {
	uint32_t nr_entries;
};

/*
 * ---- RETIRE {pfn} -> {swapped} + 1 fd if swapped ----------------------
 * Sent after the granter ended an access grant of frame 'pfn'.  If
 * pvio-hv ever handed that page to another domain, and no other grant of
 * the frame is still mapped, it replaces the page with a fresh memfd of
 * the same content and returns it; the caller maps it MAP_FIXED at the
 * same address.  swapped 0: nothing to do (never exposed, or deferred
 * until the last mapping of the frame is gone: still exposed).
 */
struct pvio__hv_retire {
	uint32_t pfn;
};
struct pvio__hv_retire_reply {
	uint32_t swapped;
};

/*
 * ---- MAP: count x pvio__hv_map_op -> count x pvio__hv_map_res + one fd
 * per op with status GNTST_okay, in op order (read-only maps get an
 * O_RDONLY fd).
 */
struct pvio__hv_map_op {
	uint32_t dom;
	uint32_t ref;
	uint32_t flags; /* GNTMAP_readonly or 0 (host_map implied) */
};
struct pvio__hv_map_res {
	int32_t status; /* GNTST_* */
	uint32_t handle;
};

/* ---- UNMAP: count x uint32_t handle -> count x int32_t status -------- */

/* ---- COPY: count x pvio_gnttab_copy -> count x int32_t status -------- */

/*
 * ---- TRANSFER: count x pvio_gnttab_transfer -> count x int32_t status.
 * On GNTST_okay the caller unmaps the frame (it is no longer its own).
 */

/* ---- EVTCHN_*: H5 (hypervisor-stub/evtchn.c) defines payloads -------- */
/*
 * ALLOC_UNBOUND  pvio_evtchn_alloc_unbound -> same struct
 * BIND           pvio_evtchn_bind_interdomain -> same struct (+ fds)
 * CLOSE          pvio_evtchn_close -> nothing
 * STATUS         pvio_evtchn_status -> same struct
 * Async notices: the structs below.
 */
/*
 * BOUND: 'port' of the receiving domain is now interdomain.  Two fds:
 * [0] the eventfd this end waits on, [1] the one it kicks (write 1).
 * Sent to every connection of the remote end's domain, and to those of
 * the binder's domain other than the binding connection (which gets the
 * same two fds with its reply).
 */
struct pvio__hv_async_bound {
	uint32_t port;	      /* the caller's port that is now bound */
	uint32_t remote_dom;  /* who bound it */
	uint32_t remote_port; /* and from which port */
};
/*
 * CLOSED: 'port' of the receiving domain lost its doorbells: drop both
 * fds.  status EVTCHNSTAT_unbound: the remote end closed (or its domain
 * died) and the port is reserved for remote_dom again; EVTCHNSTAT_closed:
 * another connection of the same domain closed the port.
 */
struct pvio__hv_async_closed {
	uint32_t port;	     /* the caller's port */
	uint32_t status;     /* EVTCHNSTAT_unbound or EVTCHNSTAT_closed */
	uint32_t remote_dom; /* unbound: who may bind it now */
};

/* ---- XS_OPEN: no payload -> 1 fd (stream socket, served as caller) -- */

/* ---- CTL_CREATE {name, mem_pages} -> {domid, cred} ------------------ */
struct pvio__hv_ctl_create {
	char name[PVIO_DOM_NAME_MAX + 1];
	uint32_t mem_pages;
};
struct pvio__hv_ctl_create_reply {
	uint32_t domid;
	char cred[PVIO_DOM_CRED_MAX];
};

/* ---- CTL_SET_PID {domid, pid}; DESTROY/PAUSE/UNPAUSE {domid} -------- */
struct pvio__hv_ctl_dom {
	uint32_t domid;
	int32_t pid; /* SET_PID only */
};

/*
 * ---- CTL_LIST {first, max} -> {total} + count x pvio_dom_info: the
 * domains with domid >= first, in domid order, at most max
 * (<= PVIO_HV_LIST_MAX); total counts every domain.
 */
#define PVIO_HV_LIST_MAX 256U
struct pvio__hv_ctl_list {
	uint32_t first;
	uint32_t max;
};
struct pvio__hv_ctl_list_reply {
	uint32_t total;
};

/* ---- CTL_LOOKUP {name} -> {domid} ------------------------------------ */
struct pvio__hv_ctl_lookup {
	char name[PVIO_DOM_NAME_MAX + 1];
};
struct pvio__hv_ctl_lookup_reply {
	uint32_t domid;
};

#endif /* PVIO_HV_PROTO_H */
