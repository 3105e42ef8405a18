/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv: start-up, the main loop and the hypercall transport.
 *
 * One thread.  The epoll set holds: the listening hypercall socket, each
 * connection, each domain's pidfd (death is noticed at once), a signalfd
 * for SIGTERM/SIGINT, and pvio_xsd's fd.  A handler never blocks: replies
 * are sent with MSG_DONTWAIT and a peer whose socket buffer is full is
 * dropped (libdomain always reads a reply before its next request, so
 * only a broken or hostile client gets there).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "evtchn.h"
#include "hv_internal.h"
#include "xenstore/xsd.h"

/* Linux 6.16's per-socket refusal of SCM_RIGHTS; Debian 12's headers
 * predate it (the value is the same on every architecture but parisc). */
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif

/* epoll data tags: pointers are even, so small odd values are free. */
#define EP_LISTEN 1U
#define EP_SIGNAL 3U
#define EP_XSD 5U
/* Domain pidfds: (domid << 4) | EP_PIDFD_TAG. */
#define EP_PIDFD_TAG 7U

/* ---- logging ---------------------------------------------------------- */

void pvio__hv_log(struct pvio__hv *hv, int domid, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	va_list ap;

	if (hv->log == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (domid >= 0)
		fprintf(hv->log, "%s.%03ld pvio-hv[%d] d%d: ", when,
			ts.tv_nsec / 1000000, (int)getpid(), domid);
	else
		fprintf(hv->log, "%s.%03ld pvio-hv[%d]: ", when,
			ts.tv_nsec / 1000000, (int)getpid());
	va_start(ap, fmt);
	vfprintf(hv->log, fmt, ap);
	va_end(ap);
	fputc('\n', hv->log);
	fflush(hv->log);
}

/* ---- sending ---------------------------------------------------------- */

/*
 * One message with up to PVIO_HV_MAX_FDS fds, without blocking.  A full
 * socket buffer means the peer stopped reading: -EAGAIN, the caller drops
 * the connection.
 */
static int send_one(int fd, const struct pvio__hv_hdr *h, const void *payload,
		    size_t len, const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * PVIO_HV_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov[2] = {{(void *)h, sizeof(*h)}, {(void *)payload, len}};
	struct msghdr msg = {0};
	ssize_t n;

	msg.msg_iov = iov;
	msg.msg_iovlen = len != 0 ? 2 : 1;
	if (nfds != 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

/* A reply, split into fragments of at most PVIO_HV_MAX_FDS fds. */
static int send_reply(struct pvio__hv_conn *c, const struct pvio__hv_hdr *req,
		      int ret, const struct pvio__hv_reply *r)
{
	struct pvio__hv_hdr h = {0};
	unsigned int sent = 0;
	int rc;

	h.type = req->type | PVIO_HV_REPLY;
	h.seq = req->seq;
	h.ret = ret;
	h.count = r->count;
	h.len = (uint32_t)r->len;
	do {
		unsigned int n = r->nfds - sent;

		if (n > PVIO_HV_MAX_FDS)
			n = PVIO_HV_MAX_FDS;
		h.nfds = (uint16_t)n;
		h.more = sent + n < r->nfds;
		rc = send_one(c->fd, &h, sent == 0 ? r->buf : NULL,
			      sent == 0 ? r->len : 0, r->fds + sent, n);
		if (rc < 0)
			return rc;
		sent += n;
		h.len = 0;
		h.count = 0;
	} while (sent < r->nfds);
	return 0;
}

int pvio__hv_send_async(struct pvio__hv *hv, struct pvio__hv_conn *c,
			uint32_t type, const void *payload, size_t len,
			const int *fds, unsigned int nfds)
{
	struct pvio__hv_hdr h = {0};
	int rc;

	if (c->dead)
		return -ECONNRESET;
	if (len > PVIO_HV_MSG_MAX - sizeof(h) || nfds > PVIO_HV_MAX_FDS)
		return -EINVAL;
	h.type = type;
	h.len = (uint32_t)len;
	h.nfds = (uint16_t)nfds;
	rc = send_one(c->fd, &h, payload, len, fds, nfds);
	if (rc < 0) {
		pvio__hv_log(hv, c->dom != NULL ? c->dom->domid : -1,
			     "connection %llu: async notice failed (%s), "
			     "dropped",
			     (unsigned long long)c->id, strerror(-rc));
		c->dead = true;
		return -ECONNRESET;
	}
	return 0;
}

int pvio__hv_reply_fd(struct pvio__hv_reply *r, int fd, bool owned)
{
	if (r->nfds >= r->max_fds)
		return -E2BIG;
	r->fds[r->nfds] = fd;
	r->fd_owned[r->nfds] = owned;
	r->nfds++;
	return 0;
}

static void reply_reset(struct pvio__hv_reply *r)
{
	unsigned int i;

	for (i = 0; i < r->nfds; i++)
		if (r->fd_owned[i])
			close(r->fds[i]);
	r->nfds = 0;
	r->len = 0;
	r->count = 0;
}

/* ---- connections ------------------------------------------------------ */

static void conn_close(struct pvio__hv *hv, struct pvio__hv_conn *c)
{
	pvio__hv_evtchn_conn_closed(hv, c);
	if (c->dom != NULL)
		pvio__hv_dom_conn_gone(hv, c);
	epoll_ctl(hv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		hv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

static void accept_conns(struct pvio__hv *hv)
{
	for (;;) {
		struct epoll_event ev = {0};
		struct pvio__hv_conn *c;
		int fd = accept4(hv->listen_fd, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return; /* EAGAIN, or a transient error: retry later */
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			return;
		}
		/* No request takes fds: have the kernel refuse them, so that
		 * pvio-hv never runs a file's release code (which can block,
		 * e.g. a lingering TCP socket) on its only thread.  Kernels
		 * before 6.16 lack the option; serve_one() closes them. */
		setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &(int){0},
			   sizeof(int));
		c->fd = fd;
		c->id = ++hv->next_conn_id;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(hv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			return;
		}
		c->next = hv->conns;
		if (c->next != NULL)
			c->next->prev = c;
		hv->conns = c;
	}
}

/* ---- dispatch --------------------------------------------------------- */

typedef int (*handler_fn)(struct pvio__hv *hv, struct pvio__hv_conn *c,
			  const struct pvio__hv_hdr *h, const void *payload,
			  size_t len, struct pvio__hv_reply *r);

/*
 * What each op accepts.  fixed: payload bytes before the array; elem:
 * bytes per array element (0: the op has no array, count must be 0);
 * SIZE_CHECKED_BY_HANDLER: the handler checks len itself.
 */
#define SIZE_CHECKED_BY_HANDLER ((size_t)-1)
struct op_desc {
	handler_fn fn;
	size_t fixed;
	size_t elem;
	bool dom0_only;
};

static const struct op_desc *op_lookup(uint32_t type)
{
	static const struct op_desc ops[PVIO_HV_OP_MAX_] = {
		[PVIO_HV_OP_VERSION] = {pvio__hv_op_version, 0, 0, false},
		[PVIO_HV_OP_MEM_ALLOC] = {pvio__hv_op_mem_alloc,
					  sizeof(struct pvio__hv_mem_alloc), 0,
					  false},
		[PVIO_HV_OP_MEM_FREE] = {pvio__hv_op_mem_free,
					 sizeof(struct pvio__hv_mem_range), 0,
					 false},
		[PVIO_HV_OP_MEM_GET] = {pvio__hv_op_mem_get,
					sizeof(struct pvio__hv_mem_range), 0,
					false},
		[PVIO_HV_OP_GNTTAB_SETUP] = {pvio__hv_op_gnttab_setup, 0, 0,
					     false},
		[PVIO_HV_OP_RETIRE] = {pvio__hv_op_retire,
				       sizeof(struct pvio__hv_retire), 0,
				       false},
		[PVIO_HV_OP_MAP] = {pvio__hv_op_map, 0,
				    sizeof(struct pvio__hv_map_op), false},
		[PVIO_HV_OP_UNMAP] = {pvio__hv_op_unmap, 0, sizeof(uint32_t),
				      false},
		[PVIO_HV_OP_COPY] = {pvio__hv_op_copy, 0,
				     sizeof(struct pvio_gnttab_copy), false},
		[PVIO_HV_OP_TRANSFER] = {pvio__hv_op_transfer, 0,
					 sizeof(struct pvio_gnttab_transfer),
					 false},
		[PVIO_HV_OP_EVTCHN_ALLOC_UNBOUND] =
			{pvio__hv_evtchn_alloc_unbound, SIZE_CHECKED_BY_HANDLER,
			 0, false},
		[PVIO_HV_OP_EVTCHN_BIND] = {pvio__hv_evtchn_bind,
					    SIZE_CHECKED_BY_HANDLER, 0, false},
		[PVIO_HV_OP_EVTCHN_CLOSE] = {pvio__hv_evtchn_close,
					     SIZE_CHECKED_BY_HANDLER, 0, false},
		[PVIO_HV_OP_EVTCHN_STATUS] = {pvio__hv_evtchn_status,
					      SIZE_CHECKED_BY_HANDLER, 0,
					      false},
		[PVIO_HV_OP_XS_OPEN] = {pvio__hv_op_xs_open, 0, 0, false},
		[PVIO_HV_OP_CTL_CREATE] = {pvio__hv_op_ctl_create,
					   sizeof(struct pvio__hv_ctl_create),
					   0, true},
		[PVIO_HV_OP_CTL_SET_PID] = {pvio__hv_op_ctl_set_pid,
					    sizeof(struct pvio__hv_ctl_dom), 0,
					    true},
		[PVIO_HV_OP_CTL_DESTROY] = {pvio__hv_op_ctl_destroy,
					    sizeof(struct pvio__hv_ctl_dom), 0,
					    true},
		[PVIO_HV_OP_CTL_PAUSE] = {pvio__hv_op_ctl_pause,
					  sizeof(struct pvio__hv_ctl_dom), 0,
					  true},
		[PVIO_HV_OP_CTL_UNPAUSE] = {pvio__hv_op_ctl_unpause,
					    sizeof(struct pvio__hv_ctl_dom), 0,
					    true},
		[PVIO_HV_OP_CTL_LIST] = {pvio__hv_op_ctl_list,
					 sizeof(struct pvio__hv_ctl_list), 0,
					 true},
		[PVIO_HV_OP_CTL_LOOKUP] = {pvio__hv_op_ctl_lookup,
					   sizeof(struct pvio__hv_ctl_lookup),
					   0, true},
	};

	if (type >= PVIO_HV_OP_MAX_ || ops[type].fn == NULL)
		return NULL;
	return &ops[type];
}

/* Header checks of a request; -EINVAL if the message is malformed. */
static int check_request(const struct op_desc *d, const struct pvio__hv_hdr *h,
			 size_t len)
{
	if (d->fixed == SIZE_CHECKED_BY_HANDLER)
		return h->count == 0 ? 0 : -EINVAL;
	if (d->elem == 0)
		return h->count == 0 && len == d->fixed ? 0 : -EINVAL;
	if (h->count == 0 || h->count > PVIO_HV_BATCH_MAX)
		return -EINVAL;
	/* count <= 1024 and elem < 64: no overflow */
	return len == d->fixed + (size_t)h->count * d->elem ? 0 : -EINVAL;
}

/*
 * Read one message from 'c' and answer it.  Returns false if the
 * connection must be closed.
 */
static bool serve_one(struct pvio__hv *hv, struct pvio__hv_conn *c)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * PVIO_HV_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {hv->rxbuf, PVIO_HV_MSG_MAX};
	struct msghdr msg = {0};
	struct pvio__hv_hdr h;
	struct cmsghdr *cm;
	const struct op_desc *d;
	unsigned int nfds = 0;
	size_t len;
	ssize_t n;
	int ret;
	bool keep = true;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false; /* EOF */
	/* Close every fd a request brought: no request takes any. */
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS) {
			size_t k,
				m = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fd;

			for (k = 0; k < m; k++) {
				memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int),
				       sizeof(fd));
				close(fd);
				nfds++;
			}
		}
	}
	if ((size_t)n < sizeof(h) || (msg.msg_flags & MSG_TRUNC)) {
		pvio__hv_log(hv, c->dom != NULL ? c->dom->domid : -1,
			     "connection %llu: malformed message (%zd bytes), "
			     "closed",
			     (unsigned long long)c->id, n);
		return false;
	}
	memcpy(&h, hv->rxbuf, sizeof(h));
	len = (size_t)n - sizeof(h);
	reply_reset(&hv->reply);

	if (h.len != len || h.seq == 0 || h.nfds != nfds || nfds != 0 ||
	    (msg.msg_flags & MSG_CTRUNC) || (h.type & PVIO_HV_REPLY)) {
		ret = -EINVAL;
		/* Before the hello nobody is owed a second chance. */
		keep = c->dom != NULL;
	} else if (c->dom == NULL) {
		/* The first message must be the hello; anything else ends. */
		if (h.type != PVIO_HV_OP_HELLO || h.count != 0 ||
		    len != sizeof(struct pvio__hv_hello)) {
			ret = -EPERM;
		} else {
			ret = pvio__hv_hello(hv, c, hv->rxbuf + sizeof(h),
					     &hv->reply);
		}
		keep = ret == 0;
	} else if ((d = op_lookup(h.type)) == NULL) {
		ret = h.type == PVIO_HV_OP_HELLO ? -EISCONN : -ENOSYS;
	} else if (check_request(d, &h, len) < 0) {
		ret = -EINVAL;
	} else if (d->dom0_only && c->dom->domid != 0) {
		ret = -EPERM;
	} else {
		ret = d->fn(hv, c, &h, hv->rxbuf + sizeof(h), len, &hv->reply);
	}
	if (ret < 0)
		reply_reset(&hv->reply); /* errors carry no payload or fds */
	if (send_reply(c, &h, ret, &hv->reply) < 0)
		keep = false;
	reply_reset(&hv->reply);
	return keep && !c->dead;
}

