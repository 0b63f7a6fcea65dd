/*
 * test_userdata.c: userdata.c, user-data in each of its forms (#gitstrap,
 * #cloud-config, MIME multipart with base64 and gzip'd parts, gzip) and the
 * one line each malformed input gives.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <zlib.h>

#include "gitstrap.h"

#define CONF \
	"data:\n" \
	"  repo: https://example.com/data.git\n" \
	"  target: /srv/www\n"

#define CLOUD \
	"#cloud-config\n" \
	"packages: [nginx]\n" \
	"gitstrap:\n" \
	"  data:\n" \
	"    repo: https://example.com/data.git\n" \
	"    target: /srv/www\n"

#define BOUNDARY "===============4234233431236497021=="
#define MIME_HEAD \
	"Content-Type: multipart/mixed; boundary=\"" BOUNDARY "\"\n" \
	"MIME-Version: 1.0\n" \
	"\n"
#define PART(type, enc) \
	"--" BOUNDARY "\n" \
	"Content-Type: " type "; charset=\"us-ascii\"\n" \
	"MIME-Version: 1.0\n" \
	"Content-Transfer-Encoding: " enc "\n" \
	"\n"
#define SHELL_PART \
	PART("text/x-shellscript", "7bit") \
	"#!/bin/sh\n" \
	"echo hello\n" \
	"\n"
#define MIME_END "--" BOUNDARY "--\n"

static struct gs_config *
ud_ok(const char *buf, size_t len)
{
	struct gs_config	*c = NULL;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;

	memset(&err, 0, sizeof(err));
	if (userdata_config(&c, "ud", buf, len, &diag, &err) == -1)
		fail_msg("unexpected error: %s", err.msg);
	assert_int_equal(diag.n, 0);
	assert_non_null(c);
	assert_string_equal(c->data.repo.url, "https://example.com/data.git");
	assert_string_equal(c->data.target, "/srv/www");
	return c;
}

static void
ud_expect(const char *buf, size_t len, const char *want)
{
	struct gs_config	*c = (struct gs_config *)1;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(userdata_config(&c, "ud", buf, len, &diag, &err), -1);
	assert_null(c);
	assert_int_equal(gs_error_exit_code(&err), 2);
	assert_string_equal(err.msg, want);
	/* one problem, one line */
	assert_int_equal(diag.n, 1);
	assert_string_equal(diag.msgs[0], want);
	diag_free(&diag);
}

#define OK(s)		config_free(ud_ok((s), strlen(s)))
#define EXPECT(s, w)	ud_expect((s), strlen(s), (w))

/* gzip in memory, with zlib */
static char *
gz(const void *buf, size_t len, size_t *outlen)
{
	z_stream	 zs;
	char		*out;
	size_t		 cap = len + 1024;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9,
	    Z_DEFAULT_STRATEGY), Z_OK);
	out = xmalloc(cap);
	zs.next_in = (Bytef *)(uintptr_t)buf;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*outlen = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

/* base64 in lines of 76, as MIME writes it */
static char *
b64(const void *buf, size_t len)
{
	gchar	*flat = g_base64_encode(buf, len);
	char	*out;
	size_t	 n = strlen(flat), i, o = 0;

	out = xmalloc(n + n / 76 + 2);
	for (i = 0; i < n; i++) {
		out[o++] = flat[i];
		if ((i + 1) % 76 == 0)
			out[o++] = '\n';
	}
	out[o++] = '\n';
	out[o] = '\0';
	g_free(flat);
	return out;
}

/* a multipart message with one base64 part of this content */
static char *
mime_b64(const char *type, const void *buf, size_t len)
{
	char	*enc = b64(buf, len), *msg;

	xasprintf(&msg, "%s%s--%s\nContent-Type: %s\nMIME-Version: 1.0\n"
	    "Content-Transfer-Encoding: base64\n\n%s\n%s", MIME_HEAD,
	    SHELL_PART, BOUNDARY, type, enc, MIME_END);
	free(enc);
	return msg;
}

/* ------------------------------------------------------------------ */
/* #gitstrap */

