/* SPDX-License-Identifier: MIT */
/*
 * pvio_xs against a scripted hostile daemon on a socketpair: oversized
 * lengths, wrong reply types, stale req_ids, malformed errors, watch
 * events, directories, permissions and transaction ids, DIRECTORY_PART
 * chunks that change generation or make no progress, replies dribbled
 * byte by byte, and a peer that hangs up mid-message.  Every case must
 * end in a clear error (or the right answer), never a crash or a hang.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvio/io/xs_wire.h"
#include "pvio/xs.h"

struct req {
	uint32_t type, req_id, tx_id, len;
	char payload[XENSTORE_PAYLOAD_MAX + 1];
};

struct fake {
	int fd; /* daemon end */
	struct pvio_xs *xs;
	pthread_t th;
	void (*script)(struct fake *);
};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static bool read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool get_req(struct fake *f, struct req *r)
{
	unsigned char h[16];

	if (!read_full(f->fd, h, 16))
		return false;
	r->type = h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24;
	r->req_id = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;
	r->tx_id = h[8] | h[9] << 8 | h[10] << 16 | (uint32_t)h[11] << 24;
	r->len = h[12] | h[13] << 8 | h[14] << 16 | (uint32_t)h[15] << 24;
	if (r->len > XENSTORE_PAYLOAD_MAX)
		return false;
	if (!read_full(f->fd, r->payload, r->len))
		return false;
	r->payload[r->len] = '\0';
	return true;
}

/* Send a message whose header claims 'hlen' but carries 'len' bytes. */
static void send_msg_len(struct fake *f, uint32_t type, uint32_t req_id,
			 uint32_t hlen, const void *payload, size_t len)
{
	unsigned char buf[16 + 8192];

	put32(buf, type);
	put32(buf + 4, req_id);
	put32(buf + 8, 0);
	put32(buf + 12, hlen);
	memcpy(buf + 16, payload, len);
	/* The client may rightly have hung up already (it gave up on an
	 * earlier message): a failed write just ends the script's effect. */
	if (write(f->fd, buf, 16 + len) < 0)
		return;
}

static void send_msg(struct fake *f, uint32_t type, uint32_t req_id,
		     const void *payload, size_t len)
{
	send_msg_len(f, type, req_id, (uint32_t)len, payload, len);
}

/* Reply to the next request with 'type' and payload. */
static void answer(struct fake *f, uint32_t type, const void *p, size_t len)
{
	struct req r;

	if (!get_req(f, &r))
		return;
	send_msg(f, type == XS_INVALID ? r.type : type, r.req_id, p, len);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	f->script(f);
	return NULL;
}

static void run(void (*script)(struct fake *), void (*client)(struct pvio_xs *))
{
	struct fake f;
	int sv[2], err;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	f.fd = sv[1];
	f.script = script;
	f.xs = pvio_xs_from_fd(sv[0], &err);
	assert_non_null(f.xs);
	pvio_xs_set_timeout(f.xs, 3000); /* a script bug must not hang */
	assert_int_equal(pthread_create(&f.th, NULL, fake_main, &f), 0);
	client(f.xs);
	pvio_xs_close(f.xs); /* the script sees EOF and ends */
	pthread_join(f.th, NULL);
	close(f.fd);
}

#define OK_REPLY XS_INVALID /* answer() with the request's own type */

/* ---- oversized length ---- */
static void s_oversized(struct fake *f)
{
	struct req r;

	if (get_req(f, &r))
		send_msg_len(f, XS_READ, r.req_id, XENSTORE_PAYLOAD_MAX + 1,
			     "x", 1);
	while (get_req(f, &r))
		send_msg(f, r.type, r.req_id, "v", 1);
}

static void c_oversized(struct pvio_xs *xs)
{
	char *v = NULL;

	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -EIO);
	assert_null(v);
	/* Broken for good: even a daemon that behaves now is not asked. */
	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -EIO);
	assert_int_equal(pvio_xs_write(xs, 0, "/a", "1", 1), -EIO);
}

