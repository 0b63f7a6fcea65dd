/*
 * state.c: what is deployed, when, and the last error: status.json,
 * metrics.prom (node_exporter textfile format) and last-error, each
 * written atomically; plus the state dir lock.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "gitstrap.h"

static json_t *
state_str(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
state_time(time_t t)
{
	char	buf[32];

	if (t == 0)
		return json_null();
	util_time_rfc3339(t, buf);
	return json_string(buf);
}

static json_t *
state_json(const struct gs_status *st)
{
	json_t	*svc, *data, *root;

	svc = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "repo", state_str(st->svc_repo),
	    "ref", state_str(st->svc_ref),
	    "commit", state_str(st->svc_commit),
	    "recipe_ran_at", state_time(st->svc_recipe_ran_at),
	    "recipe_key", state_str(st->svc_recipe_key),
	    "signer", state_str(st->svc_signer),
	    "signing_key", state_str(st->svc_signing_key));
	data = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "repo", state_str(st->data_repo),
	    "ref", state_str(st->data_ref),
	    "commit", state_str(st->data_commit),
	    "release", state_str(st->data_release),
	    "target", state_str(st->data_target),
	    "releases_dir", state_str(st->data_releases),
	    "published_at", state_time(st->data_published_at),
	    "signer", state_str(st->data_signer),
	    "signing_key", state_str(st->data_signing_key));
	root = json_pack("{s:o, s:o, s:o, s:o, s:i, s:o, s:{s:I, s:I, s:I}, "
	    "s:{s:I, s:I}, s:I}",
	    "service", svc,
	    "data", data,
	    "last_attempt", state_time(st->last_attempt),
	    "last_success", state_time(st->last_success),
	    "consecutive_failures", st->consecutive_failures,
	    "last_error", state_str(st->last_error),
	    "syncs", "changed", (json_int_t)st->syncs_changed,
	    "unchanged", (json_int_t)st->syncs_unchanged,
	    "failed", (json_int_t)st->syncs_failed,
	    "fetches", "data", (json_int_t)st->fetches_data,
	    "service", (json_int_t)st->fetches_service,
	    "stale_after_seconds", (json_int_t)(st->stale_after_ms / 1000));
	if (root == NULL)
		fatalx("state.json", "msg=\"cannot build status object\"");
	return root;
}

int
state_to_json(const struct gs_status *st, char **out)
{
	json_t	*root = state_json(st);

	*out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (*out == NULL)
		fatalx("state.json", "msg=\"cannot encode status\"");
	return 0;
}

static void
state_get_str(json_t *obj, const char *key, char *buf, size_t len)
{
	const char	*s = json_string_value(json_object_get(obj, key));

	buf[0] = '\0';
	if (s != NULL)
		snprintf(buf, len, "%s", s);
}

static void
state_get_time(json_t *obj, const char *key, time_t *out)
{
	const char	*s = json_string_value(json_object_get(obj, key));

	*out = 0;
	if (s != NULL && util_parse_rfc3339(s, out) == -1)
		*out = 0;
}

int
state_load(struct gs_status *st, const char *state_dir, struct gs_error *err)
{
	json_t		*root, *svc, *data, *syncs;
	json_error_t	 jerr;
	char		*path;

	memset(st, 0, sizeof(*st));
	path = util_path_join(state_dir, "status.json");
	if (!util_exists(path)) {
		free(path);
		errno = ENOENT;
		return gs_error_sys(err, "%s/status.json", state_dir);
	}
	root = json_load_file(path, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		gs_error_set(err, GS_E_RUNTIME, 0, "%s:%d:%d: %s", path,
		    jerr.line, jerr.column, root == NULL ? jerr.text :
		    "expected an object");
		json_decref(root);
		free(path);
		return -1;
	}
	free(path);
	svc = json_object_get(root, "service");
	data = json_object_get(root, "data");
	state_get_str(svc, "repo", st->svc_repo, sizeof(st->svc_repo));
	state_get_str(svc, "ref", st->svc_ref, sizeof(st->svc_ref));
	state_get_str(svc, "commit", st->svc_commit, sizeof(st->svc_commit));
	state_get_str(svc, "recipe_key", st->svc_recipe_key,
	    sizeof(st->svc_recipe_key));
	state_get_time(svc, "recipe_ran_at", &st->svc_recipe_ran_at);
	state_get_str(svc, "signer", st->svc_signer, sizeof(st->svc_signer));
	state_get_str(svc, "signing_key", st->svc_signing_key,
	    sizeof(st->svc_signing_key));
	state_get_str(data, "repo", st->data_repo, sizeof(st->data_repo));
	state_get_str(data, "ref", st->data_ref, sizeof(st->data_ref));
	state_get_str(data, "commit", st->data_commit,
	    sizeof(st->data_commit));
	state_get_str(data, "release", st->data_release,
	    sizeof(st->data_release));
	state_get_str(data, "target", st->data_target,
	    sizeof(st->data_target));
	state_get_str(data, "releases_dir", st->data_releases,
	    sizeof(st->data_releases));
	state_get_time(data, "published_at", &st->data_published_at);
	state_get_str(data, "signer", st->data_signer, sizeof(st->data_signer));
	state_get_str(data, "signing_key", st->data_signing_key,
	    sizeof(st->data_signing_key));
	state_get_time(root, "last_attempt", &st->last_attempt);
	state_get_time(root, "last_success", &st->last_success);
	st->consecutive_failures = (int)json_integer_value(
	    json_object_get(root, "consecutive_failures"));
	state_get_str(root, "last_error", st->last_error,
	    sizeof(st->last_error));
	syncs = json_object_get(root, "syncs");
	st->syncs_changed = (uint64_t)json_integer_value(
	    json_object_get(syncs, "changed"));
	st->syncs_unchanged = (uint64_t)json_integer_value(
	    json_object_get(syncs, "unchanged"));
	st->syncs_failed = (uint64_t)json_integer_value(
	    json_object_get(syncs, "failed"));
	syncs = json_object_get(root, "fetches");
	st->fetches_data = (uint64_t)json_integer_value(
	    json_object_get(syncs, "data"));
	st->fetches_service = (uint64_t)json_integer_value(
	    json_object_get(syncs, "service"));
	st->stale_after_ms = 1000 * (int64_t)json_integer_value(
	    json_object_get(root, "stale_after_seconds"));
	json_decref(root);
	return 0;
}

/* Prometheus text exposition format, for the textfile collector */
static char *
state_metrics(const struct gs_status *st)
{
	char	*out;

	xasprintf(&out,
	    "# HELP gitstrap_last_attempt_timestamp_seconds Start of the last sync attempt.\n"
	    "# TYPE gitstrap_last_attempt_timestamp_seconds gauge\n"
	    "gitstrap_last_attempt_timestamp_seconds %lld\n"
	    "# HELP gitstrap_last_success_timestamp_seconds End of the last successful sync.\n"
	    "# TYPE gitstrap_last_success_timestamp_seconds gauge\n"
	    "gitstrap_last_success_timestamp_seconds %lld\n"
	    "# HELP gitstrap_data_published_timestamp_seconds When the current release was published.\n"
	    "# TYPE gitstrap_data_published_timestamp_seconds gauge\n"
	    "gitstrap_data_published_timestamp_seconds %lld\n"
	    "# HELP gitstrap_consecutive_failures Failed syncs since the last success.\n"
	    "# TYPE gitstrap_consecutive_failures gauge\n"
	    "gitstrap_consecutive_failures %d\n"
	    "# HELP gitstrap_syncs_total Syncs by result.\n"
	    "# TYPE gitstrap_syncs_total counter\n"
	    "gitstrap_syncs_total{result=\"changed\"} %llu\n"
	    "gitstrap_syncs_total{result=\"unchanged\"} %llu\n"
	    "gitstrap_syncs_total{result=\"failed\"} %llu\n"
	    "# HELP gitstrap_fetches_total Fetches that transferred objects.\n"
	    "# TYPE gitstrap_fetches_total counter\n"
	    "gitstrap_fetches_total{repo=\"data\"} %llu\n"
	    "gitstrap_fetches_total{repo=\"service\"} %llu\n"
	    "# HELP gitstrap_info What is deployed.\n"
	    "# TYPE gitstrap_info gauge\n"
	    "gitstrap_info{data_commit=\"%s\",service_commit=\"%s\",release=\"%s\"} 1\n",
	    (long long)st->last_attempt, (long long)st->last_success,
	    (long long)st->data_published_at, st->consecutive_failures,
	    (unsigned long long)st->syncs_changed,
	    (unsigned long long)st->syncs_unchanged,
	    (unsigned long long)st->syncs_failed,
	    (unsigned long long)st->fetches_data,
	    (unsigned long long)st->fetches_service,
	    st->data_commit, st->svc_commit, st->data_release);
	return out;
}

