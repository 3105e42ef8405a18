/* SPDX-License-Identifier: MIT */
/*
 * The xenbus handshake end to end: a backend process and a frontend
 * process (fork), each with its own xenstore connection to a private
 * pvio-xenstored, run pvio_xenbus; the test plays the toolstack through
 * a dom0 connection.  The frontend "grants" rings by writing a fresh
 * number as ring-ref on every connect; the backend "maps" by reading it.
 * Every callback is reported to the test over a pipe, so the test checks
 * not just the states but that connect/disconnect pair up and that the
 * backend always ends up on the rings the frontend granted last.
 *
 * Phases: normal connect; backend kill -9 before InitWait, after
 * InitWait, after Connected, and restarted in place over its old
 * directory; frontend kill -9; graceful close; a garbage state value.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvio/xenbus.h"
#include "pvio/xs.h"
#include "xsd_fixture.h"

#define BE_ID 1
#define FE_ID 2
#define TYPE "vbd"
#define DEVID 51712
#define WAIT_MS 5000

/* One callback report, child -> test (atomic: < PIPE_BUF). */
struct msg {
	int32_t role; /* PVIO_XENBUS_BACKEND / _FRONTEND */
	int32_t kind; /* 'O' opened, 'C' connect, 'D' disconnect,
			 'K' connected, 'X' exiting after close */
	int64_t val;  /* ring-ref granted / mapped */
};

struct side {
	pid_t pid;
	int c, d, k, o, x;
	int64_t last_c; /* latest ring-ref granted (fe) / mapped (be) */
};

struct env {
	struct xsd_fixture d;
	struct pvio_xs *ts; /* the toolstack's dom0 connection */
	int pipe[2];
	char be[128], fe[128];
	struct side s[2];
};

static struct env *g_env;

/* ------------------------------------------------------------------ */
/* The driver processes                                               */
/* ------------------------------------------------------------------ */

struct drv {
	int role;
	int wfd;
	bool stall;  /* backend: connect says -EAGAIN forever */
	int64_t gen; /* frontend: current ring-ref */
};

static volatile sig_atomic_t stop_flag;

