/* SPDX-License-Identifier: MIT */
/*
 * libdomain: the connection to pvio-hv, the hypercall transport, memory,
 * the own grant table and grant operations (docs/hv.md).
 *
 * Replies are from pvio-hv, which is trusted, but they are still checked
 * for shape (lengths, counts, fd numbers) so that a protocol mismatch
 * fails cleanly with -EPROTO instead of scribbling over memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dom_private.h"

#define PAGE PVIO_DOM_PAGE_SIZE

/* ---- transport -------------------------------------------------------- */

static int send_req(struct pvio_dom *dom, const struct pvio__hv_hdr *h,
		    const void *payload, size_t len)
{
	struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {(void *)payload, len}};
	struct msghdr msg = {0};
	ssize_t n;

	msg.msg_iov = iov;
	msg.msg_iovlen = len != 0 ? 2 : 1;
	do {
		n = sendmsg(dom->sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EPIPE || errno == ECONNRESET ? -ECONNRESET
							     : -errno;
	return 0;
}

/*
 * One message into dom->rxbuf.  fds go to fds[0..max) (*nfds); extras are
 * closed and reported as -EPROTO after the message was consumed.
 */
static int recv_msg(struct pvio_dom *dom, int flags, struct pvio__hv_hdr *h,
		    size_t *len, int *fds, unsigned int max, unsigned int *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * PVIO_HV_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {dom->rxbuf, PVIO_HV_MSG_MAX};
	struct msghdr msg = {0};
	struct cmsghdr *cm;
	bool extra = false;
	ssize_t n;

	*nfds = 0;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do {
		n = recvmsg(dom->sock, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -ECONNRESET;
	if (n == 0)
		return -ECONNRESET;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t k, m;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		m = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < m; k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int),
			       sizeof(fd));
			if (*nfds < max) {
				fds[(*nfds)++] = fd;
			} else {
				close(fd);
				extra = true;
			}
		}
	}
	if ((size_t)n < sizeof(*h) ||
	    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || extra)
		goto bad;
	memcpy(h, dom->rxbuf, sizeof(*h));
	*len = (size_t)n - sizeof(*h);
	if (h->len != *len || h->nfds != *nfds)
		goto bad;
	return 0;
bad:
	while (*nfds > 0)
		close(fds[--*nfds]);
	return -EPROTO;
}

static void route_async(struct pvio_dom *dom, const struct pvio__hv_hdr *h,
			int *fds, unsigned int nfds)
{
	pvio__dom_evtchn_async(dom, h, dom->rxbuf + sizeof(*h), fds, nfds);
}

/*
 * Relaxed: the counters are statistics, read from other threads with
 * relaxed loads in pvio_dom_get_stats(); nothing is ordered by them.
 */
static void stat_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static void count_call(struct pvio_dom *dom, uint32_t op, uint32_t count)
{
	stat_add(&dom->stats.hypercalls, 1);
	if (op == PVIO_HV_OP_MAP)
		stat_add(&dom->stats.grant_maps, count);
	else if (op == PVIO_HV_OP_UNMAP)
		stat_add(&dom->stats.grant_unmaps, count);
	else if (op == PVIO_HV_OP_COPY)
		stat_add(&dom->stats.grant_copies, count);
}

void pvio_dom_get_stats(const struct pvio_dom *dom, struct pvio_dom_stats *st)
{
	if (st == NULL)
		return;
	memset(st, 0, sizeof(*st));
	if (dom == NULL)
		return;
	st->hypercalls =
		__atomic_load_n(&dom->stats.hypercalls, __ATOMIC_RELAXED);
	st->grant_maps =
		__atomic_load_n(&dom->stats.grant_maps, __ATOMIC_RELAXED);
	st->grant_unmaps =
		__atomic_load_n(&dom->stats.grant_unmaps, __ATOMIC_RELAXED);
	st->grant_copies =
		__atomic_load_n(&dom->stats.grant_copies, __ATOMIC_RELAXED);
}

