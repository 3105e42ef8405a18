/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv and libdomain end to end: a private pvio-hv per test
 * (hvtest.h), domains driven from this process and from hvagent
 * processes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

#include <pvio/domain.h>
#include <pvio/grant.h>

#include "dom_private.h"
#include "hv_proto.h"
#include "hvtest.h"

struct fx {
	struct hvtest hv;
	struct pvio_dom *dom0;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int err = 0;

	assert_non_null(f);
	assert_int_equal(hvtest_start(&f->hv, NULL), 0);
	f->dom0 = pvio_dom_open_dom0(f->hv.dir, &err);
	assert_non_null(f->dom0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	int rc;

	pvio_dom_close(f->dom0);
	rc = hvtest_stop(&f->hv);
	free(f);
	assert_int_equal(rc, 0); /* pvio-hv exited cleanly */
	return 0;
}

/* Create a domain and open it from this process. */
static struct pvio_dom *new_dom(struct fx *f, const char *name, uint32_t pages,
				char *cred_out)
{
	char cred[PVIO_DOM_CRED_MAX];
	pvio_domid_t id;
	struct pvio_dom *d;
	int err = 0;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, name, pages, &id, cred),
			 0);
	d = pvio_dom_open(f->hv.dir, cred, &err);
	assert_non_null(d);
	assert_int_equal(pvio_dom_id(d), id);
	if (cred_out != NULL)
		memcpy(cred_out, cred, sizeof(cred));
	return d;
}

static struct pvio_dom_info *find_info(struct pvio_dom_info *info, int n,
				       pvio_domid_t id)
{
	int i;

	for (i = 0; i < n; i++)
		if (info[i].domid == id)
			return &info[i];
	return NULL;
}

static int nr_maps_of(struct fx *f, pvio_domid_t id)
{
	struct pvio_dom_info info[16];
	struct pvio_dom_info *p;
	int n = pvio_dom_ctl_list(f->dom0, info, 16);

	assert_true(n > 0 && n <= 16);
	p = find_info(info, n, id);
	return p ? (int)p->grants_mapped : -1;
}

/* ---- basics ----------------------------------------------------------- */

static void test_version_and_ctl(void **state)
{
	struct fx *f = *state;
	struct pvio_dom_info info[8];
	char cred[PVIO_DOM_CRED_MAX];
	pvio_domid_t a, b, x;
	uint32_t v = 0;
	int n;

	assert_int_equal(pvio_dom_version(f->dom0, &v), 0);
	assert_int_equal(v, PVIO_HV_VERSION);
	assert_int_equal(pvio_dom_id(f->dom0), 0);
	assert_int_equal(pvio_dom_ctl_create(f->dom0, "alpha", 16, &a, cred),
			 0);
	assert_true(a >= 1 && a < DOMID_FIRST_RESERVED);
	assert_int_equal(strlen(cred),
			 strlen("1:") - 1 + 1 + 64 + (a >= 10) + (a >= 100));
	assert_int_equal(pvio_dom_ctl_create(f->dom0, "alpha", 16, &x, cred),
			 -EEXIST);
	assert_int_equal(pvio_dom_ctl_create(f->dom0, "beta", 8, &b, cred), 0);
	assert_int_not_equal(a, b);
	assert_int_equal(pvio_dom_ctl_lookup(f->dom0, "beta", &x), 0);
	assert_int_equal(x, b);
	assert_int_equal(pvio_dom_ctl_lookup(f->dom0, "gamma", &x), -ENOENT);
	n = pvio_dom_ctl_list(f->dom0, info, 8);
	assert_int_equal(n, 3); /* dom0, alpha, beta */
	assert_int_equal(info[0].domid, 0);
	assert_string_equal(find_info(info, n, a)->name, "alpha");
	assert_int_equal(find_info(info, n, a)->mem_max_pages, 16);
	assert_int_equal(find_info(info, n, a)->state, PVIO_DOM_CREATED);
	/* max smaller than the total: the total still comes back */
	assert_int_equal(pvio_dom_ctl_list(f->dom0, info, 1), 3);
	assert_int_equal(pvio_dom_ctl_destroy(f->dom0, a), 0);
	assert_int_equal(pvio_dom_ctl_lookup(f->dom0, "alpha", &x), -ENOENT);
	assert_int_equal(pvio_dom_ctl_list(f->dom0, info, 8), 2);
	assert_int_equal(pvio_dom_ctl_destroy(f->dom0, a), -ESRCH);
	assert_int_equal(pvio_dom_ctl_destroy(f->dom0, 0), -ESRCH);
}

