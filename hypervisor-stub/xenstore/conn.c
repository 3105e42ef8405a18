/* SPDX-License-Identifier: MIT */
/*
 * The wire: reading requests, queueing replies and watch events, writing.
 *
 * Hostile peers are handled here:
 *  - a message is read header first, then exactly 'len' payload bytes, in
 *    as many pieces as the socket gives; len > 4096 drops the connection;
 *  - a connection with 'outstanding' unsent replies is not read from until
 *    it reads them (back-pressure instead of memory growth, Xen 4.17);
 *  - an identical watch event still queued is not queued twice (Xen 4.17),
 *    so a storm of writes to one node costs one pending event per watch;
 *  - a connection whose queue still exceeds its cap (memory quota for a
 *    domain, 8x that for dom0) is dropped: it is not reading (XSA-326/349).
 * Killed connections are unlinked at once and freed after dispatch, so
 * callers up the stack never touch freed memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xsd_internal.h"

bool xsd_conn_priv(const struct xsd_conn *c)
{
	return c->domid == 0;
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le32(char *p, uint32_t v)
{
	p[0] = (char)(v & 0xff);
	p[1] = (char)((v >> 8) & 0xff);
	p[2] = (char)((v >> 16) & 0xff);
	p[3] = (char)((v >> 24) & 0xff);
}

static bool throttled(const struct xsd_conn *c)
{
	return c->out_replies >= c->xsd->quota.outstanding;
}

static void update_mask(struct xsd_conn *c)
{
	uint32_t want =
		(throttled(c) ? 0 : EPOLLIN) | (c->out_head ? EPOLLOUT : 0);
	struct epoll_event ev = {.events = want, .data.ptr = c};

	if (c->dead || want == c->epoll_mask)
		return;
	if (epoll_ctl(c->xsd->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->epoll_mask = want;
}

struct xsd_conn *xsd_conn_new(struct pvio_xsd *xsd, int fd, uint32_t domid,
			      int *err)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct xsd_conn *c;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		*err = errno;
		close(fd);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		*err = ENOMEM;
		close(fd);
		return NULL;
	}
	c->xsd = xsd;
	c->fd = fd;
	c->domid = domid;
	c->out_tail = &c->out_head;
	c->next_txid = 1;
	c->epoll_mask = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(xsd->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		*err = errno;
		close(fd);
		free(c);
		return NULL;
	}
	c->next = xsd->conns;
	if (xsd->conns)
		xsd->conns->prev = c;
	xsd->conns = c;
	return c;
}

static void out_unhash(struct xsd_conn *c, struct xsd_out *o)
{
	struct xsd_out **pp;

	if (!o->hashed)
		return;
	for (pp = &c->evhash[o->hash % XSD_EVHASH]; *pp; pp = &(*pp)->hnext) {
		if (*pp == o) {
			*pp = o->hnext;
			break;
		}
	}
	o->hashed = false;
}

void xsd_conn_kill(struct xsd_conn *c)
{
	struct pvio_xsd *xsd = c->xsd;

	if (c->dead)
		return;
	c->dead = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		xsd->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	epoll_ctl(xsd->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	xsd_tx_drop_all(c);
	xsd_watch_drop_all(c);
	while (c->out_head) {
		struct xsd_out *o = c->out_head;

		c->out_head = o->next;
		free(o);
	}
	c->out_tail = &c->out_head;
	memset(c->evhash, 0, sizeof(c->evhash));
	c->out_bytes = 0;
	c->out_replies = 0;
	free(c->in);
	c->in = NULL;
	c->grave_next = xsd->grave;
	xsd->grave = c;
}

void xsd_conn_free(struct xsd_conn *c)
{
	free(c);
}

static size_t out_cap(const struct xsd_conn *c)
{
	size_t cap = c->xsd->quota.memory_bytes;

	if (cap < 64 * 1024)
		cap = 64 * 1024; /* always room for a few full replies */
	return c->domid == 0 ? cap * 8 : cap;
}

static struct xsd_out *out_new(uint32_t type, uint32_t req_id, uint32_t tx_id,
			       unsigned int len)
{
	struct xsd_out *o = malloc(sizeof(*o) + 16 + len);

	if (!o)
		return NULL;
	memset(o, 0, sizeof(*o));
	o->len = 16 + len;
	put_le32(o->buf, type);
	put_le32(o->buf + 4, req_id);
	put_le32(o->buf + 8, tx_id);
	put_le32(o->buf + 12, len);
	return o;
}

static void enqueue(struct xsd_conn *c, struct xsd_out *o)
{
	*c->out_tail = o;
	c->out_tail = &o->next;
	c->out_bytes += o->len;
	if (!o->is_event)
		c->out_replies++;
	if (c->out_bytes > out_cap(c)) {
		xsd_log(c->xsd,
			"dropping connection of domain %u: %zu bytes unread",
			c->domid, c->out_bytes);
		xsd_conn_kill(c);
	}
}

