/* SPDX-License-Identifier: MIT */
/*
 * xl.cfg syntax (xl.cfg(5), "Syntax"): a hand-written recursive-descent
 * parser.  The grammar is six productions; libxlutil's flex/bison parser
 * is not packaged for linking (Debian ships only its .so with no stable
 * ABI promise), so pvio carries its own and keeps every error pointed at
 * a line.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

#define CFG_MAX_BYTES (1U << 20) /* a domain config is a few hundred bytes */
#define CFG_MAX_ITEMS 1024U

int pvio_tool_fail(struct pvio_tool_err *e, int rc, const char *fmt, ...)
{
	if (e) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

struct lexer {
	const char *file;
	const char *p, *end;
	int line;
	struct pvio_tool_err *e;
};

/* Skip blanks and comments; newlines too when 'nl' (inside lists). */
static void skip_space(struct lexer *lx, bool nl)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '\n' && nl) {
			lx->line++;
			lx->p++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			lx->p++;
		} else {
			return;
		}
	}
}

static int syntax(struct lexer *lx, const char *what)
{
	char got[16];

	if (lx->p >= lx->end)
		snprintf(got, sizeof(got), "end of file");
	else if (isprint((unsigned char)*lx->p))
		snprintf(got, sizeof(got), "'%c'", *lx->p);
	else
		snprintf(got, sizeof(got), "byte 0x%02x",
			 (unsigned char)*lx->p);
	return pvio_tool_fail(lx->e, -EINVAL, "%s:%d: syntax error: %s, got %s",
			      lx->file, lx->line, what, got);
}

static int parse_string(struct lexer *lx, struct pvio_cfg_value *v)
{
	char quote = *lx->p++;
	size_t cap = 16, n = 0;
	char *s = malloc(cap);

	if (!s)
		return -ENOMEM;
	for (;;) {
		char c;

		if (lx->p >= lx->end || *lx->p == '\n') {
			free(s);
			return pvio_tool_fail(lx->e, -EINVAL,
					      "%s:%d: unterminated string",
					      lx->file, lx->line);
		}
		c = *lx->p++;
		if (c == quote)
			break;
		/* xl takes C escapes in double-quoted strings only. */
		if (c == '\\' && quote == '"' && lx->p < lx->end) {
			c = *lx->p++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case '\\':
			case '"':
			case '\'':
				break;
			default:
				free(s);
				return pvio_tool_fail(lx->e, -EINVAL,
						      "%s:%d: unknown escape "
						      "'\\%c' in string",
						      lx->file, lx->line, c);
			}
		}
		if (c == '\0') {
			free(s);
			return pvio_tool_fail(lx->e, -EINVAL,
					      "%s:%d: NUL byte in string",
					      lx->file, lx->line);
		}
		if (n + 1 >= cap) {
			char *t = realloc(s, cap *= 2);

			if (!t) {
				free(s);
				return -ENOMEM;
			}
			s = t;
		}
		s[n++] = c;
	}
	s[n] = '\0';
	v->type = PVIO_CFG_STRING;
	v->str = s;
	return 0;
}

static int parse_number(struct lexer *lx, struct pvio_cfg_value *v)
{
	char buf[32];
	size_t n = 0;
	char *endp;

	while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) ||
				   *lx->p == '-' || *lx->p == '+')) {
		if (n + 1 >= sizeof(buf))
			return pvio_tool_fail(lx->e, -EINVAL,
					      "%s:%d: number too long",
					      lx->file, lx->line);
		buf[n++] = *lx->p++;
	}
	buf[n] = '\0';
	errno = 0;
	v->num = strtoll(buf, &endp, 0);
	if (n == 0 || *endp || errno)
		return pvio_tool_fail(lx->e, -EINVAL,
				      "%s:%d: '%s' is not a number", lx->file,
				      lx->line, buf);
	v->type = PVIO_CFG_NUMBER;
	return 0;
}

