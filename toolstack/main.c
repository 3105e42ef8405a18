/* SPDX-License-Identifier: MIT */
/*
 * pvio: the toolstack command, in the spirit of xl.  Stateless: each run
 * connects to pvio-hv as dom0 and to its xenstore, does one thing, exits.
 * Exit status 0 on success, 1 on failure, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pvio/domain.h>
#include <pvio/xs.h>

#include "tool.h"

#define EXIT_USAGE 2

static const char *run_dir_arg;

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(int argc, char **argv);
};

static const struct cmd *current;

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pvio %s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: pvio %s %s\n", current->name, current->args);
	return EXIT_USAGE;
}

static int failed(const struct pvio_tool_err *e, int rc)
{
	fprintf(stderr, "pvio %s: %s\n", current->name,
		e && e->msg[0] ? e->msg : strerror(-rc));
	return 1;
}

/*
 * Per-command --help / -h; returns true if it was asked for.  getopt
 * then starts at argv[1] (argv[0] is the command's name).
 */
static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: pvio %s %s\n\n%s", current->name,
			       current->args, current->help);
			return true;
		}
	}
	return false;
}

/* dom0 connections to pvio-hv and its xenstore. */
static int connect_all(struct pvio_dom **dom0, struct pvio_xs **xs)
{
	const char *dir = pvio_tool_run_dir(run_dir_arg);
	char path[4096];
	int err = 0;

	*dom0 = NULL;
	if (xs)
		*xs = NULL;
	*dom0 = pvio_dom_open_dom0(dir, &err);
	if (!*dom0) {
		fprintf(stderr,
			"pvio %s: cannot reach pvio-hv in %s: %s (is it "
			"running? `pvio hv start`)\n",
			current->name, dir, strerror(-err));
		return 1;
	}
	if (!xs)
		return 0;
	snprintf(path, sizeof(path), "%s/xenstored/socket", dir);
	*xs = pvio_xs_open(path, &err);
	if (!*xs) {
		fprintf(stderr, "pvio %s: xenstore at %s: %s\n", current->name,
			path, strerror(-err));
		pvio_dom_close(*dom0);
		*dom0 = NULL;
		return 1;
	}
	return 0;
}

static void disconnect_all(struct pvio_dom *dom0, struct pvio_xs *xs)
{
	pvio_xs_close(xs);
	pvio_dom_close(dom0);
}

/* ---------------------------------------------------------------------- */

static int cmd_hv(int argc, char **argv)
{
	const char *dir = pvio_tool_run_dir(run_dir_arg);
	struct pvio_tool_err e = {{0}};
	int rc;

	if (argc != 2)
		return usage_error("expected start, stop or status");
	if (!strcmp(argv[1], "start")) {
		rc = pvio_tool_hv_start(dir, &e);
		if (rc)
			return failed(&e, rc);
		printf("pvio-hv running for %s (pid %d)\n", dir,
		       pvio_tool_hv_pid(dir));
		printf("xenstore: XENSTORED_PATH=%s/xenstored/socket\n", dir);
		return 0;
	}
	if (!strcmp(argv[1], "stop")) {
		rc = pvio_tool_hv_stop(dir, 10000, &e);
		return rc ? failed(&e, rc) : 0;
	}
	if (!strcmp(argv[1], "status")) {
		struct pvio_dom *dom0;
		uint32_t ver = 0;
		int pid = pvio_tool_hv_pid(dir), err = 0, n;

		if (pid < 0) {
			printf("pvio-hv: not running for %s\n", dir);
			return 1;
		}
		dom0 = pvio_dom_open_dom0(dir, &err);
		if (!dom0) {
			printf("pvio-hv: pid %d, not answering: %s\n", pid,
			       strerror(-err));
			return 1;
		}
		rc = pvio_dom_version(dom0, &ver);
		n = pvio_dom_ctl_list(dom0, NULL, 0);
		pvio_dom_close(dom0);
		if (rc || n < 0) {
			printf("pvio-hv: pid %d, hypercalls failing: %s\n", pid,
			       strerror(-(rc ? rc : n)));
			return 1;
		}
		printf("pvio-hv: running, pid %d, version %u.%u, %d "
		       "domain(s), run dir %s\n",
		       pid, ver >> 16, ver & 0xffff, n, dir);
		return 0;
	}
	return usage_error("unknown subcommand '%s'", argv[1]);
}