/* ---- main loop -------------------------------------------------------- */

static int run(struct pvio__hv *hv)
{
	struct epoll_event evs[64];

	while (!hv->stop) {
		int i, n = epoll_wait(hv->epfd, evs, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == EP_LISTEN) {
				accept_conns(hv);
			} else if (tag == EP_SIGNAL) {
				struct signalfd_siginfo si;

				if (read(hv->sigfd, &si, sizeof(si)) ==
				    sizeof(si)) {
					pvio__hv_log(hv, -1,
						     "signal %u: shutting down",
						     si.ssi_signo);
					hv->stop = true;
				}
			} else if (tag == EP_XSD) {
				int rc = pvio_xsd_dispatch(hv->xsd);

				if (rc < 0)
					pvio__hv_log(hv, -1,
						     "xenstore dispatch: %s",
						     strerror(-rc));
			} else if ((tag & 0xF) == EP_PIDFD_TAG) {
				pvio__hv_dom_pidfd_ready(hv,
							 (uint32_t)(tag >> 4));
			} else {
				struct pvio__hv_conn *c = evs[i].data.ptr;

				if (c->dead)
					continue;
				if (!serve_one(hv, c))
					c->dead = true;
			}
		}
		/* Reap after the batch: evs[] may still name a dead conn. */
		for (struct pvio__hv_conn *c = hv->conns, *next; c != NULL;
		     c = next) {
			next = c->next;
			if (c->dead)
				conn_close(hv, c);
		}
	}
	return 0;
}