int pvio__dom_call(struct pvio_dom *dom, uint32_t op, uint32_t count,
		   const void *req, size_t req_len, void *rep, size_t rep_cap,
		   size_t *rep_len, uint32_t *rep_count, int *fds,
		   unsigned int max_fds, unsigned int *nfds)
{
	struct pvio__hv_hdr h = {0}, rh;
	int tmp[PVIO_HV_MAX_FDS];
	unsigned int got = 0, tn, i;
	bool first = true;
	size_t len;
	int rc;

	if (nfds != NULL)
		*nfds = 0;
	if (dom->broken)
		return -ECONNRESET;
	if (req_len > PVIO_HV_MSG_MAX - sizeof(h))
		return -E2BIG;
	if (++dom->seq == 0)
		dom->seq = 1;
	count_call(dom, op, count);
	h.type = op;
	h.seq = dom->seq;
	h.count = count;
	h.len = (uint32_t)req_len;
	rc = send_req(dom, &h, req, req_len);
	if (rc < 0)
		goto broken;
	for (;;) {
		rc = recv_msg(dom, 0, &rh, &len, tmp, PVIO_HV_MAX_FDS, &tn);
		if (rc < 0)
			goto broken;
		if (rh.seq == 0 && !(rh.type & PVIO_HV_REPLY)) {
			route_async(dom, &rh, tmp, tn);
			continue;
		}
		if (rh.seq != h.seq || rh.type != (op | PVIO_HV_REPLY) ||
		    (!first && len != 0) || (first && len > rep_cap) ||
		    got + tn > max_fds) {
			for (i = 0; i < tn; i++)
				close(tmp[i]);
			rc = -EPROTO;
			goto broken;
		}
		if (first) {
			if (len != 0)
				memcpy(rep, dom->rxbuf + sizeof(rh), len);
			if (rep_len != NULL)
				*rep_len = len;
			if (rep_count != NULL)
				*rep_count = rh.count;
			rc = rh.ret;
			first = false;
		}
		for (i = 0; i < tn; i++)
			fds[got++] = tmp[i];
		if (nfds != NULL)
			*nfds = got;
		if (!rh.more)
			break;
	}
	if (rc < 0) {
		/* A failed call carries nothing. */
		while (got > 0)
			close(fds[--got]);
		if (nfds != NULL)
			*nfds = 0;
	}
	return rc;
broken:
	/* Stream state unknown: no later call may trust this socket. */
	while (got > 0)
		close(fds[--got]);
	if (nfds != NULL)
		*nfds = 0;
	dom->broken = true;
	return rc == -EPROTO ? -EPROTO : -ECONNRESET;
}

int pvio__dom_poll_async(struct pvio_dom *dom)
{
	struct pvio__hv_hdr h;
	int fds[PVIO_HV_MAX_FDS];
	unsigned int n;
	size_t len;
	int rc;

	if (dom->broken)
		return -ECONNRESET;
	for (;;) {
		rc = recv_msg(dom, MSG_DONTWAIT, &h, &len, fds, PVIO_HV_MAX_FDS,
			      &n);
		if (rc == -EAGAIN)
			return 0;
		if (rc < 0) {
			dom->broken = true;
			return rc == -EPROTO ? -EPROTO : -ECONNRESET;
		}
		if (h.seq != 0 || (h.type & PVIO_HV_REPLY)) {
			/* A reply nobody waits for: out of step. */
			while (n > 0)
				close(fds[--n]);
			dom->broken = true;
			return -EPROTO;
		}
		route_async(dom, &h, fds, n);
	}
}