static int cmd_create(int argc, char **argv)
{
	struct pvio_tool_err e = {{0}};
	struct pvio_tool_domcfg dc;
	struct pvio_cfg cfg;
	struct pvio_dom *dom0;
	struct pvio_xs *xs;
	pvio_domid_t domid;
	bool paused = false, dry = false;
	int opt, rc;

	optind = 1;
	while ((opt = getopt(argc, argv, "+pn")) != -1) {
		if (opt == 'p')
			paused = true;
		else if (opt == 'n')
			dry = true;
		else
			return usage_error("bad option");
	}
	if (optind != argc - 1)
		return usage_error("expected one config file");
	rc = pvio_cfg_load(&cfg, argv[optind], &e);
	if (rc)
		return failed(&e, rc);
	rc = pvio_tool_domcfg_from(&dc, &cfg, stderr, &e);
	pvio_cfg_free(&cfg);
	if (rc)
		return failed(&e, rc);
	rc = pvio_tool_domcfg_check(&dc, argv[optind], &e);
	if (rc) {
		pvio_tool_domcfg_free(&dc);
		return failed(&e, rc);
	}
	if (dry) {
		printf("%s: valid (name %s, %u MiB, %u disk(s), %u vif(s))\n",
		       argv[optind], dc.name, dc.memory_mb, dc.ndisks,
		       dc.nvifs);
		pvio_tool_domcfg_free(&dc);
		return 0;
	}
	if (connect_all(&dom0, &xs)) {
		pvio_tool_domcfg_free(&dc);
		return 1;
	}
	rc = pvio_tool_create(dom0, xs, pvio_tool_run_dir(run_dir_arg), &dc,
			      paused, stdout, &domid, &e);
	if (!rc)
		printf("domain %s created: domid %u%s\n", dc.name, domid,
		       paused ? " (paused)" : "");
	pvio_tool_domcfg_free(&dc);
	disconnect_all(dom0, xs);
	return rc ? failed(&e, rc) : 0;
}

static const char *state_name(enum pvio_dom_state s)
{
	switch (s) {
	case PVIO_DOM_CREATED:
		return "created";
	case PVIO_DOM_RUNNING:
		return "running";
	case PVIO_DOM_PAUSED:
		return "paused";
	case PVIO_DOM_DYING:
		return "dying";
	}
	return "?";
}

static int cmd_list(int argc, char **argv)
{
	struct pvio_dom_info *info = NULL;
	struct pvio_dom *dom0;
	struct pvio_xs *xs;
	int n, rc = 0;

	(void)argv;
	if (argc != 1)
		return usage_error("no arguments expected");
	if (connect_all(&dom0, &xs))
		return 1;
	/* Ask for the count, then for that many (plus slack for domains
	 * created in between). */
	n = pvio_dom_ctl_list(dom0, NULL, 0);
	if (n >= 0) {
		info = calloc((size_t)n + 16, sizeof(*info));
		n = info ? pvio_dom_ctl_list(dom0, info, (unsigned)n + 16)
			 : -ENOMEM;
	}
	if (n < 0) {
		rc = n;
		goto out;
	}
	printf("%-24s %5s %8s %8s %-8s %7s %s\n", "Name", "ID", "Mem(MiB)",
	       "Pages", "State", "PID", "Devices");
	printf("%-24s %5u %8s %8s %-8s %7s %s\n", "Domain-0", 0, "-", "-",
	       "running", "-", "");
	for (int i = 0; i < n; i++) {
		const struct pvio_dom_info *d = &info[i];
		char devs[512];

		if (d->domid == 0)
			continue;
		pvio_tool_xs_dev_summary(xs, d->domid, devs, sizeof(devs));
		printf("%-24s %5u %8u %8u %-8s %7d %s\n", d->name, d->domid,
		       d->mem_max_pages / 256, d->mem_used_pages,
		       state_name(d->state), d->pid, devs);
	}
out:
	free(info);
	disconnect_all(dom0, xs);
	if (rc)
		fprintf(stderr, "pvio list: %s\n", strerror(-rc));
	return rc ? 1 : 0;
}