static void test_credentials(void **state)
{
	struct fx *f = *state;
	char cred[PVIO_DOM_CRED_MAX], bad[PVIO_DOM_CRED_MAX + 8];
	pvio_domid_t id, id2;
	struct pvio_dom *d;
	int err = 0;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, "c1", 4, &id, cred), 0);
	/* forged: one hex digit changed */
	strcpy(bad, cred);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
	assert_null(pvio_dom_open(f->hv.dir, bad, &err));
	assert_int_equal(err, -EPERM);
	/* right token, wrong domid */
	assert_int_equal(pvio_dom_ctl_create(f->dom0, "c2", 4, &id2, bad), 0);
	snprintf(bad, sizeof(bad), "%u%s", id2, strchr(cred, ':'));
	err = 0;
	assert_null(pvio_dom_open(f->hv.dir, bad, &err));
	assert_int_equal(err, -EPERM);
	/* malformed */
	err = 0;
	assert_null(pvio_dom_open(f->hv.dir, "1:xyz", &err));
	assert_int_equal(err, -EPERM);
	err = 0;
	assert_null(pvio_dom_open(f->hv.dir, "", &err));
	assert_int_equal(err, -EPERM);
	/* the real one works, from the environment too */
	setenv(PVIO_DOM_CRED_ENV, cred, 1);
	d = pvio_dom_open(f->hv.dir, NULL, &err);
	unsetenv(PVIO_DOM_CRED_ENV);
	assert_non_null(d);
	assert_int_equal(pvio_dom_id(d), id);
	/* dom0 calls from a domain */
	assert_int_equal(pvio_dom_ctl_create(d, "evil", 4, &id2, bad), -EPERM);
	assert_int_equal(pvio_dom_ctl_destroy(d, id), -EPERM);
	assert_int_equal(pvio_dom_ctl_list(d, NULL, 0), -EPERM);
	/* stale: the domain is destroyed; its open handle is cut off too */
	assert_int_equal(pvio_dom_ctl_destroy(f->dom0, id), 0);
	err = 0;
	assert_null(pvio_dom_open(f->hv.dir, cred, &err));
	assert_int_equal(err, -EPERM);
	uint32_t v;
	assert_int_equal(pvio_dom_version(d, &v), -ECONNRESET);
	assert_int_equal(pvio_dom_version(d, &v), -ECONNRESET);
	pvio_dom_close(d);
	/* the daemon is fine */
	assert_int_equal(pvio_dom_version(f->dom0, &v), 0);
}

/* ---- grants between two domains of this process ----------------------- */

static void test_map_basic(void **state)
{
	struct fx *f = *state;
	struct pvio_dom *a = new_dom(f, "granter", 16, NULL);
	struct pvio_dom *b = new_dom(f, "mapper", 16, NULL);
	struct pvio_gnt_share *s = pvio_dom_gnttab(a);
	struct pvio_dom_map m = {0};
	uint32_t pfn;
	unsigned char *p;
	int err = 0, ref;

	assert_non_null(s);
	p = pvio_dom_mem_alloc(a, 4, &pfn, &err);
	assert_non_null(p);
	assert_ptr_equal(pvio_dom_page(a, pfn + 1), p + 4096);
	assert_int_equal(p[100], 0); /* zeroed */
	memset(p + 4096, 0x5A, 4096);
	ref = pvio_gnt_share_grant_access(s, pvio_dom_id(b), pfn + 1, false);
	assert_true(ref >= GNTTAB_NR_RESERVED_ENTRIES);
	m.dom = pvio_dom_id(a);
	m.ref = (pvio_grant_ref_t)ref;
	assert_int_equal(pvio_dom_grant_map(b, &m, 1), 0);
	assert_int_equal(m.status, GNTST_okay);
	assert_non_null(m.addr);
	assert_int_equal(((unsigned char *)m.addr)[7], 0x5A);
	((unsigned char *)m.addr)[9] = 0x11; /* shared both ways */
	assert_int_equal(p[4096 + 9], 0x11);
	assert_int_equal(nr_maps_of(f, pvio_dom_id(b)), 1);
	/* busy while mapped */
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)ref), -EBUSY);
	assert_int_equal(pvio_dom_grant_unmap(b, &m, 1), 0);
	assert_int_equal(m.status, GNTST_okay);
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)ref), 0);
	assert_int_equal(p[4096 + 9], 0x11); /* retired, content kept */
	assert_int_equal(pvio_dom_mem_free(a, pfn, 4), 0);
	assert_null(pvio_dom_page(a, pfn));
	assert_int_equal(pvio_dom_mem_free(a, pfn, 4), -EINVAL);
	pvio_dom_close(b);
	pvio_dom_close(a);
}

static void test_mem_limit(void **state)
{
	struct fx *f = *state;
	struct pvio_dom *a = new_dom(f, "small", 4, NULL);
	struct pvio_dom_info info[4];
	uint32_t pfn, pfn2;
	int err = 0;

	assert_non_null(pvio_dom_mem_alloc(a, 3, &pfn, &err));
	assert_null(pvio_dom_mem_alloc(a, 2, &pfn2, &err));
	assert_int_equal(err, -ENOMEM);
	assert_non_null(pvio_dom_mem_alloc(a, 1, &pfn2, &err));
	assert_int_equal(pvio_dom_ctl_list(f->dom0, info, 4), 2);
	assert_int_equal(find_info(info, 2, pvio_dom_id(a))->mem_used_pages, 4);
	assert_int_equal(pvio_dom_mem_free(a, pfn, 3), 0);
	assert_int_equal(pvio_dom_ctl_list(f->dom0, info, 4), 2);
	assert_int_equal(find_info(info, 2, pvio_dom_id(a))->mem_used_pages, 1);
	pvio_dom_close(a);
}

