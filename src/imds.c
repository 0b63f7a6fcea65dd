/*
 * imds.c: the instance metadata service client (EC2 and the clouds that
 * copy its API: Eucalyptus, OpenStack).
 *
 * IMDSv2 first: PUT /latest/api/token for a session token, then GETs that
 * carry it. A service without the token endpoint (404 or 405) speaks
 * IMDSv1: plain GETs. A 403 on the token is final: the metadata service is
 * turned off for this instance, and asking again will not change that.
 *
 * At boot the network or the metadata service may not be up yet: refused
 * or timed-out connections and 5xx answers are retried with exponential
 * backoff until a deadline, then fail with the last reason.
 *
 * All requests go through http.c, never through a proxy. The token is a
 * secret: it is registered with the logger before anything could log it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gitstrap.h"

#define IMDS_TOKEN_TTL		"21600"	/* seconds (6 h, the most) */
#define IMDS_REQ_TIMEOUT_MS	(5 * 1000LL)	/* one request */
#define IMDS_BACKOFF0_MS	100LL
#define IMDS_BACKOFF_MAX_MS	(5 * 1000LL)
#define IMDS_CLOUD_RUN_DIR	"/run/cloud-init"

struct imds_client {
	const char	*base;		/* without a trailing '/' */
	int64_t		 deadline;	/* util_now_ms() */
	int64_t		 timeout_ms;	/* for messages */
	char		*token_hdr;	/* the header with the token */
};

/* the identity vars and where they are under /latest/meta-data/ */
static const struct {
	const char	*var;
	const char	*path;
	const char	*cloud_init;	/* key in instance-data.json */
} imds_ident[] = {
	{ "instance_id", "instance-id", "v1.instance_id" },
	{ "region", "placement/region", "v1.region" },
	{ "availability_zone", "placement/availability-zone",
	    "v1.availability_zone" },
	{ "local_ipv4", "local-ipv4", "ds.meta_data.local-ipv4" },
	{ "public_hostname", "public-hostname",
	    "ds.meta_data.public-hostname" },
	{ "local_hostname", "local-hostname", "v1.local_hostname" },
};
#define IMDS_NIDENT	(sizeof(imds_ident) / sizeof(imds_ident[0]))

/*
 * Wait before the next attempt. run and sync block SIGTERM and SIGINT
 * (they are taken between cycles); a boot still waiting for the metadata
 * service must stop at once, so they are waited for here. Elsewhere they
 * are not blocked and act as usual. -1 when one came.
 */
static int
imds_sleep(int64_t ms)
{
	struct timespec	ts;
	sigset_t	set, cur;
	int		sig;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, NULL, &cur) == 0 &&
	    sigismember(&cur, SIGTERM) == 1 && sigismember(&cur, SIGINT) == 1) {
		do {
			sig = sigtimedwait(&set, NULL, &ts);
		} while (sig == -1 && errno == EINTR);
		return sig == -1 ? 0 : -1;
	}
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return 0;
}

/* a status worth asking again for: the service is still coming up */
static int
imds_transient(long status)
{
	return status >= 500 || status == 429;
}

/*
 * One request, retried while the service is not there yet. A definite
 * answer (any status but 5xx and 429) is returned as is.
 */