static void value_free(struct pvio_cfg_value *v)
{
	free(v->str);
	for (size_t i = 0; i < v->nitems; i++)
		value_free(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

static int parse_atom(struct lexer *lx, struct pvio_cfg_value *v)
{
	v->line = lx->line;
	if (lx->p < lx->end && (*lx->p == '"' || *lx->p == '\''))
		return parse_string(lx, v);
	if (lx->p < lx->end &&
	    (isdigit((unsigned char)*lx->p) || *lx->p == '-' || *lx->p == '+'))
		return parse_number(lx, v);
	return syntax(lx, "expected a string or a number");
}

/* '[' item, item, ... ']' with newlines and a trailing comma allowed. */
static int parse_list(struct lexer *lx, struct pvio_cfg_value *v)
{
	int rc;

	v->type = PVIO_CFG_LIST;
	v->line = lx->line;
	lx->p++; /* '[' */
	for (;;) {
		struct pvio_cfg_value *items;

		skip_space(lx, true);
		if (lx->p < lx->end && *lx->p == ']') {
			lx->p++;
			return 0;
		}
		if (v->nitems == CFG_MAX_ITEMS)
			return pvio_tool_fail(
				lx->e, -E2BIG, "%s:%d: list longer than %u",
				lx->file, lx->line, CFG_MAX_ITEMS);
		items = realloc(v->items, (v->nitems + 1) * sizeof(*items));
		if (!items)
			return -ENOMEM;
		v->items = items;
		memset(&items[v->nitems], 0, sizeof(*items));
		rc = parse_atom(lx, &items[v->nitems]);
		if (rc)
			return rc;
		v->nitems++;
		skip_space(lx, true);
		if (lx->p < lx->end && *lx->p == ',') {
			lx->p++;
			continue;
		}
		if (lx->p < lx->end && *lx->p == ']')
			continue;
		return syntax(lx, "expected ',' or ']' in list");
	}
}

static int parse_statement(struct lexer *lx, struct pvio_cfg *cfg)
{
	const char *k = lx->p;
	struct pvio_cfg_entry ent = {.line = lx->line};
	int rc;

	while (lx->p < lx->end &&
	       (isalnum((unsigned char)*lx->p) || *lx->p == '_'))
		lx->p++;
	if (lx->p == k || isdigit((unsigned char)*k))
		return syntax(lx, "expected a key");
	ent.key = strndup(k, (size_t)(lx->p - k));
	if (!ent.key)
		return -ENOMEM;
	skip_space(lx, false);
	if (lx->p >= lx->end || *lx->p != '=') {
		free(ent.key);
		return syntax(lx, "expected '=' after the key");
	}
	lx->p++;
	skip_space(lx, false);
	if (lx->p < lx->end && *lx->p == '[')
		rc = parse_list(lx, &ent.value);
	else
		rc = parse_atom(lx, &ent.value);
	if (!rc) {
		skip_space(lx, false);
		if (lx->p < lx->end && *lx->p != '\n' && *lx->p != ';')
			rc = syntax(lx, "expected the end of the line");
	}
	if (rc) {
		free(ent.key);
		value_free(&ent.value);
		return rc;
	}

	/* As in xl, the last assignment wins. */
	for (size_t i = 0; i < cfg->nentries; i++) {
		if (strcmp(cfg->entries[i].key, ent.key) == 0) {
			free(cfg->entries[i].key);
			value_free(&cfg->entries[i].value);
			cfg->entries[i] = ent;
			return 0;
		}
	}
	struct pvio_cfg_entry *t =
		realloc(cfg->entries, (cfg->nentries + 1) * sizeof(*t));
	if (!t) {
		free(ent.key);
		value_free(&ent.value);
		return -ENOMEM;
	}
	cfg->entries = t;
	cfg->entries[cfg->nentries++] = ent;
	return 0;
}

int pvio_cfg_parse(struct pvio_cfg *cfg, const char *file, const char *text,
		   size_t len, struct pvio_tool_err *e)
{
	struct lexer lx = {
		.file = file, .p = text, .end = text + len, .line = 1, .e = e};
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->file = strdup(file);
	if (!cfg->file)
		return -ENOMEM;
	while (!rc) {
		skip_space(&lx, false);
		if (lx.p >= lx.end)
			break;
		if (*lx.p == '\n' || *lx.p == ';') {
			lx.line += *lx.p == '\n';
			lx.p++;
			continue;
		}
		rc = parse_statement(&lx, cfg);
	}
	if (rc) {
		if (rc == -ENOMEM)
			pvio_tool_fail(e, rc, "%s: out of memory", file);
		pvio_cfg_free(cfg);
	}
	return rc;
}

int pvio_cfg_load(struct pvio_cfg *cfg, const char *path,
		  struct pvio_tool_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (fd < 0)
		return pvio_tool_fail(e, -errno, "%s: %s", path,
				      strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > CFG_MAX_BYTES) {
		close(fd);
		return pvio_tool_fail(e, -EINVAL,
				      "%s: not a regular file of at most %u "
				      "bytes",
				      path, CFG_MAX_BYTES);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc) {
		free(buf);
		return pvio_tool_fail(e, rc, "%s: %s", path, strerror(-rc));
	}
	rc = pvio_cfg_parse(cfg, path, buf, (size_t)n, e);
	free(buf);
	return rc;
}

void pvio_cfg_free(struct pvio_cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nentries; i++) {
		free(cfg->entries[i].key);
		value_free(&cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->file);
	memset(cfg, 0, sizeof(*cfg));
}

const struct pvio_cfg_entry *pvio_cfg_find(const struct pvio_cfg *cfg,
					   const char *key)
{
	for (size_t i = 0; i < cfg->nentries; i++)
		if (strcmp(cfg->entries[i].key, key) == 0)
			return &cfg->entries[i];
	return NULL;
}