/* Each bad op gets Xen's exact code, and nothing else changes. */
static void test_bad_grant_ops(void **state)
{
	struct fx *f = *state;
	struct pvio_dom *a = new_dom(f, "granter", 16, NULL);
	struct pvio_dom *b = new_dom(f, "mapper", 16, NULL);
	struct pvio_gnt_share *s = pvio_dom_gnttab(a);
	struct pvio_dom_map m[4];
	uint32_t pfn;
	uint16_t flags_before;
	int err = 0, ref;

	assert_non_null(pvio_dom_mem_alloc(a, 1, &pfn, &err));
	ref = pvio_gnt_share_grant_access(s, pvio_dom_id(b), pfn, true);
	assert_true(ref > 0);
	flags_before = s->entries[ref].flags;
	memset(m, 0, sizeof(m));
	/* ref out of range */
	m[0].dom = pvio_dom_id(a);
	m[0].ref = PVIO_HV_GNTTAB_ENTRIES;
	/* wrong domid (no such domain) */
	m[1].dom = 999;
	m[1].ref = (pvio_grant_ref_t)ref;
	/* read-write map of a read-only grant: Xen's _set_status_v1 says
	 * general_error */
	m[2].dom = pvio_dom_id(a);
	m[2].ref = (pvio_grant_ref_t)ref;
	/* a ref granted to nobody */
	m[3].dom = pvio_dom_id(a);
	m[3].ref = (pvio_grant_ref_t)ref + 1;
	assert_int_equal(pvio_dom_grant_map(b, m, 4), 0);
	assert_int_equal(m[0].status, GNTST_bad_gntref);
	assert_int_equal(m[1].status, GNTST_bad_domain);
	assert_int_equal(m[2].status, GNTST_general_error);
	assert_int_equal(m[3].status, GNTST_general_error);
	for (int i = 0; i < 4; i++)
		assert_null(m[i].addr);
	assert_int_equal(s->entries[ref].flags, flags_before);
	assert_int_equal(nr_maps_of(f, pvio_dom_id(b)), 0);
	/* a good read-only map, then a wrong handle and a double unmap */
	memset(m, 0, sizeof(m));
	m[0].dom = pvio_dom_id(a);
	m[0].ref = (pvio_grant_ref_t)ref;
	m[0].flags = GNTMAP_readonly;
	assert_int_equal(pvio_dom_grant_map(b, m, 1), 0);
	assert_int_equal(m[0].status, GNTST_okay);
	m[1].handle = m[0].handle + 7;
	assert_int_equal(pvio_dom_grant_unmap(b, &m[1], 1), 0);
	assert_int_equal(m[1].status, GNTST_bad_handle);
	m[1].handle = 0xFFFFFFF0U;
	assert_int_equal(pvio_dom_grant_unmap(b, &m[1], 1), 0);
	assert_int_equal(m[1].status, GNTST_bad_handle);
	assert_int_equal(nr_maps_of(f, pvio_dom_id(b)), 1);
	assert_int_equal(pvio_gnt_share_busy(s, (pvio_grant_ref_t)ref), 1);
	m[1] = m[0];
	assert_int_equal(pvio_dom_grant_unmap(b, &m[0], 1), 0);
	assert_int_equal(m[0].status, GNTST_okay);
	m[1].addr = NULL; /* the page is gone here: only the handle again */
	assert_int_equal(pvio_dom_grant_unmap(b, &m[1], 1), 0);
	assert_int_equal(m[1].status, GNTST_bad_handle);
	assert_int_equal(nr_maps_of(f, pvio_dom_id(b)), 0);
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)ref), 0);
	pvio_dom_close(b);
	pvio_dom_close(a);
}

/* ---- malformed messages on a raw connection --------------------------- */

static int raw_connect(struct fx *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(f->hv.dir) + 9 < sizeof(sa.sun_path));
	memcpy(sa.sun_path, f->hv.dir, strlen(f->hv.dir));
	memcpy(sa.sun_path + strlen(f->hv.dir), "/hv.sock", 9);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Returns sendmsg()'s result when an fd is attached (the kernel may
 * refuse it); asserts success otherwise. */
