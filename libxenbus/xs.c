/* SPDX-License-Identifier: MIT */
/*
 * pvio_xs: xenstore client over the xenstored socket protocol.
 *
 * One request is outstanding at a time (the API is synchronous), so the
 * receive side only ever sees: the reply to that request, watch events,
 * and late replies to requests that timed out (pvio_xs_set_timeout()),
 * which are dropped by req_id.
 *
 * Every byte from the daemon is hostile: a message is copied out of the
 * socket once into rxbuf, its header is bounds-checked before the
 * payload is even waited for, and each reply is parsed from that copy
 * only.  A framing error (oversized length, wrong reply type, malformed
 * watch event) breaks the handle: the stream can no longer be trusted to
 * be in sync.
 *
 * Watch events that arrive while a request waits for its reply are
 * queued (bounded, see PVIO_XS_QUEUE_*).  pvio_xs_fd() is an epoll fd
 * that holds the socket and an eventfd that is kept readable while the
 * queue is not empty, so a caller that polls it never sleeps on events
 * already sitting in the queue.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pvio/io/xs_wire.h"
#include "pvio/xs.h"

#define XS_HDR 16U
#define XS_DEFAULT_SOCKET "/run/pvio/xenstored/socket"
/* A directory bigger than this (sum of names) is refused: a daemon that
 * keeps answering DIRECTORY_PART must not make us allocate forever. */
#define XS_DIR_MAX (4U << 20)
/* Generation changes tolerated while reading a directory in parts. */
#define XS_DIR_RETRIES 16

struct xs_qev {
	struct xs_qev *next;
	size_t size; /* bytes of path + token, for the byte bound */
	char *path;
	char *token;
};

struct xs_wreg {
	struct xs_wreg *next;
	char *path;
	char *token;
};

struct pvio_xs {
	int sock;
	int epfd;
	int evfd;
	bool ev_signalled; /* evfd holds a count: epfd polls readable */
	bool broken;
	uint32_t next_req;
	int timeout_ms;

	/* Bytes read from the socket, not yet parsed into messages. */
	size_t rx_len;
	unsigned char rxbuf[XS_HDR + XENSTORE_PAYLOAD_MAX];

	/* Queued watch events, oldest first. */
	struct xs_qev *q_head, *q_tail;
	unsigned int q_len;
	size_t q_bytes;
	/* Events were dropped: one synthetic event per watch is owed. */
	bool overflow;
	struct xs_wreg *synth; /* next watch to synthesise, while emitting */
	unsigned long dropped; /* events dropped so far, for diagnostics */

	/* Watches registered through this handle, for the synthetic events
	 * and to filter the queue on unwatch. */
	struct xs_wreg *watches;
};