static void
t_gitstrap(void **state)
{
	struct gs_config	*c;

	OK("#gitstrap\n" CONF);
	OK("#gitstrap  \r\n" CONF);
	c = ud_ok("#gitstrap\n" CONF, strlen("#gitstrap\n" CONF));
	assert_string_equal(c->file, "ud");
	config_free(c);
}

/* anchors defined inside an anchored collection (the anchor list grows) */
static void
t_gitstrap_anchors(void **state)
{
	const char		*doc = "#gitstrap\n" CONF
	    "  hooks:\n"
	    "    before_switch: &m [&s \"true\", *s, &t \"echo\"]\n"
	    "    after_switch: *m\n";
	struct gs_config	*c;

	c = ud_ok(doc, strlen(doc));
	assert_int_equal(c->data.before_switch.n, 3);
	assert_int_equal(c->data.after_switch.n, 3);
	assert_string_equal(c->data.after_switch.v[2], "echo");
	config_free(c);
}

static void
t_gitstrap_bad(void **state)
{
	EXPECT("#gitstrap\ndata:\n  target: /srv/www\n",
	    "ud:3:3: data: missing required key \"repo\"");
	EXPECT("#gitstrap\n" CONF "  interval: [5m\n",
	    "ud:6:1: did not find expected ',' or ']' (while parsing a flow "
	    "sequence)");
	EXPECT("#gitstrap\n", "ud:1:1: config: empty document");
	EXPECT("#gitstrap\n" CONF "  keep_releases: many\n",
	    "ud:5:18: data.keep_releases: expected an integer, got \"many\"");
	EXPECT("#gitstrap\n" CONF "data: {}\n",
	    "ud:5:1: duplicate key \"data\"");
}

/* ------------------------------------------------------------------ */
/* #cloud-config */

static void
t_cloud_config(void **state)
{
	OK(CLOUD);
	OK(CLOUD "runcmd:\n  - [ ls, -l ]\nwrite_files: []\n");
}

static void
t_cloud_config_bad(void **state)
{
	EXPECT("#cloud-config\npackages: [nginx]\n",
	    "ud: #cloud-config has no top-level gitstrap: key");
	EXPECT("#cloud-config\n- a\n- b\n",
	    "ud:2:1: #cloud-config: expected a mapping, got a sequence");
	EXPECT("#cloud-config\ngitstrap: [a]\n",
	    "ud:2:11: config: expected a mapping, got a sequence");
	/* positions are the document's, not the sub-node's */
	EXPECT("#cloud-config\npackages: [nginx]\ngitstrap:\n  data:\n"
	    "    target: /srv/www\n",
	    "ud:5:5: data: missing required key \"repo\"");
	EXPECT(CLOUD "packages: []\n", "ud:7:1: duplicate key \"packages\"");
}

/* ------------------------------------------------------------------ */
/* MIME multipart */

static void
t_mime(void **state)
{
	char	*msg, *z;
	size_t	 zlen;

	/* as cloud-init's write-mime-multipart makes it */
	OK(MIME_HEAD SHELL_PART PART("text/cloud-config", "7bit") CLOUD "\n"
	    MIME_END);
	OK(MIME_HEAD SHELL_PART PART("text/x-gitstrap-config", "7bit") CONF
	    "\n" MIME_END);
	/* cloud-config parts without gitstrap: are cloud-init's alone */
	OK(MIME_HEAD PART("text/cloud-config", "7bit") "packages: [a]\n\n"
	    PART("text/x-gitstrap-config", "7bit") CONF "\n" MIME_END);
	/* text/plain goes by its first line, as in cloud-init */
	OK(MIME_HEAD PART("text/plain", "7bit") "#gitstrap\n" CONF "\n"
	    MIME_END);
	/* base64 */
	msg = mime_b64("text/x-gitstrap-config", CONF, strlen(CONF));
	OK(msg);
	free(msg);
	/* gzip'd, then base64, in a part */
	z = gz(CLOUD, strlen(CLOUD), &zlen);
	msg = mime_b64("text/cloud-config", z, zlen);
	OK(msg);
	free(msg);
	/* application/gzip: the content says what it is */
	msg = mime_b64("application/gzip", z, zlen);
	OK(msg);
	free(msg);
	free(z);
	/* other parts are cloud-init's: not even decoded */
	OK(MIME_HEAD PART("text/x-shellscript", "base64") "!!not base64!!\n\n"
	    PART("text/x-gitstrap-config", "7bit") CONF "\n" MIME_END);
	/* nested multipart */
	OK(MIME_HEAD "--" BOUNDARY "\n"
	    "Content-Type: multipart/mixed; boundary=\"inner\"\n\n"
	    "--inner\nContent-Type: text/x-gitstrap-config\n\n" CONF "\n"
	    "--inner--\n\n" MIME_END);
}

