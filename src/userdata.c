/*
 * userdata.c: instance user-data -> a config.
 *
 * Where it comes from (userdata_load): a config file (-c), a user-data
 * file, a NoCloud seed directory, or the instance metadata service (with
 * cloud-init's own copy preferred when cloud-init already fetched it).
 *
 * What it may look like (userdata_config), layer by layer:
 *
 *	gzip		detected by its magic bytes, at any layer
 *	MIME multipart	as cloud-init's write-mime-multipart makes it;
 *			parts may be base64 and gzip'd, or nested
 *	#gitstrap	a gitstrap.yml document
 *	#cloud-config	the document under a top-level gitstrap: key, so
 *			that it can sit beside cloud-init's modules
 *
 * User-data is untrusted input: every layer is bounded (size after
 * decompression, MIME nesting), and anything malformed is one line naming
 * the part and the problem, as a config error (exit 2).
 *
 * GMime is used for MIME and its transfer encodings, zlib for gzip.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <zlib.h>

#include "gitstrap.h"

/* any layer, decompressed */
#define USERDATA_MAX		(1024 * 1024)
#define USERDATA_MAX_DEPTH	8		/* gzip and MIME layers */
#define USERDATA_NOCLOUD_DIR	"/var/lib/cloud/seed/nocloud"
#define USERDATA_CLOUD_DIR	"/var/lib/cloud"

/* what a walk through the layers found */
struct userdata_walk {
	struct gs_config	*conf;	/* the config, once found */
	char			*where;	/* the layer it came from */
	struct gs_diag		*diag;
	struct gs_error		*err;
};

static int	userdata_layer(struct userdata_walk *, const char *name,
		    const char *buf, size_t len, int depth);

/*
 * GMime (and glib's type system under it) is set up the first time a MIME
 * document is met: the resident loop of an instance configured otherwise
 * never pays for it in memory.
 */
static int	userdata_gmime_ready;

static void
userdata_gmime(void)
{
	if (!userdata_gmime_ready) {
		g_mime_init();
		userdata_gmime_ready = 1;
	}
}

int
userdata_lib_init(void)
{
	return 0;
}

void
userdata_lib_shutdown(void)
{
	if (userdata_gmime_ready) {
		g_mime_shutdown();
		userdata_gmime_ready = 0;
	}
}

static int
userdata_seterr(struct userdata_walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* a problem with the input: one line, a config error (exit 2) */
static int
userdata_seterr(struct userdata_walk *w, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	gs_error_set(w->err, GS_E_CONFIG, 0, "%s", msg);
	free(msg);
	return -1;
}

int
userdata_is_gzip(const void *buf, size_t len)
{
	const unsigned char	*p = buf;

	return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/*
 * Decompress a gzip stream (several members are fine, as gzip(1) makes
 * them) into a NUL-terminated buffer of at most USERDATA_MAX bytes.
 */
static int
userdata_gunzip(struct userdata_walk *w, const char *name, const char *buf,
    size_t len, char **out, size_t *outlen)
{
	z_stream	 zs;
	char		*p = NULL;
	size_t		 cap = 0, total = 0;
	int		 rc, ret = -1;

	*out = NULL;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		fatalx("userdata.zlib", "msg=\"inflateInit2 failed\"");
	zs.next_in = (Bytef *)(uintptr_t)buf;
	zs.avail_in = (uInt)len;
	for (;;) {
		if (total == cap) {
			if (cap > USERDATA_MAX) {
				userdata_seterr(w, "%s: gzip: larger than %d "
				    "bytes uncompressed", name, USERDATA_MAX);
				goto out;
			}
			cap = cap == 0 ? 64 * 1024 : cap * 2;
			if (cap > USERDATA_MAX + 1)
				cap = USERDATA_MAX + 1;
			p = xreallocarray(p, cap + 1, 1);
		}
		zs.next_out = (Bytef *)p + total;
		zs.avail_out = (uInt)(cap - total);
		rc = inflate(&zs, Z_NO_FLUSH);
		total = cap - zs.avail_out;
		if (rc == Z_STREAM_END) {
			if (zs.avail_in == 0)
				break;
			if (!userdata_is_gzip(zs.next_in, zs.avail_in)) {
				userdata_seterr(w, "%s: gzip: trailing data "
				    "after the compressed stream", name);
				goto out;
			}
			inflateReset(&zs);	/* the next member */
			continue;
		}
		if (rc == Z_MEM_ERROR)
			fatalx("userdata.zlib", "msg=\"out of memory\"");
		if (rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR ||
		    rc == Z_NEED_DICT) {
			userdata_seterr(w, "%s: gzip: %s", name,
			    zs.msg != NULL ? zs.msg : "invalid data");
			goto out;
		}
		/* no progress with output room left: the input ran out */
		if (zs.avail_out > 0 &&
		    (zs.avail_in == 0 || rc == Z_BUF_ERROR)) {
			userdata_seterr(w, "%s: gzip: truncated", name);
			goto out;
		}
	}
	if (total > USERDATA_MAX) {
		userdata_seterr(w, "%s: gzip: larger than %d bytes "
		    "uncompressed", name, USERDATA_MAX);
		goto out;
	}
	p[total] = '\0';
	*out = p;
	*outlen = total;
	p = NULL;
	ret = 0;
out:
	inflateEnd(&zs);
	free(p);
	return ret;
}

/* the first line, without its line break and trailing blanks */
static size_t
userdata_first_line(const char *buf, size_t len)
{
	size_t	n = 0;

	while (n < len && buf[n] != '\n')
		n++;
	while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
	    buf[n - 1] == '\t'))
		n--;
	return n;
}