void xsd_conn_reply(struct xsd_conn *c, uint32_t type, const void *data,
		    unsigned int len)
{
	struct xsd_out *o;

	if (c->dead)
		return;
	if (len > XENSTORE_PAYLOAD_MAX) {
		xsd_conn_error(c, E2BIG);
		return;
	}
	o = out_new(type, c->hdr.req_id, c->hdr.tx_id, len);
	if (!o) {
		/* Keep the stream in step: the client waits for a reply. */
		xsd_conn_kill(c);
		return;
	}
	memcpy(o->buf + 16, data, len);
	enqueue(c, o);
}

void xsd_conn_error(struct xsd_conn *c, int err)
{
	const char *name = pvio_xsd_error_name(err);

	if (!name)
		name = "EINVAL"; /* Xen sends EINVAL for untranslatable ones */
	xsd_conn_reply(c, XS_ERROR, name, (unsigned int)strlen(name) + 1);
}

void xsd_conn_event(struct xsd_conn *c, const char *path, const char *token)
{
	size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;
	struct xsd_out *o, *p;
	unsigned int h;

	if (c->dead || plen + tlen > XENSTORE_PAYLOAD_MAX)
		return; /* Xen does not send over-long events either */
	o = out_new(XS_WATCH_EVENT, 0, 0, (unsigned int)(plen + tlen));
	if (!o)
		return;
	memcpy(o->buf + 16, path, plen);
	memcpy(o->buf + 16 + plen, token, tlen);
	o->is_event = true;
	if (path[0] != '@') {
		h = xsd_hash(o->buf + 16, plen + tlen);
		for (p = c->evhash[h % XSD_EVHASH]; p; p = p->hnext) {
			if (p->len == o->len &&
			    !memcmp(p->buf + 16, o->buf + 16, plen + tlen)) {
				free(o);
				return;
			}
		}
		o->hash = h;
		o->hashed = true;
		o->hnext = c->evhash[h % XSD_EVHASH];
		c->evhash[h % XSD_EVHASH] = o;
	}
	enqueue(c, o);
}

void xsd_conn_flush(struct xsd_conn *c)
{
	while (!c->dead && c->out_head) {
		struct xsd_out *o = c->out_head;
		ssize_t w =
			send(c->fd, o->buf + c->out_off, o->len - c->out_off,
			     MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == ENOTSOCK)
			w = write(c->fd, o->buf + c->out_off,
				  o->len - c->out_off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			xsd_conn_kill(c);
			return;
		}
		c->out_off += (unsigned int)w;
		if (c->out_off < o->len)
			continue;
		/* Fully sent: the slot is free again. */
		c->out_off = 0;
		c->out_head = o->next;
		if (!c->out_head)
			c->out_tail = &c->out_head;
		out_unhash(c, o);
		c->out_bytes -= o->len;
		if (!o->is_event)
			c->out_replies--;
		free(o);
	}
	update_mask(c);
}

/* read() with the connection's failure rules: 1 progress, 0 wait, -1 dead. */
static int read_some(struct xsd_conn *c, void *buf, size_t len,
		     unsigned int *used)
{
	ssize_t r;

	do {
		r = read(c->fd, buf, len);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r <= 0) {
		xsd_conn_kill(c); /* EOF (even mid-message) or error */
		return -1;
	}
	*used += (unsigned int)r;
	return 1;
}

void xsd_conn_input(struct xsd_conn *c)
{
	unsigned int n;

	/* A bounded batch per wake-up, so one busy client cannot starve the
	 * rest; level-triggered epoll brings us back for the remainder. */
	for (n = 0; n < 64 && !c->dead && !throttled(c);) {
		if (c->hdr_used < sizeof(c->hdr_raw)) {
			if (read_some(c, c->hdr_raw + c->hdr_used,
				      sizeof(c->hdr_raw) - c->hdr_used,
				      &c->hdr_used) <= 0)
				break;
			if (c->hdr_used < sizeof(c->hdr_raw))
				continue;
			c->hdr.type = get_le32(c->hdr_raw);
			c->hdr.req_id = get_le32(c->hdr_raw + 4);
			c->hdr.tx_id = get_le32(c->hdr_raw + 8);
			c->hdr.len = get_le32(c->hdr_raw + 12);
			if (c->hdr.len > XENSTORE_PAYLOAD_MAX) {
				xsd_log(c->xsd,
					"domain %u sent a %u-byte payload: "
					"dropping it",
					c->domid, c->hdr.len);
				xsd_conn_kill(c);
				break;
			}
			c->in = malloc(c->hdr.len + 1);
			if (!c->in) {
				xsd_conn_kill(c);
				break;
			}
			c->in_used = 0;
		}
		if (c->in_used < c->hdr.len) {
			if (read_some(c, c->in + c->in_used,
				      c->hdr.len - c->in_used,
				      &c->in_used) <= 0)
				break;
			if (c->in_used < c->hdr.len)
				continue;
		}
		/* The extra NUL only protects our string functions; the
		 * handlers still check the client's own terminators. */
		c->in[c->hdr.len] = '\0';
		xsd_process(c);
		free(c->in);
		c->in = NULL;
		c->hdr_used = 0;
		n++;
	}
	if (!c->dead)
		xsd_conn_flush(c);
}
