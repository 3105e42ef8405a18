/* SPDX-License-Identifier: MIT */
/*
 * xl.cfg parsing: the syntax, the keys pvio serves, the disk and vif
 * specification languages, Xen's vdev numbering, and that every error
 * names the file, line and key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tool.h"

static int parse_dc(const char *text, struct pvio_tool_domcfg *dc,
		    struct pvio_tool_err *e, char *warnbuf, size_t warnlen)
{
	struct pvio_cfg cfg;
	FILE *warn = warnbuf ? fmemopen(warnbuf, warnlen, "w") : NULL;
	int rc;

	if (warnbuf)
		memset(warnbuf, 0, warnlen);
	rc = pvio_cfg_parse(&cfg, "vm.cfg", text, strlen(text), e);
	if (!rc) {
		rc = pvio_tool_domcfg_from(dc, &cfg, warn, e);
		pvio_cfg_free(&cfg);
	}
	if (warn)
		fclose(warn);
	return rc;
}

static void test_full_config(void **state)
{
	(void)state;
	const char *text =
		"# a guest\n"
		"name = \"web-1\"\n"
		"memory = 64   # MiB of grantable pages\n"
		"vcpus = 2\n"
		"disk = [ 'file:/var/img/web.img,xvda,w',\n"
		"         'format=raw, vdev=xvdb, access=ro, "
		"target=/img/b,c.iso',\n"
		"       ]\n"
		"vif = [ \"bridge=pvbr0,mac=00:16:3e:01:02:03\", '' ]\n"
		"cmd = [ \"/bin/echo\", \"hi there\" ]; frobnicate = 1\n";
	struct pvio_tool_domcfg dc;
	struct pvio_tool_err e = {{0}};
	char warn[512];

	assert_int_equal(parse_dc(text, &dc, &e, warn, sizeof(warn)), 0);
	assert_string_equal(dc.name, "web-1");
	assert_int_equal(dc.memory_mb, 64);
	assert_int_equal(dc.ndisks, 2);
	assert_string_equal(dc.disks[0].target, "/var/img/web.img");
	assert_string_equal(dc.disks[0].vdev, "xvda");
	assert_int_equal(dc.disks[0].devid, 51712);
	assert_true(dc.disks[0].writable);
	assert_int_equal(dc.disks[0].line, 5);
	/* target= takes the rest of the spec, commas included */
	assert_string_equal(dc.disks[1].target, "/img/b,c.iso");
	assert_int_equal(dc.disks[1].devid, 51728);
	assert_false(dc.disks[1].writable);
	assert_int_equal(dc.disks[1].line, 6);
	assert_int_equal(dc.nvifs, 2);
	assert_string_equal(dc.vifs[0].mac, "00:16:3e:01:02:03");
	assert_string_equal(dc.vifs[0].bridge, "pvbr0");
	assert_int_equal(dc.vifs[1].devid, 1);
	assert_memory_equal(dc.vifs[1].mac, "00:16:3e:", 9);
	assert_string_equal(dc.argv[0], "/bin/echo");
	assert_string_equal(dc.argv[1], "hi there");
	assert_null(dc.argv[2]);
	assert_non_null(strstr(warn, "vm.cfg:4: vcpus: not yet supported"));
	assert_non_null(strstr(warn, "vm.cfg:9: frobnicate: unknown key"));
	pvio_tool_domcfg_free(&dc);
}

static void test_cmd_string_and_last_wins(void **state)
{
	(void)state;
	struct pvio_tool_domcfg dc;
	struct pvio_tool_err e = {{0}};

	assert_int_equal(parse_dc("name='a'\nname='b'\ncmd=\"sleep 1\"\n", &dc,
				  &e, NULL, 0),
			 0);
	assert_string_equal(dc.name, "b");
	assert_string_equal(dc.argv[0], "/bin/sh");
	assert_string_equal(dc.argv[1], "-c");
	assert_string_equal(dc.argv[2], "sleep 1");
	assert_int_equal(dc.memory_mb, 16); /* the default */
	pvio_tool_domcfg_free(&dc);
}