static ssize_t raw_send(int fd, uint32_t type, uint32_t count, const void *p,
			size_t len, int lie_len, int send_fd)
{
	char buf[PVIO_HV_MSG_MAX];
	struct pvio__hv_hdr h = {0};
	struct iovec iov;
	struct msghdr msg = {0};
	union {
		char c[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;

	h.type = type;
	h.seq = 42;
	h.count = count;
	h.len = (uint32_t)len + (uint32_t)lie_len;
	memcpy(buf, &h, sizeof(h));
	if (len != 0)
		memcpy(buf + sizeof(h), p, len);
	iov.iov_base = buf;
	iov.iov_len = sizeof(h) + len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (send_fd >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.c;
		msg.msg_controllen = sizeof(u.c);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &send_fd, sizeof(int));
		h.nfds = 1;
		memcpy(buf, &h, sizeof(h));
		return sendmsg(fd, &msg, MSG_NOSIGNAL);
	}
	assert_true(sendmsg(fd, &msg, MSG_NOSIGNAL) >= 0);
	return 0;
}

/* The reply's ret; 1 if the connection was closed instead. */
static int raw_reply(int fd)
{
	char buf[PVIO_HV_MSG_MAX];
	struct pvio__hv_hdr h;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	if (n <= 0)
		return 1;
	assert_true((size_t)n >= sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.seq, 42);
	return h.ret;
}

static void raw_hello(int fd, const char *cred)
{
	struct pvio__hv_hello hello = {
		PVIO_HV_MAGIC, PVIO_HV_PROTO_VERSION, {0}};

	snprintf(hello.cred, sizeof(hello.cred), "%s", cred);
	raw_send(fd, PVIO_HV_OP_HELLO, 0, &hello, sizeof(hello), 0, -1);
	assert_int_equal(raw_reply(fd), 0);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	char cred[PVIO_DOM_CRED_MAX];
	struct pvio__hv_map_op ops[2] = {{0, 8, 0}, {0, 9, 0}};
	pvio_domid_t id;
	uint32_t v;
	int fd, efd;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, "raw", 4, &id, cred), 0);

	/* not a hello first: refused and closed */
	fd = raw_connect(f);
	raw_send(fd, PVIO_HV_OP_VERSION, 0, NULL, 0, 0, -1);
	assert_int_equal(raw_reply(fd), -EPERM);
	assert_int_equal(raw_reply(fd), 1);
	close(fd);

	fd = raw_connect(f);
	raw_hello(fd, cred);
	/* count larger than the payload */
	raw_send(fd, PVIO_HV_OP_MAP, 5, ops, sizeof(ops), 0, -1);
	assert_int_equal(raw_reply(fd), -EINVAL);
	/* count 0 / beyond the batch limit */
	raw_send(fd, PVIO_HV_OP_MAP, 0, ops, sizeof(ops), 0, -1);
	assert_int_equal(raw_reply(fd), -EINVAL);
	raw_send(fd, PVIO_HV_OP_MAP, 0x40000001U, ops, sizeof(ops), 0, -1);
	assert_int_equal(raw_reply(fd), -EINVAL);
	/* header length that lies */
	raw_send(fd, PVIO_HV_OP_MAP, 2, ops, sizeof(ops), 100, -1);
	assert_int_equal(raw_reply(fd), -EINVAL);
	/* a fd attached to a request that takes none */
	efd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Refused by the kernel (SO_PASSRIGHTS, Linux 6.16+) or by pvio-hv
	 * with -EINVAL; never served. */
	if (raw_send(fd, PVIO_HV_OP_VERSION, 0, NULL, 0, 0, efd) >= 0)
		assert_int_equal(raw_reply(fd), -EINVAL);
	else
		assert_int_equal(errno, EPERM);
	close(efd);
	/* unknown op, reply bit set, a second hello */
	raw_send(fd, 9999, 0, NULL, 0, 0, -1);
	assert_int_equal(raw_reply(fd), -ENOSYS);
	raw_send(fd, PVIO_HV_OP_VERSION | PVIO_HV_REPLY, 0, NULL, 0, 0, -1);
	assert_int_equal(raw_reply(fd), -EINVAL);
	/* still served after all that */
	raw_send(fd, PVIO_HV_OP_VERSION, 0, NULL, 0, 0, -1);
	assert_int_equal(raw_reply(fd), 0);
	/* a truncated message (shorter than a header): closed */
	assert_int_equal(send(fd, "abc", 3, MSG_NOSIGNAL), 3);
	assert_int_equal(raw_reply(fd), 1);
	close(fd);
	/* the daemon and the domain are fine */
	assert_int_equal(pvio_dom_version(f->dom0, &v), 0);
	assert_int_equal(pvio_dom_ctl_lookup(f->dom0, "raw", &id), 0);
}

/* ---- isolation and retire (mapper in its own process) ----------------- */

/* How many mappings / fds of 'pid' show memfd pages of domain 'granter'. */
static void count_granter_pages(pid_t pid, pvio_domid_t granter, int *nmaps,
				size_t *bytes, int *nfds, char *which,
				size_t which_len)
{
	char path[64], line[512], tag[32], link[256];
	FILE *fp;
	DIR *dir;
	struct dirent *de;

	*nmaps = 0;
	*bytes = 0;
	*nfds = 0;
	snprintf(tag, sizeof(tag), "memfd:pvio-d%u-p", granter);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long lo, hi;
		char *t = strstr(line, tag);

		if (t == NULL)
			continue;
		assert_int_equal(sscanf(line, "%lx-%lx", &lo, &hi), 2);
		(*nmaps)++;
		*bytes += hi - lo;
		snprintf(which, which_len, "%s", t);
		which[strcspn(which, " \n")] = '\0';
	}
	fclose(fp);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL) {
		char p2[600];
		ssize_t n;

		snprintf(p2, sizeof(p2), "%s/%s", path, de->d_name);
		n = readlink(p2, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strstr(link, tag) != NULL)
			(*nfds)++;
	}
	closedir(dir);
}

static void test_isolation(void **state)
{
	struct fx *f = *state;
	char cred[PVIO_DOM_CRED_MAX], which[64], want[64];
	struct pvio_dom *a = new_dom(f, "granter", 16, NULL);
	struct pvio_gnt_share *s = pvio_dom_gnttab(a);
	struct hvtest_agent ag;
	pvio_domid_t bid;
	uint32_t pfn;
	unsigned char *p;
	long handle, rohandle, r;
	int err = 0, ref, roref, nmaps, nfds;
	size_t bytes;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, "mapper", 16, &bid, cred),
			 0);
	assert_int_equal(hvtest_agent_start(&ag, &f->hv, cred), 0);
	p = pvio_dom_mem_alloc(a, 16, &pfn, &err);
	assert_non_null(p);
	for (int i = 0; i < 16; i++)
		p[i * 4096] = (unsigned char)(0xA0 + i);
	ref = pvio_gnt_share_grant_access(s, bid, pfn + 5, false);
	assert_true(ref > 0);
	r = hvtest_agent_cmd(&ag, HVA_MAP, pvio_dom_id(a), ref, 0, &handle);
	assert_int_equal(r, GNTST_okay);
	assert_int_equal(hvtest_agent_cmd(&ag, HVA_READ, handle, 0, 0, NULL),
			 0xA5);

	count_granter_pages(ag.pid, pvio_dom_id(a), &nmaps, &bytes, &nfds,
			    which, sizeof(which));
	assert_int_equal(nmaps, 1);
	assert_int_equal(bytes, 4096);
	assert_int_equal(nfds, 0);
	snprintf(want, sizeof(want), "memfd:pvio-d%u-p%u", pvio_dom_id(a),
		 pfn + 5);
	assert_string_equal(which, want);

	/* read-only grant: the mapping cannot become writable */
	roref = pvio_gnt_share_grant_access(s, bid, pfn + 6, true);
	r = hvtest_agent_cmd(&ag, HVA_MAP, pvio_dom_id(a), roref, 1, &rohandle);
	assert_int_equal(r, GNTST_okay);
	assert_int_equal(hvtest_agent_cmd(&ag, HVA_READ, rohandle, 0, 0, NULL),
			 0xA6);
	assert_int_equal(
		hvtest_agent_cmd(&ag, HVA_MPROTECT_RW, rohandle, 0, 0, NULL),
		-EACCES);
	count_granter_pages(ag.pid, pvio_dom_id(a), &nmaps, &bytes, &nfds,
			    which, sizeof(which));
	assert_int_equal(nmaps, 2);
	assert_int_equal(bytes, 8192);
	assert_int_equal(nfds, 0);

	assert_int_equal(hvtest_agent_cmd(&ag, HVA_UNMAP, handle, 0, 0, NULL),
			 GNTST_okay);
	assert_int_equal(hvtest_agent_cmd(&ag, HVA_UNMAP, rohandle, 0, 0, NULL),
			 GNTST_okay);
	count_granter_pages(ag.pid, pvio_dom_id(a), &nmaps, &bytes, &nfds,
			    which, sizeof(which));
	assert_int_equal(nmaps, 0);
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)ref), 0);
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)roref), 0);
	hvtest_agent_kill(&ag);
	pvio_dom_close(a);
}