int pvio__hv_epoll_pidfd(struct pvio__hv *hv, int pidfd, uint32_t domid,
			 bool add)
{
	struct epoll_event ev = {0};

	ev.events = EPOLLIN;
	ev.data.u64 = ((uint64_t)domid << 4) | EP_PIDFD_TAG;
	if (epoll_ctl(hv->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, pidfd,
		      &ev) < 0)
		return -errno;
	return 0;
}

/* ---- start-up --------------------------------------------------------- */

static bool xsd_domain_exists(void *ctx, uint32_t domid)
{
	return pvio__hv_domain_get(ctx, domid) != NULL;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char saved = buf[i];

			buf[i] = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -errno;
			buf[i] = saved;
		}
	}
	return 0;
}

static int listen_hv(struct pvio__hv *hv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", hv->run_dir,
		     PVIO_HV_SOCK_NAME) >= (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(hv->sock_path, sizeof(hv->sock_path), "%s", sa.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path); /* stale: we hold the pid-file lock */
	/* Domains authenticate in their first message: 0666 is fine. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(sa.sun_path, 0666) < 0 || listen(fd, 128) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	hv->listen_fd = fd;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pvio-hv [--run-dir DIR] [--foreground|-F] "
		"[--pid-file F] [--log F] [--mem-pages N]\n"
		"  --run-dir DIR   sockets, pid file and log (default %s)\n"
		"  --foreground    do not daemonise; log to stderr\n"
		"  --pid-file F    default DIR/pvio-hv.pid\n"
		"  --log F         default DIR/pvio-hv.log (background)\n"
		"  --mem-pages N   grantable pages all domains together may\n"
		"                  hold (default %u); dom0 may hold all\n",
		PVIO_DOM_DEFAULT_RUNDIR, PVIO__HV_DEFAULT_POOL);
}

/* Raise the fd limit: pvio-hv holds one fd per grantable page. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"run-dir", required_argument, NULL, 'd'},
		{"foreground", no_argument, NULL, 'F'},
		{"pid-file", required_argument, NULL, 'p'},
		{"log", required_argument, NULL, 'l'},
		{"mem-pages", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct pvio__hv hvs;
	struct pvio__hv *hv = &hvs;
	const char *run_dir = PVIO_DOM_DEFAULT_RUNDIR;
	const char *pid_file = NULL, *log_file = NULL;
	bool foreground = false;
	unsigned long pool = PVIO__HV_DEFAULT_POOL;
	struct pvio_xsd_hooks hooks = {.domain_exists = xsd_domain_exists};
	struct epoll_event ev = {0};
	char path[PATH_MAX], xsdir[PATH_MAX];
	int ready_pipe[2] = {-1, -1};
	sigset_t ss;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "Fh", lopts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'd':
			run_dir = optarg;
			break;
		case 'F':
			foreground = true;
			break;
		case 'p':
			pid_file = optarg;
			break;
		case 'l':
			log_file = optarg;
			break;
		case 'm':
			errno = 0;
			pool = strtoul(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || pool == 0 ||
			    pool > PVIO__HV_MAX_POOL) {
				fprintf(stderr, "pvio-hv: bad --mem-pages\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	hv->listen_fd = hv->sigfd = hv->epfd = hv->pid_fd = -1;
	hv->pool_pages = (uint32_t)pool;
	snprintf(hv->run_dir, sizeof(hv->run_dir), "%s", run_dir);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	/* No core dumps and no same-uid ptrace/proc access to our memory. */
	prctl(PR_SET_DUMPABLE, 0);

	rc = mkdir_p(run_dir, 0755);
	if (rc < 0) {
		fprintf(stderr, "pvio-hv: %s: %s\n", run_dir, strerror(-rc));
		return 1;
	}
	if (pid_file == NULL) {
		snprintf(path, sizeof(path), "%s/pvio-hv.pid", run_dir);
		pid_file = path;
	}
	snprintf(hv->pid_path, sizeof(hv->pid_path), "%s", pid_file);
	hv->pid_fd = open(pid_file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (hv->pid_fd < 0) {
		fprintf(stderr, "pvio-hv: %s: %s\n", pid_file, strerror(errno));
		return 1;
	}
	/* The lock lives with the open file description: kept across fork. */
	if (flock(hv->pid_fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "pvio-hv: another pvio-hv holds %s\n",
			pid_file);
		return 1;
	}
	if (foreground) {
		hv->log = stderr;
	} else {
		char lp[PATH_MAX];

		if (log_file == NULL) {
			snprintf(lp, sizeof(lp), "%s/pvio-hv.log", run_dir);
			log_file = lp;
		}
		hv->log = fopen(log_file, "ae");
		if (hv->log == NULL) {
			fprintf(stderr, "pvio-hv: %s: %s\n", log_file,
				strerror(errno));
			return 1;
		}
	}

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	hv->epfd = epoll_create1(EPOLL_CLOEXEC);
	hv->rxbuf = malloc(PVIO_HV_MSG_MAX);
	hv->reply.cap = PVIO_HV_MSG_MAX - sizeof(struct pvio__hv_hdr);
	hv->reply.buf = malloc(hv->reply.cap);
	hv->reply.max_fds = PVIO_HV_BATCH_MAX + 1;
	hv->reply.fds = calloc(hv->reply.max_fds, sizeof(int));
	hv->reply.fd_owned = calloc(hv->reply.max_fds, 1);
	if (hv->epfd < 0 || hv->rxbuf == NULL || hv->reply.buf == NULL ||
	    hv->reply.fds == NULL || hv->reply.fd_owned == NULL) {
		fprintf(stderr, "pvio-hv: start-up failed: %s\n",
			strerror(errno));
		return 1;
	}
	rc = pvio__hv_domains_init(hv);
	if (rc == 0)
		rc = pvio__hv_evtchn_init(hv);
	if (rc == 0)
		rc = listen_hv(hv);
	if (rc == 0)
		rc = pvio_xsd_create(&hv->xsd, &hooks, hv);
	if (rc == 0) {
		if (snprintf(xsdir, sizeof(xsdir), "%s/xenstored", run_dir) >=
		    (int)sizeof(xsdir) - 8)
			rc = -ENAMETOOLONG;
		else
			rc = mkdir_p(xsdir, 0755);
	}
	if (rc == 0) {
		memcpy(hv->xs_path, xsdir, strlen(xsdir));
		memcpy(hv->xs_path + strlen(xsdir), "/socket", 8);
		unlink(hv->xs_path);
		rc = pvio_xsd_listen(hv->xsd, hv->xs_path);
	}
	if (rc < 0) {
		fprintf(stderr, "pvio-hv: start-up failed: %s\n",
			strerror(-rc));
		unlink(hv->sock_path);
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.u64 = EP_LISTEN;
	epoll_ctl(hv->epfd, EPOLL_CTL_ADD, hv->listen_fd, &ev);
	ev.data.u64 = EP_XSD;
	epoll_ctl(hv->epfd, EPOLL_CTL_ADD, pvio_xsd_fd(hv->xsd), &ev);

	if (!foreground) {
		pid_t pid;
		char c = 0;

		/*
		 * Daemonise only now that both sockets listen: the parent
		 * exits 0 once the child says it is ready, so a command run
		 * right after `pvio-hv` finds the sockets.
		 */
		if (pipe2(ready_pipe, O_CLOEXEC) < 0)
			return 1;
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid > 0) {
			close(ready_pipe[1]);
			if (read(ready_pipe[0], &c, 1) != 1)
				return 1;
			return 0;
		}
		close(ready_pipe[0]);
		setsid();
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			close(nul);
		}
	}
	/*
	 * The signalfd only now: epoll waits on the signal queue of the
	 * process that added it, which must be the daemon, not the parent
	 * that exited.
	 */
	hv->sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	ev.events = EPOLLIN;
	ev.data.u64 = EP_SIGNAL;
	if (hv->sigfd < 0 ||
	    epoll_ctl(hv->epfd, EPOLL_CTL_ADD, hv->sigfd, &ev) < 0) {
		pvio__hv_log(hv, -1, "signalfd: %s", strerror(errno));
		return 1;
	}
	{
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

		if (ftruncate(hv->pid_fd, 0) < 0 ||
		    pwrite(hv->pid_fd, buf, (size_t)n, 0) != n)
			pvio__hv_log(hv, -1, "cannot write the pid file");
	}
	pvio__hv_log(hv, -1, "started: %s, %u pages of grantable memory",
		     hv->sock_path, hv->pool_pages);
	if (ready_pipe[1] >= 0) {
		char c = 1;

		if (write(ready_pipe[1], &c, 1) != 1)
			return 1;
		close(ready_pipe[1]);
	}

	rc = run(hv);

	/* Shutdown: every domain goes, then the sockets and the pid file. */
	pvio__hv_domains_fini(hv);
	while (hv->conns != NULL)
		conn_close(hv, hv->conns);
	pvio__hv_evtchn_fini(hv);
	pvio_xsd_destroy(hv->xsd);
	unlink(hv->sock_path);
	unlink(hv->xs_path);
	rmdir(xsdir);
	unlink(hv->pid_path);
	close(hv->listen_fd);
	close(hv->sigfd);
	close(hv->epfd);
	free(hv->rxbuf);
	free(hv->reply.buf);
	free(hv->reply.fds);
	free(hv->reply.fd_owned);
	pvio__hv_log(hv, -1, "stopped");
	if (hv->log != NULL && hv->log != stderr)
		fclose(hv->log);
	close(hv->pid_fd);
	return rc < 0 ? 1 : 0;
}