static int
userdata_line_is(const char *buf, size_t len, const char *what)
{
	return userdata_first_line(buf, len) == strlen(what) &&
	    memcmp(buf, what, strlen(what)) == 0;
}

/* does it start like a MIME message (a header cloud-init would write)? */
static int
userdata_is_mime(const char *buf, size_t len)
{
	static const char *const hdrs[] = { "content-type:", "mime-version:",
	    NULL };
	size_t	i, n;

	for (i = 0; hdrs[i] != NULL; i++) {
		n = strlen(hdrs[i]);
		if (len >= n && strncasecmp(buf, hdrs[i], n) == 0)
			return 1;
	}
	return 0;
}

/* keep the config from this layer; a second one is an error */
static int
userdata_found(struct userdata_walk *w, const char *name,
    const struct yml_node *node)
{
	struct gs_config	*c = NULL;

	if (w->conf != NULL)
		return userdata_seterr(w, "%s: a second gitstrap config "
		    "(the first is in %s)", name, w->where);
	if (config_from_node(&c, name, node, w->diag, w->err) == -1)
		return -1;
	w->conf = c;
	w->where = xstrdup(name);
	return 0;
}

/*
 * A YAML document: the whole of it is the config (gitstrap), or its
 * gitstrap: key is (cloud-config; optional says that a document without
 * that key is not an error but belongs to cloud-init alone).
 */
static int
userdata_yaml(struct userdata_walk *w, const char *name, const char *buf,
    size_t len, int cloud_config, int optional)
{
	struct yml_doc		*doc = NULL;
	const struct yml_node	*node;
	int			 ret = -1;

	if (yml_parse(&doc, name, buf, len, w->err) == -1) {
		w->err->src = GS_E_CONFIG;
		return -1;
	}
	if (!cloud_config) {
		ret = userdata_found(w, name, doc->root);
		goto out;
	}
	if (doc->root != NULL && doc->root->type != YML_MAP) {
		userdata_seterr(w, "%s:%d:%d: #cloud-config: expected a "
		    "mapping, got %s", name, doc->root->line, doc->root->col,
		    yml_type_name(doc->root->type));
		goto out;
	}
	if ((node = yml_get(doc->root, "gitstrap")) == NULL) {
		if (optional)
			ret = 0;
		else
			userdata_seterr(w, "%s: #cloud-config has no top-level "
			    "gitstrap: key", name);
		goto out;
	}
	ret = userdata_found(w, name, node);
out:
	yml_free(doc);
	return ret;
}

/* is the raw text of a base64 part well formed? (GMime skips junk) */
static int
userdata_check_base64(struct userdata_walk *w, const char *name,
    const unsigned char *p, size_t len)
{
	size_t	i, n = 0, pad = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
		    p[i] == '\n')
			continue;
		if (p[i] == '=') {
			pad++;
			n++;
			continue;
		}
		if (pad > 0)
			return userdata_seterr(w, "%s: base64: data after "
			    "the padding", name);
		if (!((p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '+' ||
		    p[i] == '/'))
			return userdata_seterr(w, "%s: base64: invalid "
			    "character 0x%02x", name, p[i]);
		n++;
	}
	if (n % 4 != 0 || pad > 2)
		return userdata_seterr(w, "%s: base64: truncated (%zu "
		    "characters, not a multiple of 4)", name, n);
	return 0;
}

