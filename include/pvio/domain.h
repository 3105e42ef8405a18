/* SPDX-License-Identifier: MIT */
/*
 * pvio_dom: one process's connection to pvio-hv, acting as one domain.
 *
 * A domain is an isolation unit with a domid.  pvio-hv serves its
 * hypercalls over a Unix socket; this library is the only client.  What
 * a domain can do through the handle:
 *
 *   memory         allocate and free grantable pages.  Each page is its
 *                  own memfd inside pvio-hv, mapped here at
 *                  pvio_dom_mem_base() + pfn * 4096.
 *   grant table    its own table (libgrant's pvio_gnt_share) lives in a
 *                  shared mapping pvio-hv also sees; granting and ending
 *                  access need no round trip.
 *   grant ops      map, unmap, copy, transfer of other domains' grants,
 *                  batched, one round trip per batch, Xen's GNTST codes.
 *   event channels alloc_unbound, bind_interdomain, close and status go
 *                  to pvio-hv; send is one write() on the peer's eventfd
 *                  and never reaches pvio-hv.  pvio_dom_fd() is the one
 *                  fd to poll/epoll for everything.
 *   xenstore       a connection to pvio-hv's xenstore as this domain.
 *
 * dom0 (the toolstack) additionally creates, destroys, pauses and lists
 * domains (pvio_dom_ctl_*).
 *
 * Threads: a handle is not locked; serialise calls on one handle.  Use
 * one handle per thread if threads need their own.
 *
 * Errors: 0 or a negative errno; pointer-returning calls take 'int *err'.
 * -EPERM: the credential is forged or stale, or the caller is not
 * privileged for a dom0 call.  -ECONNRESET: pvio-hv went away; every
 * later call on the handle fails the same way.
 */
#ifndef PVIO_DOMAIN_H
#define PVIO_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/event_channel.h"
#include "io/grant_table.h"
#include "io/xen_types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pvio_dom;
struct pvio_gnt_share;
struct pvio_xs;

#define PVIO_DOM_PAGE_SIZE 4096U
#define PVIO_DOM_NAME_MAX 63U		     /* bytes, without the NUL */
#define PVIO_DOM_CRED_ENV "PVIO_DOMAIN_CRED" /* "<domid>:<64 hex digits>" */
#define PVIO_DOM_RUNDIR_ENV "PVIO_RUN_DIR"
#define PVIO_DOM_DEFAULT_RUNDIR "/run/pvio"

/* ---------------------------------------------------------------------- */
/* Connection                                                             */
/* ---------------------------------------------------------------------- */

/*
 * Connect as the domain named by 'cred' ("<domid>:<hex token>", as given
 * by pvio_dom_ctl_create()).  run_dir NULL: $PVIO_RUN_DIR, else /run/pvio.
 * cred NULL: $PVIO_DOMAIN_CRED.  -EPERM if the credential is not that of
 * a live domain.
 */
struct pvio_dom *pvio_dom_open(const char *run_dir, const char *cred, int *err);

/*
 * Connect as dom0.  Only a process with pvio-hv's own uid (or root) may;
 * -EPERM otherwise.
 */
struct pvio_dom *pvio_dom_open_dom0(const char *run_dir, int *err);

/* Disconnect.  The domain itself lives on.  NULL is a no-op. */
void pvio_dom_close(struct pvio_dom *dom);

pvio_domid_t pvio_dom_id(const struct pvio_dom *dom);

/*
 * One fd that becomes readable when an event channel of this domain is
 * pending or pvio-hv sent something.  Level-triggered: after it polls
 * readable, call pvio_dom_evtchn_pending() until it returns 0.
 */
int pvio_dom_fd(const struct pvio_dom *dom);

/*
 * What this handle has asked of pvio-hv, for benchmarks that must show
 * "no hypervisor round trip per I/O".  Counters only grow; they may be
 * read from any thread while another uses the handle (relaxed loads).
 */