/* Every bad config fails and the message names file, line and key. */
static void test_errors_name_line_and_key(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{"name='a'\nmemory = 'lots'\n",
		 "vm.cfg:2: memory: expected a number, got a string"},
		{"name='a'\nmemory = 0\n", "vm.cfg:2: memory: 0 MiB"},
		{"name='a'\n\ndisk = 'x'\n",
		 "vm.cfg:3: disk: expected a list, got a string"},
		{"name='a'\ndisk = [\n'file:/i,xvda,w',\n'/i,,zzz'\n]\n",
		 "vm.cfg:4: disk: 'zzz' is not a virtual disk name"},
		{"name='a'\ndisk = ['file:/i,xvda,x']\n",
		 "vm.cfg:2: disk: unknown access mode 'x'"},
		{"name='a'\ndisk = ['/i,qcow2,xvda']\n",
		 "vm.cfg:2: disk: format 'qcow2' is not supported"},
		{"name='a'\ndisk = ['vdev=xvda']\n",
		 "vm.cfg:2: disk: no target"},
		{"name='a'\ndisk = ['/i,,xvda','/j,,xvda']\n",
		 "vm.cfg:2: disk: vdev xvda used twice"},
		{"name='a'\ndisk = ['/i,,xvda,w,extra']\n",
		 "too many positional parameters"},
		{"name='a'\nvif = ['mac=01:00:00:00:00:01']\n",
		 "vm.cfg:2: vif: bad unicast MAC address"},
		{"name='a'\nvif = ['bridge']\n",
		 "vm.cfg:2: vif: expected key=value"},
		{"name='a'\nvif = ['colour=red']\n",
		 "vm.cfg:2: vif: unknown vif key 'colour'"},
		{"name='123'\n", "vm.cfg:1: name: '123' is not a domain name"},
		{"name='a b'\n", "vm.cfg:1: name: 'a b' is not a domain name"},
		{"memory = 4\n", "vm.cfg: no 'name' given"},
		{"name='a'\ncmd = []\n", "vm.cfg:2: cmd: expected a command"},
		{"name='a'\ncmd = ['ls', 3]\n", "vm.cfg:2: cmd: item 2"},
		{"name = 'a\n", "vm.cfg:1: unterminated string"},
		{"name 'a'\n", "vm.cfg:1: syntax error: expected '='"},
		{"name = 'a' 'b'\n",
		 "vm.cfg:1: syntax error: expected the end of the line"},
		{"\n\nx = [1 2]\n",
		 "vm.cfg:3: syntax error: expected ',' or ']'"},
		{"x = [1,\n2,\n",
		 "vm.cfg:3: syntax error: expected a string or "
		 "a number, got end of file"},
		{"9 = 1\n", "vm.cfg:1: syntax error: expected a key"},
		{"x = 12abc\n", "vm.cfg:1: '12abc' is not a number"},
		{"x = \"a\\qb\"\n", "vm.cfg:1: unknown escape"},
		{"name='a'\ndisk = ['/i,,xvda,w,engine=spdk']\n",
		 "vm.cfg:2: disk: unknown engine 'spdk'"},
		{"name='a'\n\ndriver = 'netback'\n",
		 "vm.cfg:3: driver: unknown driver 'netback'"},
		{"name='a'\ndriver = 'blkback'\ncmd = 'x'\n",
		 "vm.cfg:2: driver: a driver domain's command"},
		{"name='a'\ndriver_args = ['-v']\n",
		 "vm.cfg:2: driver_args: needs driver"},
		{"name='a'\ndriver = 'blkback'\ndriver_args = ['-v', 3]\n",
		 "vm.cfg:3: driver_args: item 2"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pvio_tool_domcfg dc;
		struct pvio_tool_err e = {{0}};
		int rc = parse_dc(cases[i].text, &dc, &e, NULL, 0);

		if (rc == 0 || !strstr(e.msg, cases[i].msg))
			fail_msg("case %zu: rc %d, message '%s', want '%s'", i,
				 rc, e.msg, cases[i].msg);
	}
}

static void test_vdev_numbers(void **state)
{
	(void)state;
	/* Values from Xen's docs/misc/vbd-interface.txt and Linux. */
	static const struct {
		const char *vdev;
		uint32_t devid;
	} ok[] = {
		{"xvda", 51712},    {"xvdb", 51728},	 {"xvda1", 51713},
		{"xvdp", 51952},    {"xvdq", 268439552}, {"xvdaa", 268442112},
		{"hda", 768},	    {"hdb", 832},	 {"hdc", 5632},
		{"sda", 2048},	    {"sdb1", 2065},	 {"d0p1", 51713},
		{"d16", 268439552},
	};
	static const char *const bad[] = {
		"xvd", "xvdA", "xvda0", "xvda256", "hdu",    "sdq",  "nvme0",
		"d",   "d1p",  "d1x",	"",	   "xvda1a", "hda64"};
	uint32_t id;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(pvio_tool_vdev_to_devid(ok[i].vdev, &id), 0);
		if (id != ok[i].devid)
			fail_msg("%s: %u, want %u", ok[i].vdev, id,
				 ok[i].devid);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pvio_tool_vdev_to_devid(bad[i], &id) != -EINVAL)
			fail_msg("'%s' accepted as %u", bad[i], id);
}

static void test_disk_forms_equivalent(void **state)
{
	(void)state;
	static const char *const forms[] = {
		"/dev/vg/guest,,hda",
		"/dev/vg/guest,raw,hda,rw",
		"format=raw, vdev=hda, access=rw, target=/dev/vg/guest",
		"raw:/dev/vg/guest,hda,w",
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct pvio_tool_disk d;
		struct pvio_tool_err e = {{0}};

		assert_int_equal(pvio_tool_disk_parse(&d, forms[i], &e), 0);
		assert_string_equal(d.target, "/dev/vg/guest");
		assert_string_equal(d.vdev, "hda");
		assert_int_equal(d.devid, 768);
		assert_true(d.writable);
	}
}