/* copy a GMime stream into a buffer of at most USERDATA_MAX bytes */
static int
userdata_stream_bytes(struct userdata_walk *w, const char *name,
    GMimeStream *src, int decode, GMimeDataWrapper *dw, char **out,
    size_t *lenp)
{
	GMimeStream	*mem;
	GByteArray	*ba;
	ssize_t		 n;
	int		 ret = -1;

	*out = NULL;
	mem = g_mime_stream_mem_new();
	if (decode)
		n = g_mime_data_wrapper_write_to_stream(dw, mem);
	else {
		g_mime_stream_reset(src);
		n = g_mime_stream_write_to_stream(src, mem);
	}
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	if (n == -1)
		userdata_seterr(w, "%s: cannot read the part", name);
	else if (ba->len > USERDATA_MAX)
		userdata_seterr(w, "%s: larger than %d bytes", name,
		    USERDATA_MAX);
	else {
		*out = xmalloc(ba->len + 1);
		/* an empty part has no buffer at all */
		if (ba->len > 0)
			memcpy(*out, ba->data, ba->len);
		(*out)[ba->len] = '\0';
		*lenp = ba->len;
		ret = 0;
	}
	g_object_unref(mem);
	return ret;
}

/* one leaf part of a MIME message */
static int
userdata_part(struct userdata_walk *w, const char *name, GMimePart *part,
    int depth)
{
	GMimeContentType	*ct;
	GMimeDataWrapper	*dw;
	char			*buf = NULL, *raw = NULL, *plain = NULL;
	size_t			 len, rawlen, plainlen;
	int			 ret = -1;

	ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	/* shell scripts, boothooks...: cloud-init's, not even decoded */
	if (!g_mime_content_type_is_type(ct, "text", "x-gitstrap-config") &&
	    !g_mime_content_type_is_type(ct, "text", "cloud-config") &&
	    !g_mime_content_type_is_type(ct, "text", "plain") &&
	    !g_mime_content_type_is_type(ct, "application", "gzip") &&
	    !g_mime_content_type_is_type(ct, "application", "x-gzip"))
		return 0;
	if ((dw = g_mime_part_get_content(part)) == NULL)
		return 0;	/* an empty part: nothing for us */
	if (g_mime_part_get_content_encoding(part) ==
	    GMIME_CONTENT_ENCODING_BASE64) {
		if (userdata_stream_bytes(w, name,
		    g_mime_data_wrapper_get_stream(dw), 0, NULL, &raw,
		    &rawlen) == -1 ||
		    userdata_check_base64(w, name, (unsigned char *)raw,
		    rawlen) == -1)
			goto out;
	}
	if (userdata_stream_bytes(w, name, NULL, 1, dw, &buf, &len) == -1)
		goto out;
	/* as cloud-init does: gzip'd content whatever the declared type */
	if (userdata_is_gzip(buf, len)) {
		if (userdata_gunzip(w, name, buf, len, &plain, &plainlen) == -1)
			goto out;
		free(buf);
		buf = plain;
		len = plainlen;
		/* a gzip part's real type is in its content */
		if (g_mime_content_type_is_type(ct, "application", "gzip") ||
		    g_mime_content_type_is_type(ct, "application", "x-gzip")) {
			ret = userdata_layer(w, name, buf, len, depth + 1);
			goto out;
		}
	}
	if (g_mime_content_type_is_type(ct, "text", "x-gitstrap-config"))
		ret = userdata_yaml(w, name, buf, len, 0, 0);
	else if (g_mime_content_type_is_type(ct, "text", "cloud-config"))
		ret = userdata_yaml(w, name, buf, len, 1, 1);
	else if (g_mime_content_type_is_type(ct, "text", "plain") &&
	    (userdata_line_is(buf, len, "#gitstrap") ||
	    userdata_line_is(buf, len, "#cloud-config")))
		/* cloud-init goes by the first line of text/plain parts */
		ret = userdata_yaml(w, name, buf, len,
		    userdata_line_is(buf, len, "#cloud-config"), 1);
	else
		ret = 0;	/* text/plain of another kind: not ours */
out:
	free(buf);
	free(raw);
	return ret;
}