struct pvio_dom_stats {
	uint64_t hypercalls;   /* round trips to pvio-hv, of any kind */
	uint64_t grant_maps;   /* pages asked for in map calls */
	uint64_t grant_unmaps; /* pages asked for in unmap calls */
	uint64_t grant_copies; /* grant-copy ops */
};

void pvio_dom_get_stats(const struct pvio_dom *dom, struct pvio_dom_stats *st);

/* A trivial hypercall (Xen's xen_version): pvio-hv's version, packed as
 * major << 16 | minor.  Used to measure a round trip. */
int pvio_dom_version(struct pvio_dom *dom, uint32_t *version);

/* ---------------------------------------------------------------------- */
/* Memory                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Allocate 'n' (1..1024) grantable pages with consecutive frame numbers,
 * zeroed, counted against the domain's memory limit (-ENOMEM beyond it).
 * Returns their address (pvio_dom_page(dom, *pfn)); *pfn gets the first
 * frame number, the one to pass to pvio_gnt_share_grant_access().
 */
void *pvio_dom_mem_alloc(struct pvio_dom *dom, unsigned int n, uint32_t *pfn,
			 int *err);

/* Give back pages from pvio_dom_mem_alloc().  -EINVAL if not allocated. */
int pvio_dom_mem_free(struct pvio_dom *dom, uint32_t pfn, unsigned int n);

/* Where frame 'pfn' of this domain is mapped here, NULL if it is not. */
void *pvio_dom_page(const struct pvio_dom *dom, uint32_t pfn);

/*
 * The other way round: the frame holding 'addr', if 'addr' lies in this
 * domain's own memory as mapped here (0), else -ENOENT.  Lets a driver
 * grant a caller's buffer in place instead of copying it.
 */
int pvio_dom_addr_pfn(const struct pvio_dom *dom, const void *addr,
		      uint32_t *pfn);

/* ---------------------------------------------------------------------- */
/* Own grant table                                                        */
/* ---------------------------------------------------------------------- */

/*
 * The domain's grant table (32 frames, 16384 v1 entries), mapped on the
 * first call.  One handle at a time manages it (the free list lives in
 * that process): NULL if another handle of the domain has it, or if one
 * that had it closed while grants were still in use.  Grant with
 * pvio_gnt_share_grant_access(); end with pvio_dom_grant_end() below, not
 * pvio_gnt_share_end_access(), so that pages a peer had mapped are
 * retired.
 */
struct pvio_gnt_share *pvio_dom_gnttab(struct pvio_dom *dom);

/*
 * End an access grant and make sure no peer can see what is written to
 * the page afterwards: if pvio-hv ever handed the page to another domain,
 * the page is swapped for a fresh copy (same content, same address, new
 * memory) before this returns, so a peer that kept its mapping sees the
 * old page only.  -EBUSY while a peer still holds it mapped.
 */
int pvio_dom_grant_end(struct pvio_dom *dom, pvio_grant_ref_t ref);

/*
 * Finish a transfer grant (pvio_gnt_share_grant_transfer() on
 * pvio_dom_gnttab()) and map the page that arrived: 0 with *pfn = its
 * frame here (pvio_dom_page(dom, *pfn) is its address; it counts against
 * the memory limit like pvio_dom_mem_alloc()'s pages), or
 * pvio_gnt_share_end_transfer()'s errors (-ENOENT: nothing arrived, the
 * offer is withdrawn; -EINPROGRESS: try again).
 */
int pvio_dom_grant_end_transfer(struct pvio_dom *dom, pvio_grant_ref_t ref,
				uint32_t *pfn);

/* ---------------------------------------------------------------------- */
/* Grant operations on other domains' grants                              */
/* ---------------------------------------------------------------------- */

/* Foreign pages one domain may hold mapped at once (Xen's maptrack). */
#define PVIO_DOM_MAPTRACK 16384U

/*
 * One map request: IN dom, ref, flags (GNTMAP_readonly or 0);
 * OUT status (GNTST_*), handle and addr (where the page is mapped here).
 */
