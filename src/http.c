/*
 * http.c: the one libcurl wrapper (health checks, webhooks, metadata).
 * TLS verification is always on.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "gitstrap.h"

struct http_buf {
	char	*p;
	size_t	 len, max;
	int	 over;
};

/* transport.ca_file: the only CAs trusted when set */
static char	*http_ca_file;

void
http_set_ca_file(const char *file)
{
	free(http_ca_file);
	http_ca_file = file != NULL ? xstrdup(file) : NULL;
}

int
http_lib_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
http_lib_shutdown(void)
{
	http_set_ca_file(NULL);
	curl_global_cleanup();
}

static size_t
http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_buf	*b = arg;
	size_t		 n = size * nmemb;

	if (b->len + n > b->max) {
		b->over = 1;
		return 0;		/* makes curl fail the transfer */
	}
	b->p = xreallocarray(b->p, b->len + n + 1, 1);
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* turn a libcurl failure into ours, using its error buffer first */
static int
http_seterr(struct gs_error *err, CURLcode rc, const char *url,
    const char *ebuf)
{
	char	*safe = util_redact_url(url);

	gs_error_set(err, GS_E_HTTP, (int)rc, "%s: %s", safe,
	    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(rc));
	free(safe);
	return -1;
}

int
http_do(const struct http_req *req, struct http_resp *resp,
    struct gs_error *err)
{
	CURL			*h;
	struct curl_slist	*hdrs = NULL;
	struct http_buf		 b = { NULL, 0, 0, 0 };
	char			 ebuf[CURL_ERROR_SIZE];
	const char *const	*hp;
	CURLcode		 rc;
	int			 ret = -1;

	memset(resp, 0, sizeof(*resp));
	b.max = req->max_body != 0 ? req->max_body : 1024 * 1024;
	if ((h = curl_easy_init()) == NULL)
		return gs_error_set(err, GS_E_HTTP, 0, "curl_easy_init failed");
	ebuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (http_ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, http_ca_file);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "gitstrap/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (req->no_proxy)
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (req->timeout_ms > 0) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
		    (long)req->timeout_ms);
	}
	for (hp = req->headers; hp != NULL && *hp != NULL; hp++)
		hdrs = curl_slist_append(hdrs, *hp);
	if (hdrs != NULL)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (req->method != NULL)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->bodylen);
	} else if (req->method != NULL && strcmp(req->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if ((rc = curl_easy_perform(h)) != CURLE_OK) {
		if (b.over) {
			char *safe = util_redact_url(req->url);

			gs_error_set(err, GS_E_HTTP, (int)rc, "%s: response "
			    "larger than %zu bytes", safe, b.max);
			free(safe);
		} else
			http_seterr(err, rc, req->url, ebuf);
		free(b.p);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->body = b.p != NULL ? b.p : xstrdup("");
	resp->len = b.len;
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return ret;
}

void
http_resp_free(struct http_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