/* ---- reply of the wrong type ---- */
static void s_wrong_type(struct fake *f)
{
	answer(f, XS_WRITE, "OK", 3);
}

static void c_wrong_type(struct pvio_xs *xs)
{
	char *v = NULL;

	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -EIO);
	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -EIO);
}

/* ---- a stale reply (wrong req_id) is dropped ---- */
static void s_stale(struct fake *f)
{
	struct req r;

	if (!get_req(f, &r))
		return;
	send_msg(f, XS_READ, r.req_id + 1000, "stale", 5);
	send_msg(f, XS_READ, r.req_id, "fresh", 5);
}

static void c_stale(struct pvio_xs *xs)
{
	char *v = NULL;
	size_t len = 0;

	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(v, "fresh");
	free(v);
}

/* ---- error replies ---- */
static void s_errors(struct fake *f)
{
	answer(f, XS_ERROR, "ENOENT", 6); /* no NUL */
	answer(f, XS_ERROR, "EACCES\0", 7);
	answer(f, XS_ERROR, "EWHAT\0", 6); /* unknown name */
	answer(f, XS_ERROR, "", 0);
	answer(f, OK_REPLY, "still here", 10);
}

static void c_errors(struct pvio_xs *xs)
{
	char *v = NULL;

	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -ENOENT);
	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -EACCES);
	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -EIO);
	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -EIO);
	/* An unknown error name is an answer, not a broken stream. */
	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), 0);
	assert_string_equal(v, "still here");
	free(v);
}

/* ---- malformed watch events break the stream ---- */
static void s_bad_event(struct fake *f)
{
	struct req r;

	if (!get_req(f, &r))
		return;
	send_msg(f, XS_WATCH_EVENT, 0, "nonul", 5);
	send_msg(f, XS_READ, r.req_id, "v", 1);
}

static void s_bad_event2(struct fake *f)
{
	struct req r;

	if (!get_req(f, &r))
		return;
	send_msg(f, XS_WATCH_EVENT, 0, "/path\0", 6); /* no token */
	send_msg(f, XS_READ, r.req_id, "v", 1);
}

static void s_bad_event3(struct fake *f)
{
	struct req r;

	if (!get_req(f, &r))
		return;
	send_msg(f, XS_WATCH_EVENT, 0, "\0tok\0", 5); /* empty path */
	send_msg(f, XS_READ, r.req_id, "v", 1);
}

static void c_bad_event(struct pvio_xs *xs)
{
	char *v = NULL, *p = NULL, *t = NULL;

	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -EIO);
	assert_int_equal(pvio_xs_read_watch(xs, &p, &t, 0), -EIO);
}

/* ---- a good event with extra strings is fine ---- */
static void s_good_event(struct fake *f)
{
	struct req r;

	if (!get_req(f, &r))
		return;
	send_msg(f, XS_WATCH_EVENT, 0, "/p\0tok\0extra\0", 13);
	send_msg(f, XS_READ, r.req_id, "v", 1);
}

static void c_good_event(struct pvio_xs *xs)
{
	char *v = NULL, *p = NULL, *t = NULL;

	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), 0);
	free(v);
	assert_int_equal(pvio_xs_read_watch(xs, &p, &t, 0), 0);
	assert_string_equal(p, "/p");
	assert_string_equal(t, "tok");
	free(p);
	free(t);
}

/* ---- directories ---- */
static void s_dir_unterminated(struct fake *f)
{
	answer(f, OK_REPLY, "a\0b", 3);
}

static void s_dir_empty_name(struct fake *f)
{
	answer(f, OK_REPLY, "a\0\0b\0", 5);
}

static void s_dir_slash(struct fake *f)
{
	answer(f, OK_REPLY, "a/b\0", 4);
}

static void c_dir_bad(struct pvio_xs *xs)
{
	char **names = NULL;
	unsigned int n = 7;

	assert_int_equal(pvio_xs_directory(xs, 0, "/d", &names, &n), -EIO);
	assert_null(names);
	assert_int_equal(n, 0);
}