int pvio__dom_epoll_add(struct pvio_dom *dom, int fd, uint64_t data)
{
	struct epoll_event ev = {0};

	ev.events = EPOLLIN;
	ev.data.u64 = data;
	return epoll_ctl(dom->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int pvio__dom_epoll_del(struct pvio_dom *dom, int fd)
{
	return epoll_ctl(dom->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

static void close_fds(int *fds, unsigned int n)
{
	while (n > 0)
		close(fds[--n]);
}

/* ---- own memory ------------------------------------------------------- */

static uint8_t *page_addr(const struct pvio_dom *dom, uint32_t pfn)
{
	return dom->mem_base + (size_t)pfn * PAGE;
}

/* Map page 'fd' read-write at frame 'pfn' of the reservation. */
static int map_own(struct pvio_dom *dom, uint32_t pfn, int fd)
{
	void *p = mmap(page_addr(dom, pfn), PAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	dom->mem_present[pfn] = 1;
	return 0;
}

/* Put frame 'pfn' back to the PROT_NONE reservation. */
static void unmap_own(struct pvio_dom *dom, uint32_t pfn)
{
	/* Cannot fail for a range we reserved; if it did, the old page
	 * stays mapped and is simply not reported by pvio_dom_page(). */
	(void)mmap(page_addr(dom, pfn), PAGE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
		   0);
	dom->mem_present[pfn] = 0;
}

/* Map frames [pfn, pfn + n) that pvio-hv says exist (MEM_GET). */
static int fetch_pages(struct pvio_dom *dom, uint32_t pfn, uint32_t n)
{
	struct pvio__hv_mem_range req = {pfn, n};
	uint8_t present[PVIO_HV_BATCH_MAX];
	int fds[PVIO_HV_BATCH_MAX];
	unsigned int nfds, k = 0;
	size_t len;
	uint32_t i;
	int rc;

	rc = pvio__dom_call(dom, PVIO_HV_OP_MEM_GET, 0, &req, sizeof(req),
			    present, sizeof(present), &len, NULL, fds,
			    PVIO_HV_BATCH_MAX, &nfds);
	if (rc < 0)
		return rc;
	if (len != n) {
		close_fds(fds, nfds);
		return -EPROTO;
	}
	for (i = 0; i < n; i++)
		k += present[i] != 0;
	if (k != nfds) {
		close_fds(fds, nfds);
		return -EPROTO;
	}
	k = 0;
	for (i = 0; i < n; i++) {
		if (!present[i])
			continue;
		if (rc == 0)
			rc = map_own(dom, pfn + i, fds[k]);
		close(fds[k++]);
	}
	return rc;
}

void *pvio_dom_mem_alloc(struct pvio_dom *dom, unsigned int n, uint32_t *pfn,
			 int *err)
{
	struct pvio__hv_mem_alloc req = {n};
	struct pvio__hv_mem_alloc_reply rep;
	int fds[PVIO_HV_BATCH_MAX];
	unsigned int nfds, i;
	size_t len;
	int rc;

	if (dom == NULL || pfn == NULL || n == 0 || n > PVIO_HV_BATCH_MAX) {
		rc = -EINVAL;
		goto fail;
	}
	rc = pvio__dom_call(dom, PVIO_HV_OP_MEM_ALLOC, 0, &req, sizeof(req),
			    &rep, sizeof(rep), &len, NULL, fds,
			    PVIO_HV_BATCH_MAX, &nfds);
	if (rc < 0)
		goto fail;
	if (len != sizeof(rep) || nfds != n || rep.pfn >= dom->mem_max_pages ||
	    n > dom->mem_max_pages - rep.pfn) {
		close_fds(fds, nfds);
		rc = -EPROTO;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = map_own(dom, rep.pfn + i, fds[i]);
		close(fds[i]);
	}
	if (rc < 0) {
		/* Give them back: half a range is no use to anyone. */
		struct pvio__hv_mem_range fr = {rep.pfn, n};

		for (i = 0; i < n; i++)
			unmap_own(dom, rep.pfn + i);
		pvio__dom_call(dom, PVIO_HV_OP_MEM_FREE, 0, &fr, sizeof(fr),
			       NULL, 0, NULL, NULL, NULL, 0, NULL);
		goto fail;
	}
	*pfn = rep.pfn;
	return page_addr(dom, rep.pfn);
fail:
	if (err != NULL)
		*err = rc;
	return NULL;
}

int pvio_dom_mem_free(struct pvio_dom *dom, uint32_t pfn, unsigned int n)
{
	struct pvio__hv_mem_range req = {pfn, n};
	uint32_t i;
	int rc;

	if (dom == NULL || n == 0 || pfn >= dom->mem_max_pages ||
	    n > dom->mem_max_pages - pfn)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!dom->mem_present[pfn + i])
			return -EINVAL;
	rc = pvio__dom_call(dom, PVIO_HV_OP_MEM_FREE, 0, &req, sizeof(req),
			    NULL, 0, NULL, NULL, NULL, 0, NULL);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++)
		unmap_own(dom, pfn + i);
	return 0;
}

void *pvio_dom_page(const struct pvio_dom *dom, uint32_t pfn)
{
	if (dom == NULL || pfn >= dom->mem_max_pages || !dom->mem_present[pfn])
		return NULL;
	return page_addr(dom, pfn);
}

int pvio_dom_addr_pfn(const struct pvio_dom *dom, const void *addr,
		      uint32_t *pfn)
{
	uintptr_t a = (uintptr_t)addr, base;
	size_t off;

	if (dom == NULL || pfn == NULL)
		return -EINVAL;
	base = (uintptr_t)dom->mem_base;
	if (a < base || a - base >= (size_t)dom->mem_max_pages * PAGE)
		return -ENOENT;
	off = (a - base) / PAGE;
	if (!dom->mem_present[off])
		return -ENOENT;
	*pfn = (uint32_t)off;
	return 0;
}

/* ---- connection ------------------------------------------------------- */

static struct pvio_dom *open_common(const char *run_dir, const char *cred,
				    int *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pvio__hv_hello hello;
	struct pvio__hv_hello_reply rep;
	struct pvio_dom *dom;
	size_t len;
	uint32_t pfn;
	int rc;

	if (run_dir == NULL)
		run_dir = getenv(PVIO_DOM_RUNDIR_ENV);
	if (run_dir == NULL || run_dir[0] == '\0')
		run_dir = PVIO_DOM_DEFAULT_RUNDIR;
	memset(&hello, 0, sizeof(hello));
	hello.magic = PVIO_HV_MAGIC;
	hello.version = PVIO_HV_PROTO_VERSION;
	if (strlen(cred) >= sizeof(hello.cred)) {
		rc = -EPERM; /* no valid credential is that long */
		goto fail0;
	}
	memcpy(hello.cred, cred, strlen(cred));
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", run_dir,
		     PVIO_HV_SOCK_NAME) >= (int)sizeof(sa.sun_path)) {
		rc = -ENAMETOOLONG;
		goto fail0;
	}
	dom = calloc(1, sizeof(*dom));
	if (dom == NULL) {
		rc = -ENOMEM;
		goto fail0;
	}
	dom->sock = -1;
	dom->epfd = -1;
	dom->mem_base = MAP_FAILED;
	dom->rxbuf = malloc(PVIO_HV_MSG_MAX);
	dom->fmap = calloc(PVIO_HV_MAPTRACK, sizeof(*dom->fmap));
	if (dom->rxbuf == NULL || dom->fmap == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	dom->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (dom->sock < 0 ||
	    connect(dom->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto fail;
	}
	dom->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dom->epfd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = pvio__dom_epoll_add(dom, dom->sock, PVIO__DOM_EP_SOCK);
	if (rc < 0)
		goto fail;
	rc = pvio__dom_call(dom, PVIO_HV_OP_HELLO, 0, &hello, sizeof(hello),
			    &rep, sizeof(rep), &len, NULL, NULL, 0, NULL);
	if (rc == -ECONNRESET && dom->seq == 1)
		rc = -EPERM; /* refused and closed before the reply arrived */
	if (rc < 0)
		goto fail;
	if (len != sizeof(rep) || rep.domid >= DOMID_FIRST_RESERVED ||
	    rep.mem_used_pages > rep.mem_max_pages ||
	    rep.mem_max_pages > (1U << 24)) {
		rc = -EPROTO;
		goto fail;
	}
	dom->domid = (pvio_domid_t)rep.domid;
	dom->dom0 = cred[0] == '\0';
	dom->mem_max_pages = rep.mem_max_pages;
	dom->mem_present = calloc(rep.mem_max_pages ? rep.mem_max_pages : 1, 1);
	if (dom->mem_present == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if (rep.mem_max_pages != 0) {
		/* Address space only: pages come in MAP_FIXED over it. */
		dom->mem_base = mmap(
			NULL, (size_t)rep.mem_max_pages * PAGE, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (dom->mem_base == MAP_FAILED) {
			rc = -errno;
			goto fail;
		}
	}
	/* Pages other processes of this domain allocated before us. */
	for (pfn = 0; rep.mem_used_pages != 0 && pfn < rep.mem_max_pages;
	     pfn += PVIO_HV_BATCH_MAX) {
		uint32_t n = rep.mem_max_pages - pfn;

		rc = fetch_pages(dom, pfn,
				 n < PVIO_HV_BATCH_MAX ? n : PVIO_HV_BATCH_MAX);
		if (rc < 0)
			goto fail;
	}
	rc = pvio__dom_evtchn_init(dom);
	if (rc < 0)
		goto fail;
	return dom;
fail:
	if (dom->mem_base != MAP_FAILED)
		munmap(dom->mem_base, (size_t)dom->mem_max_pages * PAGE);
	if (dom->epfd >= 0)
		close(dom->epfd);
	if (dom->sock >= 0)
		close(dom->sock);
	free(dom->mem_present);
	free(dom->fmap);
	free(dom->rxbuf);
	free(dom);
fail0:
	if (err != NULL)
		*err = rc;
	return NULL;
}

struct pvio_dom *pvio_dom_open(const char *run_dir, const char *cred, int *err)
{
	if (cred == NULL)
		cred = getenv(PVIO_DOM_CRED_ENV);
	if (cred == NULL || cred[0] == '\0') {
		if (err != NULL)
			*err = -EPERM;
		return NULL;
	}
	return open_common(run_dir, cred, err);
}

struct pvio_dom *pvio_dom_open_dom0(const char *run_dir, int *err)
{
	return open_common(run_dir, "", err);
}

void pvio_dom_close(struct pvio_dom *dom)
{
	uint32_t h;

	if (dom == NULL)
		return;
	pvio__dom_evtchn_fini(dom);
	/*
	 * Our foreign mappings leave the address space now; pvio-hv keeps
	 * the grant pins of the domain (the domain lives on), which the
	 * caller should have unmapped first.
	 */
	for (h = 0; h < PVIO_HV_MAPTRACK; h++)
		if (dom->fmap[h].addr != NULL)
			munmap(dom->fmap[h].addr, PAGE);
	if (dom->gnttab_map != NULL)
		munmap(dom->gnttab_map, dom->gnttab_bytes);
	free(dom->gnttab_link);
	if (dom->mem_base != MAP_FAILED)
		munmap(dom->mem_base, (size_t)dom->mem_max_pages * PAGE);
	close(dom->epfd);
	close(dom->sock);
	free(dom->mem_present);
	free(dom->fmap);
	free(dom->rxbuf);
	free(dom);
}

pvio_domid_t pvio_dom_id(const struct pvio_dom *dom)
{
	return dom->domid;
}

int pvio_dom_fd(const struct pvio_dom *dom)
{
	return dom->epfd;
}

int pvio_dom_version(struct pvio_dom *dom, uint32_t *version)
{
	uint32_t v;
	size_t len;
	int rc;

	if (dom == NULL || version == NULL)
		return -EINVAL;
	rc = pvio__dom_call(dom, PVIO_HV_OP_VERSION, 0, NULL, 0, &v, sizeof(v),
			    &len, NULL, NULL, 0, NULL);
	if (rc < 0)
		return rc;
	if (len != sizeof(v))
		return -EPROTO;
	*version = v;
	return 0;
}

/* ---- own grant table -------------------------------------------------- */

struct pvio_gnt_share *pvio_dom_gnttab(struct pvio_dom *dom)
{
	struct pvio__hv_gnttab_reply rep;
	unsigned int nfds;
	size_t len;
	void *p;
	int fd, rc;

	if (dom == NULL)
		return NULL;
	if (dom->gnttab_ready)
		return &dom->share;
	rc = pvio__dom_call(dom, PVIO_HV_OP_GNTTAB_SETUP, 0, NULL, 0, &rep,
			    sizeof(rep), &len, NULL, &fd, 1, &nfds);
	if (rc < 0)
		return NULL;
	if (len != sizeof(rep) || nfds != 1 ||
	    rep.nr_entries != PVIO_HV_GNTTAB_ENTRIES) {
		if (nfds == 1)
			close(fd);
		return NULL;
	}
	dom->gnttab_bytes = (size_t)rep.nr_entries * sizeof(*dom->gnttab_map);
	p = mmap(NULL, dom->gnttab_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	dom->gnttab_link = calloc(rep.nr_entries, sizeof(uint32_t));
	if (dom->gnttab_link == NULL ||
	    pvio_gnt_share_init(&dom->share, p, dom->gnttab_link,
				rep.nr_entries) < 0) {
		munmap(p, dom->gnttab_bytes);
		free(dom->gnttab_link);
		dom->gnttab_link = NULL;
		return NULL;
	}
	dom->gnttab_map = p;
	dom->gnttab_ready = true;
	return &dom->share;
}

int pvio_dom_grant_end(struct pvio_dom *dom, pvio_grant_ref_t ref)
{
	struct pvio__hv_retire req;
	struct pvio__hv_retire_reply rep;
	unsigned int nfds;
	uint32_t frame;
	size_t len;
	int fd, rc;

	if (dom == NULL || !dom->gnttab_ready || ref >= dom->share.nr)
		return -EINVAL;
	rc = pvio_gnt_share_busy(&dom->share, ref);
	if (rc < 0)
		return rc;
	/* Our own entry, written by us: the frame we granted. */
	frame = __atomic_load_n(&dom->gnttab_map[ref].frame, __ATOMIC_RELAXED);
	rc = pvio_gnt_share_end_access(&dom->share, ref);
	if (rc < 0)
		return rc;
	if (frame >= dom->mem_max_pages || !dom->mem_present[frame])
		return 0; /* not our memory: nothing to retire */
	req.pfn = frame;
	rc = pvio__dom_call(dom, PVIO_HV_OP_RETIRE, 0, &req, sizeof(req), &rep,
			    sizeof(rep), &len, NULL, &fd, 1, &nfds);
	if (rc < 0)
		return rc;
	if (len != sizeof(rep) || nfds != (rep.swapped ? 1U : 0U)) {
		if (nfds == 1)
			close(fd);
		return -EPROTO;
	}
	if (!rep.swapped)
		return 0;
	/* Same address, new memory: replaces the old page atomically. */
	rc = map_own(dom, frame, fd);
	close(fd);
	return rc;
}

int pvio_dom_grant_end_transfer(struct pvio_dom *dom, pvio_grant_ref_t ref,
				uint32_t *pfn)
{
	uint32_t frame;
	int rc;

	if (dom == NULL || !dom->gnttab_ready)
		return -EINVAL;
	rc = pvio_gnt_share_end_transfer(&dom->share, ref, &frame);
	if (rc < 0)
		return rc;
	if (frame >= dom->mem_max_pages)
		return -EPROTO;
	rc = fetch_pages(dom, frame, 1);
	if (rc < 0)
		return rc;
	if (!dom->mem_present[frame])
		return -EPROTO;
	if (pfn != NULL)
		*pfn = frame;
	return 0;
}

/* ---- grant operations ------------------------------------------------- */

static void fmap_forget(struct pvio_dom *dom, uint32_t handle)
{
	if (handle < PVIO_HV_MAPTRACK)
		dom->fmap[handle].addr = NULL;
}

/* Unmap 'handles' in pvio-hv only (their pages are not mapped here). */
static void hv_unmap_handles(struct pvio_dom *dom, const uint32_t *handles,
			     unsigned int n)
{
	int32_t st[PVIO_HV_BATCH_MAX];

	if (n != 0)
		pvio__dom_call(dom, PVIO_HV_OP_UNMAP, n, handles,
			       n * sizeof(uint32_t), st, sizeof(st), NULL, NULL,
			       NULL, 0, NULL);
}

/*
 * One MAP round trip for ops[0..n) (n <= PVIO_HV_BATCH_MAX).  Each page
 * is mmapped at base + i * PAGE (MAP_FIXED) if base is not NULL, else
 * where the kernel likes; fds are closed at once.
 */
static int map_batch(struct pvio_dom *dom, struct pvio_dom_map *ops,
		     unsigned int n, uint8_t *base)
{
	struct pvio__hv_map_op req[PVIO_HV_BATCH_MAX];
	struct pvio__hv_map_res res[PVIO_HV_BATCH_MAX];
	int fds[PVIO_HV_BATCH_MAX];
	uint32_t undo[PVIO_HV_BATCH_MAX];
	unsigned int i, k = 0, nfds, ok = 0, nundo = 0;
	size_t len;
	int rc;

	for (i = 0; i < n; i++) {
		req[i].dom = ops[i].dom;
		req[i].ref = ops[i].ref;
		/* host_map is implied here; any other bit is refused. */
		req[i].flags = ops[i].flags & ~(uint32_t)GNTMAP_host_map;
	}
	rc = pvio__dom_call(dom, PVIO_HV_OP_MAP, n, req, n * sizeof(req[0]),
			    res, sizeof(res), &len, NULL, fds,
			    PVIO_HV_BATCH_MAX, &nfds);
	if (rc < 0)
		return rc;
	for (i = 0; i < n && len == n * sizeof(res[0]); i++)
		ok += res[i].status == GNTST_okay;
	if (len != n * sizeof(res[0]) || ok != nfds) {
		close_fds(fds, nfds);
		return -EPROTO;
	}
	for (i = 0; i < n; i++) {
		bool ro = (ops[i].flags & GNTMAP_readonly) != 0;
		void *p;

		ops[i].status = (int16_t)res[i].status;
		ops[i].handle = res[i].handle;
		ops[i].addr = NULL;
		if (res[i].status != GNTST_okay)
			continue;
		if (res[i].handle >= PVIO_HV_MAPTRACK) {
			p = MAP_FAILED;
		} else {
			p = mmap(base != NULL ? base + (size_t)i * PAGE : NULL,
				 PAGE, ro ? PROT_READ : PROT_READ | PROT_WRITE,
				 MAP_SHARED | (base != NULL ? MAP_FIXED : 0),
				 fds[k], 0);
		}
		close(fds[k++]);
		if (p == MAP_FAILED) {
			undo[nundo++] = res[i].handle;
			ops[i].status = GNTST_general_error;
			ops[i].handle = 0;
			continue;
		}
		dom->fmap[res[i].handle].addr = p;
		ops[i].addr = p;
	}
	hv_unmap_handles(dom, undo, nundo);
	return 0;
}

int pvio_dom_grant_map(struct pvio_dom *dom, struct pvio_dom_map *ops,
		       unsigned int count)
{
	unsigned int done = 0;
	int rc;

	if (dom == NULL || (ops == NULL && count != 0))
		return -EINVAL;
	while (done < count) {
		unsigned int n = count - done;

		if (n > PVIO_HV_BATCH_MAX)
			n = PVIO_HV_BATCH_MAX;
		rc = map_batch(dom, ops + done, n, NULL);
		if (rc < 0)
			return rc;
		done += n;
	}
	return 0;
}

int pvio_dom_grant_unmap(struct pvio_dom *dom, struct pvio_dom_map *ops,
			 unsigned int count)
{
	uint32_t handles[PVIO_HV_BATCH_MAX];
	int32_t st[PVIO_HV_BATCH_MAX];
	unsigned int idx[PVIO_HV_BATCH_MAX];
	unsigned int done = 0, i, n, m;
	size_t len;
	int rc;

	if (dom == NULL || (ops == NULL && count != 0))
		return -EINVAL;
	while (done < count) {
		n = count - done;
		if (n > PVIO_HV_BATCH_MAX)
			n = PVIO_HV_BATCH_MAX;
		m = 0;
		for (i = done; i < done + n; i++) {
			uint32_t h = ops[i].handle;
			void *a =
				h < PVIO_HV_MAPTRACK ? dom->fmap[h].addr : NULL;

			if (a != NULL && ops[i].addr != NULL &&
			    ops[i].addr != a) {
				/* Xen: host_addr does not match the map. */
				ops[i].status = GNTST_bad_virt_addr;
				continue;
			}
			/* The page leaves our address space first. */
			if (a != NULL) {
				munmap(a, PAGE);
				fmap_forget(dom, h);
			}
			idx[m] = i;
			handles[m++] = h;
		}
		if (m != 0) {
			rc = pvio__dom_call(dom, PVIO_HV_OP_UNMAP, m, handles,
					    m * sizeof(uint32_t), st,
					    sizeof(st), &len, NULL, NULL, 0,
					    NULL);
			if (rc < 0)
				return rc;
			if (len != m * sizeof(st[0]))
				return -EPROTO;
			for (i = 0; i < m; i++)
				ops[idx[i]].status = (int16_t)st[i];
		}
		done += n;
	}
	return 0;
}

/* A GNTST_* failure as an errno, for the all-or-nothing calls. */
static int gntst_errno(int st)
{
	switch (st) {
	case GNTST_bad_domain:
		return -ESRCH;
	case GNTST_bad_gntref:
	case GNTST_bad_handle:
	case GNTST_bad_virt_addr:
		return -EINVAL;
	case GNTST_permission_denied:
		return -EPERM;
	case GNTST_bad_page:
		return -EFAULT;
	case GNTST_no_space:
		return -ENOSPC;
	default:
		return -EACCES; /* general_error: not granted to us, ro, busy */
	}
}

void *pvio_dom_grant_map_range(struct pvio_dom *dom, pvio_domid_t domid,
			       const pvio_grant_ref_t *refs, unsigned int count,
			       bool readonly, pvio_grant_handle_t *handles,
			       int *err)
{
	struct pvio_dom_map *ops = NULL;
	uint8_t *base = MAP_FAILED;
	unsigned int i, done = 0;
	int rc = 0;

	if (dom == NULL || refs == NULL || handles == NULL || count == 0 ||
	    count > PVIO_HV_MAPTRACK) {
		rc = -EINVAL;
		goto fail;
	}
	ops = calloc(count, sizeof(*ops));
	if (ops == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/* Consecutive addresses: reserve them, map each page over it. */
	base = mmap(NULL, (size_t)count * PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	for (i = 0; i < count; i++) {
		ops[i].dom = domid;
		ops[i].ref = refs[i];
		ops[i].flags = readonly ? GNTMAP_readonly : 0;
	}
	while (done < count && rc == 0) {
		unsigned int n = count - done;

		if (n > PVIO_HV_BATCH_MAX)
			n = PVIO_HV_BATCH_MAX;
		rc = map_batch(dom, ops + done, n, base + (size_t)done * PAGE);
		for (i = done; rc == 0 && i < done + n; i++)
			if (ops[i].status != GNTST_okay)
				rc = gntst_errno(ops[i].status);
		done += n;
	}
	if (rc < 0) {
		/* All or nothing: undo what did map. */
		uint32_t h[PVIO_HV_BATCH_MAX];
		unsigned int m = 0;

		for (i = 0; i < done; i++) {
			if (ops[i].status != GNTST_okay)
				continue;
			fmap_forget(dom, ops[i].handle);
			h[m++] = ops[i].handle;
			if (m == PVIO_HV_BATCH_MAX) {
				hv_unmap_handles(dom, h, m);
				m = 0;
			}
		}
		hv_unmap_handles(dom, h, m);
		goto fail;
	}
	for (i = 0; i < count; i++)
		handles[i] = ops[i].handle;
	free(ops);
	return base;
fail:
	if (base != MAP_FAILED)
		munmap(base, (size_t)count * PAGE);
	free(ops);
	if (err != NULL)
		*err = rc;
	return NULL;
}

int pvio_dom_grant_unmap_range(struct pvio_dom *dom, void *addr,
			       const pvio_grant_handle_t *handles,
			       unsigned int count)
{
	uint32_t h[PVIO_HV_BATCH_MAX];
	int32_t st[PVIO_HV_BATCH_MAX];
	unsigned int i, done = 0;
	size_t len;
	int rc, first = 0;

	if (dom == NULL || addr == NULL || handles == NULL || count == 0 ||
	    count > PVIO_HV_MAPTRACK)
		return -EINVAL;
	/* Check all before touching anything. */
	for (i = 0; i < count; i++)
		if (handles[i] >= PVIO_HV_MAPTRACK ||
		    dom->fmap[handles[i]].addr !=
			    (uint8_t *)addr + (size_t)i * PAGE)
			return -EINVAL;
	munmap(addr, (size_t)count * PAGE);
	for (i = 0; i < count; i++)
		fmap_forget(dom, handles[i]);
	while (done < count) {
		unsigned int n = count - done;

		if (n > PVIO_HV_BATCH_MAX)
			n = PVIO_HV_BATCH_MAX;
		memcpy(h, handles + done, n * sizeof(h[0]));
		rc = pvio__dom_call(dom, PVIO_HV_OP_UNMAP, n, h,
				    n * sizeof(h[0]), st, sizeof(st), &len,
				    NULL, NULL, 0, NULL);
		if (rc < 0)
			return rc;
		if (len != n * sizeof(st[0]))
			return -EPROTO;
		for (i = 0; i < n; i++)
			if (st[i] != GNTST_okay && first == 0)
				first = gntst_errno(st[i]);
		done += n;
	}
	return first;
}

int pvio_dom_grant_copy(struct pvio_dom *dom, struct pvio_gnttab_copy *ops,
			unsigned int count)
{
	struct pvio_gnttab_copy req[PVIO_HV_BATCH_MAX];
	int32_t st[PVIO_HV_BATCH_MAX];
	unsigned int done = 0, i, n;
	size_t len;
	int rc;

	if (dom == NULL || (ops == NULL && count != 0))
		return -EINVAL;
	while (done < count) {
		n = count - done;
		if (n > PVIO_HV_BATCH_MAX)
			n = PVIO_HV_BATCH_MAX;
		memcpy(req, ops + done, n * sizeof(req[0]));
		for (i = 0; i < n; i++) {
			/* A frame side names the caller: its own id is
			 * DOMID_SELF (Xen 4.17 accepts only that). */
			if (!(req[i].flags & GNTCOPY_source_gref) &&
			    req[i].source.domid == dom->domid)
				req[i].source.domid = DOMID_SELF;
			if (!(req[i].flags & GNTCOPY_dest_gref) &&
			    req[i].dest.domid == dom->domid)
				req[i].dest.domid = DOMID_SELF;
		}
		rc = pvio__dom_call(dom, PVIO_HV_OP_COPY, n, req,
				    n * sizeof(req[0]), st, sizeof(st), &len,
				    NULL, NULL, 0, NULL);
		if (rc < 0)
			return rc;
		if (len != n * sizeof(st[0]))
			return -EPROTO;
		for (i = 0; i < n; i++)
			ops[done + i].status = (int16_t)st[i];
		done += n;
	}
	return 0;
}

int pvio_dom_grant_transfer(struct pvio_dom *dom,
			    struct pvio_gnttab_transfer *ops,
			    unsigned int count)
{
	int32_t st[PVIO_HV_BATCH_MAX];
	unsigned int done = 0, i, n;
	size_t len;
	int rc;

	if (dom == NULL || (ops == NULL && count != 0))
		return -EINVAL;
	while (done < count) {
		n = count - done;
		if (n > PVIO_HV_BATCH_MAX)
			n = PVIO_HV_BATCH_MAX;
		rc = pvio__dom_call(dom, PVIO_HV_OP_TRANSFER, n, ops + done,
				    n * sizeof(ops[0]), st, sizeof(st), &len,
				    NULL, NULL, 0, NULL);
		if (rc < 0)
			return rc;
		if (len != n * sizeof(st[0]))
			return -EPROTO;
		for (i = 0; i < n; i++) {
			struct pvio_gnttab_transfer *o = &ops[done + i];

			o->status = (int16_t)st[i];
			/* The page is no longer ours: it leaves too. */
			if (st[i] == GNTST_okay && o->mfn < dom->mem_max_pages)
				unmap_own(dom, (uint32_t)o->mfn);
		}
		done += n;
	}
	return 0;
}

/* ---- domain control --------------------------------------------------- */

int pvio_dom_ctl_create(struct pvio_dom *dom0, const char *name,
			uint32_t mem_pages, pvio_domid_t *domid, char *cred)
{
	struct pvio__hv_ctl_create req;
	struct pvio__hv_ctl_create_reply rep;
	size_t len;
	int rc;

	if (dom0 == NULL || name == NULL || domid == NULL || cred == NULL ||
	    strlen(name) > PVIO_DOM_NAME_MAX || name[0] == '\0')
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	memcpy(req.name, name, strlen(name));
	req.mem_pages = mem_pages;
	rc = pvio__dom_call(dom0, PVIO_HV_OP_CTL_CREATE, 0, &req, sizeof(req),
			    &rep, sizeof(rep), &len, NULL, NULL, 0, NULL);
	if (rc < 0)
		return rc;
	if (len != sizeof(rep) || rep.domid >= DOMID_FIRST_RESERVED ||
	    memchr(rep.cred, '\0', sizeof(rep.cred)) == NULL)
		return -EPROTO;
	*domid = (pvio_domid_t)rep.domid;
	memcpy(cred, rep.cred, PVIO_DOM_CRED_MAX);
	return 0;
}

static int ctl_dom(struct pvio_dom *dom0, uint32_t op, pvio_domid_t domid,
		   int pid)
{
	struct pvio__hv_ctl_dom req = {domid, pid};

	if (dom0 == NULL)
		return -EINVAL;
	return pvio__dom_call(dom0, op, 0, &req, sizeof(req), NULL, 0, NULL,
			      NULL, NULL, 0, NULL);
}

int pvio_dom_ctl_set_pid(struct pvio_dom *dom0, pvio_domid_t domid, int pid)
{
	return ctl_dom(dom0, PVIO_HV_OP_CTL_SET_PID, domid, pid);
}

int pvio_dom_ctl_destroy(struct pvio_dom *dom0, pvio_domid_t domid)
{
	return ctl_dom(dom0, PVIO_HV_OP_CTL_DESTROY, domid, 0);
}

int pvio_dom_ctl_pause(struct pvio_dom *dom0, pvio_domid_t domid)
{
	return ctl_dom(dom0, PVIO_HV_OP_CTL_PAUSE, domid, 0);
}

int pvio_dom_ctl_unpause(struct pvio_dom *dom0, pvio_domid_t domid)
{
	return ctl_dom(dom0, PVIO_HV_OP_CTL_UNPAUSE, domid, 0);
}

int pvio_dom_ctl_list(struct pvio_dom *dom0, struct pvio_dom_info *info,
		      unsigned int max)
{
	struct {
		struct pvio__hv_ctl_list_reply rep;
		struct pvio_dom_info info[PVIO_HV_LIST_MAX];
	} * buf;
	struct pvio__hv_ctl_list req = {0, 0};
	unsigned int got = 0;
	uint32_t count, total = 0;
	size_t len;
	int rc;

	if (dom0 == NULL || (info == NULL && max != 0))
		return -EINVAL;
	buf = malloc(sizeof(*buf));
	if (buf == NULL)
		return -ENOMEM;
	do {
		req.max = max - got < PVIO_HV_LIST_MAX ? max - got
						       : PVIO_HV_LIST_MAX;
		rc = pvio__dom_call(dom0, PVIO_HV_OP_CTL_LIST, 0, &req,
				    sizeof(req), buf, sizeof(*buf), &len,
				    &count, NULL, 0, NULL);
		if (rc < 0)
			break;
		if (count > req.max ||
		    len != sizeof(buf->rep) + count * sizeof(*info)) {
			rc = -EPROTO;
			break;
		}
		total = buf->rep.total;
		if (count) /* info may be NULL when only counting */
			memcpy(info + got, buf->info, count * sizeof(*info));
		got += count;
		if (count == 0 || got >= max)
			break;
		req.first = info[got - 1].domid + 1U;
	} while (1);
	free(buf);
	if (rc < 0)
		return rc;
	return total > INT32_MAX ? INT32_MAX : (int)total;
}

int pvio_dom_ctl_lookup(struct pvio_dom *dom0, const char *name,
			pvio_domid_t *domid)
{
	struct pvio__hv_ctl_lookup req;
	struct pvio__hv_ctl_lookup_reply rep;
	size_t len;
	int rc;

	if (dom0 == NULL || name == NULL || domid == NULL ||
	    strlen(name) > PVIO_DOM_NAME_MAX || name[0] == '\0')
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	memcpy(req.name, name, strlen(name));
	rc = pvio__dom_call(dom0, PVIO_HV_OP_CTL_LOOKUP, 0, &req, sizeof(req),
			    &rep, sizeof(rep), &len, NULL, NULL, 0, NULL);
	if (rc < 0)
		return rc;
	if (len != sizeof(rep))
		return -EPROTO;
	*domid = (pvio_domid_t)rep.domid;
	return 0;
}
