/* SPDX-License-Identifier: MIT */
/*
 * rawfront: a raw blkif frontend for tests (library pvio_rawfront).
 *
 *   rf_world   a private pvio-hv (tests/hv/hvtest.h) plus dom0 handles.
 *   rf_back    a backend domain whose process is pvio-blkback (fork +
 *              exec, env PVIO_DOMAIN_CRED/PVIO_RUN_DIR, its stderr in
 *              <run dir>/<name>.log, registered with pvio_dom_ctl_set_pid).
 *   rf_front   a frontend domain opened in this process.
 *   rf_vbd     one device between them: rf_vbd_add() writes the libxl
 *              xenstore layout (as dom0), rf_vbd_connect() allocates and
 *              grants rings, allocates event channels, writes the keys
 *              (as the frontend domain) and waits for Connected.  Then
 *              any bytes can be put on the ring in either ABI
 *              (rf_put_*), pushed, and the responses collected
 *              (rf_get_rsp checks every response's padding is zero).
 *   rf_buf     granted data pages of the frontend.
 *
 * Single-threaded; everything returns 0 / -errno unless said otherwise.
 */
#ifndef PVIO_TESTS_RAWFRONT_H
#define PVIO_TESTS_RAWFRONT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pvio/channel.h>
#include <pvio/domain.h>
#include <pvio/io/blkif.h>
#include <pvio/xs.h>

#include "hvtest.h"

struct rf_world {
	struct hvtest hv;
	struct pvio_dom *dom0;
	struct pvio_xs *xs; /* dom0's */
	int seq;
};

int rf_world_start(struct rf_world *w);
/* 0 if pvio-hv exited cleanly (hvtest_stop). */
int rf_world_stop(struct rf_world *w);

struct rf_back {
	pvio_domid_t domid;
	pid_t pid;
	char log[PATH_MAX + 64];
};

/* Start pvio-blkback (path built in) with extra 'args' (NULL-terminated
 * or NULL) in a new backend domain. */
int rf_back_start(struct rf_world *w, struct rf_back *b,
		  const char *const *args);
/* SIGTERM, wait (SIGKILL after 10 s).  Returns the exit status (0 for a
 * clean exit), or -1 if it was killed by a signal or had to be. */
int rf_back_stop(struct rf_world *w, struct rf_back *b);
/* Foreign pages the backend domain holds mapped, as pvio-hv counts them;
 * UINT32_MAX if the domain is not listed. */
uint32_t rf_back_mapped(struct rf_world *w, const struct rf_back *b);
/* Wait (ms) until the daemon wrote data/blkback-ready = "1" (its watch
 * is registered): 0, -ETIMEDOUT, -EPROTO (another value). */
int rf_back_wait_ready(struct rf_world *w, struct rf_back *b, int ms);
/* Still running? */
bool rf_back_alive(struct rf_back *b);
/* The log contains 'needle'. */
bool rf_back_log_has(const struct rf_back *b, const char *needle);

struct rf_counters {
	uint64_t requests, errors, maps, unmaps, hypercalls;
};
/* The last counters line of vbd "<F>/<devid>" in the log: 0 or -ENOENT. */
int rf_back_counters(const struct rf_back *b, const char *vbd,
		     struct rf_counters *c);

struct rf_front {
	pvio_domid_t domid;
	struct pvio_dom *dom;
	struct pvio_xs *xs; /* the frontend domain's own connection */
};

int rf_front_create(struct rf_world *w, struct rf_front *f,
		    unsigned int mem_pages);
void rf_front_destroy(struct rf_world *w, struct rf_front *f);

/* Granted pages of the frontend (to 'back'). */
#define RF_BUF_MAX 1024
struct rf_buf {
	uint8_t *addr;
	uint32_t pfn;
	unsigned int n;
	pvio_grant_ref_t gref[RF_BUF_MAX];
};

int rf_buf_alloc(struct rf_front *f, pvio_domid_t back, unsigned int n,
		 bool readonly, struct rf_buf *b);
/* End the grants (waiting for the backend to unmap, 2 s) and free. */
int rf_buf_free(struct rf_front *f, struct rf_buf *b);

enum rf_abi { RF_ABI_X86_64 = 0, RF_ABI_X86_32 = 1 };

