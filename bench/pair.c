/* SPDX-License-Identifier: MIT */
/*
 * The two launchers.  A benchmark's side function runs unchanged under
 * both, so the cross-thread and cross-process figures differ only in what
 * they mean to measure: one address space, or two that share a memfd.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* Cross-process atomics must not fall back to a lock in private memory. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_uint must be lock-free");

/* CPU of side 0 and side 1; chosen once by bench_pair_init(). */
static int pair_cpu[2];

int bench_pair_init(int cpu_out[2])
{
	cpu_set_t set;
	int found = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		bench_die("sched_getaffinity: %s", strerror(errno));
	for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
		if (CPU_ISSET(cpu, &set))
			pair_cpu[found++] = cpu;
	if (found < 2)
		return -ENODEV;
	cpu_out[0] = pair_cpu[0];
	cpu_out[1] = pair_cpu[1];
	return 0;
}

static void *shm_map(int memfd, size_t bytes)
{
	void *map =
		mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);

	if (map == MAP_FAILED)
		bench_die("mmap memfd: %s", strerror(errno));
	return map;
}

void bench_pair_open(struct bench_pair *p, size_t shm_bytes, bench_side_fn *fn,
		     void *arg)
{
	p->fn = fn;
	p->arg = arg;
	p->shm_bytes = shm_bytes;
	p->memfd = memfd_create("pvio-bench", MFD_CLOEXEC);
	if (p->memfd < 0)
		bench_die("memfd_create: %s", strerror(errno));
	if (ftruncate(p->memfd, (off_t)shm_bytes) != 0)
		bench_die("ftruncate memfd: %s", strerror(errno));
	p->shm = shm_map(p->memfd, shm_bytes);
}

void bench_pair_close(struct bench_pair *p)
{
	munmap(p->shm, p->shm_bytes);
	close(p->memfd);
}

void bench_pair_sync(atomic_uint *gate)
{
	/*
	 * Release: our setup stores (the frontend's ring initialisation)
	 * before our arrival.  Acquire, with the load below: pairs with the
	 * peer's release increment, so its setup is visible once we leave.
	 */
	atomic_fetch_add_explicit(gate, 1, memory_order_acq_rel);
	/* Acquire: pairs with the peer's increment above. */
	while (atomic_load_explicit(gate, memory_order_acquire) < 2)
		bench_cpu_relax();
}

static void pin_self(int cpu)
{
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* A forked child's only thread is pthread_self(): one call fits. */
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err != 0)
		bench_die("pin to CPU %d: %s", cpu, strerror(err));
}

struct side {
	const struct bench_pair *pair;
	int id;
	void *shm;
};

static void side_run(const struct side *s)
{
	pin_self(pair_cpu[s->id]);
	s->pair->fn(s->id, s->shm, s->pair->arg);
}

static void *thread_main(void *arg)
{
	side_run(arg);
	return NULL;
}

static void run_threads(struct bench_pair *p)
{
	struct side side[2];
	pthread_t tid[2];
	int err;

	for (int i = 0; i < 2; i++) {
		side[i] = (struct side){p, i, p->shm};
		err = pthread_create(&tid[i], NULL, thread_main, &side[i]);
		if (err != 0)
			bench_die("pthread_create: %s", strerror(err));
	}
	/* The joins order the sides' result stores before our reads. */
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
}

static pid_t spawn(struct bench_pair *p, int id)
{
	pid_t pid = fork();

	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		/*
		 * Map the memfd afresh rather than use the inherited view:
		 * like a mapped grant, the shared area then sits at an
		 * address of this process's own, so it must hold no pointer.
		 */
		struct side s = {p, id, shm_map(p->memfd, p->shm_bytes)};

		side_run(&s);
		_exit(0);
	}
	return pid;
}

static void run_processes(struct bench_pair *p)
{
	pid_t pid[2] = {spawn(p, 0), spawn(p, 1)};
	int status;

	/*
	 * A reaped child's stores to the memfd are visible to us: exit and
	 * wait synchronise in the kernel.
	 */
	for (int left = 2; left > 0; left--) {
		pid_t done = waitpid(-1, &status, 0);
		int id;

		if (done < 0)
			bench_die("waitpid: %s", strerror(errno));
		id = done == pid[1];
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		/* Its peer would spin forever on a ring nobody serves. */
		if (left == 2)
			kill(pid[!id], SIGKILL);
		bench_die("side %d (pid %d) failed: %s %d", id, (int)done,
			  WIFSIGNALED(status) ? "signal" : "exit status",
			  WIFSIGNALED(status) ? WTERMSIG(status)
					      : WEXITSTATUS(status));
	}
}

void bench_pair_run(struct bench_pair *p, enum bench_mode mode)
{
	if (mode == BENCH_THREADS)
		run_threads(p);
	else
		run_processes(p);
}
