/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xsd_fixture.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -errno;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int xsd_start(struct xsd_fixture *f)
{
	const char *bin = getenv("PVIO_XENSTORED");
	int i;

	memset(f, 0, sizeof(*f));
	f->pid = -1;
	if (bin == NULL || bin[0] == '\0') {
		fprintf(stderr, "PVIO_XENSTORED is not set\n");
		return -ENOENT;
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/pvio-xbtest-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -errno;
	snprintf(f->sock, sizeof(f->sock), "%s/xenstored/socket", f->dir);
	f->pid = fork();
	if (f->pid < 0)
		return -errno;
	if (f->pid == 0) {
		execl(bin, bin, "--run-dir", f->dir, "--foreground",
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		int st;

		if (try_connect(f->sock) == 0)
			return 0;
		if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
			f->pid = -1;
			return -ECHILD;
		}
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

void xsd_stop(struct xsd_fixture *f)
{
	char path[160];
	int i, st;

	if (f->pid > 0) {
		kill(f->pid, SIGCONT);
		kill(f->pid, SIGTERM);
		for (i = 0; i < 200; i++) {
			if (waitpid(f->pid, &st, WNOHANG) == f->pid)
				break;
			sleep_ms(10);
		}
		if (i == 200) {
			kill(f->pid, SIGKILL);
			waitpid(f->pid, &st, 0);
		}
		f->pid = -1;
	}
	if (f->dir[0] != '\0') {
		unlink(f->sock);
		snprintf(path, sizeof(path), "%s/xenstored", f->dir);
		rmdir(path);
		rmdir(f->dir);
		f->dir[0] = '\0';
	}
}