/* A read-only map hands out a read-only fd: mmap(PROT_WRITE) fails. */
static void test_readonly_fd(void **state)
{
	struct fx *f = *state;
	struct pvio_dom *a = new_dom(f, "granter", 4, NULL);
	struct pvio_dom *b = new_dom(f, "mapper", 4, NULL);
	struct pvio_gnt_share *s = pvio_dom_gnttab(a);
	struct pvio__hv_map_op op = {0};
	struct pvio__hv_map_res res;
	int fd = -1, err = 0, ref;
	unsigned int nfds = 0;
	uint32_t pfn;
	void *p;

	assert_non_null(pvio_dom_mem_alloc(a, 1, &pfn, &err));
	ref = pvio_gnt_share_grant_access(s, pvio_dom_id(b), pfn, true);
	op.dom = pvio_dom_id(a);
	op.ref = (uint32_t)ref;
	op.flags = GNTMAP_readonly;
	/* the raw hypercall: this "mapper" keeps the fd */
	assert_int_equal(pvio__dom_call(b, PVIO_HV_OP_MAP, 1, &op, sizeof(op),
					&res, sizeof(res), NULL, NULL, &fd, 1,
					&nfds),
			 0);
	assert_int_equal(res.status, GNTST_okay);
	assert_int_equal(nfds, 1);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p == MAP_FAILED);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p, 4096, PROT_READ | PROT_WRITE), -1);
	assert_int_equal(errno, EACCES);
	munmap(p, 4096);
	close(fd);
	{
		uint32_t h = res.handle;
		int32_t st;

		assert_int_equal(pvio__dom_call(b, PVIO_HV_OP_UNMAP, 1, &h,
						sizeof(h), &st, sizeof(st),
						NULL, NULL, NULL, 0, NULL),
				 0);
		assert_int_equal(st, GNTST_okay);
	}
	pvio_dom_close(b);
	pvio_dom_close(a);
}

static void test_retire(void **state)
{
	struct fx *f = *state;
	char cred[PVIO_DOM_CRED_MAX];
	struct pvio_dom *a = new_dom(f, "granter", 8, NULL);
	struct pvio_gnt_share *s = pvio_dom_gnttab(a);
	struct hvtest_agent ag;
	pvio_domid_t bid;
	uint32_t pfn;
	unsigned char *p;
	long handle, viafd, r;
	int err = 0, ref;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, "mapper", 8, &bid, cred),
			 0);
	assert_int_equal(hvtest_agent_start(&ag, &f->hv, cred), 0);
	p = pvio_dom_mem_alloc(a, 1, &pfn, &err);
	assert_non_null(p);
	p[0] = 0x33;
	ref = pvio_gnt_share_grant_access(s, bid, pfn, false);
	assert_int_equal(
		hvtest_agent_cmd(&ag, HVA_MAP, pvio_dom_id(a), ref, 0, &handle),
		GNTST_okay);
	/* the mapper keeps a second mapping and an fd of the page */
	r = hvtest_agent_cmd(&ag, HVA_KEEP, handle, 0, 0, &viafd);
	assert_int_equal(r, 0);
	assert_int_equal(hvtest_agent_cmd(&ag, HVA_UNMAP, handle, 0, 0, NULL),
			 GNTST_okay);
	assert_int_equal(hvtest_agent_cmd(&ag, HVA_READ_KEPT, 0, 0, 0, &viafd),
			 0x33);
	/* granter ends access and writes a secret */
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)ref), 0);
	assert_ptr_equal(pvio_dom_page(a, pfn), p); /* same address */
	assert_int_equal(p[0], 0x33);		    /* same content */
	p[0] = 0x77;
	r = hvtest_agent_cmd(&ag, HVA_READ_KEPT, 0, 0, 0, &viafd);
	assert_int_equal(r, 0x33);
	assert_true(viafd == 0x33 || viafd == -1);
	assert_int_equal(p[0], 0x77);
	/* the new page is grantable again and really shared */
	ref = pvio_gnt_share_grant_access(s, bid, pfn, false);
	assert_int_equal(
		hvtest_agent_cmd(&ag, HVA_MAP, pvio_dom_id(a), ref, 0, &handle),
		GNTST_okay);
	assert_int_equal(hvtest_agent_cmd(&ag, HVA_READ, handle, 0, 0, NULL),
			 0x77);
	hvtest_agent_kill(&ag);
	pvio_dom_close(a);
}