struct rf_conn {
	enum rf_abi abi;
	unsigned int queues; /* 1..16 */
	unsigned int order;  /* ring-page-order, 0..4 */
	bool persistent;     /* feature-persistent = 1 */
	bool no_protocol;    /* omit the protocol key */
	bool write_order;    /* write ring-page-order even if 0 */
};

struct rf_q {
	uint8_t *ring;
	uint32_t pfn;
	unsigned int pages;
	pvio_grant_ref_t gref[16];
	pvio_evtchn_port_t port;
	int wait_fd, kick_fd;
	struct pvio_ring r; /* front end (libchannel) */
};

struct rf_vbd {
	struct rf_world *w;
	struct rf_front *f;
	pvio_domid_t back;
	uint32_t devid;
	char fpath[128], bpath[128];
	struct rf_conn c;
	size_t req_size, rsp_size;
	unsigned int nq;
	struct rf_q q[16];
	bool rings;
};

/* Write both directories (libxl layout) and wait for InitWait.  'image'
 * is the params; 'engine' NULL: the daemon's default. */
int rf_vbd_add(struct rf_world *w, struct rf_vbd *v, struct rf_front *f,
	       struct rf_back *b, uint32_t devid, const char *image,
	       bool writable, const char *engine);

/* Rings + channels + keys + Initialised; wait for Connected (-ETIMEDOUT). */
int rf_vbd_connect(struct rf_vbd *v, const struct rf_conn *c);
/* The pieces of rf_vbd_connect(), for tests that write bad keys. */
int rf_vbd_rings(struct rf_vbd *v, const struct rf_conn *c);
int rf_vbd_write_keys(struct rf_vbd *v);
int rf_vbd_fkey(struct rf_vbd *v, const char *key, const char *val);
int rf_vbd_set_state(struct rf_vbd *v, int state);
/* Wait until the backend's state is 'state' (ms); -ETIMEDOUT. */
int rf_vbd_wait_state(struct rf_vbd *v, int state, int ms);
/* A backend key (malloc'd value, NULL if missing). */
char *rf_vbd_bkey(struct rf_vbd *v, const char *key);
/* Closing, wait for the backend to let go, free rings.  Removes both
 * directories if 'remove'. */
int rf_vbd_close(struct rf_vbd *v, bool remove);

/* Requests: put one on the private producer index of queue 'qi'. */
struct rf_seg {
	pvio_grant_ref_t gref;
	uint8_t first, last;
};
int rf_put_rw(struct rf_vbd *v, unsigned int qi, uint8_t op, uint64_t id,
	      uint64_t sector, unsigned int nseg, const struct rf_seg *seg);
int rf_put_discard(struct rf_vbd *v, unsigned int qi, uint64_t id,
		   uint64_t sector, uint64_t nr, uint8_t flag);
int rf_put_indirect(struct rf_vbd *v, unsigned int qi, uint8_t iop, uint64_t id,
		    uint64_t sector, uint16_t nseg,
		    const pvio_grant_ref_t *igrefs, unsigned int npages);
/* Arbitrary bytes (up to the ABI's request size; the rest zeroed). */
int rf_put_raw(struct rf_vbd *v, unsigned int qi, const void *raw, size_t len);
/* Publish and notify the backend if it asked (or always if 'force'). */
int rf_push(struct rf_vbd *v, unsigned int qi, bool force);
/* Kick the backend's event channel. */
void rf_kick(struct rf_vbd *v, unsigned int qi);

struct rf_rsp {
	uint64_t id;
	uint8_t op;
	int16_t status;
	bool pad_zero; /* every padding byte was zero */
};
/* Wait for one response (ms); -ETIMEDOUT. */
int rf_get_rsp(struct rf_vbd *v, unsigned int qi, struct rf_rsp *r, int ms);

/* One synchronous request through queue 'qi' of 'n' whole pages of 'b'
 * starting at page 'p0': returns the status (BLKIF_RSP_*), or -errno.
 * Fails the padding check with -EPROTO. */
int rf_rw_pages(struct rf_vbd *v, unsigned int qi, uint8_t op, uint64_t sector,
		struct rf_buf *b, unsigned int p0, unsigned int n);

/* Helpers */
int rf_make_image(const char *dir, const char *name, uint64_t bytes, char *path,
		  size_t len);
int rf_wait(int (*cond)(void *), void *arg, int ms);

#endif /* PVIO_TESTS_RAWFRONT_H */