/* destroy / pause / unpause: one domain argument. */
static int cmd_domain_op(int argc, char **argv)
{
	struct pvio_tool_err e = {{0}};
	struct pvio_dom *dom0;
	struct pvio_xs *xs;
	pvio_domid_t domid;
	int rc;

	if (argc != 2)
		return usage_error("expected one domain (name or id)");
	if (connect_all(&dom0, &xs))
		return 1;
	rc = pvio_tool_domid(dom0, argv[1], &domid, &e);
	if (!rc) {
		if (!strcmp(current->name, "destroy")) {
			rc = pvio_tool_destroy(dom0, xs, domid, &e);
		} else {
			rc = !strcmp(current->name, "pause")
				     ? pvio_dom_ctl_pause(dom0, domid)
				     : pvio_dom_ctl_unpause(dom0, domid);
			if (rc)
				pvio_tool_fail(&e, rc, "%s %u: %s",
					       current->name, domid,
					       strerror(-rc));
		}
	}
	disconnect_all(dom0, xs);
	return rc ? failed(&e, rc) : 0;
}

static int cmd_block_attach(int argc, char **argv)
{
	struct pvio_tool_err e = {{0}};
	struct pvio_tool_disk d;
	struct pvio_dom *dom0;
	struct pvio_xs *xs;
	pvio_domid_t front, back = 0;
	int rc;

	if (argc < 3)
		return usage_error("expected a domain and a disk spec");
	/* xl joins the remaining words: "file:/x,xvdb,w" or "a=b c=d". */
	char spec[8192] = "";
	for (int i = 2; i < argc; i++) {
		if (strlen(spec) + strlen(argv[i]) + 2 > sizeof(spec))
			return usage_error("disk spec too long");
		if (i > 2)
			strcat(spec, ",");
		strcat(spec, argv[i]);
	}
	rc = pvio_tool_disk_parse(&d, spec, &e);
	if (!rc)
		rc = pvio_tool_disk_check(&d, &e);
	if (rc)
		return failed(&e, rc);
	if (connect_all(&dom0, &xs))
		return 1;
	rc = pvio_tool_domid(dom0, argv[1], &front, &e);
	if (!rc)
		rc = pvio_tool_backend_resolve(dom0, xs,
					       pvio_tool_run_dir(run_dir_arg),
					       d.backend, stdout, &back, &e);
	if (!rc) {
		rc = pvio_tool_xs_disk_add(xs, front, back, &d);
		if (rc == -EEXIST)
			pvio_tool_fail(&e, rc, "%s is already attached",
				       d.vdev);
		else if (rc)
			pvio_tool_fail(&e, rc, "xenstore: %s", strerror(-rc));
	}
	if (!rc && back) {
		char why[256] = "";
		int w = pvio_tool_xs_backend_wait(xs, back, front, d.devid,
						  5000, why, sizeof(why));

		if (w == -EIO) {
			pvio_tool_xs_dev_remove(xs, front, "vbd", d.devid,
						1000);
			rc = pvio_tool_fail(&e, w,
					    "driver domain %u cannot serve %s: "
					    "%s",
					    back, d.vdev, why);
		} else if (w) {
			printf("disk %s: driver domain %u has not picked it "
			       "up yet\n",
			       d.vdev, back);
		}
	}
	if (!rc && back)
		printf("disk %s attached to domain %u, served by driver domain "
		       "%u\n",
		       d.vdev, front, back);
	else if (!rc)
		printf("disk %s attached to domain %u (xenstore entries only: "
		       "no block backend runs in Domain-0)\n",
		       d.vdev, front);
	disconnect_all(dom0, xs);
	return rc ? failed(&e, rc) : 0;
}

static int detach(int argc, char **argv, const char *type)
{
	struct pvio_tool_err e = {{0}};
	struct pvio_dom *dom0;
	struct pvio_xs *xs;
	pvio_domid_t front;
	uint32_t devid;
	char *end;
	int rc;

	if (argc != 3)
		return usage_error("expected a domain and a device");
	if (!strcmp(type, "vbd")) {
		if (pvio_tool_vdev_to_devid(argv[2], &devid)) {
			unsigned long n = strtoul(argv[2], &end, 10);

			if (*end || !*argv[2] || n > UINT32_MAX)
				return usage_error("'%s' is not a vdev or "
						   "device number",
						   argv[2]);
			devid = (uint32_t)n;
		}
	} else {
		unsigned long n = strtoul(argv[2], &end, 10);

		if (*end || !*argv[2] || n > 255)
			return usage_error("'%s' is not a vif device id",
					   argv[2]);
		devid = (uint32_t)n;
	}
	if (connect_all(&dom0, &xs))
		return 1;
	rc = pvio_tool_domid(dom0, argv[1], &front, &e);
	if (!rc) {
		rc = pvio_tool_xs_dev_remove(xs, front, type, devid, 10000);
		if (rc == -ENOENT)
			pvio_tool_fail(&e, rc, "domain %u has no %s %s", front,
				       type, argv[2]);
		else if (rc)
			pvio_tool_fail(&e, rc, "xenstore: %s", strerror(-rc));
	}
	disconnect_all(dom0, xs);
	return rc ? failed(&e, rc) : 0;
}