/* DIRECTORY says E2BIG; the parts change generation once. */
static void s_dir_parts(struct fake *f)
{
	struct req r;
	const char *off;

	answer(f, XS_ERROR, "E2BIG", 6);
	for (;;) {
		if (!get_req(f, &r))
			return;
		if (r.type != XS_DIRECTORY_PART)
			return; /* the client fails on the missing reply */
		off = r.payload + strlen(r.payload) + 1;
		if (strcmp(off, "0") == 0 && r.req_id < 4)
			send_msg(f, r.type, r.req_id, "7\0a\0b\0", 6);
		else if (strcmp(off, "4") == 0 && r.req_id < 4)
			send_msg(f, r.type, r.req_id, "8\0zz\0", 5); /* new */
		else if (strcmp(off, "0") == 0)
			send_msg(f, r.type, r.req_id, "8\0a\0b\0", 6);
		else if (strcmp(off, "4") == 0) {
			send_msg(f, r.type, r.req_id, "8\0c\0\0", 5);
			return;
		} else
			return;
	}
}

static void c_dir_parts(struct pvio_xs *xs)
{
	char **names = NULL;
	unsigned int n = 0;

	assert_int_equal(pvio_xs_directory(xs, 0, "/d", &names, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	assert_string_equal(names[2], "c");
	free(names);
}

static void s_dir_noprogress(struct fake *f)
{
	answer(f, XS_ERROR, "E2BIG", 6);
	answer(f, OK_REPLY, "7\0", 2);
}

static void s_dir_badgen(struct fake *f)
{
	answer(f, XS_ERROR, "E2BIG", 6);
	answer(f, OK_REPLY, "x7\0a\0\0", 6);
}

static void s_dir_nopart(struct fake *f)
{
	answer(f, XS_ERROR, "E2BIG", 6);
	answer(f, XS_ERROR, "ENOSYS", 7);
}

static void c_dir_e2big(struct pvio_xs *xs)
{
	char **names = NULL;
	unsigned int n = 0;

	assert_int_equal(pvio_xs_directory(xs, 0, "/d", &names, &n), -E2BIG);
}

/* ---- other replies ---- */
static void s_tx_bad(struct fake *f)
{
	answer(f, OK_REPLY, "abc\0", 4);
}

static void s_tx_zero(struct fake *f)
{
	answer(f, OK_REPLY, "0\0", 2);
}

static void c_tx_bad(struct pvio_xs *xs)
{
	pvio_xs_tx_t tx = 5;

	assert_int_equal(pvio_xs_tx_start(xs, &tx), -EIO);
	assert_int_equal(tx, 5);
}

static void s_intro_bad(struct fake *f)
{
	answer(f, OK_REPLY, "X\0", 2);
}

static void c_intro_bad(struct pvio_xs *xs)
{
	bool yes;

	assert_int_equal(pvio_xs_is_introduced(xs, 3, &yes), -EIO);
}

static void s_perms_bad(struct fake *f)
{
	answer(f, OK_REPLY, "r1\0q5\0", 6);
}

static void s_perms_big(struct fake *f)
{
	answer(f, OK_REPLY, "r99999999\0", 10);
}

static void c_perms_bad(struct pvio_xs *xs)
{
	struct pvio_xs_perm *p = NULL;
	unsigned int n = 0;

	assert_int_equal(pvio_xs_get_perms(xs, 0, "/p", &p, &n), -EIO);
	assert_null(p);
}

static void s_path_bad(struct fake *f)
{
	answer(f, OK_REPLY, "local\0", 6);
}

static void c_path_bad(struct pvio_xs *xs)
{
	char *p = NULL;

	assert_int_equal(pvio_xs_get_domain_path(xs, 3, &p), -EIO);
	assert_null(p);
}

/* ---- delivery in pieces, and a full-size payload ---- */
static void s_dribble(struct fake *f)
{
	static char big[XENSTORE_PAYLOAD_MAX];
	unsigned char buf[16 + sizeof(big)];
	struct req r;
	size_t i;

	if (!get_req(f, &r))
		return;
	memset(big, 'q', sizeof(big));
	put32(buf, XS_READ);
	put32(buf + 4, r.req_id);
	put32(buf + 8, 0);
	put32(buf + 12, sizeof(big));
	memcpy(buf + 16, big, sizeof(big));
	for (i = 0; i < 40; i++) /* header and a bit, byte by byte */
		if (write(f->fd, buf + i, 1) != 1)
			return;
	if (write(f->fd, buf + 40, sizeof(buf) - 40) < 0)
		return;
}

static void c_dribble(struct pvio_xs *xs)
{
	char *v = NULL;
	size_t len = 0;

	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, &len), 0);
	assert_int_equal(len, XENSTORE_PAYLOAD_MAX);
	assert_int_equal(v[0], 'q');
	assert_int_equal(v[len - 1], 'q');
	assert_int_equal(v[len], '\0');
	free(v);
}