/* ---- copy, transfer, ranges, big batches ------------------------------ */

static void test_copy(void **state)
{
	struct fx *f = *state;
	struct pvio_dom *a = new_dom(f, "granter", 4, NULL);
	struct pvio_dom *b = new_dom(f, "copier", 4, NULL);
	struct pvio_gnt_share *s = pvio_dom_gnttab(a);
	struct pvio_gnttab_copy c[3];
	uint32_t apfn, bpfn;
	unsigned char *ap, *bp;
	int err = 0, ref, roref;

	ap = pvio_dom_mem_alloc(a, 2, &apfn, &err);
	bp = pvio_dom_mem_alloc(b, 1, &bpfn, &err);
	assert_non_null(ap);
	assert_non_null(bp);
	memcpy(ap, "hello from a", 13);
	ref = pvio_gnt_share_grant_access(s, pvio_dom_id(b), apfn + 1, false);
	roref = pvio_gnt_share_grant_access(s, pvio_dom_id(b), apfn, true);
	memset(c, 0, sizeof(c));
	/* a's read-only page -> b's own frame (own id, not DOMID_SELF) */
	c[0].source.u.ref = (pvio_grant_ref_t)roref;
	c[0].source.domid = pvio_dom_id(a);
	c[0].dest.u.gmfn = bpfn;
	c[0].dest.domid = pvio_dom_id(b);
	c[0].dest.offset = 100;
	c[0].len = 13;
	c[0].flags = GNTCOPY_source_gref;
	/* b's frame -> a's writable grant */
	c[1].source.u.gmfn = bpfn;
	c[1].source.domid = DOMID_SELF;
	c[1].source.offset = 100;
	c[1].dest.u.ref = (pvio_grant_ref_t)ref;
	c[1].dest.domid = pvio_dom_id(a);
	c[1].dest.offset = 4000;
	c[1].len = 13;
	c[1].flags = GNTCOPY_dest_gref;
	/* beyond the page: bad_copy_arg; into the read-only grant: error */
	c[2] = c[1];
	c[2].dest.offset = 4090;
	assert_int_equal(pvio_dom_grant_copy(b, c, 3), 0);
	assert_int_equal(c[0].status, GNTST_okay);
	assert_int_equal(c[1].status, GNTST_okay);
	assert_int_equal(c[2].status, GNTST_bad_copy_arg);
	assert_string_equal((char *)bp + 100, "hello from a");
	assert_string_equal((char *)ap + 4096 + 4000, "hello from a");
	c[2].dest.offset = 0;
	c[2].dest.u.ref = (pvio_grant_ref_t)roref;
	assert_int_equal(pvio_dom_grant_copy(b, &c[2], 1), 0);
	assert_int_equal(c[2].status, GNTST_general_error);
	/* not pinned after the copies */
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)ref), 0);
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)roref), 0);
	pvio_dom_close(b);
	pvio_dom_close(a);
}

static void test_transfer(void **state)
{
	struct fx *f = *state;
	struct pvio_dom *a = new_dom(f, "sender", 4, NULL);
	struct pvio_dom *b = new_dom(f, "receiver", 4, NULL);
	struct pvio_gnt_share *sb = pvio_dom_gnttab(b);
	struct pvio_gnttab_transfer t = {0};
	struct pvio_dom_info info[4];
	uint32_t apfn, got;
	unsigned char *ap, *bp;
	int err = 0, ref;

	ap = pvio_dom_mem_alloc(a, 1, &apfn, &err);
	assert_non_null(ap);
	strcpy((char *)ap, "flip me");
	ref = pvio_gnt_share_grant_transfer(sb, pvio_dom_id(a), 2);
	assert_true(ref > 0);
	t.mfn = apfn;
	t.domid = pvio_dom_id(b);
	t.ref = (pvio_grant_ref_t)ref;
	assert_int_equal(pvio_dom_grant_transfer(a, &t, 1), 0);
	assert_int_equal(t.status, GNTST_okay);
	assert_null(pvio_dom_page(a, apfn)); /* gone from the sender */
	assert_int_equal(
		pvio_dom_grant_end_transfer(b, (pvio_grant_ref_t)ref, &got), 0);
	assert_int_equal(got, 2); /* where the receiver asked for it */
	bp = pvio_dom_page(b, got);
	assert_non_null(bp);
	assert_string_equal((char *)bp, "flip me");
	assert_int_equal(pvio_dom_ctl_list(f->dom0, info, 4), 3);
	assert_int_equal(find_info(info, 3, pvio_dom_id(a))->mem_used_pages, 0);
	assert_int_equal(find_info(info, 3, pvio_dom_id(b))->mem_used_pages, 1);
	/* no accept-transfer grant: general_error, page stays */
	ap = pvio_dom_mem_alloc(a, 1, &apfn, &err);
	t.mfn = apfn;
	t.status = 0;
	assert_int_equal(pvio_dom_grant_transfer(a, &t, 1), 0);
	assert_int_equal(t.status, GNTST_general_error);
	assert_non_null(pvio_dom_page(a, apfn));
	pvio_dom_close(b);
	pvio_dom_close(a);
}