/* a MIME object: a leaf part, or a multipart to walk */
static int
userdata_mime_object(struct userdata_walk *w, const char *origin,
    const char *num, GMimeObject *obj, int depth)
{
	GMimeContentType	*ct;
	GMimeObject		*sub;
	char			*type, *name, *subnum;
	int			 i, n, ret = 0;

	if (depth > USERDATA_MAX_DEPTH)
		return userdata_seterr(w, "%s: MIME nesting too deep", origin);
	if (GMIME_IS_MULTIPART(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n && ret == 0; i++) {
			sub = g_mime_multipart_get_part(GMIME_MULTIPART(obj),
			    i);
			if (num[0] != '\0')
				xasprintf(&subnum, "%s.%d", num, i + 1);
			else
				xasprintf(&subnum, "%d", i + 1);
			ret = userdata_mime_object(w, origin, subnum, sub,
			    depth + 1);
			free(subnum);
		}
		return ret;
	}
	if (!GMIME_IS_PART(obj))
		return 0;	/* message/rfc822 and such: not ours */
	ct = g_mime_object_get_content_type(obj);
	type = g_mime_content_type_get_mime_type(ct);
	xasprintf(&name, "%s part %s (%s)", origin, num[0] != '\0' ? num : "1",
	    type);
	g_free(type);
	ret = userdata_part(w, name, GMIME_PART(obj), depth);
	free(name);
	return ret;
}

struct userdata_mime_warn {
	GMimeParserWarning	 code;
	char			 item[80];
};

static void
userdata_mime_warn_cb(gint64 offset __attribute__((unused)),
    GMimeParserWarning code,
    const gchar *item, gpointer arg)
{
	struct userdata_mime_warn	*mw = arg;

	if (mw->code != 0)
		return;		/* the first one says it */
	switch (code) {
	case GMIME_WARN_MALFORMED_MULTIPART:
	case GMIME_WARN_TRUNCATED_MESSAGE:
	case GMIME_WARN_MALFORMED_MESSAGE:
	case GMIME_WARN_INVALID_CONTENT_TYPE:
	case GMIME_CRIT_INVALID_HEADER_NAME:
	case GMIME_CRIT_CONFLICTING_HEADER:
	case GMIME_CRIT_CONFLICTING_PARAMETER:
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
	case GMIME_CRIT_NESTING_OVERFLOW:
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		mw->code = code;
		util_quote(mw->item, sizeof(mw->item), item != NULL ? item : "",
		    item != NULL ? strlen(item) : 0);
		break;
	default:
		break;
	}
}

static const char *
userdata_mime_problem(GMimeParserWarning code)
{
	switch (code) {
	case GMIME_WARN_MALFORMED_MULTIPART:
		return "multipart without parts (is the boundary right?)";
	case GMIME_WARN_TRUNCATED_MESSAGE:
		return "truncated (no closing boundary)";
	case GMIME_WARN_INVALID_CONTENT_TYPE:
		return "invalid Content-Type";
	case GMIME_CRIT_INVALID_HEADER_NAME:
		return "invalid header name";
	case GMIME_CRIT_CONFLICTING_HEADER:
		return "conflicting headers";
	case GMIME_CRIT_CONFLICTING_PARAMETER:
		return "conflicting header parameters";
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
		return "multipart without a boundary parameter";
	case GMIME_CRIT_NESTING_OVERFLOW:
		return "nesting too deep";
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		return "a part without headers or content";
	default:
		return "malformed message";
	}
}