static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void send_msg(struct drv *d, int kind, int64_t val)
{
	struct msg m = {.role = d->role, .kind = kind, .val = val};

	if (write(d->wfd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		_exit(3);
}

static int be_publish(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *c)
{
	char p[160];

	(void)c;
	snprintf(p, sizeof(p), "%s/feature-persistent", pvio_xenbus_path(dev));
	return pvio_xs_write(pvio_xenbus_xs(dev), tx, p, "1", 1);
}

static int be_connect(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *c)
{
	struct drv *d = c;
	uint64_t ref, port;
	int r;

	if (d->stall)
		return -EAGAIN;
	r = pvio_xenbus_read_uint(pvio_xenbus_xs(dev), tx,
				  pvio_xenbus_other_path(dev), "ring-ref",
				  UINT32_MAX, &ref);
	if (r < 0)
		return r;
	r = pvio_xenbus_read_uint(pvio_xenbus_xs(dev), tx,
				  pvio_xenbus_other_path(dev), "event-channel",
				  4095, &port);
	if (r < 0)
		return r;
	send_msg(d, 'C', (int64_t)ref);
	return 0;
}

static int fe_connect(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *c)
{
	struct drv *d = c;
	static int64_t counter;

	(void)dev;
	(void)tx;
	/* Unique across processes: pid and a counter. */
	d->gen = (int64_t)getpid() * 1000 + ++counter;
	send_msg(d, 'C', d->gen);
	return 0;
}

static int fe_write_keys(struct pvio_xenbus_dev *dev, pvio_xs_tx_t tx, void *c)
{
	struct drv *d = c;
	char p[160];
	int r;

	snprintf(p, sizeof(p), "%s/ring-ref", pvio_xenbus_path(dev));
	r = pvio_xs_printf(pvio_xenbus_xs(dev), tx, p, "%lld",
			   (long long)d->gen);
	if (r < 0)
		return r;
	snprintf(p, sizeof(p), "%s/event-channel", pvio_xenbus_path(dev));
	return pvio_xs_printf(pvio_xenbus_xs(dev), tx, p, "%d", 7);
}

static int fe_connected(struct pvio_xenbus_dev *dev, void *c)
{
	(void)dev;
	send_msg(c, 'K', 0);
	return 0;
}

static void any_disconnect(struct pvio_xenbus_dev *dev, void *c)
{
	struct drv *d = c;

	(void)dev;
	send_msg(d, 'D', d->role == PVIO_XENBUS_FRONTEND ? d->gen : 0);
}

static const struct pvio_xenbus_ops be_ops = {
	.publish = be_publish,
	.connect = be_connect,
	.disconnect = any_disconnect,
};

static const struct pvio_xenbus_ops fe_ops = {
	.connect = fe_connect,
	.write_keys = fe_write_keys,
	.connected = fe_connected,
	.disconnect = any_disconnect,
};

static void __attribute__((noreturn))
driver(struct env *e, int role, int delay_ms, bool stall)
{
	struct drv d = {.role = role, .wfd = e->pipe[1], .stall = stall};
	struct pvio_xenbus_cfg cfg = {
		.role = (enum pvio_xenbus_role)role,
		.type = TYPE,
		.path = role == PVIO_XENBUS_BACKEND ? e->be : e->fe,
		.ops = role == PVIO_XENBUS_BACKEND ? &be_ops : &fe_ops,
		.ctx = &d,
		.close_timeout_ms = 2000,
	};
	struct pvio_xenbus_dev *dev;
	struct pvio_xs *xs;
	struct sigaction sa;
	int err;

	close(e->pipe[0]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	alarm(30); /* never outlive a broken test */
	if (delay_ms > 0)
		usleep((useconds_t)delay_ms * 1000);
	xs = pvio_xs_open(e->d.sock, &err);
	if (xs == NULL)
		_exit(4);
	dev = pvio_xenbus_open(xs, &cfg, &err);
	if (dev == NULL) {
		fprintf(stderr, "pvio_xenbus_open: %s\n", strerror(-err));
		_exit(5);
	}
	send_msg(&d, 'O', 0);
	while (!stop_flag) {
		struct pollfd pfd = {.fd = pvio_xs_fd(xs), .events = POLLIN};
		char *p, *t;

		if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
			_exit(6);
		while (pvio_xs_read_watch(xs, &p, &t, 0) == 0) {
			if (pvio_xenbus_handle(dev, p, t) < 0)
				_exit(7);
			free(p);
			free(t);
		}
	}
	pvio_xenbus_close(dev);
	send_msg(&d, 'X', 0);
	pvio_xs_close(xs);
	exit(0);
}

/* ------------------------------------------------------------------ */
/* The toolstack                                                      */
/* ------------------------------------------------------------------ */

static void drain(struct env *e, int timeout_ms)
{
	struct pollfd pfd = {.fd = e->pipe[0], .events = POLLIN};
	struct msg m;

	while (poll(&pfd, 1, timeout_ms) == 1) {
		struct side *s;

		if (read(e->pipe[0], &m, sizeof(m)) != (ssize_t)sizeof(m))
			break;
		assert_true(m.role == 0 || m.role == 1);
		s = &e->s[m.role];
		switch (m.kind) {
		case 'O':
			s->o++;
			break;
		case 'C':
			s->c++;
			s->last_c = m.val;
			break;
		case 'D':
			s->d++;
			break;
		case 'K':
			s->k++;
			break;
		case 'X':
			s->x++;
			break;
		default:
			fail();
		}
		timeout_ms = 0;
	}
}

static int state_of(struct env *e, const char *dir)
{
	char p[160], *v = NULL;
	int st;

	snprintf(p, sizeof(p), "%s/state", dir);
	if (pvio_xs_read(e->ts, 0, p, &v, NULL) < 0)
		return -1;
	st = atoi(v);
	free(v);
	return st;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until both states are as asked (-2: do not care). */
static void wait_states(struct env *e, int be, int fe)
{
	int64_t end = now_ms() + WAIT_MS;

	for (;;) {
		int b = state_of(e, e->be), f = state_of(e, e->fe);

		drain(e, 0);
		if ((be == -2 || b == be) && (fe == -2 || f == fe))
			return;
		if (now_ms() > end) {
			print_error(
				"timeout: backend %d (want %d), frontend %d "
				"(want %d)\n",
				b, be, f, fe);
			fail();
		}
		drain(e, 10);
	}
}

/* Both Connected, and the backend maps the frontend's latest rings. */
static void wait_connected(struct env *e)
{
	int64_t end = now_ms() + WAIT_MS;

	wait_states(e, 4, 4);
	/* The last reports may still be in the pipe. */
	while (e->s[PVIO_XENBUS_BACKEND].last_c !=
		       e->s[PVIO_XENBUS_FRONTEND].last_c &&
	       now_ms() < end)
		drain(e, 10);
	assert_int_equal(e->s[PVIO_XENBUS_BACKEND].last_c,
			 e->s[PVIO_XENBUS_FRONTEND].last_c);
	assert_true(e->s[PVIO_XENBUS_FRONTEND].last_c != 0);
}

static void fix_W(struct env *e, const char *dir, const char *k, const char *v)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/%s", dir, k);
	assert_int_equal(pvio_xs_write(e->ts, 0, p, v, strlen(v)), 0);
}

/* What the toolstack writes before it starts a driver (section 7). */
static void create_dir(struct env *e, int role)
{
	if (role == PVIO_XENBUS_BACKEND) {
		fix_W(e, e->be, "frontend", e->fe);
		fix_W(e, e->be, "frontend-id", "2");
		fix_W(e, e->be, "online", "1");
		fix_W(e, e->be, "mode", "w");
		fix_W(e, e->be, "params", "/dev/null");
		fix_W(e, e->be, "type", "file");
		fix_W(e, e->be, "state", "1");
	} else {
		fix_W(e, e->fe, "backend", e->be);
		fix_W(e, e->fe, "backend-id", "1");
		fix_W(e, e->fe, "virtual-device", "51712");
		fix_W(e, e->fe, "state", "1");
	}
}

static void start(struct env *e, int role, int delay_ms, bool stall)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		driver(e, role, delay_ms, stall);
	e->s[role].pid = pid;
}

static void kill9(struct env *e, int role)
{
	int st;

	assert_true(e->s[role].pid > 0);
	kill(e->s[role].pid, SIGKILL);
	waitpid(e->s[role].pid, &st, 0);
	e->s[role].pid = 0;
}

/* Graceful stop; true if the child exited 0. */
static bool term(struct env *e, int role)
{
	int st = 0, i;

	if (e->s[role].pid <= 0)
		return true;
	kill(e->s[role].pid, SIGTERM);
	for (i = 0; i < 500; i++) {
		if (waitpid(e->s[role].pid, &st, WNOHANG) == e->s[role].pid)
			break;
		usleep(10 * 1000);
	}
	if (i == 500) {
		kill(e->s[role].pid, SIGKILL);
		waitpid(e->s[role].pid, &st, 0);
	}
	e->s[role].pid = 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void rm_dir(struct env *e, int role)
{
	assert_int_equal(
		pvio_xs_rm(e->ts, 0,
			   role == PVIO_XENBUS_BACKEND ? e->be : e->fe),
		0);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	int err;

	if (e == NULL)
		return -1;
	e->pipe[0] = e->pipe[1] = -1;
	/* cmocka skips teardown when setup fails: clean up here. */
	if (xsd_start(&e->d) < 0 ||
	    (e->ts = pvio_xs_open(e->d.sock, &err)) == NULL ||
	    pipe2(e->pipe, O_CLOEXEC) < 0 ||
	    pvio_xenbus_backend_path(e->be, sizeof(e->be), BE_ID, TYPE, FE_ID,
				     DEVID) < 0 ||
	    pvio_xenbus_frontend_path(e->fe, sizeof(e->fe), FE_ID, TYPE,
				      DEVID) < 0) {
		if (e->pipe[0] >= 0) {
			close(e->pipe[0]);
			close(e->pipe[1]);
		}
		pvio_xs_close(e->ts);
		xsd_stop(&e->d);
		free(e);
		return -1;
	}
	pvio_xs_set_timeout(e->ts, 5000);
	*state = e;
	assert_string_equal(e->be, "/local/domain/1/backend/vbd/2/51712");
	assert_string_equal(e->fe, "/local/domain/2/device/vbd/51712");
	create_dir(e, PVIO_XENBUS_BACKEND);
	create_dir(e, PVIO_XENBUS_FRONTEND);
	g_env = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	int r;

	for (r = 0; r < 2; r++)
		if (e->s[r].pid > 0)
			kill9(e, r);
	close(e->pipe[0]);
	close(e->pipe[1]);
	pvio_xs_close(e->ts);
	xsd_stop(&e->d);
	free(e);
	g_env = NULL;
	return 0;
}

#define BE_S (&e->s[PVIO_XENBUS_BACKEND])
#define FE_S (&e->s[PVIO_XENBUS_FRONTEND])

static void connect_both(struct env *e)
{
	start(e, PVIO_XENBUS_BACKEND, 0, false);
	start(e, PVIO_XENBUS_FRONTEND, 0, false);
	wait_connected(e);
	drain(e, 50);
	assert_int_equal(FE_S->c, 1);
	assert_int_equal(BE_S->c, 1);
	assert_int_equal(FE_S->k, 1);
	assert_int_equal(FE_S->d, 0);
	assert_int_equal(BE_S->d, 0);
}

/* ------------------------------------------------------------------ */

static void test_connect(void **state)
{
	struct env *e = *state;
	char p[160], *v = NULL;

	connect_both(e);
	snprintf(p, sizeof(p), "%s/feature-persistent", e->be);
	assert_int_equal(pvio_xs_read(e->ts, 0, p, &v, NULL), 0);
	assert_string_equal(v, "1");
	free(v);
	/* Stays put: nothing more happens on its own. */
	drain(e, 200);
	assert_int_equal(FE_S->c, 1);
	assert_int_equal(BE_S->c, 1);
}

static void test_backend_killed_before_initwait(void **state)
{
	struct env *e = *state;

	start(e, PVIO_XENBUS_BACKEND, 20000, false); /* never opens */
	start(e, PVIO_XENBUS_FRONTEND, 0, false);
	drain(e, 300);
	assert_int_equal(state_of(e, e->fe), 1);
	assert_int_equal(state_of(e, e->be), 1);
	assert_int_equal(FE_S->c, 0);
	kill9(e, PVIO_XENBUS_BACKEND);
	rm_dir(e, PVIO_XENBUS_BACKEND);
	create_dir(e, PVIO_XENBUS_BACKEND);
	start(e, PVIO_XENBUS_BACKEND, 0, false);
	wait_connected(e);
	assert_int_equal(FE_S->c, 1);
	assert_int_equal(FE_S->d, 0);
}

static void test_backend_killed_after_initwait(void **state)
{
	struct env *e = *state;

	start(e, PVIO_XENBUS_BACKEND, 0, true); /* stays in InitWait */
	start(e, PVIO_XENBUS_FRONTEND, 0, false);
	wait_states(e, 2, 3);
	drain(e, 50);
	assert_int_equal(FE_S->c, 1);
	assert_int_equal(BE_S->c, 0);
	kill9(e, PVIO_XENBUS_BACKEND);
	rm_dir(e, PVIO_XENBUS_BACKEND);
	/* The frontend lets go of its rings and waits. */
	wait_states(e, -1, 1);
	drain(e, 50);
	assert_int_equal(FE_S->d, 1);
	create_dir(e, PVIO_XENBUS_BACKEND);
	start(e, PVIO_XENBUS_BACKEND, 0, false);
	wait_connected(e);
	assert_int_equal(FE_S->c, 2);
	assert_int_equal(FE_S->d, 1);
	assert_int_equal(BE_S->c, 1);
}

static void test_backend_killed_after_connected(void **state)
{
	struct env *e = *state;
	int64_t first;

	connect_both(e);
	first = FE_S->last_c;
	kill9(e, PVIO_XENBUS_BACKEND);
	rm_dir(e, PVIO_XENBUS_BACKEND);
	wait_states(e, -1, 1);
	drain(e, 50);
	assert_int_equal(FE_S->d, 1);
	create_dir(e, PVIO_XENBUS_BACKEND);
	start(e, PVIO_XENBUS_BACKEND, 0, false);
	wait_connected(e);
	/* A new connect: the driver replays its shadow requests here. */
	assert_int_equal(FE_S->c, 2);
	assert_int_equal(FE_S->d, 1);
	assert_int_equal(FE_S->k, 2);
	assert_true(FE_S->last_c != first);
}

/* The toolstack restarts the backend over its old directory at once:
 * the new backend finds the frontend still Connected (stale). */
static void test_backend_restarted_in_place(void **state)
{
	struct env *e = *state;
	int64_t first;
	int i;

	connect_both(e);
	for (i = 0; i < 3; i++) {
		first = FE_S->last_c;
		kill9(e, PVIO_XENBUS_BACKEND);
		fix_W(e, e->be, "state", "1");
		start(e, PVIO_XENBUS_BACKEND, 0, false);
		wait_connected(e);
		drain(e, 50);
		assert_int_equal(FE_S->c, 2 + i);
		assert_int_equal(FE_S->d, 1 + i);
		assert_true(FE_S->last_c != first);
	}
}

static void test_frontend_killed(void **state)
{
	struct env *e = *state;
	int64_t first;

	connect_both(e);
	first = FE_S->last_c;
	kill9(e, PVIO_XENBUS_FRONTEND);
	rm_dir(e, PVIO_XENBUS_FRONTEND);
	/* The backend unmaps and waits for a new frontend. */
	wait_states(e, 2, -1);
	drain(e, 50);
	assert_int_equal(BE_S->d, 1);
	create_dir(e, PVIO_XENBUS_FRONTEND);
	memset(FE_S, 0, sizeof(*FE_S));
	start(e, PVIO_XENBUS_FRONTEND, 0, false);
	wait_connected(e);
	assert_int_equal(BE_S->c, 2);
	assert_int_equal(BE_S->d, 1);
	assert_true(BE_S->last_c != first);
}

static void test_graceful_close(void **state)
{
	struct env *e = *state;

	connect_both(e);
	assert_true(term(e, PVIO_XENBUS_FRONTEND));
	drain(e, 50);
	assert_int_equal(state_of(e, e->fe), 6);
	assert_int_equal(FE_S->d, 1);
	assert_int_equal(FE_S->x, 1);
	wait_states(e, 6, 6);
	drain(e, 50);
	assert_int_equal(BE_S->d, 1);
	/* A closed backend stays closed for a frontend that is gone... */
	assert_true(term(e, PVIO_XENBUS_BACKEND));
	drain(e, 50);
	assert_int_equal(BE_S->d, 1); /* exactly once */
	assert_int_equal(BE_S->x, 1);
	assert_int_equal(state_of(e, e->be), 6);
}

/* The toolstack unplugs: writes the backend's state Closing. */
static void test_toolstack_unplug(void **state)
{
	struct env *e = *state;

	connect_both(e);
	fix_W(e, e->be, "online", "0");
	fix_W(e, e->be, "state", "5");
	wait_states(e, 6, 6);
	drain(e, 50);
	assert_int_equal(BE_S->d, 1);
	assert_int_equal(FE_S->d, 1);
	/* Removing the directories ends it; nothing is re-created. */
	rm_dir(e, PVIO_XENBUS_FRONTEND);
	rm_dir(e, PVIO_XENBUS_BACKEND);
	drain(e, 200);
	assert_int_equal(state_of(e, e->fe), -1);
	assert_int_equal(state_of(e, e->be), -1);
	assert_true(term(e, PVIO_XENBUS_FRONTEND));
	assert_true(term(e, PVIO_XENBUS_BACKEND));
	assert_int_equal(state_of(e, e->fe), -1);
	assert_int_equal(state_of(e, e->be), -1);
	assert_int_equal(BE_S->d, 1);
	assert_int_equal(FE_S->d, 1);
}

/* A hostile frontend writes garbage as its state: the backend lets go
 * and waits, nobody crashes, and the handshake recovers. */
static void test_garbage_state(void **state)
{
	struct env *e = *state;

	connect_both(e);
	fix_W(e, e->fe, "state", "banana");
	wait_states(e, 4, 4); /* the frontend restarts its handshake */
	wait_connected(e);
	drain(e, 50);
	assert_int_equal(BE_S->d, 1);
	assert_int_equal(BE_S->c, 2);
	assert_int_equal(FE_S->c, 2);
	fix_W(e, e->fe, "state", "99999999999999999999");
	wait_connected(e);
	fix_W(e, e->be, "state", "-4");
	wait_connected(e);
	assert_true(term(e, PVIO_XENBUS_FRONTEND));
	assert_true(term(e, PVIO_XENBUS_BACKEND));
	drain(e, 50);
	assert_int_equal(BE_S->c, BE_S->d);
	assert_int_equal(FE_S->c, FE_S->d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_backend_killed_before_initwait, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_backend_killed_after_initwait, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_backend_killed_after_connected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_restarted_in_place,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_frontend_killed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_graceful_close, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_toolstack_unplug, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_garbage_state, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