static void
t_mime_bad(void **state)
{
	EXPECT(MIME_HEAD SHELL_PART PART("text/cloud-config", "7bit")
	    "#cloud-config\ngitstrap:\n  data:\n    target: /srv/www\n\n"
	    MIME_END,
	    "ud part 2 (text/cloud-config):4:5: data: missing required "
	    "key \"repo\"");
	EXPECT("Content-Type: multipart/mixed; boundary=\"other\"\n\n"
	    SHELL_PART MIME_END,
	    "ud: MIME: boundary \"other\" not found: no parts");
	EXPECT(MIME_HEAD SHELL_PART PART("text/x-gitstrap-config", "7bit")
	    CONF "\n",
	    "ud: MIME: truncated (no closing boundary)");
	EXPECT("Content-Type: multipart/mixed\n\n" SHELL_PART MIME_END,
	    "ud: MIME: multipart without a boundary parameter");
	EXPECT(MIME_HEAD SHELL_PART MIME_END,
	    "ud: no gitstrap config in any part (a text/x-gitstrap-config "
	    "part, or text/cloud-config with a gitstrap: key)");
	EXPECT(MIME_HEAD PART("text/x-gitstrap-config", "7bit") CONF "\n"
	    PART("text/cloud-config", "7bit") CLOUD "\n" MIME_END,
	    "ud part 2 (text/cloud-config): a second gitstrap config (the "
	    "first is in ud part 1 (text/x-gitstrap-config))");
	EXPECT(MIME_HEAD PART("text/x-gitstrap-config", "base64")
	    "ZGF0YTo*CiAgcmVwbzogaHR0cHM6Ly9leGFtcGxlLmNvbS9kYXRhLmdpdAo=\n\n"
	    MIME_END,
	    "ud part 1 (text/x-gitstrap-config): base64: invalid character "
	    "0x2a");
	EXPECT(MIME_HEAD PART("text/x-gitstrap-config", "base64")
	    "ZGF0YToKICByZXBvOiBodHRwczovL2V4YW1wbGUuY29tL2RhdGEuZ2l\n\n"
	    MIME_END,
	    "ud part 1 (text/x-gitstrap-config): base64: truncated (55 "
	    "characters, not a multiple of 4)");
}

/* ------------------------------------------------------------------ */
/* gzip */

static void
t_gzip(void **state)
{
	char	*doc, *p, *z;
	size_t	 len, zlen, i;

	/*
	 * EC2 takes 16 KB of user-data: gzip is how a larger document fits.
	 * A #cloud-config over 16 KB (cloud-init files beside gitstrap's
	 * config) that compresses under it.
	 */
	len = strlen(CLOUD) + 64 + 600 * 48;
	doc = p = xmalloc(len + 1);
	p += sprintf(p, "%swrite_files:\n  - path: /etc/motd\n    content: |\n",
	    CLOUD);
	for (i = 0; i < 600; i++)
		p += sprintf(p, "      line %04zu of the message of the day\n",
		    i);
	len = (size_t)(p - doc);
	assert_true(len > 16 * 1024);
	z = gz(doc, len, &zlen);
	assert_true(zlen < 16 * 1024);
	config_free(ud_ok(z, zlen));
	free(z);
	free(doc);
}

/* found by fuzzing: an empty part inside a nested multipart */
static void
t_empty_part(void **state)
{
	(void)state;
	EXPECT("Content-Type: multipart/mixed; boundary=\"==b==\"\n"
	    "MIME-Version: 1.0\n\n--==b==\n"
	    "Content-Type: multipart/mixed; boundary=\"in\"\n\n--in\n"
	    "Content-Type: text/plain\nrepo: https://example.com/0\n\n"
	    "--in--\n\n--==b==--\n",
	    "ud: no gitstrap config in any part (a text/x-gitstrap-config "
	    "part, or text/cloud-config with a gitstrap: key)");
}