static int
userdata_mime(struct userdata_walk *w, const char *name, const char *buf,
    size_t len, int depth)
{
	struct userdata_mime_warn	 mw;
	GMimeStream			*stream;
	GMimeParser			*parser;
	GMimeParserOptions		*opts;
	GMimeMessage			*msg;
	GMimeObject			*top;
	const char			*boundary;
	int				 ret = -1;

	userdata_gmime();
	memset(&mw, 0, sizeof(mw));
	stream = g_mime_stream_mem_new_with_buffer(buf, len);
	parser = g_mime_parser_new_with_stream(stream);
	opts = g_mime_parser_options_new();
	g_mime_parser_options_set_warning_callback(opts, userdata_mime_warn_cb,
	    &mw);
	msg = g_mime_parser_construct_message(parser, opts);
	if (msg == NULL) {
		userdata_seterr(w, "%s: MIME: cannot parse the message", name);
		goto out;
	}
	top = g_mime_message_get_mime_part(msg);
	if (mw.code != GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY && top != NULL &&
	    GMIME_IS_MULTIPART(top) &&
	    g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 0 &&
	    (boundary = g_mime_object_get_content_type_parameter(top,
	    "boundary")) != NULL) {
		util_quote(mw.item, sizeof(mw.item), boundary,
		    strlen(boundary));
		userdata_seterr(w, "%s: MIME: boundary \"%s\" not found: no "
		    "parts", name, mw.item);
		goto out;
	}
	if (mw.code != 0) {
		if (mw.code != GMIME_CRIT_INVALID_HEADER_NAME &&
		    mw.code != GMIME_WARN_INVALID_CONTENT_TYPE)
			mw.item[0] = '\0';
		userdata_seterr(w, "%s: MIME: %s%s%s%s", name,
		    userdata_mime_problem(mw.code), mw.item[0] != '\0' ?
		    " \"" : "", mw.item, mw.item[0] != '\0' ? "\"" : "");
		goto out;
	}
	if (top == NULL) {
		userdata_seterr(w, "%s: MIME: no content", name);
		goto out;
	}
	ret = userdata_mime_object(w, name, "", top, depth);
out:
	if (msg != NULL)
		g_object_unref(msg);
	g_mime_parser_options_free(opts);
	g_object_unref(parser);
	g_object_unref(stream);
	return ret;
}

/* one layer: gzip, MIME, or a document, told apart by how it starts */
static int
userdata_layer(struct userdata_walk *w, const char *name, const char *buf,
    size_t len, int depth)
{
	char	*plain = NULL, q[40];
	size_t	 plainlen;
	int	 ret;

	if (depth > USERDATA_MAX_DEPTH)
		return userdata_seterr(w, "%s: nested too deep (gzip and MIME "
		    "layers)", name);
	if (len > USERDATA_MAX)
		return userdata_seterr(w, "%s: larger than %d bytes", name,
		    USERDATA_MAX);
	if (userdata_is_gzip(buf, len)) {
		if (userdata_gunzip(w, name, buf, len, &plain, &plainlen) == -1)
			return -1;
		ret = userdata_layer(w, name, plain, plainlen, depth + 1);
		free(plain);
		return ret;
	}
	if (userdata_line_is(buf, len, "#gitstrap"))
		return userdata_yaml(w, name, buf, len, 0, 0);
	if (userdata_line_is(buf, len, "#cloud-config"))
		return userdata_yaml(w, name, buf, len, 1, 0);
	if (userdata_is_mime(buf, len))
		return userdata_mime(w, name, buf, len, depth);
	if (len == 0)
		return userdata_seterr(w, "%s: empty user-data", name);
	util_quote(q, sizeof(q), buf, userdata_first_line(buf, len));
	return userdata_seterr(w, "%s: unknown user-data format: first line "
	    "\"%s\" (expected #gitstrap, #cloud-config, MIME multipart or "
	    "gzip)", name, q);
}

int
userdata_config(struct gs_config **out, const char *origin, const void *buf,
    size_t len, struct gs_diag *diag, struct gs_error *err)
{
	struct userdata_walk	w;
	struct gs_error		local;
	size_t			n0 = diag != NULL ? diag->n : 0;
	int			ret = -1;

	*out = NULL;
	memset(&w, 0, sizeof(w));
	w.diag = diag;
	w.err = err != NULL ? err : &local;
	if (buf == NULL)
		len = 0;
	if (userdata_layer(&w, origin, buf != NULL ? buf : "", len, 0) == -1)
		goto out;
	if (w.conf == NULL) {
		userdata_seterr(&w, "%s: no gitstrap config in any part (a "
		    "text/x-gitstrap-config part, or text/cloud-config with "
		    "a gitstrap: key)", origin);
		goto out;
	}
	*out = w.conf;
	w.conf = NULL;
	ret = 0;
out:
	/* every failure is on the list, once */
	if (ret == -1 && diag != NULL && diag->n == n0)
		diag_add(diag, "%s", w.err->msg);
	config_free(w.conf);
	free(w.where);
	return ret;
}