static void test_map_range_and_big_batch(void **state)
{
	struct fx *f = *state;
	enum { N = 600 };
	struct pvio_dom *a = new_dom(f, "granter", N + 4, NULL);
	struct pvio_dom *b = new_dom(f, "mapper", 4, NULL);
	struct pvio_gnt_share *s = pvio_dom_gnttab(a);
	static struct pvio_dom_map m[N];
	pvio_grant_ref_t refs[N];
	pvio_grant_handle_t handles[N];
	uint32_t pfn;
	unsigned char *p, *r;
	int err = 0, i;

	p = pvio_dom_mem_alloc(a, N, &pfn, &err);
	assert_non_null(p);
	for (i = 0; i < N; i++) {
		p[(size_t)i * 4096] = (unsigned char)i;
		refs[i] = (pvio_grant_ref_t)pvio_gnt_share_grant_access(
			s, pvio_dom_id(b), pfn + (uint32_t)i, false);
	}
	/* one batch of 600 maps: more fds than one message can carry */
	memset(m, 0, sizeof(m));
	for (i = 0; i < N; i++) {
		m[i].dom = pvio_dom_id(a);
		m[i].ref = refs[i];
	}
	assert_int_equal(pvio_dom_grant_map(b, m, N), 0);
	for (i = 0; i < N; i++) {
		assert_int_equal(m[i].status, GNTST_okay);
		assert_int_equal(*(unsigned char *)m[i].addr, (unsigned char)i);
	}
	assert_int_equal(nr_maps_of(f, pvio_dom_id(b)), N);
	assert_int_equal(pvio_dom_grant_unmap(b, m, N), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(m[i].status, GNTST_okay);
	assert_int_equal(nr_maps_of(f, pvio_dom_id(b)), 0);

	/* contiguous range */
	r = pvio_dom_grant_map_range(b, pvio_dom_id(a), refs, 8, false, handles,
				     &err);
	assert_non_null(r);
	for (i = 0; i < 8; i++)
		assert_int_equal(r[(size_t)i * 4096], (unsigned char)i);
	r[4096 * 3 + 1] = 0xEE;
	assert_int_equal(p[4096 * 3 + 1], 0xEE);
	assert_int_equal(pvio_dom_grant_unmap_range(b, r, handles, 8), 0);
	assert_int_equal(nr_maps_of(f, pvio_dom_id(b)), 0);
	/* all or nothing: one bad ref in the middle */
	refs[4] = PVIO_HV_GNTTAB_ENTRIES - 1;
	err = 0;
	assert_null(pvio_dom_grant_map_range(b, pvio_dom_id(a), refs, 8, false,
					     handles, &err));
	assert_int_equal(err, -EACCES);
	assert_int_equal(nr_maps_of(f, pvio_dom_id(b)), 0);
	for (i = 0; i < N; i++)
		if (i != 4)
			assert_int_equal(pvio_dom_grant_end(a, refs[i]), 0);
	pvio_dom_close(b);
	pvio_dom_close(a);
}

/* ---- death, destroy, pause -------------------------------------------- */

struct gone_arg {
	struct fx *f;
	pvio_domid_t id;
};

static int dom_gone(void *p)
{
	struct gone_arg *g = p;
	pvio_domid_t x;
	struct pvio_dom_info info[16];
	int n = pvio_dom_ctl_list(g->f->dom0, info, 16);

	(void)x;
	return n > 0 && find_info(info, n, g->id) == NULL;
}

static void test_death_mapper(void **state)
{
	struct fx *f = *state;
	char cred[PVIO_DOM_CRED_MAX];
	struct pvio_dom *a = new_dom(f, "granter", 4, NULL);
	struct pvio_gnt_share *s = pvio_dom_gnttab(a);
	struct hvtest_agent ag;
	struct gone_arg g = {f, 0};
	pvio_domid_t bid;
	uint32_t pfn;
	long handle;
	int err = 0, ref;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, "mapper", 4, &bid, cred),
			 0);
	assert_int_equal(hvtest_agent_start(&ag, &f->hv, cred), 0);
	assert_int_equal(pvio_dom_ctl_set_pid(f->dom0, bid, ag.pid), 0);
	assert_non_null(pvio_dom_mem_alloc(a, 1, &pfn, &err));
	ref = pvio_gnt_share_grant_access(s, bid, pfn, false);
	assert_int_equal(
		hvtest_agent_cmd(&ag, HVA_MAP, pvio_dom_id(a), ref, 0, &handle),
		GNTST_okay);
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)ref), -EBUSY);
	hvtest_agent_kill(&ag); /* kill -9 */
	g.id = bid;
	assert_int_equal(hvtest_wait(dom_gone, &g, 5000), 0);
	/* pins released: end access succeeds */
	assert_int_equal(pvio_dom_grant_end(a, (pvio_grant_ref_t)ref), 0);
	pvio_dom_close(a);
}