static int cmd_block_detach(int argc, char **argv)
{
	return detach(argc, argv, "vbd");
}

static int cmd_network_detach(int argc, char **argv)
{
	return detach(argc, argv, "vif");
}

static int cmd_driver_domain(int argc, char **argv)
{
	const char *name = PVIO_TOOL_DEFAULT_DRIVER;
	struct pvio_tool_err e = {{0}};
	struct pvio_dom *dom0;
	struct pvio_xs *xs;
	pvio_domid_t domid;
	char **extra = NULL;
	int i, rc;

	if (argc < 2)
		return usage_error("expected start or stop");
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			extra = argv + i + 1;
			break;
		}
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strncmp(argv[i], "--name=", 7))
			name = argv[i] + 7;
		else
			return usage_error("unknown argument '%s'", argv[i]);
	}
	if (!strcmp(argv[1], "start")) {
		if (connect_all(&dom0, &xs))
			return 1;
		/* argv is NULL-terminated: extra runs to its end. */
		rc = pvio_tool_driver_start(dom0, xs,
					    pvio_tool_run_dir(run_dir_arg),
					    name, extra, stdout, &domid, &e);
		if (rc == -EEXIST)
			pvio_tool_fail(&e, rc, "a domain named '%s' exists",
				       name);
	} else if (!strcmp(argv[1], "stop")) {
		if (extra)
			return usage_error("stop takes no daemon options");
		if (connect_all(&dom0, &xs))
			return 1;
		rc = pvio_tool_driver_stop(dom0, xs, name, 10000, &e);
		if (!rc)
			printf("driver domain %s stopped\n", name);
	} else {
		return usage_error("unknown subcommand '%s'", argv[1]);
	}
	disconnect_all(dom0, xs);
	return rc ? failed(&e, rc) : 0;
}

static int cmd_network_attach(int argc, char **argv)
{
	struct pvio_tool_err e = {{0}};
	struct pvio_tool_vif v = {0};
	struct pvio_dom *dom0;
	struct pvio_xs *xs;
	pvio_domid_t front, back = 0;
	char spec[4096] = "", path[96], **ids = NULL;
	unsigned int n = 0;
	int rc;

	if (argc < 2)
		return usage_error("expected a domain");
	for (int i = 2; i < argc; i++) {
		if (strlen(spec) + strlen(argv[i]) + 2 > sizeof(spec))
			return usage_error("vif spec too long");
		if (i > 2)
			strcat(spec, ",");
		strcat(spec, argv[i]);
	}
	if (connect_all(&dom0, &xs))
		return 1;
	rc = pvio_tool_domid(dom0, argv[1], &front, &e);
	if (rc)
		goto out;
	/* The next free devid, as xl picks it. */
	snprintf(path, sizeof(path), "/local/domain/%u/device/vif", front);
	if (pvio_xs_directory(xs, PVIO_XS_TX_NONE, path, &ids, &n) == 0) {
		for (unsigned int i = 0; i < n; i++) {
			unsigned long id = strtoul(ids[i], NULL, 10);

			if (id >= v.devid && id < 255)
				v.devid = (unsigned int)id + 1;
		}
		free(ids);
	}
	rc = pvio_tool_vif_parse(&v, spec, &e);
	if (!rc && v.backend[0])
		rc = pvio_tool_domid(dom0, v.backend, &back, &e);
	if (!rc) {
		rc = pvio_tool_xs_vif_add(xs, front, back, &v);
		if (rc == -EEXIST)
			pvio_tool_fail(&e, rc, "vif %u is already attached",
				       v.devid);
		else if (rc)
			pvio_tool_fail(&e, rc, "xenstore: %s", strerror(-rc));
	}
	if (!rc)
		printf("vif %u (%s) attached to domain %u (xenstore side; "
		       "serving it is not yet supported)\n",
		       v.devid, v.mac, front);
out:
	disconnect_all(dom0, xs);
	return rc ? failed(&e, rc) : 0;
}

