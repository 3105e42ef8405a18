/* SPDX-License-Identifier: MIT */
#include "hvtest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int can_connect(const char *path, int type)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ok;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int hvtest_wait(int (*cond)(void *arg), void *arg, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		if (cond(arg))
			return 0;
		sleep_ms(1);
	}
	return cond(arg) ? 0 : -ETIMEDOUT;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

int hvtest_start(struct hvtest *t, const char *const *extra_args)
{
	const char *argv[32];
	char hv_sock[PATH_MAX + 16];
	int n = 0, i, status;

	memset(t, 0, sizeof(*t));
	strcpy(t->dir, "/tmp/pvio-hvtest-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -errno;
	snprintf(hv_sock, sizeof(hv_sock), "%s/hv.sock", t->dir);
	snprintf(t->xs_path, sizeof(t->xs_path), "%s/xenstored/socket", t->dir);
	argv[n++] = PVIO_HV_BIN;
	argv[n++] = "--foreground";
	argv[n++] = "--run-dir";
	argv[n++] = t->dir;
	for (i = 0; extra_args != NULL && extra_args[i] != NULL && n < 31; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;
	t->pid = fork();
	if (t->pid < 0) {
		int e = -errno;

		t->pid = 0;
		rmdir(t->dir);
		return e;
	}
	if (t->pid == 0) {
		char log[PATH_MAX + 16];
		int fd;

		/* A test that crashes must not leave pvio-hv behind. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		snprintf(log, sizeof(log), "%s/pvio-hv.log", t->dir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			/* not the test's stdout: a pipe reader would wait */
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 10000; i++) {
		if (can_connect(hv_sock, SOCK_SEQPACKET) &&
		    can_connect(t->xs_path, SOCK_STREAM))
			return 0;
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->pid = 0;
			hvtest_stop(t);
			return -ECHILD;
		}
		sleep_ms(1);
	}
	hvtest_stop(t);
	return -ETIMEDOUT;
}

/* Copy pvio-hv's log to stderr, for a failed test's output. */
static void dump_log(const struct hvtest *t)
{
	char path[PATH_MAX + 16], buf[4096];
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/pvio-hv.log", t->dir);
	fp = fopen(path, "r");
	if (fp == NULL)
		return;
	fprintf(stderr, "---- %s ----\n", path);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(fp);
}

int hvtest_stop(struct hvtest *t)
{
	int i, status = 0, rc = 0;

	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		for (i = 0; i < 5000; i++) {
			if (waitpid(t->pid, &status, WNOHANG) == t->pid)
				break;
			sleep_ms(1);
		}
		if (i == 5000) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &status, 0);
			rc = -ETIMEDOUT;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			rc = -EIO; /* crashed, or a sanitizer complained */
		}
		t->pid = 0;
	}
	if (t->dir[0] != '\0') {
		if (rc < 0)
			dump_log(t);
		nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		t->dir[0] = '\0';
	}
	return rc;
}

struct agent_msg {
	long op, x, y, z;
};
struct agent_res {
	long r0, r1;
};

int hvtest_agent_start(struct hvtest_agent *a, const struct hvtest *t,
		       const char *cred)
{
	int sv[2];
	long r;

	a->pid = 0;
	a->sock = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	a->pid = fork();
	if (a->pid < 0) {
		int e = -errno;

		close(sv[0]);
		close(sv[1]);
		a->pid = 0;
		return e;
	}
	if (a->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* fd 3 is the command socket; everything else closes at exec */
		dup2(sv[1], 3);
		setenv("PVIO_RUN_DIR", t->dir, 1);
		setenv("PVIO_DOMAIN_CRED", cred, 1);
		execl(PVIO_HVAGENT_BIN, PVIO_HVAGENT_BIN, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	a->sock = sv[0];
	/* The agent answers HVA_DOMID once it has opened its domain. */
	r = hvtest_agent_cmd(a, HVA_DOMID, 0, 0, 0, NULL);
	if (r < 0) {
		hvtest_agent_kill(a);
		return (int)r;
	}
	return 0;
}

long hvtest_agent_cmd(struct hvtest_agent *a, int op, long x, long y, long z,
		      long *r1)
{
	struct agent_msg m = {op, x, y, z};
	struct agent_res res;
	ssize_t n;

	if (send(a->sock, &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m))
		return -ECONNRESET;
	n = recv(a->sock, &res, sizeof(res), 0);
	if (n != sizeof(res))
		return -ECONNRESET;
	if (r1 != NULL)
		*r1 = res.r1;
	return res.r0;
}

void hvtest_agent_kill(struct hvtest_agent *a)
{
	int status;

	if (a->pid > 0) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, &status, 0);
		a->pid = 0;
	}
	if (a->sock >= 0) {
		close(a->sock);
		a->sock = -1;
	}
}