static void test_death_granter(void **state)
{
	struct fx *f = *state;
	char cred[PVIO_DOM_CRED_MAX];
	struct pvio_dom *b = new_dom(f, "mapper", 4, NULL);
	struct hvtest_agent ag;
	struct gone_arg g = {f, 0};
	struct pvio_dom_info info[8];
	struct pvio_dom_map m = {0};
	pvio_domid_t aid;
	long pfn, ref;
	int n;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, "granter", 4, &aid, cred),
			 0);
	assert_int_equal(hvtest_agent_start(&ag, &f->hv, cred), 0);
	assert_int_equal(pvio_dom_ctl_set_pid(f->dom0, aid, ag.pid), 0);
	pfn = hvtest_agent_cmd(&ag, HVA_ALLOC, 1, 0, 0, NULL);
	assert_true(pfn >= 0);
	assert_int_equal(
		hvtest_agent_cmd(&ag, HVA_WRITE_OWN, pfn, 0, 0x42, NULL), 0);
	ref = hvtest_agent_cmd(&ag, HVA_GRANT, pvio_dom_id(b), pfn, 0, NULL);
	assert_true(ref > 0);
	m.dom = aid;
	m.ref = (pvio_grant_ref_t)ref;
	assert_int_equal(pvio_dom_grant_map(b, &m, 1), 0);
	assert_int_equal(m.status, GNTST_okay);
	hvtest_agent_kill(&ag);
	/* dying while we map its page; the page stays readable here */
	for (int i = 0; i < 5000; i++) {
		n = pvio_dom_ctl_list(f->dom0, info, 8);
		if (find_info(info, n, aid)->state == PVIO_DOM_DYING)
			break;
		usleep(1000);
	}
	n = pvio_dom_ctl_list(f->dom0, info, 8);
	assert_int_equal(find_info(info, n, aid)->state, PVIO_DOM_DYING);
	assert_int_equal(*(unsigned char *)m.addr, 0x42);
	/* its grants can no longer be mapped */
	{
		struct pvio_dom_map m2 = m;

		m2.addr = NULL;
		assert_int_equal(pvio_dom_grant_map(b, &m2, 1), 0);
		assert_int_equal(m2.status, GNTST_bad_domain);
	}
	assert_int_equal(pvio_dom_grant_unmap(b, &m, 1), 0);
	assert_int_equal(m.status, GNTST_okay);
	g.id = aid;
	assert_int_equal(hvtest_wait(dom_gone, &g, 5000), 0);
	pvio_dom_close(b);
}

/* Running or sleeping: neither gone nor a zombie nobody reaped yet. */
static bool alive(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *fp;
	bool live = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return false;
	if (fgets(buf, sizeof(buf), fp) != NULL) {
		p = strrchr(buf, ')');
		live = p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	}
	fclose(fp);
	return live;
}

/*
 * A guest that leads its process group takes the group with it when it
 * dies: background processes it started do not outlive the domain.
 * A registered process that is not a group leader leaves its group
 * alone (tests register their own children, in the test's group).
 */
static void test_death_takes_group(void **state)
{
	struct fx *f = *state;
	char cred[PVIO_DOM_CRED_MAX];
	int pipefd[2], status;
	pvio_domid_t id;
	pid_t leader, bg = 0;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, "grp", 4, &id, cred), 0);
	assert_int_equal(pipe(pipefd), 0);
	leader = fork();
	assert_true(leader >= 0);
	if (leader == 0) {
		pid_t c;

		setsid();
		c = fork();
		if (c == 0) {
			close(pipefd[0]);
			close(pipefd[1]);
			for (;;)
				pause();
		}
		(void)!write(pipefd[1], &c, sizeof(c));
		for (;;)
			pause();
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &bg, sizeof(bg)), (ssize_t)sizeof(bg));
	close(pipefd[0]);
	assert_true(bg > 0);
	assert_int_equal(pvio_dom_ctl_set_pid(f->dom0, id, leader), 0);
	/* The leader dies by itself (not destroy): its child must go too. */
	assert_int_equal(kill(leader, SIGKILL), 0);
	assert_int_equal(waitpid(leader, &status, 0), leader);
	for (int i = 0; i < 500 && alive(bg); i++)
		usleep(10000);
	assert_false(alive(bg));
}

static void test_destroy_and_pause(void **state)
{
	struct fx *f = *state;
	char cred[PVIO_DOM_CRED_MAX], path[64], buf[512];
	struct hvtest_agent ag;
	struct pvio_dom_info info[4];
	pvio_domid_t id;
	int status, n;
	FILE *fp;

	assert_int_equal(pvio_dom_ctl_create(f->dom0, "victim", 4, &id, cred),
			 0);
	assert_int_equal(hvtest_agent_start(&ag, &f->hv, cred), 0);
	assert_int_equal(pvio_dom_ctl_pause(f->dom0, id), -ESRCH); /* no pid */
	assert_int_equal(pvio_dom_ctl_set_pid(f->dom0, id, ag.pid), 0);
	assert_int_equal(pvio_dom_ctl_set_pid(f->dom0, id, ag.pid), -EBUSY);
	assert_int_equal(pvio_dom_ctl_pause(f->dom0, id), 0);
	n = pvio_dom_ctl_list(f->dom0, info, 4);
	assert_int_equal(find_info(info, n, id)->state, PVIO_DOM_PAUSED);
	assert_int_equal(find_info(info, n, id)->pid, ag.pid);
	/* the kernel agrees: state T (stopped) */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)ag.pid);
	for (int i = 0; i < 1000; i++) {
		fp = fopen(path, "r");
		assert_non_null(fp);
		assert_non_null(fgets(buf, sizeof(buf), fp));
		fclose(fp);
		if (strstr(buf, ") T ") != NULL)
			break;
		usleep(1000);
	}
	assert_non_null(strstr(buf, ") T "));
	assert_int_equal(pvio_dom_ctl_unpause(f->dom0, id), 0);
	assert_int_equal(hvtest_agent_cmd(&ag, HVA_DOMID, 0, 0, 0, NULL), id);
	/* destroy kills the process */
	assert_int_equal(pvio_dom_ctl_destroy(f->dom0, id), 0);
	assert_int_equal(waitpid(ag.pid, &status, 0), ag.pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ag.pid = 0;
	hvtest_agent_kill(&ag);
	n = pvio_dom_ctl_list(f->dom0, info, 4);
	assert_null(find_info(info, n, id));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_version_and_ctl, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_credentials, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_map_basic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mem_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_grant_ops, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_isolation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_readonly_fd, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_range_and_big_batch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_death_mapper, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_death_granter, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_death_takes_group, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_destroy_and_pause, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