static int
imds_call(struct imds_client *c, const char *method, const char *path,
    const char *const *headers, struct http_resp *resp, struct gs_error *err)
{
	struct http_req	 req;
	char		*url, why[sizeof(err->msg)];
	int64_t		 left, delay = IMDS_BACKOFF0_MS;
	int		 attempt = 0, ret = -1;

	xasprintf(&url, "%s%s", c->base, path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.no_proxy = 1;
	for (;;) {
		attempt++;
		left = c->deadline - util_now_ms();
		req.timeout_ms = left < IMDS_REQ_TIMEOUT_MS ?
		    (left > 100 ? left : 100) : IMDS_REQ_TIMEOUT_MS;
		if (http_do(&req, resp, err) == 0) {
			if (!imds_transient(resp->status)) {
				ret = 0;
				break;
			}
			snprintf(why, sizeof(why), "%s %s: HTTP %ld", method,
			    url, resp->status);
			http_resp_free(resp);
		} else
			snprintf(why, sizeof(why), "%s", err->msg);
		left = c->deadline - util_now_ms();
		if (left <= delay) {
			gs_error_set(err, GS_E_HTTP, 0, "metadata service %s: "
			    "no answer within %llds (%d attempts): %s", c->base,
			    (long long)(c->timeout_ms / 1000), attempt, why);
			break;
		}
		if (attempt == 1)
			log_info("imds.wait", "url=%s err=\"%s\" "
			    "msg=\"retrying for up to %llds\"", url, why,
			    (long long)(left / 1000));
		else
			log_debug("imds.retry", "url=%s attempt=%d err=\"%s\"",
			    url, attempt, why);
		if (imds_sleep(delay) == -1) {
			gs_error_set(err, GS_E_HTTP, 0, "metadata service "
			    "%s: stopped by a signal while waiting for it",
			    c->base);
			break;
		}
		delay = delay * 2 > IMDS_BACKOFF_MAX_MS ?
		    IMDS_BACKOFF_MAX_MS : delay * 2;
	}
	free(url);
	return ret;
}

/* GET with the session token, when there is one */
static int
imds_get(struct imds_client *c, const char *path, struct http_resp *resp,
    struct gs_error *err)
{
	const char	*hdrs[2] = { c->token_hdr, NULL };

	return imds_call(c, "GET", path, c->token_hdr != NULL ? hdrs : NULL,
	    resp, err);
}

static char *
imds_trim(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
	    s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return xstrndup(s, len);
}

static void
imds_ident_add(struct imds_data *im, const char *var, const char *val)
{
	im->ident = xreallocarray(im->ident, im->nident + 1,
	    sizeof(*im->ident));
	im->ident[im->nident].key = xstrdup(var);
	im->ident[im->nident].val = xstrdup(val);
	im->nident++;
}

/* IMDSv2 session token, or none (v1) */
static int
imds_token(struct imds_client *c, struct gs_error *err)
{
	static const char *const hdrs[] = {
		"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, NULL
	};
	struct http_resp	 resp;
	char			*token;

	if (imds_call(c, "PUT", "/latest/api/token", hdrs, &resp, err) == -1)
		return -1;
	switch (resp.status) {
	case 200:
		token = imds_trim(resp.body, resp.len);
		http_resp_free(&resp);
		if (token[0] == '\0' || strpbrk(token, "\r\n") != NULL) {
			free(token);
			return gs_error_set(err, GS_E_HTTP, 0, "metadata "
			    "service %s: token request: malformed token",
			    c->base);
		}
		log_add_secret(token);
		xasprintf(&c->token_hdr, "X-aws-ec2-metadata-token: %s",
		    token);
		free(token);
		log_debug("imds.v2", "url=%s", c->base);
		return 0;
	case 404:
	case 405:
		http_resp_free(&resp);
		log_info("imds.v1", "url=%s msg=\"no session tokens here "
		    "(IMDSv1)\"", c->base);
		return 0;
	case 403:
		http_resp_free(&resp);
		return gs_error_set(err, GS_E_HTTP, 403, "metadata service %s: "
		    "token request forbidden (HTTP 403): the metadata service "
		    "is disabled for this instance", c->base);
	default:
		gs_error_set(err, GS_E_HTTP, (int)resp.status, "metadata "
		    "service %s: token request: HTTP %ld", c->base,
		    resp.status);
		http_resp_free(&resp);
		return -1;
	}
}

int
imds_fetch(struct imds_data *im, const char *base, int64_t timeout_ms,
    struct gs_error *err)
{
	struct imds_client	 c;
	struct http_resp	 resp;
	char			*b, *path, *val;
	size_t			 i;
	int			 ret = -1;

	memset(im, 0, sizeof(*im));
	memset(&c, 0, sizeof(c));
	b = xstrdup(base);
	while (b[0] != '\0' && b[strlen(b) - 1] == '/')
		b[strlen(b) - 1] = '\0';
	c.base = b;
	c.timeout_ms = timeout_ms;
	c.deadline = util_now_ms() + timeout_ms;
	if (imds_token(&c, err) == -1)
		goto out;

	if (imds_get(&c, "/latest/user-data", &resp, err) == -1)
		goto out;
	if (resp.status == 404) {
		http_resp_free(&resp);
		gs_error_set(err, GS_E_CONFIG, 404, "metadata service %s: no "
		    "user-data (HTTP 404 for /latest/user-data)", c.base);
		goto out;
	}
	if (resp.status != 200) {
		gs_error_set(err, GS_E_HTTP, (int)resp.status, "metadata "
		    "service %s: /latest/user-data: HTTP %ld", c.base,
		    resp.status);
		http_resp_free(&resp);
		goto out;
	}
	im->user_data = resp.body;
	im->len = resp.len;

	/* identity: what the service has; a 404 is just an absent value */
	for (i = 0; i < IMDS_NIDENT; i++) {
		xasprintf(&path, "/latest/meta-data/%s", imds_ident[i].path);
		if (imds_get(&c, path, &resp, err) == -1) {
			free(path);
			goto out;
		}
		if (resp.status == 200) {
			val = imds_trim(resp.body, resp.len);
			if (val[0] != '\0')
				imds_ident_add(im, imds_ident[i].var, val);
			free(val);
		} else if (resp.status != 404) {
			gs_error_set(err, GS_E_HTTP, (int)resp.status,
			    "metadata service %s: %s: HTTP %ld", c.base, path,
			    resp.status);
			http_resp_free(&resp);
			free(path);
			goto out;
		}
		http_resp_free(&resp);
		free(path);
	}
	log_info("imds.fetched", "url=%s protocol=%s bytes=%zu identity=%zu",
	    c.base, c.token_hdr != NULL ? "v2" : "v1", im->len, im->nident);
	ret = 0;
out:
	if (ret == -1)
		imds_data_free(im);
	free(c.token_hdr);
	free(b);
	return ret;
}

/* a value at a dotted path of scalar keys, as a string, or NULL */
static const char *
imds_json_get(const struct yml_node *n, const char *dotted)
{
	char	*path, *key, *next;

	path = xstrdup(dotted);
	for (key = path; n != NULL && key != NULL; key = next) {
		if ((next = strchr(key, '.')) != NULL)
			*next++ = '\0';
		n = yml_get(n, key);
	}
	free(path);
	return n != NULL && n->type == YML_SCALAR ? n->str : NULL;
}

/*
 * A file of instance metadata, parsed (JSON is YAML: the same parser,
 * with the same limits); -1 after a warning under event ev.
 */
static int
imds_read_doc(const char *path, const char *ev, char **buf,
    struct yml_doc **doc)
{
	struct gs_error	err;
	size_t		len;

	if (util_read_file(path, 1024 * 1024, buf, &len, &err) == -1 ||
	    yml_parse(doc, path, *buf, len, &err) == -1) {
		log_warnx(ev, "err=\"%s\" msg=\"no instance identity vars\"",
		    err.msg);
		return -1;
	}
	return 0;
}

void
imds_cloud_identity(struct imds_data *im)
{
	struct yml_doc	*doc = NULL;
	const char	*dir, *val;
	char		*path, *buf = NULL;
	size_t		 i;

	if ((dir = getenv("GITSTRAP_CLOUD_RUN_DIR")) == NULL || *dir == '\0')
		dir = IMDS_CLOUD_RUN_DIR;
	path = util_path_join(dir, "instance-data.json");
	if (imds_read_doc(path, "imds.identity", &buf, &doc) == -1)
		goto out;
	for (i = 0; i < IMDS_NIDENT; i++)
		if ((val = imds_json_get(doc->root,
		    imds_ident[i].cloud_init)) != NULL && val[0] != '\0')
			imds_ident_add(im, imds_ident[i].var, val);
out:
	yml_free(doc);
	free(buf);
	free(path);
}

void
imds_nocloud_identity(struct imds_data *im, const char *dir)
{
	struct yml_doc	*doc = NULL;
	const struct yml_node *v;
	char		*path, *buf = NULL;
	size_t		 i;

	path = util_path_join(dir, "meta-data");
	if (!util_exists(path)) {
		log_info("nocloud.identity", "file=%s msg=\"no meta-data, no "
		    "instance identity vars\"", path);
		goto out;
	}
	if (imds_read_doc(path, "nocloud.identity", &buf, &doc) == -1)
		goto out;
	/* the metadata service's names, at the top level */
	for (i = 0; i < IMDS_NIDENT; i++)
		if (strchr(imds_ident[i].path, '/') == NULL &&
		    (v = yml_get(doc->root, imds_ident[i].path)) != NULL &&
		    v->type == YML_SCALAR && v->str[0] != '\0')
			imds_ident_add(im, imds_ident[i].var, v->str);
out:
	yml_free(doc);
	free(buf);
	free(path);
}

void
imds_data_free(struct imds_data *im)
{
	free(im->user_data);
	kv_free(im->ident, im->nident);
	memset(im, 0, sizeof(*im));
}