/* ---------------------------------------------------------------------- */
/* pvio store: a thin xenstore client over the dom0 socket                */
/* ---------------------------------------------------------------------- */

static struct pvio_xs *store_open(void)
{
	const char *dir = pvio_tool_run_dir(run_dir_arg);
	char path[4096];
	int err = 0;
	struct pvio_xs *xs;

	snprintf(path, sizeof(path), "%s/xenstored/socket", dir);
	xs = pvio_xs_open(path, &err);
	if (!xs)
		fprintf(stderr, "pvio store: %s: %s\n", path, strerror(-err));
	return xs;
}

/* Print a value the way xenstore-ls does: non-printables escaped. */
static void print_value(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

static int store_ls(struct pvio_xs *xs, const char *path, int depth)
{
	char **names = NULL;
	unsigned int n = 0;
	int rc = pvio_xs_directory(xs, PVIO_XS_TX_NONE, path, &names, &n);

	if (rc)
		return rc;
	for (unsigned int i = 0; i < n; i++) {
		char child[4096], *val = NULL;
		size_t len = 0;

		snprintf(child, sizeof(child), "%s/%s",
			 strcmp(path, "/") ? path : "", names[i]);
		printf("%*s%s = \"", depth, "", names[i]);
		if (pvio_xs_read(xs, PVIO_XS_TX_NONE, child, &val, &len) == 0)
			print_value(val, len);
		printf("\"\n");
		free(val);
		rc = store_ls(xs, child, depth + 1);
		if (rc && rc != -ENOENT && rc != -EACCES)
			break;
		rc = 0;
	}
	free(names);
	return rc;
}

static int cmd_store(int argc, char **argv)
{
	struct pvio_xs *xs;
	int rc = 0;

	if (argc < 2)
		return usage_error("expected ls, read, write, rm or watch");
	const char *sub = argv[1];
	if (!strcmp(sub, "ls")) {
		if (argc > 3)
			return usage_error("ls takes at most one path");
	} else if (!strcmp(sub, "read") || !strcmp(sub, "rm")) {
		if (argc < 3)
			return usage_error("%s needs a path", sub);
	} else if (!strcmp(sub, "write")) {
		if (argc < 4 || (argc - 2) % 2)
			return usage_error("write needs path value pairs");
	} else if (!strcmp(sub, "watch")) {
		if (argc < 3 || argc > 4)
			return usage_error("watch needs a path and optionally "
					   "a count");
	} else {
		return usage_error("unknown subcommand '%s'", sub);
	}
	xs = store_open();
	if (!xs)
		return 1;
	if (!strcmp(sub, "ls")) {
		rc = store_ls(xs, argc == 3 ? argv[2] : "/", 0);
	} else if (!strcmp(sub, "read")) {
		for (int i = 2; !rc && i < argc; i++) {
			char *val = NULL;
			size_t len = 0;

			rc = pvio_xs_read(xs, PVIO_XS_TX_NONE, argv[i], &val,
					  &len);
			if (!rc) {
				fwrite(val, 1, len, stdout);
				putchar('\n');
			}
			free(val);
		}
	} else if (!strcmp(sub, "write")) {
		for (int i = 2; !rc && i + 1 < argc; i += 2)
			rc = pvio_xs_write(xs, PVIO_XS_TX_NONE, argv[i],
					   argv[i + 1], strlen(argv[i + 1]));
	} else if (!strcmp(sub, "rm")) {
		for (int i = 2; !rc && i < argc; i++)
			rc = pvio_xs_rm(xs, PVIO_XS_TX_NONE, argv[i]);
	} else {
		/* watch PATH [COUNT]: print each event's path; stop after
		 * COUNT events (the first one fires at once). */
		long count = argc == 4 ? strtol(argv[3], NULL, 10) : -1;

		rc = pvio_xs_watch(xs, argv[2], "pvio");
		for (long i = 0; !rc && (count < 0 || i < count); i++) {
			char *p, *t;

			rc = pvio_xs_read_watch(xs, &p, &t, -1);
			if (!rc) {
				printf("%s\n", p);
				fflush(stdout);
				free(p);
				free(t);
			}
		}
	}
	pvio_xs_close(xs);
	if (rc) {
		fprintf(stderr, "pvio store %s: %s\n", sub, strerror(-rc));
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */

static int cmd_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{"hv", "start|stop|status",
	 "Start pvio-hv (the hypervisor stub and its xenstore) for the run\n"
	 "directory, stop it (every domain is destroyed), or report on it.\n",
	 cmd_hv},
	{"create", "[-p] [-n] CONFIG",
	 "Create a domain from an xl.cfg-style file:\n"
	 "  name = \"guest\"          (required)\n"
	 "  memory = 16             MiB of grantable pages\n"
	 "  cmd = [\"prog\", \"arg\"]  the guest's command (or a shell "
	 "string)\n"
	 "  disk = ['file:/img,xvda,w']  vif = ['bridge=pvbr0']\n"
	 "    (phy:/dev/X for block devices, r for read-only, backend=NAME\n"
	 "     for a driver domain, engine=io_uring|libaio|psync; with no\n"
	 "     backend= the driver domain 'blkback' serves it, started on\n"
	 "     demand)\n"
	 "  driver = \"blkback\"     make this a block driver domain\n"
	 "  user = \"name\"           run the guest as this user\n"
	 "  -p  leave the domain paused    -n  only check the file\n",
	 cmd_create},
	{"list", "", "List domains: id, name, memory, state, devices.\n",
	 cmd_list},
	{"destroy", "DOMAIN", "Kill a domain and release everything it held.\n",
	 cmd_domain_op},
	{"pause", "DOMAIN", "Stop a domain's process (SIGSTOP).\n",
	 cmd_domain_op},
	{"unpause", "DOMAIN", "Resume a paused domain.\n", cmd_domain_op},
	{"block-attach", "DOMAIN DISKSPEC",
	 "Add a virtual disk (xl-disk-configuration syntax), e.g.\n"
	 "  pvio block-attach guest file:/img,xvdb,w\n"
	 "  pvio block-attach guest phy:/dev/loop0,xvdc,r,backend=dd2\n",
	 cmd_block_attach},
	{"block-detach", "DOMAIN VDEV|DEVID",
	 "Remove a virtual disk: the backend is asked to close first.\n",
	 cmd_block_detach},
	{"driver-domain", "start|stop [--name NAME] [-- BLKBACK-OPTIONS]",
	 "Start or stop a block driver domain: a domain whose process is\n"
	 "pvio-blkback (log in RUN_DIR/log/NAME.log).  NAME defaults to\n"
	 "blkback, the driver domain that serves every disk naming no\n"
	 "backend= (`pvio create` starts it when needed).  Options after --\n"
	 "go to pvio-blkback, e.g. -- --engine libaio --no-persistent.\n"
	 "A config file can make a driver domain too: driver = \"blkback\"\n"
	 "(and driver_args = [\"--engine\", \"psync\"]) instead of cmd.\n",
	 cmd_driver_domain},
	{"network-attach", "DOMAIN [VIFSPEC]",
	 "Add a virtual NIC (xl-network-configuration syntax), e.g.\n"
	 "  pvio network-attach guest bridge=pvbr0,mac=00:16:3e:00:00:01\n",
	 cmd_network_attach},
	{"network-detach", "DOMAIN DEVID", "Remove a virtual NIC.\n",
	 cmd_network_detach},
	{"store",
	 "ls [PATH] | read PATH... | write PATH VALUE... | rm PATH... "
	 "| watch PATH [COUNT]",
	 "Read and change xenstore as dom0.\n", cmd_store},
	{"help", "[COMMAND]", "Show help.\n", cmd_help},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio [--run-dir DIR] COMMAND [ARGS]\n\n"
		   "The pvio toolstack.  DIR defaults to $PVIO_RUN_DIR, then "
		   "/run/pvio.\nCommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %-15s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "\n`pvio COMMAND --help` describes one command.\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc == 2) {
		for (size_t i = 0; i < NCMDS; i++) {
			if (!strcmp(cmds[i].name, argv[1])) {
				printf("usage: pvio %s %s\n\n%s", cmds[i].name,
				       cmds[i].args, cmds[i].help);
				return 0;
			}
		}
		return usage_error("no command '%s'", argv[1]);
	}
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--run-dir") && i + 1 < argc) {
			run_dir_arg = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--run-dir=", 10)) {
			run_dir_arg = argv[i] + 10;
			i++;
		} else {
			fprintf(stderr, "pvio: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t c = 0; c < NCMDS; c++) {
		if (strcmp(cmds[c].name, argv[i]) != 0)
			continue;
		current = &cmds[c];
		if (want_help(argc - i, argv + i))
			return 0;
		return cmds[c].fn(argc - i, argv + i);
	}
	fprintf(stderr, "pvio: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}
