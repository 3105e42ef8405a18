/* SPDX-License-Identifier: MIT */
/*
 * pvio-xenstored: the xenstore daemon of pvio-hv on its own.
 *
 *   pvio-xenstored --run-dir DIR [--foreground]
 *
 * Listens on DIR/xenstored/socket (the same place pvio-hv uses), so
 * XENSTORED_PATH=DIR/xenstored/socket lets Debian's xenstore tools and
 * libxenstore talk to it.  Every domid below DOMID_FIRST_RESERVED counts
 * as an existing domain.  SIGTERM/SIGINT exit cleanly, removing the
 * socket.  Without --foreground it daemonises once the socket is ready.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xsd.h"

static bool any_domain(void *ctx, uint32_t domid)
{
	(void)ctx;
	return domid < 0x7FF0u; /* DOMID_FIRST_RESERVED */
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio-xenstored --run-dir DIR [--foreground]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"run-dir", required_argument, NULL, 'r'},
		{"foreground", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pvio_xsd_hooks hooks = {.domain_exists = any_domain};
	const char *run_dir = NULL;
	bool foreground = false;
	char dir[PATH_MAX], sock[PATH_MAX];
	struct pvio_xsd *xsd;
	struct pollfd pfd[2];
	sigset_t mask;
	int opt, err, sfd;

	while ((opt = getopt_long(argc, argv, "r:fh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			run_dir = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!run_dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/xenstored", run_dir) >=
		    sizeof(dir) ||
	    (size_t)snprintf(sock, sizeof(sock), "%s/socket", dir) >=
		    sizeof(sock)) {
		fprintf(stderr, "pvio-xenstored: run dir too long\n");
		return 1;
	}
	if (mkdir(run_dir, 0755) < 0 && errno != EEXIST) {
		perror("pvio-xenstored: mkdir run dir");
		return 1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		perror("pvio-xenstored: mkdir");
		return 1;
	}
	/* Signals arrive as data on a descriptor: no handler races. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("pvio-xenstored: signalfd");
		return 1;
	}
	err = pvio_xsd_create(&xsd, &hooks, NULL);
	if (!err)
		err = pvio_xsd_listen(xsd, sock);
	if (err) {
		fprintf(stderr, "pvio-xenstored: %s: %s\n", sock,
			strerror(-err));
		pvio_xsd_destroy(xsd);
		return 1;
	}
	if (!foreground && daemon(1, 1) < 0) {
		perror("pvio-xenstored: daemon");
		pvio_xsd_destroy(xsd);
		return 1;
	}
	pfd[0].fd = pvio_xsd_fd(xsd);
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("pvio-xenstored: poll");
			break;
		}
		if (pfd[1].revents)
			break;
		err = pvio_xsd_dispatch(xsd);
		if (err) {
			fprintf(stderr, "pvio-xenstored: %s\n", strerror(-err));
			break;
		}
	}
	pvio_xsd_destroy(xsd); /* closes clients, removes the socket */
	close(sfd);
	return 0;
}
