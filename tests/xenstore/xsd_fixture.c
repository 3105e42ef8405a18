/* SPDX-License-Identifier: MIT */
#include "xsd_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

struct pvio_xsd *xf_xsd;
static struct xf_client *victim;

void xf_pump(void)
{
	unsigned int i;

	for (i = 0; i < 10000; i++) {
		struct pollfd p = {.fd = pvio_xsd_fd(xf_xsd), .events = POLLIN};

		if (poll(&p, 1, 0) <= 0)
			return;
		assert_int_equal(pvio_xsd_dispatch(xf_xsd), 0);
	}
}

struct xf_client *xf_connect(uint32_t domid)
{
	struct xf_client *c = calloc(1, sizeof(*c));
	int sv[2];

	assert_non_null(c);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	c->fd = sv[0];
	c->domid = domid;
	assert_int_equal(pvio_xsd_add_conn(xf_xsd, sv[1], domid), 0);
	return c;
}

void xf_close(struct xf_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
	xf_pump();
}

size_t xf_send_raw(struct xf_client *c, const void *p, size_t len)
{
	ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	return w < 0 ? 0 : (size_t)w;
}

void xf_send(struct xf_client *c, uint32_t type, uint32_t tx, const void *p,
	     uint32_t len)
{
	char buf[16 + XENSTORE_PAYLOAD_MAX + 64];
	struct pvio_xsd_sockmsg h = {type, ++c->req, tx, len};
	size_t off = 0, total = 16 + len;

	assert_true(len <= sizeof(buf) - 16);
	memcpy(buf, &h, 16);
	memcpy(buf + 16, p, len);
	while (off < total) {
		off += xf_send_raw(c, buf + off, total - off);
		xf_pump();
	}
}

/* Read exactly len bytes, pumping the daemon while waiting. */
static bool read_full(struct xf_client *c, void *p, size_t len)
{
	size_t off = 0;
	unsigned int spins = 0;

	while (off < len) {
		ssize_t r = read(c->fd, (char *)p + off, len - off);

		if (r == 0)
			return false;
		if (r < 0) {
			if (errno != EAGAIN)
				return false;
			if (++spins > 2000)
				return false;
			xf_pump();
			if (spins > 100)
				usleep(100);
			continue;
		}
		off += (size_t)r;
	}
	return true;
}

static void record_event(struct xf_client *c, const struct xf_msg *m)
{
	const char *path = m->body;
	const char *tok = path + strlen(path) + 1;

	snprintf(c->events[c->nevents % 64], sizeof(c->events[0]),
		 "%.200s %.50s", path, tok);
	c->nevents++;
}

static bool read_msg(struct xf_client *c, struct xf_msg *m)
{
	if (!read_full(c, &m->hdr, 16))
		return false;
	if (m->hdr.len > XENSTORE_PAYLOAD_MAX)
		fail_msg("daemon sent a %u-byte payload", m->hdr.len);
	if (!read_full(c, m->body, m->hdr.len))
		return false;
	m->body[m->hdr.len] = '\0';
	return true;
}

bool xf_recv(struct xf_client *c, struct xf_msg *m)
{
	for (;;) {
		if (!read_msg(c, m))
			return false;
		if (m->hdr.type != XS_WATCH_EVENT)
			return true;
		assert_int_equal(m->hdr.req_id, 0);
		record_event(c, m);
	}
}

unsigned int xf_poll_events(struct xf_client *c)
{
	struct xf_msg m;

	xf_pump();
	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};

		if (poll(&p, 1, 0) <= 0)
			break;
		if (!read_msg(c, &m))
			break;
		assert_int_equal(m.hdr.type, XS_WATCH_EVENT);
		record_event(c, &m);
		xf_pump();
	}
	return c->nevents;
}

bool xf_has_event(const struct xf_client *c, const char *path,
		  const char *token)
{
	char want[256];
	unsigned int i, n = c->nevents < 64 ? c->nevents : 64;

	snprintf(want, sizeof(want), "%s %s", path, token);
	for (i = 0; i < n; i++)
		if (!strcmp(c->events[i], want))
			return true;
	return false;
}

bool xf_eof(struct xf_client *c)
{
	char buf[4096];
	unsigned int spins;

	for (spins = 0; spins < 2000; spins++) {
		ssize_t r = read(c->fd, buf, sizeof(buf));

		if (r == 0)
			return true;
		if (r < 0 && errno != EAGAIN)
			return true; /* ECONNRESET */
		if (r < 0) {
			xf_pump();
			if (spins > 100)
				usleep(100);
		}
	}
	return false;
}