static uint32_t le32_get(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void le32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remaining milliseconds before 'deadline' (-1: none). */
static int remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* ---------------------------------------------------------------- */
/* Event queue                                                      */
/* ---------------------------------------------------------------- */

static bool synth_pending(const struct pvio_xs *xs)
{
	return xs->overflow && xs->watches != NULL;
}

/* Keep evfd readable exactly while something can be handed out without
 * reading the socket. */
static void sync_evfd(struct pvio_xs *xs)
{
	bool want = xs->q_head != NULL || synth_pending(xs);
	uint64_t v = 1;

	if (want == xs->ev_signalled)
		return;
	if (want) {
		if (write(xs->evfd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			xs->ev_signalled = true;
	} else {
		if (read(xs->evfd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			xs->ev_signalled = false;
	}
}

static void qev_free(struct xs_qev *e)
{
	free(e);
}

static void q_drop_head(struct pvio_xs *xs)
{
	struct xs_qev *e = xs->q_head;

	xs->q_head = e->next;
	if (xs->q_head == NULL)
		xs->q_tail = NULL;
	xs->q_len--;
	xs->q_bytes -= e->size;
	qev_free(e);
}

/*
 * Queue one event.  When the queue is full the oldest events go and the
 * handle owes the caller one synthetic event per registered watch
 * (delivered after whatever is still queued), so that a caller who
 * re-reads what each event names never misses a change.
 */
static int q_push(struct pvio_xs *xs, const char *path, size_t plen,
		  const char *token, size_t tlen)
{
	struct xs_qev *e;
	size_t size = plen + tlen + 2;

	while (xs->q_head != NULL &&
	       (xs->q_len >= PVIO_XS_QUEUE_EVENTS ||
		xs->q_bytes + size > PVIO_XS_QUEUE_BYTES)) {
		q_drop_head(xs);
		xs->overflow = true;
		xs->dropped++;
	}
	e = malloc(sizeof(*e) + size);
	if (e == NULL) {
		/* Losing an event silently would be worse: owe a resync. */
		xs->overflow = true;
		xs->dropped++;
		sync_evfd(xs);
		return -ENOMEM;
	}
	e->next = NULL;
	e->size = size;
	e->path = (char *)(e + 1);
	memcpy(e->path, path, plen);
	e->path[plen] = '\0';
	e->token = e->path + plen + 1;
	memcpy(e->token, token, tlen);
	e->token[tlen] = '\0';
	if (xs->q_tail != NULL)
		xs->q_tail->next = e;
	else
		xs->q_head = e;
	xs->q_tail = e;
	xs->q_len++;
	xs->q_bytes += size;
	sync_evfd(xs);
	return 0;
}

static void q_clear(struct pvio_xs *xs)
{
	while (xs->q_head != NULL)
		q_drop_head(xs);
}

static bool is_subpath(const char *parent, const char *child)
{
	size_t pl = strlen(parent);

	if (strncmp(parent, child, pl) != 0)
		return false;
	return child[pl] == '\0' || child[pl] == '/' ||
	       (pl == 1 && parent[0] == '/');
}

/* Forget queued events of a watch that is gone. */
static void q_filter(struct pvio_xs *xs, const char *path, const char *token)
{
	struct xs_qev **pp = &xs->q_head, *e;

	xs->q_tail = NULL;
	while ((e = *pp) != NULL) {
		if (strcmp(e->token, token) == 0 && is_subpath(path, e->path)) {
			*pp = e->next;
			xs->q_len--;
			xs->q_bytes -= e->size;
			qev_free(e);
			continue;
		}
		xs->q_tail = e;
		pp = &e->next;
	}
	sync_evfd(xs);
}

/* ---------------------------------------------------------------- */
/* Wire                                                             */
/* ---------------------------------------------------------------- */

static int set_broken(struct pvio_xs *xs)
{
	xs->broken = true;
	return -EIO;
}

static int send_all(struct pvio_xs *xs, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(xs->sock, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return set_broken(xs);
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read what the socket has, waiting at most until 'deadline'.
 * 0: got bytes; -ETIMEDOUT: nothing came; -EIO: connection gone. */
static int fill(struct pvio_xs *xs, int64_t deadline)
{
	struct pollfd pfd = {.fd = xs->sock, .events = POLLIN};
	ssize_t n;
	int r;

	if (xs->rx_len >= sizeof(xs->rxbuf))
		return set_broken(xs); /* cannot happen: one message fits */
	for (;;) {
		r = poll(&pfd, 1, remaining_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return set_broken(xs);
		if (r == 0)
			return -ETIMEDOUT;
		break;
	}
	do {
		n = read(xs->sock, xs->rxbuf + xs->rx_len,
			 sizeof(xs->rxbuf) - xs->rx_len);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return set_broken(xs);
	xs->rx_len += (size_t)n;
	return 0;
}

struct xs_msg {
	uint32_t type, req_id, tx_id, len;
	/* Points into a private copy owned by the caller of next_msg(). */
	unsigned char payload[XENSTORE_PAYLOAD_MAX + 1];
};

/*
 * Take one complete message out of rxbuf into *m.  1: got one; 0: need
 * more bytes; -EIO: the header is not acceptable.
 */
static int next_msg(struct pvio_xs *xs, struct xs_msg *m)
{
	size_t total;

	if (xs->rx_len < XS_HDR)
		return 0;
	m->type = le32_get(xs->rxbuf);
	m->req_id = le32_get(xs->rxbuf + 4);
	m->tx_id = le32_get(xs->rxbuf + 8);
	m->len = le32_get(xs->rxbuf + 12);
	if (m->len > XENSTORE_PAYLOAD_MAX)
		return set_broken(xs);
	total = XS_HDR + m->len;
	if (xs->rx_len < total)
		return 0;
	memcpy(m->payload, xs->rxbuf + XS_HDR, m->len);
	m->payload[m->len] = '\0';
	memmove(xs->rxbuf, xs->rxbuf + total, xs->rx_len - total);
	xs->rx_len -= total;
	return 1;
}

/* A WATCH_EVENT: "path\0token\0" (anything after the token ignored). */
static int take_event(struct pvio_xs *xs, const struct xs_msg *m)
{
	const char *p = (const char *)m->payload, *end = p + m->len;
	const char *z1, *z2;

	z1 = memchr(p, '\0', m->len);
	if (z1 == NULL || z1 == p)
		return set_broken(xs);
	z2 = memchr(z1 + 1, '\0', (size_t)(end - (z1 + 1)));
	if (z2 == NULL)
		return set_broken(xs);
	/* -ENOMEM already became an owed resync; not a protocol error. */
	(void)q_push(xs, p, (size_t)(z1 - p), z1 + 1, (size_t)(z2 - z1 - 1));
	return 0;
}

/* Parse every complete message now in rxbuf that is not a reply we wait
 * for: events are queued, stray replies dropped. */
static int drain_buffered(struct pvio_xs *xs, struct xs_msg *m)
{
	int r;

	while ((r = next_msg(xs, m)) == 1) {
		if (m->type == XS_WATCH_EVENT) {
			r = take_event(xs, m);
			if (r < 0)
				return r;
		}
	}
	return r;
}

static int error_reply(const struct xs_msg *m)
{
	unsigned int len = m->len;
	int e;

	/* "ENOENT\0": the NUL is customary but not required. */
	while (len > 0 && m->payload[len - 1] == '\0')
		len--;
	e = pvio_xsd_error_errno((const char *)m->payload, len);
	return e != 0 ? -e : -EIO;
}

/*
 * Send one request made of 'n' pieces and wait for its reply.  On
 * success *reply is a malloc()ed copy of the payload plus a NUL.  An
 * XS_ERROR reply becomes its errno unless 'raw' (then type_out says).
 */
static int talk(struct pvio_xs *xs, uint32_t type, pvio_xs_tx_t tx,
		const struct iovec *iov, unsigned int n, bool raw,
		uint32_t *type_out, char **reply, size_t *reply_len)
{
	unsigned char out[XS_HDR + XENSTORE_PAYLOAD_MAX];
	struct xs_msg *m;
	size_t len = 0;
	uint32_t req;
	int64_t deadline;
	unsigned int i;
	int r;

	if (xs == NULL)
		return -EINVAL;
	if (xs->broken)
		return -EIO;
	for (i = 0; i < n; i++) {
		/* Each piece is checked before adding: no size_t wrap. */
		if (iov[i].iov_len > XENSTORE_PAYLOAD_MAX - len)
			return -E2BIG;
		memcpy(out + XS_HDR + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	req = xs->next_req++;
	if (xs->next_req == 0)
		xs->next_req = 1; /* 0 is what watch events carry */
	le32_put(out, type);
	le32_put(out + 4, req);
	le32_put(out + 8, tx);
	le32_put(out + 12, (uint32_t)len);
	r = send_all(xs, out, XS_HDR + len);
	if (r < 0)
		return r;

	m = malloc(sizeof(*m));
	if (m == NULL)
		return -ENOMEM; /* the reply will be dropped as stray later */
	deadline = deadline_of(xs->timeout_ms);
	for (;;) {
		r = next_msg(xs, m);
		if (r < 0)
			goto out;
		if (r == 0) {
			r = fill(xs, deadline);
			if (r < 0)
				goto out;
			continue;
		}
		if (m->type == XS_WATCH_EVENT) {
			r = take_event(xs, m);
			if (r < 0)
				goto out;
			continue;
		}
		if (m->req_id != req)
			continue; /* late reply to a request that timed out */
		break;
	}
	if (m->type != type && m->type != XS_ERROR) {
		r = set_broken(xs);
		goto out;
	}
	if (type_out != NULL)
		*type_out = m->type;
	if (m->type == XS_ERROR && !raw) {
		r = error_reply(m);
	} else if (reply != NULL) {
		*reply = malloc(m->len + 1);
		if (*reply == NULL) {
			r = -ENOMEM;
		} else {
			memcpy(*reply, m->payload, m->len + 1);
			if (reply_len != NULL)
				*reply_len = m->len;
			r = 0;
		}
	} else {
		r = 0;
	}
	/* Events that came in the same read as the reply. */
	if (drain_buffered(xs, m) < 0 && r == 0) {
		free(reply != NULL ? *reply : NULL);
		if (reply != NULL)
			*reply = NULL;
		r = -EIO;
	}
out:
	free(m);
	return r;
}

static int talk1(struct pvio_xs *xs, uint32_t type, pvio_xs_tx_t tx,
		 const char *s, char **reply, size_t *reply_len)
{
	struct iovec iov = {.iov_base = (void *)s, .iov_len = strlen(s) + 1};

	return talk(xs, type, tx, &iov, 1, false, NULL, reply, reply_len);
}

static int check_path(const char *path)
{
	size_t l;

	if (path == NULL)
		return -EINVAL;
	l = strlen(path);
	if (l == 0)
		return -EINVAL;
	if (l >
	    (path[0] == '/' ? XENSTORE_ABS_PATH_MAX : XENSTORE_REL_PATH_MAX))
		return -ENAMETOOLONG;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Connection                                                       */
/* ---------------------------------------------------------------- */

static struct pvio_xs *xs_new(int fd, int *err)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct pvio_xs *xs;
	int e = -ENOMEM;

	xs = calloc(1, sizeof(*xs));
	if (xs == NULL)
		goto fail;
	xs->sock = fd;
	xs->next_req = 1;
	xs->timeout_ms = -1;
	xs->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	xs->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (xs->evfd < 0 || xs->epfd < 0) {
		e = -errno;
		goto fail;
	}
	ev.data.fd = fd;
	if (epoll_ctl(xs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		e = -errno;
		goto fail;
	}
	ev.data.fd = xs->evfd;
	if (epoll_ctl(xs->epfd, EPOLL_CTL_ADD, xs->evfd, &ev) < 0) {
		e = -errno;
		goto fail;
	}
	if (err != NULL)
		*err = 0;
	return xs;
fail:
	if (xs != NULL) {
		if (xs->evfd >= 0)
			close(xs->evfd);
		if (xs->epfd >= 0)
			close(xs->epfd);
		free(xs);
	}
	if (err != NULL)
		*err = e;
	return NULL;
}

struct pvio_xs *pvio_xs_open(const char *path, int *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[sizeof(sa.sun_path) + 16];
	struct pvio_xs *xs;
	const char *env;
	int fd, e;

	if (path == NULL) {
		env = getenv("XENSTORED_PATH");
		if (env != NULL && env[0] != '\0') {
			path = env;
		} else if ((env = getenv("XENSTORED_RUNDIR")) != NULL &&
			   env[0] != '\0') {
			if ((size_t)snprintf(buf, sizeof(buf), "%s/socket",
					     env) >= sizeof(buf)) {
				e = -ENAMETOOLONG;
				goto fail;
			}
			path = buf;
		} else {
			path = XS_DEFAULT_SOCKET;
		}
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		e = -ENAMETOOLONG;
		goto fail;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = -errno;
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = -errno;
		close(fd);
		goto fail;
	}
	xs = xs_new(fd, &e);
	if (xs == NULL) {
		close(fd);
		goto fail;
	}
	if (err != NULL)
		*err = 0;
	return xs;
fail:
	if (err != NULL)
		*err = e;
	return NULL;
}

struct pvio_xs *pvio_xs_from_fd(int fd, int *err)
{
	int type = 0;
	socklen_t sl = sizeof(type);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0 ||
	    type != SOCK_STREAM) {
		if (err != NULL)
			*err = -EINVAL;
		return NULL;
	}
	return xs_new(fd, err);
}

static void wreg_free(struct xs_wreg *w)
{
	free(w);
}

void pvio_xs_close(struct pvio_xs *xs)
{
	struct xs_wreg *w;

	if (xs == NULL)
		return;
	q_clear(xs);
	while ((w = xs->watches) != NULL) {
		xs->watches = w->next;
		wreg_free(w);
	}
	close(xs->epfd);
	close(xs->evfd);
	close(xs->sock);
	free(xs);
}

int pvio_xs_fd(const struct pvio_xs *xs)
{
	return xs != NULL ? xs->epfd : -EINVAL;
}

void pvio_xs_set_timeout(struct pvio_xs *xs, int timeout_ms)
{
	if (xs != NULL)
		xs->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

unsigned long pvio_xs_dropped_events(const struct pvio_xs *xs)
{
	return xs != NULL ? xs->dropped : 0;
}

/* ---------------------------------------------------------------- */
/* Requests                                                         */
/* ---------------------------------------------------------------- */

int pvio_xs_read(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		 char **val, size_t *len)
{
	int r = check_path(path);

	if (r < 0)
		return r;
	if (val == NULL)
		return -EINVAL;
	*val = NULL;
	return talk1(xs, XS_READ, tx, path, val, len);
}

int pvio_xs_write(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		  const void *val, size_t len)
{
	struct iovec iov[2];
	int r = check_path(path);

	if (r < 0)
		return r;
	if (val == NULL && len > 0)
		return -EINVAL;
	iov[0].iov_base = (void *)path;
	iov[0].iov_len = strlen(path) + 1;
	iov[1].iov_base = (void *)(val != NULL ? val : "");
	iov[1].iov_len = len;
	return talk(xs, XS_WRITE, tx, iov, 2, false, NULL, NULL, NULL);
}

int pvio_xs_printf(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		   const char *fmt, ...)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -E2BIG;
	return pvio_xs_write(xs, tx, path, buf, (size_t)n);
}

int pvio_xs_key_printf(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *dir,
		       const char *key, const char *fmt, ...)
{
	char path[XENSTORE_ABS_PATH_MAX + 1], buf[XENSTORE_PAYLOAD_MAX + 1];
	va_list ap;
	int n;

	if (dir == NULL || key == NULL || fmt == NULL)
		return -EINVAL;
	n = snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -E2BIG;
	return pvio_xs_write(xs, tx, path, buf, (size_t)n);
}

int pvio_xs_transact(struct pvio_xs *xs,
		     int (*fn)(struct pvio_xs *xs, pvio_xs_tx_t tx, void *arg),
		     void *arg)
{
	if (xs == NULL || fn == NULL)
		return -EINVAL;
	for (int i = 0; i < PVIO_XS_TX_RETRIES; i++) {
		pvio_xs_tx_t tx;
		int rc = pvio_xs_tx_start(xs, &tx);

		if (rc)
			return rc;
		rc = fn(xs, tx, arg);
		if (rc) {
			pvio_xs_tx_end(xs, tx, false);
			return rc;
		}
		rc = pvio_xs_tx_end(xs, tx, true);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

int pvio_xs_mkdir(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path)
{
	int r = check_path(path);

	return r < 0 ? r : talk1(xs, XS_MKDIR, tx, path, NULL, NULL);
}

int pvio_xs_rm(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path)
{
	int r = check_path(path);

	return r < 0 ? r : talk1(xs, XS_RM, tx, path, NULL, NULL);
}

/*
 * Turn "a\0b\0c\0" (len bytes, every string terminated) into the
 * one-allocation array the API returns.  Names must be non-empty and
 * must not contain '/'.
 */
static int split_names(const char *s, size_t len, char ***names,
		       unsigned int *n)
{
	size_t i, count = 0, start = 0;
	char **arr, *copy;

	if (len > 0 && s[len - 1] != '\0')
		return -EIO;
	for (i = 0; i < len; i++) {
		if (s[i] == '/')
			return -EIO;
		if (s[i] == '\0') {
			if (i == start)
				return -EIO;
			count++;
			start = i + 1;
		}
	}
	if (count > UINT_MAX)
		return -EIO;
	arr = malloc(count * sizeof(char *) + len + 1);
	if (arr == NULL)
		return -ENOMEM;
	copy = (char *)(arr + count);
	memcpy(copy, s, len);
	copy[len] = '\0';
	for (i = 0, start = 0; i < count; i++) {
		arr[i] = copy + start;
		start += strlen(copy + start) + 1;
	}
	*names = arr;
	*n = (unsigned int)count;
	return 0;
}

/* Xen 4.9+: reply "<gencnt>\0<name>\0...", the last part ending in an
 * extra "\0"; offsets are bytes into the whole list. */
static int directory_part(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
			  char ***names, unsigned int *n)
{
	char gen[24], offstr[24], *acc = NULL, *rep;
	size_t acc_len = 0, rlen, glen;
	struct iovec iov[2];
	unsigned int retries = 0;
	int r;

	gen[0] = '\0';
	for (;;) {
		snprintf(offstr, sizeof(offstr), "%zu", acc_len);
		iov[0].iov_base = (void *)path;
		iov[0].iov_len = strlen(path) + 1;
		iov[1].iov_base = offstr;
		iov[1].iov_len = strlen(offstr) + 1;
		rep = NULL;
		r = talk(xs, XS_DIRECTORY_PART, tx, iov, 2, false, NULL, &rep,
			 &rlen);
		if (r == -ENOSYS)
			r = -E2BIG;
		if (r < 0)
			goto out;
		glen = strnlen(rep, rlen);
		if (glen == 0 || glen >= sizeof(gen) || glen == rlen ||
		    strspn(rep, "0123456789") != glen) {
			r = set_broken(xs);
			goto out;
		}
		if (acc_len > 0 && strcmp(gen, rep) != 0) {
			/* The directory changed under us: start again. */
			if (++retries > XS_DIR_RETRIES) {
				r = -EAGAIN;
				goto out;
			}
			free(acc);
			acc = NULL;
			acc_len = 0;
			memcpy(gen, rep, glen + 1);
			free(rep);
			continue;
		}
		memcpy(gen, rep, glen + 1);
		rlen -= glen + 1;
		if (rlen == 0 || rep[glen + 1 + rlen - 1] != '\0' ||
		    acc_len + rlen > XS_DIR_MAX) {
			r = set_broken(xs); /* no progress or unterminated */
			goto out;
		}
		{
			char *na = realloc(acc, acc_len + rlen);

			if (na == NULL) {
				r = -ENOMEM;
				goto out;
			}
			acc = na;
		}
		memcpy(acc + acc_len, rep + glen + 1, rlen);
		acc_len += rlen;
		free(rep);
		rep = NULL;
		/* End: an empty name, i.e. the list ends "\0\0" (or is
		 * just "\0" for an empty directory). */
		if (acc_len == 1 || acc[acc_len - 2] == '\0') {
			acc_len--;
			break;
		}
	}
	r = split_names(acc, acc_len, names, n);
	if (r == -EIO)
		set_broken(xs);
	rep = NULL;
out:
	free(rep);
	free(acc);
	return r;
}

int pvio_xs_directory(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		      char ***names, unsigned int *n)
{
	char *rep = NULL;
	size_t rlen = 0;
	int r = check_path(path);

	if (r < 0)
		return r;
	if (names == NULL || n == NULL)
		return -EINVAL;
	*names = NULL;
	*n = 0;
	r = talk1(xs, XS_DIRECTORY, tx, path, &rep, &rlen);
	if (r == -E2BIG)
		return directory_part(xs, tx, path, names, n);
	if (r < 0)
		return r;
	r = split_names(rep, rlen, names, n);
	if (r == -EIO)
		set_broken(xs);
	free(rep);
	return r;
}

static int parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return -EIO;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EIO;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -EIO;
	*out = (uint32_t)v;
	return 0;
}

int pvio_xs_get_perms(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		      struct pvio_xs_perm **perms, unsigned int *n)
{
	struct pvio_xs_perm *arr = NULL;
	char *rep = NULL;
	size_t rlen = 0, i, start, count = 0;
	int r = check_path(path);

	if (r < 0)
		return r;
	if (perms == NULL || n == NULL)
		return -EINVAL;
	*perms = NULL;
	*n = 0;
	r = talk1(xs, XS_GET_PERMS, tx, path, &rep, &rlen);
	if (r < 0)
		return r;
	r = -EIO;
	if (rlen == 0 || rep[rlen - 1] != '\0')
		goto bad;
	for (i = 0; i < rlen; i++)
		count += rep[i] == '\0';
	arr = calloc(count, sizeof(*arr));
	if (arr == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0, start = 0; i < count; i++) {
		size_t l = strlen(rep + start);

		if (l < 2 || strchr("rwbn", rep[start]) == NULL)
			goto bad;
		if (parse_u32(rep + start + 1, l - 1, 65535, &arr[i].domid) < 0)
			goto bad;
		arr[i].mode = rep[start];
		start += l + 1;
	}
	*perms = arr;
	*n = (unsigned int)count;
	free(rep);
	return 0;
bad:
	set_broken(xs);
out:
	free(arr);
	free(rep);
	return r;
}

int pvio_xs_set_perms(struct pvio_xs *xs, pvio_xs_tx_t tx, const char *path,
		      const struct pvio_xs_perm *perms, unsigned int n)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	struct iovec iov;
	size_t off;
	unsigned int i;
	int r = check_path(path);

	if (r < 0)
		return r;
	if (perms == NULL || n == 0)
		return -EINVAL;
	off = strlen(path) + 1;
	if (off > sizeof(buf))
		return -E2BIG;
	memcpy(buf, path, off);
	for (i = 0; i < n; i++) {
		int l;

		if (strchr("rwbn", perms[i].mode) == NULL ||
		    perms[i].mode == '\0')
			return -EINVAL;
		l = snprintf(buf + off, sizeof(buf) - off, "%c%" PRIu32,
			     perms[i].mode, perms[i].domid);
		if (l < 0 || (size_t)l + 1 > sizeof(buf) - off)
			return -E2BIG;
		off += (size_t)l + 1;
	}
	iov.iov_base = buf;
	iov.iov_len = off;
	return talk(xs, XS_SET_PERMS, tx, &iov, 1, false, NULL, NULL, NULL);
}

static int watch_msg(struct pvio_xs *xs, uint32_t type, const char *path,
		     const char *token)
{
	struct iovec iov[2];
	int r = check_path(path);

	if (r < 0)
		return r;
	if (token == NULL)
		return -EINVAL;
	iov[0].iov_base = (void *)path;
	iov[0].iov_len = strlen(path) + 1;
	iov[1].iov_base = (void *)token;
	iov[1].iov_len = strlen(token) + 1;
	return talk(xs, type, PVIO_XS_TX_NONE, iov, 2, false, NULL, NULL, NULL);
}

int pvio_xs_watch(struct pvio_xs *xs, const char *path, const char *token)
{
	struct xs_wreg *w;
	size_t pl, tl;
	int r;

	if (xs == NULL || path == NULL || token == NULL)
		return -EINVAL;
	pl = strlen(path);
	tl = strlen(token);
	w = malloc(sizeof(*w) + pl + tl + 2);
	if (w == NULL)
		return -ENOMEM;
	w->path = (char *)(w + 1);
	memcpy(w->path, path, pl + 1);
	w->token = w->path + pl + 1;
	memcpy(w->token, token, tl + 1);
	r = watch_msg(xs, XS_WATCH, path, token);
	if (r < 0) {
		wreg_free(w);
		return r;
	}
	w->next = xs->watches;
	xs->watches = w;
	return 0;
}

static void forget_watch(struct pvio_xs *xs, const char *path,
			 const char *token)
{
	struct xs_wreg **pp = &xs->watches, *w;

	while ((w = *pp) != NULL) {
		if (strcmp(w->path, path) == 0 &&
		    strcmp(w->token, token) == 0) {
			if (xs->synth == w)
				xs->synth = w->next;
			*pp = w->next;
			wreg_free(w);
			break;
		}
		pp = &w->next;
	}
	if (xs->watches == NULL)
		xs->overflow = false;
}

int pvio_xs_unwatch(struct pvio_xs *xs, const char *path, const char *token)
{
	int r;

	if (xs == NULL || path == NULL || token == NULL)
		return -EINVAL;
	r = watch_msg(xs, XS_UNWATCH, path, token);
	/* Whatever the daemon says, events of this watch are unwanted. */
	forget_watch(xs, path, token);
	q_filter(xs, path, token);
	return r;
}

static int pop_event(struct pvio_xs *xs, char **path, char **token)
{
	const char *p, *t;
	char *pc, *tc;

	if (xs->q_head != NULL) {
		p = xs->q_head->path;
		t = xs->q_head->token;
	} else if (synth_pending(xs)) {
		if (xs->synth == NULL)
			xs->synth = xs->watches;
		p = xs->synth->path;
		t = xs->synth->token;
	} else {
		return 0;
	}
	pc = strdup(p);
	tc = strdup(t);
	if (pc == NULL || tc == NULL) {
		free(pc);
		free(tc);
		return -ENOMEM;
	}
	if (xs->q_head != NULL) {
		q_drop_head(xs);
	} else {
		xs->synth = xs->synth->next;
		if (xs->synth == NULL)
			xs->overflow = false;
	}
	sync_evfd(xs);
	*path = pc;
	*token = tc;
	return 1;
}

int pvio_xs_read_watch(struct pvio_xs *xs, char **path, char **token,
		       int timeout_ms)
{
	struct xs_msg *m;
	int64_t deadline;
	int r;

	if (xs == NULL || path == NULL || token == NULL)
		return -EINVAL;
	*path = NULL;
	*token = NULL;
	r = pop_event(xs, path, token);
	if (r != 0)
		return r < 0 ? r : 0;
	if (xs->broken)
		return -EIO;
	m = malloc(sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	deadline = deadline_of(timeout_ms);
	for (;;) {
		r = drain_buffered(xs, m);
		if (r < 0)
			break;
		r = pop_event(xs, path, token);
		if (r != 0) {
			r = r < 0 ? r : 0;
			break;
		}
		r = fill(xs, deadline);
		if (r == -ETIMEDOUT) {
			r = timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
			break;
		}
		if (r < 0)
			break;
	}
	free(m);
	return r;
}

int pvio_xs_tx_start(struct pvio_xs *xs, pvio_xs_tx_t *tx)
{
	char *rep = NULL;
	size_t rlen = 0;
	uint32_t id;
	int r;

	if (tx == NULL)
		return -EINVAL;
	r = talk1(xs, XS_TRANSACTION_START, PVIO_XS_TX_NONE, "", &rep, &rlen);
	if (r < 0)
		return r;
	if (parse_u32(rep, strnlen(rep, rlen), UINT32_MAX, &id) < 0 ||
	    id == PVIO_XS_TX_NONE) {
		free(rep);
		return set_broken(xs);
	}
	free(rep);
	*tx = id;
	return 0;
}

int pvio_xs_tx_end(struct pvio_xs *xs, pvio_xs_tx_t tx, bool commit)
{
	if (tx == PVIO_XS_TX_NONE)
		return -EINVAL;
	return talk1(xs, XS_TRANSACTION_END, tx, commit ? "T" : "F", NULL,
		     NULL);
}

int pvio_xs_get_domain_path(struct pvio_xs *xs, uint32_t domid, char **path)
{
	char d[16], *rep = NULL;
	size_t rlen = 0, l;
	int r;

	if (path == NULL)
		return -EINVAL;
	*path = NULL;
	snprintf(d, sizeof(d), "%" PRIu32, domid);
	r = talk1(xs, XS_GET_DOMAIN_PATH, PVIO_XS_TX_NONE, d, &rep, &rlen);
	if (r < 0)
		return r;
	l = strnlen(rep, rlen);
	/* One string, optionally NUL-terminated, absolute. */
	if (l == 0 || rep[0] != '/' || (l != rlen && l + 1 != rlen)) {
		free(rep);
		return set_broken(xs);
	}
	*path = rep;
	return 0;
}

int pvio_xs_introduce(struct pvio_xs *xs, uint32_t domid, uint64_t mfn,
		      uint32_t port)
{
	char buf[64];
	struct iovec iov;
	int l;

	l = snprintf(buf, sizeof(buf), "%" PRIu32 "%c%" PRIu64 "%c%" PRIu32,
		     domid, '\0', mfn, '\0', port);
	iov.iov_base = buf;
	iov.iov_len = (size_t)l + 1;
	return talk(xs, XS_INTRODUCE, PVIO_XS_TX_NONE, &iov, 1, false, NULL,
		    NULL, NULL);
}

int pvio_xs_release(struct pvio_xs *xs, uint32_t domid)
{
	char d[16];

	snprintf(d, sizeof(d), "%" PRIu32, domid);
	return talk1(xs, XS_RELEASE, PVIO_XS_TX_NONE, d, NULL, NULL);
}

int pvio_xs_is_introduced(struct pvio_xs *xs, uint32_t domid, bool *yes)
{
	char d[16], *rep = NULL;
	size_t rlen = 0, l;
	int r;

	if (yes == NULL)
		return -EINVAL;
	snprintf(d, sizeof(d), "%" PRIu32, domid);
	r = talk1(xs, XS_IS_DOMAIN_INTRODUCED, PVIO_XS_TX_NONE, d, &rep, &rlen);
	if (r < 0)
		return r;
	l = strnlen(rep, rlen);
	if (l != 1 || (rep[0] != 'T' && rep[0] != 'F')) {
		free(rep);
		return set_broken(xs);
	}
	*yes = rep[0] == 'T';
	free(rep);
	return 0;
}

int pvio_xs_reset_watches(struct pvio_xs *xs)
{
	struct xs_wreg *w;
	int r;

	r = talk1(xs, XS_RESET_WATCHES, PVIO_XS_TX_NONE, "", NULL, NULL);
	if (r < 0)
		return r;
	while ((w = xs->watches) != NULL) {
		xs->watches = w->next;
		wreg_free(w);
	}
	xs->synth = NULL;
	xs->overflow = false;
	q_clear(xs);
	sync_evfd(xs);
	return 0;
}

int pvio_xs_raw(struct pvio_xs *xs, uint32_t type, pvio_xs_tx_t tx,
		const void *payload, size_t len, uint32_t *type_out,
		char **reply, size_t *reply_len)
{
	struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};

	if (type_out == NULL || reply == NULL || (payload == NULL && len > 0))
		return -EINVAL;
	*reply = NULL;
	return talk(xs, type, tx, &iov, 1, true, type_out, reply, reply_len);
}