/*
 * Found by fuzzing: a multipart without a boundary parameter but with a
 * long 8-bit parameter. Asking GMime for the boundary made it generate one
 * and re-encode the header, which never ended; the boundary is only read.
 */
static void
t_no_boundary_8bit_param(void **state)
{
	char	buf[160];
	size_t	len = 0;

	(void)state;
#define PUT(s) do { memcpy(buf + len, s, strlen(s)); len += strlen(s); } \
	while (0)
#define FILL(c, n) do { memset(buf + len, c, n); len += n; } while (0)
	PUT("Content-Type: multipart/mixed; boufConten");
	FILL(0xff, 28);
	PUT("tdary=\"tent-Type:ultip\xdf");
	FILL(0xff, 61);
	PUT("art=");
#undef PUT
#undef FILL
	assert_int_equal(len, 157);
	ud_expect(buf, len, "ud: MIME: truncated (no closing boundary)");
}

static void
t_gzip_bad(void **state)
{
	char	*big, *z, *msg;
	size_t	 zlen;

	z = gz(CLOUD, strlen(CLOUD), &zlen);
	/* truncated */
	ud_expect(z, zlen - 12, "ud: gzip: truncated");
	/* a bad checksum */
	z[zlen - 8] ^= 0x55;
	ud_expect(z, zlen, "ud: gzip: incorrect data check");
	z[zlen - 8] ^= 0x55;
	/* trailing junk */
	z = xreallocarray(z, zlen + 4, 1);
	memcpy(z + zlen, "junk", 4);
	ud_expect(z, zlen + 4,
	    "ud: gzip: trailing data after the compressed stream");
	/* truncated inside a part */
	msg = mime_b64("text/cloud-config", z, zlen - 12);
	EXPECT(msg, "ud part 2 (text/cloud-config): gzip: truncated");
	free(msg);
	free(z);
	/* a bomb: 8 MiB of newlines in a few KB */
	big = xmalloc(8 << 20);
	memset(big, '\n', 8 << 20);
	memcpy(big, "#gitstrap\n", 10);
	z = gz(big, 8 << 20, &zlen);
	assert_true(zlen < 64 * 1024);
	ud_expect(z, zlen, "ud: gzip: larger than 1048576 bytes uncompressed");
	free(z);
	free(big);
}

/* ------------------------------------------------------------------ */
/* anything else */

static void
t_other(void **state)
{
	EXPECT("#!/bin/sh\necho hi\n", "ud: unknown user-data format: first "
	    "line \"#!/bin/sh\" (expected #gitstrap, #cloud-config, MIME "
	    "multipart or gzip)");
	EXPECT("#gitstrapper\n" CONF, "ud: unknown user-data format: first "
	    "line \"#gitstrapper\" (expected #gitstrap, #cloud-config, MIME "
	    "multipart or gzip)");
	EXPECT("", "ud: empty user-data");
	ud_expect("#gitstrap\ndata: \0\n", 18,
	    "ud:2:7: input contains a NUL byte");
	EXPECT("#gitstrap\ndata: \xff\n",
	    "ud:2:7: invalid leading UTF-8 octet (0xff)");
}

static int
setup(void **state)
{
	unsetenv("GITSTRAP_STATE_DIR");
	return userdata_lib_init();
}

static int
teardown(void **state)
{
	userdata_lib_shutdown();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_gitstrap),
		cmocka_unit_test(t_gitstrap_anchors),
		cmocka_unit_test(t_gitstrap_bad),
		cmocka_unit_test(t_cloud_config),
		cmocka_unit_test(t_cloud_config_bad),
		cmocka_unit_test(t_mime),
		cmocka_unit_test(t_mime_bad),
		cmocka_unit_test(t_gzip),
		cmocka_unit_test(t_gzip_bad),
		cmocka_unit_test(t_empty_part),
		cmocka_unit_test(t_no_boundary_8bit_param),
		cmocka_unit_test(t_other),
	};

	log_init("test_userdata", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