uint32_t xf_req(struct xf_client *c, uint32_t type, uint32_t tx, const void *p,
		uint32_t len, struct xf_msg *m)
{
	uint32_t req;

	xf_send(c, type, tx, p, len);
	req = c->req;
	if (!xf_recv(c, m))
		fail_msg("no reply to type %u", type);
	assert_int_equal(m->hdr.req_id, req);
	assert_int_equal(m->hdr.tx_id, tx);
	return m->hdr.type;
}

static int result(const struct xf_msg *m, uint32_t type)
{
	if (m->hdr.type == XS_ERROR) {
		int e;

		/* The name and its NUL, nothing else. */
		assert_int_equal(m->hdr.len, strlen(m->body) + 1);
		e = pvio_xsd_error_errno(m->body, m->hdr.len - 1);
		assert_int_not_equal(e, 0);
		return e;
	}
	assert_int_equal(m->hdr.type, type);
	return 0;
}

int xf_op1(struct xf_client *c, uint32_t type, uint32_t tx, const char *arg)
{
	struct xf_msg m;
	int e;

	xf_req(c, type, tx, arg, (uint32_t)strlen(arg) + 1, &m);
	e = result(&m, type);
	if (!e && (type == XS_WRITE || type == XS_MKDIR || type == XS_RM))
		assert_string_equal(m.body, "OK");
	return e;
}

int xf_write(struct xf_client *c, uint32_t tx, const char *path,
	     const char *val)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, vl = strlen(val);
	struct xf_msg m;

	assert_true(pl + vl <= sizeof(buf));
	memcpy(buf, path, pl);
	memcpy(buf + pl, val, vl);
	xf_req(c, XS_WRITE, tx, buf, (uint32_t)(pl + vl), &m);
	return result(&m, XS_WRITE);
}

int xf_read(struct xf_client *c, uint32_t tx, const char *path, char *out,
	    size_t cap)
{
	struct xf_msg m;
	int e;

	xf_req(c, XS_READ, tx, path, (uint32_t)strlen(path) + 1, &m);
	e = result(&m, XS_READ);
	if (!e && out) {
		assert_true(m.hdr.len < cap);
		memcpy(out, m.body, m.hdr.len);
		out[m.hdr.len] = '\0';
	}
	return e;
}

int xf_watch(struct xf_client *c, const char *path, const char *token)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
	struct xf_msg m;

	assert_true(pl + tl <= sizeof(buf));
	memcpy(buf, path, pl);
	memcpy(buf + pl, token, tl);
	xf_req(c, XS_WATCH, 0, buf, (uint32_t)(pl + tl), &m);
	return result(&m, XS_WATCH);
}

int xf_set_perms(struct xf_client *c, const char *path, const char *perms[],
		 unsigned int n)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t off = strlen(path) + 1;
	struct xf_msg m;
	unsigned int i;

	memcpy(buf, path, off);
	for (i = 0; i < n; i++) {
		size_t l = strlen(perms[i]) + 1;

		memcpy(buf + off, perms[i], l);
		off += l;
	}
	xf_req(c, XS_SET_PERMS, 0, buf, (uint32_t)off, &m);
	return result(&m, XS_SET_PERMS);
}

int xf_tx_start(struct xf_client *c, uint32_t *id)
{
	struct xf_msg m;
	int e;

	xf_req(c, XS_TRANSACTION_START, 0, "", 1, &m);
	e = result(&m, XS_TRANSACTION_START);
	if (!e)
		*id = (uint32_t)strtoul(m.body, NULL, 10);
	return e;
}

int xf_tx_end(struct xf_client *c, uint32_t id, bool commit)
{
	return xf_op1(c, XS_TRANSACTION_END, id, commit ? "T" : "F");
}

void xf_start(void)
{
	const char *p[] = {"n0"};

	assert_int_equal(pvio_xsd_create(&xf_xsd, NULL, NULL), 0);
	victim = xf_connect(0);
	assert_int_equal(xf_write(victim, 0, "/victim/data", "precious"), 0);
	assert_int_equal(xf_set_perms(victim, "/victim", p, 1), 0);
}

void xf_check_victim(void)
{
	struct xf_client *fresh = xf_connect(0);
	struct xf_msg m;
	char buf[64];

	assert_int_equal(xf_read(victim, 0, "/victim/data", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "precious");
	assert_int_equal(xf_read(fresh, 0, "/victim/data", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "precious");
	/* The books balance after every attack. */
	xf_req(fresh, XS_CONTROL, 0, "check", 6, &m);
	assert_int_equal(m.hdr.type, XS_CONTROL);
	assert_string_equal(m.body, "OK");
	xf_close(fresh);
}

void xf_stop(void)
{
	xf_close(victim);
	victim = NULL;
	pvio_xsd_destroy(xf_xsd);
	xf_xsd = NULL;
}