struct pvio_dom_map {
	pvio_domid_t dom;
	pvio_grant_ref_t ref;
	uint32_t flags;
	int16_t status;
	pvio_grant_handle_t handle;
	void *addr;
};

/*
 * Map 'count' grants with one round trip; each op gets its own status.
 * Returns 0 (look at the statuses) or -errno for the call as a whole.
 */
int pvio_dom_grant_map(struct pvio_dom *dom, struct pvio_dom_map *ops,
		       unsigned int count);

/*
 * Unmap: IN handle and addr of an earlier map; OUT status.  The pages
 * leave this process's address space.
 */
int pvio_dom_grant_unmap(struct pvio_dom *dom, struct pvio_dom_map *ops,
			 unsigned int count);

/*
 * Map 'count' grants of 'domid' at consecutive addresses, all or nothing
 * (for multi-page rings).  handles[] gets one handle per page.
 */
void *pvio_dom_grant_map_range(struct pvio_dom *dom, pvio_domid_t domid,
			       const pvio_grant_ref_t *refs, unsigned int count,
			       bool readonly, pvio_grant_handle_t *handles,
			       int *err);
int pvio_dom_grant_unmap_range(struct pvio_dom *dom, void *addr,
			       const pvio_grant_handle_t *handles,
			       unsigned int count);

/*
 * GNTTABOP_copy, performed by pvio-hv; Xen's struct.  A GNTCOPY_source_gref
 * / dest_gref side names (domid, ref); otherwise u.gmfn is a frame of the
 * caller (domid DOMID_SELF or its own id).  Statuses per op.
 */
int pvio_dom_grant_copy(struct pvio_dom *dom, struct pvio_gnttab_copy *ops,
			unsigned int count);

/*
 * GNTTABOP_transfer: give away own frame 'mfn' (a pfn from
 * pvio_dom_mem_alloc) to the domain/ref of an accept-transfer grant.  On
 * GNTST_okay the page leaves this domain (it is unmapped here) and the
 * receiver finds it at the frame its grant entry names.
 */
int pvio_dom_grant_transfer(struct pvio_dom *dom,
			    struct pvio_gnttab_transfer *ops,
			    unsigned int count);

/* ---------------------------------------------------------------------- */
/* Event channels                                                         */
/* ---------------------------------------------------------------------- */

/* A port for 'remote' to bind to (EVTCHNOP_alloc_unbound). */
int pvio_dom_evtchn_alloc_unbound(struct pvio_dom *dom, pvio_domid_t remote,
				  pvio_evtchn_port_t *port);

/* Bind to 'remote_port' of 'remote', which it reserved for us.  The new
 * local port starts pending. */
int pvio_dom_evtchn_bind(struct pvio_dom *dom, pvio_domid_t remote,
			 pvio_evtchn_port_t remote_port,
			 pvio_evtchn_port_t *local_port);

/* Close; the other end (if bound) goes back to unbound. */
int pvio_dom_evtchn_close(struct pvio_dom *dom, pvio_evtchn_port_t port);

/* Notify the other end: one write(), no pvio-hv round trip.  A send on an
 * unbound port is dropped silently (returns 0); -EINVAL on a port that is
 * not open here. */
int pvio_dom_evtchn_send(struct pvio_dom *dom, pvio_evtchn_port_t port);

/*
 * Collect pending ports, non-blocking: up to 'max' are written to
 * ports[], each comes back masked (like xenevtchn_pending); unmask to get
 * the next event.  Returns the number written (0: none pending).
 */
int pvio_dom_evtchn_pending(struct pvio_dom *dom, pvio_evtchn_port_t *ports,
			    unsigned int max);

/* Unmask; an event that arrived while masked is delivered again. */
int pvio_dom_evtchn_unmask(struct pvio_dom *dom, pvio_evtchn_port_t port);

