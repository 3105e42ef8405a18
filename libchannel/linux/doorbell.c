/* SPDX-License-Identifier: MIT */
/*
 * libchannel, Linux-process binding: eventfd doorbells.
 *
 * Why an eventfd: a ring is one write() syscall that needs no server
 * (DESIGN.md: sending must not go through pvio-hv), the counter latches
 * rings so a ring that races with the waiter going to sleep is never
 * lost, and the fd works with poll/epoll/io_uring and passes across
 * fork() and SCM_RIGHTS.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "pvio/doorbell.h"

/* Check the eventfd every this many spins when a condition is given. */
#define PVIO__DOORBELL_FD_CHECK_SPINS 128u

struct pvio_doorbell {
	int fd; /* owned eventfd, O_NONBLOCK */
	/*
	 * Statistics.  Relaxed atomics: rings come from many threads, and
	 * the counters order nothing (pair with nothing).
	 */
	struct pvio_doorbell_stats st;
};

static inline void pvio__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static uint64_t pvio__now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC is served by the vDSO: no syscall while spinning. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pvio__stat_inc(uint64_t *counter)
{
	/* Relaxed: a statistic; pairs with nothing. */
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static struct pvio_doorbell *pvio__doorbell_wrap(int fd, int *err)
{
	struct pvio_doorbell *db = calloc(1, sizeof(*db));

	if (!db) {
		*err = -ENOMEM;
		close(fd);
		return NULL;
	}
	db->fd = fd;
	*err = 0;
	return db;
}

struct pvio_doorbell *pvio_doorbell_create(int *err)
{
	int dummy, fd;

	if (!err)
		err = &dummy;
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	return pvio__doorbell_wrap(fd, err);
}

/*
 * -EINVAL if /proc shows 'fd' is something other than an eventfd; 0 if
 * it is one or /proc cannot tell (not mounted: trust the caller).
 */
static int pvio__check_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0 ? 0 : -EINVAL;
}

struct pvio_doorbell *pvio_doorbell_from_fd(int fd, int *err)
{
	int dummy, fl, rc;

	if (!err)
		err = &dummy;
	if (fd < 0) {
		*err = -EBADF;
		return NULL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		*err = -errno;
		return NULL; /* not open: nothing to close */
	}
	rc = pvio__check_eventfd(fd);
	if (rc == 0 && !(fl & O_NONBLOCK) &&
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		rc = -errno;
	/* Ours now; keep it out of exec'd programs like create() does. */
	if (rc == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		*err = rc;
		return NULL;
	}
	return pvio__doorbell_wrap(fd, err);
}

void pvio_doorbell_close(struct pvio_doorbell *db)
{
	if (!db)
		return;
	close(db->fd);
	free(db);
}

int pvio_doorbell_fd(const struct pvio_doorbell *db)
{
	return db->fd;
}

int pvio_doorbell_ring(struct pvio_doorbell *db)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(db->fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN: the counter is at its maximum, i.e. rung already. */
	if (n < 0 && errno != EAGAIN)
		return -errno;
	pvio__stat_inc(&db->st.rings);
	return 0;
}

int pvio_doorbell_drain(struct pvio_doorbell *db)
{
	uint64_t count;
	ssize_t n;

	do {
		n = read(db->fd, &count, sizeof(count));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(count))
		return 1;
	if (n < 0 && errno == EAGAIN)
		return 0;
	return n < 0 ? -errno : -EIO;
}

/* Milliseconds left until 'deadline' for poll(), rounded up; -1 = none. */
static int pvio__poll_timeout(uint64_t deadline, bool forever)
{
	uint64_t now, left;

	if (forever)
		return -1;
	now = pvio__now_ns();
	if (now >= deadline)
		return 0;
	left = (deadline - now + 999999u) / 1000000u;
	return left > INT_MAX ? INT_MAX : (int)left;
}

int pvio_doorbell_wait(struct pvio_doorbell *db, uint64_t spin_ns,
		       int timeout_ms, pvio_doorbell_cond_fn cond, void *arg)
{
	bool forever = timeout_ms < 0;
	uint64_t start = pvio__now_ns(), deadline = 0, spin_end;
	struct pollfd pfd;
	unsigned int spins = 0;
	int rc, ms;

	pvio__stat_inc(&db->st.waits);
	if (!forever)
		deadline =
			start + (uint64_t)timeout_ms * 1000000u; /* no wrap */
	spin_end = spin_ns > UINT64_MAX - start ? UINT64_MAX : start + spin_ns;
	if (!forever && spin_end > deadline)
		spin_end = deadline;

	/* Spin: no sleep, so no cross-CPU wake-up to pay for. */
	for (;;) {
		if (cond && cond(arg)) {
			pvio__stat_inc(&db->st.spin_hits);
			return 0;
		}
		if (!cond || spins % PVIO__DOORBELL_FD_CHECK_SPINS == 0) {
			rc = pvio_doorbell_drain(db);
			if (rc) {
				if (rc > 0)
					pvio__stat_inc(&db->st.spin_hits);
				return rc;
			}
		}
		spins++;
		if (pvio__now_ns() >= spin_end)
			break;
		pvio__cpu_relax();
	}

	/* Sleep until rung; re-check cond before every sleep. */
	pvio__stat_inc(&db->st.sleeps);
	for (;;) {
		if (cond && cond(arg))
			return 0;
		ms = pvio__poll_timeout(deadline, forever);
		pfd.fd = db->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, ms);
		if (rc < 0)
			return -errno; /* -EINTR included: let signals act */
		if (rc > 0) {
			if (pfd.revents & (POLLERR | POLLNVAL))
				return -EBADF;
			rc = pvio_doorbell_drain(db);
			if (rc)
				return rc;
			/* Another waiter consumed it: sleep again. */
			continue;
		}
		/* poll timed out; a last non-blocking look before giving up */
		rc = pvio_doorbell_drain(db);
		if (rc)
			return rc;
		if (cond && cond(arg))
			return 0;
		if (pvio__poll_timeout(deadline, forever) == 0)
			return -ETIMEDOUT;
	}
}

void pvio_doorbell_get_stats(const struct pvio_doorbell *db,
			     struct pvio_doorbell_stats *st)
{
	/* Relaxed: statistics; pair with nothing. */
	st->rings = __atomic_load_n(&db->st.rings, __ATOMIC_RELAXED);
	st->waits = __atomic_load_n(&db->st.waits, __ATOMIC_RELAXED);
	st->spin_hits = __atomic_load_n(&db->st.spin_hits, __ATOMIC_RELAXED);
	st->sleeps = __atomic_load_n(&db->st.sleeps, __ATOMIC_RELAXED);
}
