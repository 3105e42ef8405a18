/* SPDX-License-Identifier: MIT */
/*
 * Doorbells (the Linux-process notification binding): lifetime, ring and
 * wait semantics, spin-then-sleep, epoll, cross-thread and cross-process
 * (fork sharing the eventfd), and an event channel whose shared state and
 * doorbell are both shared with a forked "hypervisor" process.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pvio/doorbell.h"
#include "pvio/evtchn.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct pvio_doorbell *create(void)
{
	int err = 1;
	struct pvio_doorbell *db = pvio_doorbell_create(&err);

	assert_non_null(db);
	assert_int_equal(err, 0);
	return db;
}

static void test_lifetime(void **state)
{
	struct pvio_doorbell *db = create();
	int fd = pvio_doorbell_fd(db), fl;

	(void)state;
	assert_true(fd >= 0);
	fl = fcntl(fd, F_GETFL);
	assert_true(fl & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	pvio_doorbell_close(db);
	/* close() closed the fd. */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	pvio_doorbell_close(NULL);
	/* A NULL err pointer is allowed. */
	db = pvio_doorbell_create(NULL);
	assert_non_null(db);
	pvio_doorbell_close(db);
}

static void test_ring_wait(void **state)
{
	struct pvio_doorbell *db = create();
	struct pvio_doorbell_stats st;

	(void)state;
	assert_int_equal(pvio_doorbell_drain(db), 0);
	assert_int_equal(pvio_doorbell_ring(db), 0);
	assert_int_equal(pvio_doorbell_ring(db), 0);
	assert_int_equal(pvio_doorbell_ring(db), 0);
	/* Three rings before a wait collapse into one wake-up. */
	assert_int_equal(pvio_doorbell_wait(db, 0, 1000, NULL, NULL), 1);
	assert_int_equal(pvio_doorbell_wait(db, 0, 10, NULL, NULL), -ETIMEDOUT);
	assert_int_equal(pvio_doorbell_ring(db), 0);
	assert_int_equal(pvio_doorbell_drain(db), 1);
	assert_int_equal(pvio_doorbell_drain(db), 0);
	/* A ring is latched: found by the spin of a later wait. */
	assert_int_equal(pvio_doorbell_ring(db), 0);
	assert_int_equal(pvio_doorbell_wait(db, 1000000, -1, NULL, NULL), 1);

	pvio_doorbell_get_stats(db, &st);
	assert_int_equal(st.rings, 5);
	assert_int_equal(st.waits, 3);
	assert_int_equal(st.spin_hits, 2);
	assert_int_equal(st.sleeps, 1);
	pvio_doorbell_close(db);
}

static void test_timeout_bounds(void **state)
{
	struct pvio_doorbell *db = create();
	uint64_t t0, dt;

	(void)state;
	/* Spin 2 ms then sleep: the whole wait still ends at ~30 ms. */
	t0 = now_ns();
	assert_int_equal(pvio_doorbell_wait(db, 2000000, 30, NULL, NULL),
			 -ETIMEDOUT);
	dt = now_ns() - t0;
	assert_true(dt >= 30000000u);
	assert_true(dt < 2000000000u);
	/* A spin longer than the timeout is cut by it. */
	t0 = now_ns();
	assert_int_equal(pvio_doorbell_wait(db, UINT64_MAX, 20, NULL, NULL),
			 -ETIMEDOUT);
	dt = now_ns() - t0;
	assert_true(dt >= 20000000u);
	assert_true(dt < 2000000000u);
	/* timeout 0: one look, no sleep. */
	assert_int_equal(pvio_doorbell_wait(db, 0, 0, NULL, NULL), -ETIMEDOUT);
	pvio_doorbell_close(db);
}

static bool flag_cond(void *arg)
{
	/* Acquire pairs with set_flag_later()'s release store. */
	return __atomic_load_n((int *)arg, __ATOMIC_ACQUIRE) != 0;
}