int
state_save(const struct gs_status *st, const char *state_dir,
    struct gs_error *err)
{
	char	*json, *prom, *path;
	int	 ret = -1;

	state_to_json(st, &json);
	prom = state_metrics(st);
	if (util_write_atomic(state_dir, "status.json", json, strlen(json),
	    0644, err) == -1 ||
	    util_write_atomic(state_dir, "metrics.prom", prom, strlen(prom),
	    0644, err) == -1)
		goto out;
	path = util_path_join(state_dir, "last-error");
	if (st->last_error[0] != '\0') {
		free(path);
		if (util_write_atomic(state_dir, "last-error", st->last_error,
		    strlen(st->last_error), 0644, err) == -1)
			goto out;
	} else {
		if (unlink(path) == -1 && errno != ENOENT) {
			gs_error_sys(err, "unlink %s", path);
			free(path);
			goto out;
		}
		free(path);
	}
	ret = 0;
out:
	if (ret == -1)
		gs_error_prefix(err, "state %s", state_dir);
	free(json);
	free(prom);
	return ret;
}

int
state_lock(int *fdp, const char *state_dir, struct gs_error *err)
{
	char	*path, buf[32];
	ssize_t	 n;
	int	 fd;

	*fdp = -1;
	path = util_path_join(state_dir, "lock");
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1) {
		gs_error_sys(err, "open %s", path);
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			gs_error_set(err, GS_E_RUNTIME, EWOULDBLOCK, "state dir "
			    "%s is in use by another gitstrap (pid %s)",
			    state_dir, buf[0] != '\0' ? buf : "unknown");
		} else
			gs_error_sys(err, "lock %s", path);
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf)) {
		gs_error_sys(err, "write %s/lock", state_dir);
		close(fd);
		return -1;
	}
	*fdp = fd;
	return 0;
}

