/* SPDX-License-Identifier: MIT */
/*
 * Starting, stopping and finding pvio-hv.  The stub (like pvio-blkback)
 * is found next to the `pvio` executable (an installed tree), in the
 * build tree's layout (toolstack/pvio beside hypervisor-stub/pvio-hv),
 * else in $PATH.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pvio/domain.h>

#include "tool.h"

void pvio_tool_find_binary(const char *name, const char *subdir, char *out,
			   size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');

		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(out, len, "%s/%s", self, name) <
				    len &&
			    access(out, X_OK) == 0)
				return;
			if ((size_t)snprintf(out, len, "%s/../%s/%s", self,
					     subdir, name) < len &&
			    access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, len, "%s", name);
}

static void pid_file(const char *run_dir, char *out, size_t len)
{
	snprintf(out, len, "%s/pvio-hv.pid", run_dir);
}

int pvio_tool_hv_pid(const char *run_dir)
{
	char path[PATH_MAX];
	FILE *f;
	int pid = 0;

	pid_file(run_dir, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	if (fscanf(f, "%d", &pid) != 1 || pid <= 0)
		pid = 0;
	fclose(f);
	/* A stale pid file names a dead (or recycled) pid: the socket and
	 * the lock are what count, but a signal-0 probe is a fair check. */
	if (pid <= 0 || kill(pid, 0) < 0)
		return -ESRCH;
	return pid;
}

int pvio_tool_hv_start(const char *run_dir, struct pvio_tool_err *e)
{
	char bin[PATH_MAX], pidf[PATH_MAX];
	pid_t pid;
	int status;

	if (pvio_tool_hv_pid(run_dir) > 0)
		return pvio_tool_fail(e, -EALREADY,
				      "pvio-hv is already running for %s",
				      run_dir);
	pvio_tool_find_binary("pvio-hv", "hypervisor-stub", bin, sizeof(bin));
	pid_file(run_dir, pidf, sizeof(pidf));
	pid = fork();
	if (pid < 0)
		return pvio_tool_fail(e, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Background mode: pvio-hv's parent exits once it serves. */
		execlp(bin, bin, "--run-dir", run_dir, "--pid-file", pidf,
		       (char *)NULL);
		fprintf(stderr, "pvio: %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return pvio_tool_fail(e, -errno, "waitpid: %s",
				      strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return pvio_tool_fail(e, -EIO,
				      "pvio-hv did not start (see its log in "
				      "%s)",
				      run_dir);
	return 0;
}

/*
 * pvio-hv kills each domain's process when it stops; what those started
 * (a guest's FUSE daemon, its fio jobs) is in their process groups and
 * goes too, as `pvio destroy` does it.  Best effort: without a dom0
 * connection there is nothing to list.
 */
static void kill_domain_groups(const char *run_dir)
{
	struct pvio_dom_info *info;
	struct pvio_dom *dom0;
	int err = 0, n;

	dom0 = pvio_dom_open_dom0(run_dir, &err);
	if (!dom0)
		return;
	n = pvio_dom_ctl_list(dom0, NULL, 0);
	info = n >= 0 ? calloc((size_t)n + 16, sizeof(*info)) : NULL;
	if (info)
		n = pvio_dom_ctl_list(dom0, info, (unsigned int)n + 16);
	for (int i = 0; info && i < n; i++) {
		/* The pidfd proves the group leader lives: no recycled id. */
		int pfd = info[i].pid > 0 && info[i].domid != 0
				  ? (int)syscall(SYS_pidfd_open, info[i].pid, 0)
				  : -1;

		if (pfd >= 0) {
			kill(-info[i].pid, SIGKILL);
			close(pfd);
		}
	}
	free(info);
	pvio_dom_close(dom0);
}

int pvio_tool_hv_stop(const char *run_dir, int timeout_ms,
		      struct pvio_tool_err *e)
{
	int pid = pvio_tool_hv_pid(run_dir), pfd;
	struct pollfd p;

	if (pid < 0)
		return pvio_tool_fail(e, -ESRCH,
				      "pvio-hv is not running for "
				      "%s",
				      run_dir);
	kill_domain_groups(run_dir);
	/* A pidfd, so that the wait below follows this very process and
	 * not whatever reuses its pid. */
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return pvio_tool_fail(e, -errno, "pidfd_open %d: %s", pid,
				      strerror(errno));
	if (syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0) < 0) {
		int err = errno;

		close(pfd);
		return pvio_tool_fail(e, -err, "signal %d: %s", pid,
				      strerror(err));
	}
	p = (struct pollfd){.fd = pfd, .events = POLLIN};
	int n = poll(&p, 1, timeout_ms);
	close(pfd);
	if (n <= 0)
		return pvio_tool_fail(e, -ETIMEDOUT,
				      "pvio-hv (pid %d) did not exit within "
				      "%d ms",
				      pid, timeout_ms);
	return 0;
}