static void *set_flag_later(void *arg)
{
	usleep(2000);
	/* Release pairs with flag_cond()'s acquire load. */
	__atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_cond(void **state)
{
	struct pvio_doorbell *db = create();
	pthread_t t;
	int flag = 1;

	(void)state;
	/* A true condition ends the wait at once, rings stay pending. */
	assert_int_equal(pvio_doorbell_ring(db), 0);
	assert_int_equal(pvio_doorbell_wait(db, 0, 1000, flag_cond, &flag), 0);
	assert_int_equal(pvio_doorbell_drain(db), 1);

	/* A false condition and a ring: the ring ends it. */
	flag = 0;
	assert_int_equal(pvio_doorbell_ring(db), 0);
	assert_int_equal(pvio_doorbell_wait(db, 0, 1000, flag_cond, &flag), 1);
	assert_int_equal(pvio_doorbell_wait(db, 1000000, 10, flag_cond, &flag),
			 -ETIMEDOUT);

	/* The condition turning true while spinning (no ring) ends it. */
	assert_int_equal(pthread_create(&t, NULL, set_flag_later, &flag), 0);
	assert_int_equal(
		pvio_doorbell_wait(db, 2000000000ull, 5000, flag_cond, &flag),
		0);
	assert_int_equal(pthread_join(t, NULL), 0);
	pvio_doorbell_close(db);
}

static void test_epoll(void **state)
{
	struct pvio_doorbell *db = create();
	struct epoll_event ev = {.events = EPOLLIN}, out;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	(void)state;
	assert_true(ep >= 0);
	assert_int_equal(
		epoll_ctl(ep, EPOLL_CTL_ADD, pvio_doorbell_fd(db), &ev), 0);
	assert_int_equal(epoll_wait(ep, &out, 1, 0), 0);
	assert_int_equal(pvio_doorbell_ring(db), 0);
	assert_int_equal(epoll_wait(ep, &out, 1, 1000), 1);
	assert_true(out.events & EPOLLIN);
	assert_int_equal(pvio_doorbell_drain(db), 1);
	assert_int_equal(epoll_wait(ep, &out, 1, 0), 0);
	close(ep);
	pvio_doorbell_close(db);
}

static void test_from_fd(void **state)
{
	struct pvio_doorbell *a = create(), *b;
	int pfd[2], err, fd;

	(void)state;
	/* A second doorbell on a dup of the same eventfd: same counter. */
	fd = dup(pvio_doorbell_fd(a));
	assert_true(fd >= 0);
	b = pvio_doorbell_from_fd(fd, &err);
	assert_non_null(b);
	assert_int_equal(err, 0);
	assert_int_equal(pvio_doorbell_fd(b), fd);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(pvio_doorbell_ring(a), 0);
	assert_int_equal(pvio_doorbell_wait(b, 0, 1000, NULL, NULL), 1);
	assert_int_equal(pvio_doorbell_drain(a), 0);
	pvio_doorbell_close(b);
	/* Closing b closed only its fd. */
	assert_int_equal(pvio_doorbell_ring(a), 0);
	assert_int_equal(pvio_doorbell_drain(a), 1);

	/* A blocking eventfd is made non-blocking. */
	fd = dup(pvio_doorbell_fd(a));
	assert_int_equal(fcntl(fd, F_SETFL, 0), 0);
	b = pvio_doorbell_from_fd(fd, &err);
	assert_non_null(b);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(pvio_doorbell_wait(b, 0, 10, NULL, NULL), -ETIMEDOUT);
	pvio_doorbell_close(b);

	/* Not an eventfd: rejected, and the fd is closed for us. */
	assert_int_equal(pipe(pfd), 0);
	assert_null(pvio_doorbell_from_fd(pfd[0], &err));
	assert_int_equal(err, -EINVAL);
	assert_int_equal(fcntl(pfd[0], F_GETFD), -1);
	close(pfd[1]);
	/* Closed or negative fds. */
	assert_null(pvio_doorbell_from_fd(pfd[0], &err));
	assert_int_equal(err, -EBADF);
	assert_null(pvio_doorbell_from_fd(-1, &err));
	assert_int_equal(err, -EBADF);
	pvio_doorbell_close(a);
}

/* Ping-pong between two threads: every ring wakes exactly one wait. */
struct pingpong {
	struct pvio_doorbell *to_b, *to_a;
	unsigned int rounds;
	uint64_t spin_ns;
	int failed;
};

static void *pong(void *arg)
{
	struct pingpong *pp = arg;

	for (unsigned int i = 0; i < pp->rounds; i++) {
		if (pvio_doorbell_wait(pp->to_b, pp->spin_ns, 5000, NULL,
				       NULL) != 1 ||
		    pvio_doorbell_ring(pp->to_a) != 0) {
			pp->failed = 1; /* read after join */
			break;
		}
	}
	return NULL;
}

static void pingpong_run(uint64_t spin_ns, unsigned int rounds)
{
	struct pingpong pp = {.to_b = create(),
			      .to_a = create(),
			      .rounds = rounds,
			      .spin_ns = spin_ns};
	struct pvio_doorbell_stats st;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, pong, &pp), 0);
	for (unsigned int i = 0; i < rounds; i++) {
		assert_int_equal(pvio_doorbell_ring(pp.to_b), 0);
		assert_int_equal(
			pvio_doorbell_wait(pp.to_a, spin_ns, 5000, NULL, NULL),
			1);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(pp.failed, 0);
	/* Strict alternation: nothing left over on either side. */
	assert_int_equal(pvio_doorbell_drain(pp.to_a), 0);
	assert_int_equal(pvio_doorbell_drain(pp.to_b), 0);
	pvio_doorbell_get_stats(pp.to_a, &st);
	assert_int_equal(st.rings, rounds);
	assert_int_equal(st.waits, rounds);
	assert_int_equal(st.spin_hits + st.sleeps, rounds);
	pvio_doorbell_close(pp.to_a);
	pvio_doorbell_close(pp.to_b);
}