/* ---- hang-up in the middle of a message ---- */
static void s_hangup(struct fake *f)
{
	struct req r;

	if (!get_req(f, &r))
		return;
	if (write(f->fd, "\x02\0\0\0\x01", 5) < 0)
		return;
	shutdown(f->fd, SHUT_RDWR);
}

static void c_hangup(struct pvio_xs *xs)
{
	char *v = NULL;

	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -EIO);
}

/* ---- a daemon that never answers ---- */
static void s_silent(struct fake *f)
{
	struct req r;

	(void)get_req(f, &r);
	(void)get_req(f, &r); /* returns at EOF */
}

static void c_silent(struct pvio_xs *xs)
{
	char *v = NULL;

	pvio_xs_set_timeout(xs, 50);
	assert_int_equal(pvio_xs_read(xs, 0, "/a", &v, NULL), -ETIMEDOUT);
}

#define CASE(s, c)                                                             \
	static void test_##s(void **state)                                     \
	{                                                                      \
		(void)state;                                                   \
		run(s_##s, c);                                                 \
	}

CASE(oversized, c_oversized)
CASE(wrong_type, c_wrong_type)
CASE(stale, c_stale)
CASE(errors, c_errors)
CASE(bad_event, c_bad_event)
CASE(bad_event2, c_bad_event)
CASE(bad_event3, c_bad_event)
CASE(good_event, c_good_event)
CASE(dir_unterminated, c_dir_bad)
CASE(dir_empty_name, c_dir_bad)
CASE(dir_slash, c_dir_bad)
CASE(dir_parts, c_dir_parts)
CASE(dir_noprogress, c_dir_bad)
CASE(dir_badgen, c_dir_bad)
CASE(dir_nopart, c_dir_e2big)
CASE(tx_bad, c_tx_bad)
CASE(tx_zero, c_tx_bad)
CASE(intro_bad, c_intro_bad)
CASE(perms_bad, c_perms_bad)
CASE(perms_big, c_perms_bad)
CASE(path_bad, c_path_bad)
CASE(dribble, c_dribble)
CASE(hangup, c_hangup)
CASE(silent, c_silent)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bad_event),
		cmocka_unit_test(test_bad_event2),
		cmocka_unit_test(test_bad_event3),
		cmocka_unit_test(test_good_event),
		cmocka_unit_test(test_dir_unterminated),
		cmocka_unit_test(test_dir_empty_name),
		cmocka_unit_test(test_dir_slash),
		cmocka_unit_test(test_dir_parts),
		cmocka_unit_test(test_dir_noprogress),
		cmocka_unit_test(test_dir_badgen),
		cmocka_unit_test(test_dir_nopart),
		cmocka_unit_test(test_tx_bad),
		cmocka_unit_test(test_tx_zero),
		cmocka_unit_test(test_intro_bad),
		cmocka_unit_test(test_perms_bad),
		cmocka_unit_test(test_perms_big),
		cmocka_unit_test(test_path_bad),
		cmocka_unit_test(test_dribble),
		cmocka_unit_test(test_hangup),
		cmocka_unit_test(test_silent),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
