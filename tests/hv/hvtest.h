/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for anything that needs a running pvio-hv.
 *
 *   hvtest_start()  mkdtemp a run dir, start `pvio-hv --foreground
 *                   --run-dir <dir>` as a child (its log goes to
 *                   <dir>/pvio-hv.log), wait until hv.sock and
 *                   xenstored/socket accept connections.
 *   hvtest_stop()   SIGTERM (SIGKILL after 5 s), reap, remove the dir.
 *                   Returns 0 if pvio-hv exited 0 (so a sanitizer
 *                   report or a crash in pvio-hv fails the test: assert
 *                   it), else -EIO / -ETIMEDOUT after copying pvio-hv's
 *                   log to stderr.  pvio-hv gets SIGTERM if the test
 *                   process dies first (PR_SET_PDEATHSIG), agents
 *                   SIGKILL.
 *
 *   hvtest_agent_*  a domain process: the hvagent program, exec'd fresh
 *                   (so it inherits no mapping of the test process),
 *                   opened as the domain of 'cred', driven by commands
 *                   over a socketpair.  See enum hvtest_agent_op.
 *
 * All functions return 0 or a negative errno.
 */
#ifndef PVIO_HVTEST_H
#define PVIO_HVTEST_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

struct hvtest {
	pid_t pid;	    /* pvio-hv, 0 if not running */
	char dir[PATH_MAX]; /* the run dir */
	char xs_path[PATH_MAX + 32];
};

/* extra_args: NULL-terminated list of more pvio-hv arguments, or NULL. */
int hvtest_start(struct hvtest *t, const char *const *extra_args);
int hvtest_stop(struct hvtest *t);

/* Agent commands: in a,b,c; out r0,r1 (r0 < 0: -errno). */
enum hvtest_agent_op {
	HVA_MAP = 1,	 /* a=dom b=ref c=readonly -> r0=GNTST r1=handle */
	HVA_UNMAP,	 /* a=handle -> r0=GNTST (libdomain: munmap too) */
	HVA_READ,	 /* a=handle b=offset -> r0=byte */
	HVA_WRITE,	 /* a=handle b=offset c=byte -> r0=0 */
	HVA_MPROTECT_RW, /* a=handle -> r0=0 or -errno of mprotect */
	HVA_KEEP,	 /* a=handle: keep a 2nd mmap (mremap) and an fd */
	HVA_READ_KEPT,	 /* b=offset -> r0=byte via 2nd mmap, r1=via fd */
	HVA_ALLOC,	 /* a=n -> r0=pfn */
	HVA_GRANT,	 /* a=domid b=pfn c=readonly -> r0=ref */
	HVA_END,	 /* a=ref -> r0=pvio_dom_grant_end() */
	HVA_WRITE_OWN,	 /* a=pfn b=offset c=byte */
	HVA_READ_OWN,	 /* a=pfn b=offset -> r0=byte */
	HVA_DOMID,	 /* -> r0=domid */
};

struct hvtest_agent {
	pid_t pid;
	int sock;
};

int hvtest_agent_start(struct hvtest_agent *a, const struct hvtest *t,
		       const char *cred);
/* Returns r0 (and *r1 if not NULL); -ECONNRESET if the agent is gone. */
long hvtest_agent_cmd(struct hvtest_agent *a, int op, long x, long y, long z,
		      long *r1);
/* SIGKILL and reap (if still running), close the socket. */
void hvtest_agent_kill(struct hvtest_agent *a);

/* Wait up to 'ms' for cond(arg) != 0, polling every millisecond. */
int hvtest_wait(int (*cond)(void *arg), void *arg, int ms);

#endif /* PVIO_HVTEST_H */