/* backend=, engine= (pvio's extension), r/w, and which target kind each
 * form asks for. */
static void test_disk_keys(void **state)
{
	(void)state;
	struct pvio_tool_disk d;
	struct pvio_tool_err e = {{0}};

	assert_int_equal(pvio_tool_disk_parse(&d,
					      "file:/img,xvdb,r,backend=dd1,"
					      "engine=libaio",
					      &e),
			 0);
	assert_string_equal(d.backend, "dd1");
	assert_string_equal(d.engine, "libaio");
	assert_false(d.writable);
	assert_true(d.file);
	assert_false(d.phy);
	assert_int_equal(d.devid, 51728);

	assert_int_equal(pvio_tool_disk_parse(&d, "phy:/dev/sdz,xvda,w", &e),
			 0);
	assert_true(d.phy);
	assert_false(d.file);
	assert_true(d.writable);
	assert_string_equal(d.backend, "");
	assert_string_equal(d.engine, "");

	assert_int_equal(pvio_tool_disk_parse(&d,
					      "vdev=xvdc, access=ro, "
					      "backendtype=phy, engine=psync, "
					      "target=/dev/x",
					      &e),
			 0);
	assert_true(d.phy);
	assert_false(d.writable);
	assert_string_equal(d.engine, "psync");

	/* Neither prefix: the target decides (checked later). */
	assert_int_equal(pvio_tool_disk_parse(&d, "/img,,xvda", &e), 0);
	assert_false(d.phy);
	assert_false(d.file);
}

/* Targets are checked on this host and made absolute. */
static void test_disk_check(void **state)
{
	(void)state;
	char dir[] = "/tmp/pvio-cfgtest.XXXXXX", img[64], rel[80], cwd[4096];
	struct pvio_tool_domcfg dc;
	struct pvio_tool_err e = {{0}};
	struct pvio_tool_disk d;
	char text[512];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/d.img", dir);
	f = fopen(img, "w");
	assert_non_null(f);
	fclose(f);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);

	/* Relative: made absolute for the driver domain. */
	snprintf(rel, sizeof(rel), "file:d.img,xvda,w");
	assert_int_equal(pvio_tool_disk_parse(&d, rel, &e), 0);
	assert_int_equal(pvio_tool_disk_check(&d, &e), 0);
	assert_string_equal(d.target, img);
	assert_false(d.phy);

	assert_int_equal(pvio_tool_disk_parse(&d, "phy:d.img,xvda,w", &e), 0);
	assert_int_equal(pvio_tool_disk_check(&d, &e), -ENOTBLK);
	assert_non_null(strstr(e.msg, "needs a block device"));

	assert_int_equal(pvio_tool_disk_parse(&d, "file:/dev/null,xvda,r", &e),
			 0);
	assert_int_equal(pvio_tool_disk_check(&d, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "needs a regular file"));

	assert_int_equal(pvio_tool_disk_parse(&d, "/dev/null,,xvda,r", &e), 0);
	assert_int_equal(pvio_tool_disk_check(&d, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "neither a regular file"));

	/* Through a config: the message names file and line. */
	snprintf(text, sizeof(text),
		 "name = 'g'\ndisk = [ 'd.img,,xvda,w',\n"
		 "  'nothere.img,,xvdb,r' ]\n");
	assert_int_equal(parse_dc(text, &dc, &e, NULL, 0), 0);
	assert_int_equal(pvio_tool_domcfg_check(&dc, "vm.cfg", &e), -ENOENT);
	assert_non_null(strstr(e.msg, "vm.cfg:3: disk: nothere.img: No such"));
	pvio_tool_domcfg_free(&dc);

	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(unlink(img), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* driver = "blkback": the command is the daemon plus driver_args. */
static void test_driver_domain_cfg(void **state)
{
	(void)state;
	struct pvio_tool_domcfg dc;
	struct pvio_tool_err e = {{0}};

	assert_int_equal(parse_dc("name = 'dd'\ndriver = 'blkback'\n"
				  "driver_args = ['--engine', 'psync']\n",
				  &dc, &e, NULL, 0),
			 0);
	assert_string_equal(dc.driver, "blkback");
	assert_non_null(dc.argv);
	assert_non_null(strstr(dc.argv[0], "pvio-blkback"));
	assert_string_equal(dc.argv[1], "--engine");
	assert_string_equal(dc.argv[2], "psync");
	assert_null(dc.argv[3]);
	pvio_tool_domcfg_free(&dc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_cmd_string_and_last_wins),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_vdev_numbers),
		cmocka_unit_test(test_disk_forms_equivalent),
		cmocka_unit_test(test_disk_keys),
		cmocka_unit_test(test_disk_check),
		cmocka_unit_test(test_driver_domain_cfg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