void
state_unlock(int fd)
{
	if (fd != -1)
		close(fd);
}

char *
state_event_json(const struct gs_status *st, const char *event,
    const char *error)
{
	json_t	*root;
	char	 now[32], *out;

	util_time_rfc3339(time(NULL), now);
	root = json_pack("{s:s, s:o, s:o, s:o, s:o, s:s}",
	    "event", event,
	    "service_commit", state_str(st->svc_commit),
	    "data_commit", state_str(st->data_commit),
	    "release", state_str(st->data_release),
	    "error", error != NULL ? json_string(error) : json_null(),
	    "time", now);
	if (root == NULL || (out = json_dumps(root, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		fatalx("state.event", "msg=\"cannot encode event\"");
	json_decref(root);
	return out;
}

int
state_manifest_save(const struct gs_manifest *m, const char *dir,
    const char *name, struct gs_error *err)
{
	const struct gs_manifest_item	*it;
	json_t				*root, *items, *o;
	char				*out;
	size_t				 i;
	int				 ret;

	items = json_array();
	for (i = 0; i < m->n; i++) {
		it = &m->v[i];
		o = json_pack("{s:s, s:s*, s:i, s:s, s:I, s:I}",
		    "archive", it->archive, "to", it->to, "strip", it->strip,
		    "blob", it->blob, "entries", (json_int_t)it->entries,
		    "bytes", (json_int_t)it->bytes);
		if (o == NULL || json_array_append_new(items, o) == -1)
			fatalx("state.json", "msg=\"cannot build the manifest\"");
	}
	root = json_pack("{s:i, s:o}", "version", 1, "archives", items);
	if (root == NULL || (out = json_dumps(root, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER)) == NULL)
		fatalx("state.json", "msg=\"cannot build the manifest\"");
	json_decref(root);
	ret = util_write_atomic(dir, name, out, strlen(out), 0644, err);
	free(out);
	return ret;
}

int
state_manifest_load(struct gs_manifest *m, const char *path,
    struct gs_error *err)
{
	struct gs_manifest_item	*it;
	json_t			*root, *items, *o;
	json_error_t		 jerr;
	json_int_t		 entries, bytes;
	const char		*archive, *to, *blob;
	size_t			 i;
	int			 version, strip;

	memset(m, 0, sizeof(*m));
	if ((root = json_load_file(path, 0, &jerr)) == NULL)
		return gs_error_set(err, GS_E_RUNTIME, 0, "%s:%d:%d: %s", path,
		    jerr.line, jerr.column, jerr.text);
	if (json_unpack_ex(root, &jerr, 0, "{s:i, s:o}", "version", &version,
	    "archives", &items) == -1 || version != 1 ||
	    !json_is_array(items)) {
		json_decref(root);
		return gs_error_set(err, GS_E_RUNTIME, 0, "%s: not a manifest "
		    "of version 1", path);
	}
	m->v = xcalloc(json_array_size(items) + 1, sizeof(*m->v));
	json_array_foreach(items, i, o) {
		to = NULL;
		if (json_unpack_ex(o, &jerr, 0, "{s:s, s?s, s:i, s:s, s:I, s:I}",
		    "archive", &archive, "to", &to, "strip", &strip, "blob",
		    &blob, "entries", &entries, "bytes", &bytes) == -1 ||
		    strlen(blob) != GS_HEXLEN || entries < 0 || bytes < 0) {
			json_decref(root);
			state_manifest_free(m);
			return gs_error_set(err, GS_E_RUNTIME, 0, "%s: archive "
			    "%zu: %s", path, i, jerr.text[0] != '\0' ?
			    jerr.text : "bad value");
		}
		it = &m->v[m->n++];
		it->archive = xstrdup(archive);
		it->to = to != NULL ? xstrdup(to) : NULL;
		it->strip = strip;
		memcpy(it->blob, blob, GS_HEXLEN + 1);
		it->entries = (uint64_t)entries;
		it->bytes = (uint64_t)bytes;
	}
	json_decref(root);
	return 0;
}

void
state_manifest_free(struct gs_manifest *m)
{
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->v[i].archive);
		free(m->v[i].to);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}
