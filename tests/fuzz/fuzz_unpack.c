/*
 * fuzz_unpack.c: libFuzzer target for the whole extraction, unpack_memory
 * on the input as an archive (any format and filter libarchive reads),
 * into a fresh dir each time, with small limits.
 *
 * The first byte picks strip_components; the rest is the archive. After
 * each run, success or not, the scratch dir must hold nothing but the
 * release dir and the untouched sentinel beside it: an entry written
 * anywhere else has escaped. The release dir itself must hold only
 * dirs, regular files and symlinks.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitstrap.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	scratch[PATH_MAX];	/* holds release/ and sentinel */
static char	release[PATH_MAX];
static char	sentinel[PATH_MAX];

static void
scratch_cleanup(void)
{
	struct gs_error	err;

	if (scratch[0] != '\0')
		util_rm_rf(scratch, &err);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = getenv("TMPDIR");
	FILE		*f;

	(void)argc;
	(void)argv;
	log_init("fuzz_unpack", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(scratch, sizeof(scratch), "%s/fuzz_unpack.XXXXXX", tmp);
	if (mkdtemp(scratch) == NULL)
		abort();
	atexit(scratch_cleanup);
	snprintf(release, sizeof(release), "%s/release", scratch);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", scratch);
	if ((f = fopen(sentinel, "w")) == NULL)
		abort();
	fputs("do not touch\n", f);
	if (fclose(f) != 0)
		abort();
	return 0;
}

static int
only_safe_types(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_SL || type == FTW_D || type == FTW_DP)
		return 0;
	if (type == FTW_F && S_ISREG(sb->st_mode) &&
	    (sb->st_mode & (S_ISUID | S_ISGID | S_IWGRP | S_IWOTH)) == 0)
		return 0;
	return 1;
}

/* scratch holds release/ and an unchanged sentinel, nothing else */
static void
check_scratch(void)
{
	struct stat	 sb;
	struct dirent	*de;
	DIR		*d;

	if ((d = opendir(scratch)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, "release") != 0 &&
		    strcmp(de->d_name, "sentinel") != 0)
			abort();
	closedir(d);
	if (lstat(sentinel, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size != 13 || sb.st_nlink != 1)
		abort();
	if (lstat(release, &sb) == -1 || !S_ISDIR(sb.st_mode))
		abort();
	if (nftw(release, only_safe_types, 16, FTW_PHYS) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unpack_limits	 lim;
	struct gs_error		 err;

	if (size < 1)
		return 0;
	if (mkdir(release, 0755) == -1)
		abort();
	memset(&lim, 0, sizeof(lim));
	lim.max_bytes = 1 << 20;
	lim.max_entries = 256;
	memset(&err, 0, sizeof(err));
	if (unpack_memory("fuzz.tar", data + 1, size - 1, release, NULL,
	    data[0] % 4, &lim, &err) == -1 && err.msg[0] == '\0')
		abort();
	if (lim.bytes > lim.max_bytes || lim.entries > lim.max_entries)
		abort();
	check_scratch();
	if (util_rm_rf(release, &err) == -1)
		abort();
	return 0;
}