/* ------------------------------------------------------------------ */
/* sources */

/* identity vars join service.vars; service.vars win */
static void
userdata_add_vars(struct gs_config *c, const struct gs_kv *kv, size_t n)
{
	struct gs_service_conf	*s = &c->service;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (config_var(c, kv[i].key) != NULL)
			continue;
		s->vars = xreallocarray(s->vars, s->nvars + 1,
		    sizeof(*s->vars));
		s->vars[s->nvars].key = xstrdup(kv[i].key);
		s->vars[s->nvars].val = xstrdup(kv[i].val);
		s->nvars++;
	}
}

static int
userdata_file(struct gs_config **out, const char *path, struct gs_diag *diag,
    struct gs_error *err)
{
	char	*buf = NULL;
	size_t	 len;
	int	 ret;

	if (util_read_file(path, USERDATA_MAX, &buf, &len, err) == -1) {
		/* no user-data: nothing to run */
		err->src = GS_E_CONFIG;
		diag_add(diag, "%s", err->msg);
		return -1;
	}
	ret = userdata_config(out, path, buf, len, diag, err);
	free(buf);
	return ret;
}

const char *
userdata_cloud_dir(void)
{
	const char	*s;

	if ((s = getenv("GITSTRAP_CLOUD_DIR")) != NULL && *s != '\0')
		return s;
	return USERDATA_CLOUD_DIR;
}

static int
userdata_imds(struct gs_config **out, const struct userdata_source *src,
    struct gs_diag *diag, struct gs_error *err)
{
	struct imds_data	 im;
	char			*copy, *origin;
	int			 ret = -1;

	memset(&im, 0, sizeof(im));
	xasprintf(&copy, "%s/instance/user-data.txt", userdata_cloud_dir());
	if (!src->fetch && util_exists(copy)) {
		/* cloud-init fetched it already: no second request */
		log_info("userdata.cloud_init", "file=%s msg=\"using "
		    "cloud-init's copy of the user-data\"", copy);
		if (userdata_file(out, copy, diag, err) == 0) {
			imds_cloud_identity(&im);
			userdata_add_vars(*out, im.ident, im.nident);
			ret = 0;
		}
		goto out;
	}
	if (imds_fetch(&im, src->path, src->timeout_ms, err) == -1) {
		diag_add(diag, "%s", err->msg);
		goto out;
	}
	xasprintf(&origin, "%s/latest/user-data", src->path);
	ret = userdata_config(out, origin, im.user_data, im.len, diag, err);
	free(origin);
	if (ret == 0)
		userdata_add_vars(*out, im.ident, im.nident);
out:
	imds_data_free(&im);
	free(copy);
	return ret;
}

int
userdata_load(struct gs_config **out, const struct userdata_source *src,
    struct gs_diag *diag, struct gs_error *err)
{
	struct imds_data	 im;
	const char		*dir;
	char			*path;
	int			 ret;

	*out = NULL;
	switch (src->kind) {
	case USERDATA_SRC_CONFIG:
		return config_load(out, src->path, diag, err);
	case USERDATA_SRC_FILE:
		return userdata_file(out, src->path, diag, err);
	case USERDATA_SRC_NOCLOUD:
		dir = src->path != NULL ? src->path : USERDATA_NOCLOUD_DIR;
		path = util_path_join(dir, "user-data");
		ret = userdata_file(out, path, diag, err);
		free(path);
		if (ret == 0) {
			memset(&im, 0, sizeof(im));
			imds_nocloud_identity(&im, dir);
			userdata_add_vars(*out, im.ident, im.nident);
			imds_data_free(&im);
		}
		return ret;
	case USERDATA_SRC_IMDS:
		return userdata_imds(out, src, diag, err);
	}
	fatalx("userdata.source", "msg=\"bad source %d\"", (int)src->kind);
}

const char *
userdata_source_name(const struct userdata_source *src)
{
	switch (src->kind) {
	case USERDATA_SRC_CONFIG:
		return src->path;
	case USERDATA_SRC_FILE:
		return src->path;
	case USERDATA_SRC_NOCLOUD:
		return src->path != NULL ? src->path : USERDATA_NOCLOUD_DIR;
	case USERDATA_SRC_IMDS:
		return src->path;
	}
	return "?";
}