/*
 * Take over the delivery of bound interdomain port 'port', so that a
 * driver thread can wait on it and notify through it without the handle
 * (which is not thread-safe):
 *   *wait_fd  an eventfd that becomes readable (counter > 0) when the
 *             peer sends; read it to consume;
 *   *kick_fd  an eventfd to write 1 (8 bytes) to, to send to the peer.
 * Both are new descriptors (close-on-exec) owned by the caller.  From now
 * on this port's events no longer reach pvio_dom_fd() or
 * pvio_dom_evtchn_pending(); pvio_dom_evtchn_send() still works.  The
 * port stays bound until closed as usual.  The descriptors belong to this
 * binding only: once either end closes, a new channel (even on the same
 * port numbers) gets new doorbells, so close them with the port; a peer
 * that went away is learnt of through xenstore, not here.  -ENOTCONN if
 * the port is not bound (yet), -EINVAL.
 */
int pvio_dom_evtchn_take_fds(struct pvio_dom *dom, pvio_evtchn_port_t port,
			     int *wait_fd, int *kick_fd);

/* EVTCHNOP_status of 'domid's port (DOMID_SELF or own id; dom0: any). */
int pvio_dom_evtchn_status(struct pvio_dom *dom, pvio_domid_t domid,
			   pvio_evtchn_port_t port,
			   struct pvio_evtchn_status *st);

/* ---------------------------------------------------------------------- */
/* Xenstore                                                               */
/* ---------------------------------------------------------------------- */

/* A new xenstore connection acting as this domain (pvio_xs_close()). */
struct pvio_xs *pvio_dom_xs_open(struct pvio_dom *dom, int *err);

/* ---------------------------------------------------------------------- */
/* Domain control (dom0 only)                                             */
/* ---------------------------------------------------------------------- */

#define PVIO_DOM_CRED_MAX 80U /* "<domid>:<64 hex>" with NUL, rounded up */

enum pvio_dom_state {
	PVIO_DOM_CREATED = 0, /* no process registered yet */
	PVIO_DOM_RUNNING = 1,
	PVIO_DOM_PAUSED = 2,
	PVIO_DOM_DYING = 3, /* dead, resources being released */
};

struct pvio_dom_info {
	pvio_domid_t domid;
	char name[PVIO_DOM_NAME_MAX + 1];
	enum pvio_dom_state state;
	int32_t pid;		 /* registered process, 0 if none */
	uint32_t mem_max_pages;	 /* memory limit */
	uint32_t mem_used_pages; /* allocated now */
	uint32_t grants_mapped;	 /* foreign pages it has mapped */
	uint32_t evtchn_open;	 /* ports not closed */
};

/*
 * Create a domain: a domid, an empty grant table, a memory limit of
 * 'mem_pages'.  'cred' (PVIO_DOM_CRED_MAX bytes) receives the credential
 * its processes open with.  -EEXIST if 'name' is taken.
 */
int pvio_dom_ctl_create(struct pvio_dom *dom0, const char *name,
			uint32_t mem_pages, pvio_domid_t *domid, char *cred);

/*
 * Tie the domain's life to process 'pid': pvio-hv watches it with a pidfd
 * and destroys the domain the moment it exits.
 */
int pvio_dom_ctl_set_pid(struct pvio_dom *dom0, pvio_domid_t domid, int pid);

/* Kill its process (SIGKILL) and release everything it held. */
int pvio_dom_ctl_destroy(struct pvio_dom *dom0, pvio_domid_t domid);

/* SIGSTOP / SIGCONT its process. */
int pvio_dom_ctl_pause(struct pvio_dom *dom0, pvio_domid_t domid);
int pvio_dom_ctl_unpause(struct pvio_dom *dom0, pvio_domid_t domid);

/* Up to 'max' domains in domid order; returns how many there are in all
 * (which may exceed 'max'). */
int pvio_dom_ctl_list(struct pvio_dom *dom0, struct pvio_dom_info *info,
		      unsigned int max);

/* The domid of 'name', -ENOENT if none. */
int pvio_dom_ctl_lookup(struct pvio_dom *dom0, const char *name,
			pvio_domid_t *domid);

#ifdef __cplusplus
}
#endif

#endif /* PVIO_DOMAIN_H */