static void test_threads_sleep(void **state)
{
	(void)state;
	pingpong_run(0, 2000);
}

static void test_threads_spin(void **state)
{
	(void)state;
	pingpong_run(50000, 2000);
}

/*
 * Cross-process: a forked child adopts the inherited eventfds through
 * pvio_doorbell_from_fd() and plays pong.
 */
static void test_fork_pingpong(void **state)
{
	struct pvio_doorbell *to_child = create(), *to_parent = create();
	const unsigned int rounds = 1000;
	int status, err;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pvio_doorbell *in, *out;
		int code = 0;

		in = pvio_doorbell_from_fd(dup(pvio_doorbell_fd(to_child)),
					   &err);
		out = pvio_doorbell_from_fd(dup(pvio_doorbell_fd(to_parent)),
					    &err);
		if (!in || !out)
			_exit(2);
		for (unsigned int i = 0; i < rounds && !code; i++) {
			if (pvio_doorbell_wait(in, 10000, 5000, NULL, NULL) !=
			    1)
				code = 3;
			else if (pvio_doorbell_ring(out) != 0)
				code = 4;
		}
		pvio_doorbell_close(in);
		pvio_doorbell_close(out);
		_exit(code);
	}
	for (unsigned int i = 0; i < rounds; i++) {
		assert_int_equal(pvio_doorbell_ring(to_child), 0);
		assert_int_equal(
			pvio_doorbell_wait(to_parent, 10000, 5000, NULL, NULL),
			1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	pvio_doorbell_close(to_child);
	pvio_doorbell_close(to_parent);
}

/*
 * The whole notification path across processes: the event-channel state
 * lives in a MAP_SHARED mapping, a forked "hypervisor" raises ports in
 * bursts and rings the doorbell only when raise() says "kick"; the parent
 * sleeps on the doorbell and dispatches.  Every port is delivered exactly
 * once, no wait times out (a lost kick would), and there are no more
 * wake-ups than kicks (kicks during one dispatch may share a wake-up).
 */
struct xproc {
	struct pvio_evtchn_shared shared;
	struct pvio_evtchn_vcpu vcpu;
	uint32_t kicks;	   /* written by the child, read after waitpid */
	uint32_t child_ok; /* likewise */
	uint32_t acked;	   /* bursts fully delivered: parent -> child */
};

#define XPROC_BURSTS 50
#define XPROC_BURST 64

static void count_event(struct pvio_evtchn *ev, pvio_evtchn_port_t port,
			void *arg)
{
	unsigned int *seen = arg;

	(void)ev;
	seen[port]++;
}

static void test_fork_evtchn(void **state)
{
	struct xproc *x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	static struct pvio_evtchn_handler table[EVTCHN_2L_NR_CHANNELS];
	static unsigned int seen[EVTCHN_2L_NR_CHANNELS];
	struct pvio_doorbell *db = create();
	struct pvio_evtchn rx;
	unsigned int delivered = 0, wakeups = 0;
	int status, rc;
	pid_t pid;

	(void)state;
	assert_true(x != MAP_FAILED);
	assert_int_equal(pvio_evtchn_shared_init(&x->shared, &x->vcpu, false),
			 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pvio_evtchn tx;
		struct pvio_doorbell *bell;
		uint32_t kicks = 0;
		uint64_t deadline;
		int err;

		bell = pvio_doorbell_from_fd(dup(pvio_doorbell_fd(db)), &err);
		if (!bell ||
		    pvio_evtchn_init(&tx, &x->shared, &x->vcpu, NULL, 0) != 0)
			_exit(2);
		for (unsigned int b = 0; b < XPROC_BURSTS; b++) {
			for (unsigned int i = 0; i < XPROC_BURST; i++) {
				pvio_evtchn_port_t p = b * XPROC_BURST + i;

				/*
				 * (No second raise here to show coalescing:
				 * the parent may dispatch in between, making
				 * it a new event; test_evtchn covers that.)
				 */
				rc = pvio_evtchn_raise(&tx, p);
				if (rc < 0)
					_exit(3);
				if (rc == 1) {
					kicks++;
					if (pvio_doorbell_ring(bell) != 0)
						_exit(4);
				}
			}
			/*
			 * Wait for the parent to consume the burst so the
			 * next one needs a kick of its own.  Acquire pairs
			 * with the parent's release store of 'acked'.
			 */
			deadline = now_ns() + 10000000000ull;
			while (__atomic_load_n(&x->acked, __ATOMIC_ACQUIRE) <=
			       b) {
				if (now_ns() > deadline)
					_exit(5);
				usleep(100);
			}
		}
		/* Relaxed: read by the parent after waitpid(). */
		__atomic_store_n(&x->kicks, kicks, __ATOMIC_RELAXED);
		__atomic_store_n(&x->child_ok, 1, __ATOMIC_RELAXED);
		pvio_doorbell_close(bell);
		_exit(0);
	}

	assert_int_equal(pvio_evtchn_init(&rx, &x->shared, &x->vcpu, table,
					  EVTCHN_2L_NR_CHANNELS),
			 0);
	for (pvio_evtchn_port_t p = 0; p < EVTCHN_2L_NR_CHANNELS; p++)
		assert_int_equal(pvio_evtchn_bind(&rx, p, count_event, seen),
				 0);
	while (delivered < XPROC_BURSTS * XPROC_BURST) {
		rc = pvio_doorbell_wait(db, 20000, 5000, NULL, NULL);
		if (rc != 1) {
			/* A lost kick times out: don't leave the child. */
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			print_error("wait: %d after %u of %u deliveries\n", rc,
				    delivered, XPROC_BURSTS * XPROC_BURST);
			fail();
		}
		wakeups++;
		rc = pvio_evtchn_dispatch(&rx);
		assert_true(rc >= 0);
		delivered += (unsigned int)rc;
		if (delivered % XPROC_BURST == 0)
			/* Release pairs with the child's acquire load. */
			__atomic_store_n(&x->acked, delivered / XPROC_BURST,
					 __ATOMIC_RELEASE);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(x->child_ok, 1);
	assert_int_equal(delivered, XPROC_BURSTS * XPROC_BURST);
	for (unsigned int p = 0; p < XPROC_BURSTS * XPROC_BURST; p++)
		assert_int_equal(seen[p], 1);
	/*
	 * At least one kick per burst (each starts after the last upcall);
	 * more when the parent dispatched part of a burst.
	 */
	assert_true(x->kicks >= XPROC_BURSTS);
	assert_true(x->kicks <= XPROC_BURSTS * XPROC_BURST);
	assert_true(wakeups >= 1);
	assert_true(wakeups <= x->kicks);
	/*
	 * A kick may still be pending for events a running dispatch
	 * already delivered: then there is nothing left to deliver.
	 */
	if (pvio_doorbell_drain(db) == 1)
		assert_int_equal(pvio_evtchn_dispatch(&rx), 0);
	pvio_doorbell_close(db);
	munmap(x, sizeof(*x));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_ring_wait),
		cmocka_unit_test(test_timeout_bounds),
		cmocka_unit_test(test_cond),
		cmocka_unit_test(test_epoll),
		cmocka_unit_test(test_from_fd),
		cmocka_unit_test(test_threads_sleep),
		cmocka_unit_test(test_threads_spin),
		cmocka_unit_test(test_fork_pingpong),
		cmocka_unit_test(test_fork_evtchn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
