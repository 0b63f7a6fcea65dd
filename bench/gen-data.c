/*
 * gen-data.c: the data repo's cache tree for bench/run, from a fixed
 * seed, so every run on every machine measures the same bytes.
 *
 *	gen-data DIR SEED		write the whole tree
 *	gen-data DIR SEED COUNT		rewrite COUNT of its files, chosen
 *					and filled from SEED
 *
 * The tree is DIR/cache_storage_for_open_qa/suiteNN/{run,page,log}-NNNN.*:
 * FILES files of 1-200 KB (most of them small), JSON, HTML and text made
 * of words and numbers, about as compressible as the real cache (gzip
 * takes 125 MB to about 47). The content of a file depends only on the
 * seed it was written with and its number.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILES		5000
#define DIRS		50
#define MIN_SIZE	1024
#define MAX_SIZE	(200 * 1024)
#define WORDS		4096
#define TOP		"cache_storage_for_open_qa"

static uint64_t	rng;
static char	words[WORDS][16];

static uint64_t
gen_next(void)
{
	/* splitmix64: small, fast, and the same everywhere */
	uint64_t z;

	z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
gen_unit(void)
{
	return (double)(gen_next() >> 11) / 9007199254740992.0;
}

/* a word, the common ones far more often than the rare ones */
static const char *
gen_word(void)
{
	double u = gen_unit();

	return words[(size_t)(WORDS * u * sqrt(sqrt(u)))];
}

static void
gen_vocabulary(void)
{
	static const char *cons = "bcdfghjklmnprstvwz";
	static const char *vow = "aeiou";
	size_t i, j, n, len;

	rng = 1;
	for (i = 0; i < WORDS; i++) {
		n = 1 + gen_next() % 4;
		len = 0;
		for (j = 0; j < n; j++) {
			words[i][len++] = cons[gen_next() % 18];
			words[i][len++] = vow[gen_next() % 5];
			if (gen_next() % 3 == 0)
				words[i][len++] = cons[gen_next() % 18];
		}
		words[i][len] = '\0';
	}
}

static void
gen_phrase(FILE *f, int n)
{
	int i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? " " : "", gen_word());
}

static void
gen_json(FILE *f, long size)
{
	long i = 0;

	fputs("{\"results\": [\n", f);
	while (ftell(f) < size) {
		fprintf(f, "%s  {\"id\": \"%08llx\", \"test\": \"", i++ ? ",\n" :
		    "", (unsigned long long)(gen_next() & 0xffffffffULL));
		gen_phrase(f, 2 + (int)(gen_next() % 3));
		fprintf(f, "\", \"status\": \"%s\", \"duration\": %.3f, "
		    "\"message\": \"", gen_next() % 8 ? "passed" : "failed",
		    gen_unit() * 300);
		gen_phrase(f, 3 + (int)(gen_next() % 12));
		fputs("\"}", f);
	}
	fputs("\n]}\n", f);
}

static void
gen_html(FILE *f, long size)
{
	fputs("<!DOCTYPE html>\n<html><head><title>", f);
	gen_phrase(f, 4);
	fputs("</title></head>\n<body><table>\n", f);
	while (ftell(f) < size) {
		fprintf(f, "<tr class=\"%s\"><td><a href=\"/webcache/%s/%llu\">",
		    gen_next() % 8 ? "pass" : "fail", gen_word(),
		    (unsigned long long)(gen_next() % 100000));
		gen_phrase(f, 2 + (int)(gen_next() % 4));
		fprintf(f, "</a></td><td>%.2f</td><td>", gen_unit() * 100);
		gen_phrase(f, 4 + (int)(gen_next() % 10));
		fputs("</td></tr>\n", f);
	}
	fputs("</table></body></html>\n", f);
}

static void
gen_log(FILE *f, long size)
{
	static const char *lvl[] = { "INFO", "INFO", "INFO", "DEBUG", "WARN",
	    "ERROR" };

	while (ftell(f) < size) {
		fprintf(f, "2013-%02d-%02d %02d:%02d:%02d,%03d %s [",
		    1 + (int)(gen_next() % 12), 1 + (int)(gen_next() % 28),
		    (int)(gen_next() % 24), (int)(gen_next() % 60),
		    (int)(gen_next() % 60), (int)(gen_next() % 1000),
		    lvl[gen_next() % 6]);
		gen_phrase(f, 1);
		fputs("] ", f);
		gen_phrase(f, 5 + (int)(gen_next() % 15));
		fputc('\n', f);
	}
}

static uint64_t
gen_file_seed(uint64_t seed, unsigned int idx)
{
	rng = seed * 1000003 + idx;
	(void)gen_next();
	return gen_next();
}

static int
gen_file(const char *dir, uint64_t seed, unsigned int idx)
{
	char path[4096];
	long size;
	FILE *f;
	int kind;

	rng = gen_file_seed(seed, idx);
	/* 1-200 KB, skewed to small: the mean is about 25 KB */
	size = (long)(MIN_SIZE * pow((double)MAX_SIZE / MIN_SIZE,
	    pow(gen_unit(), 1.65)));
	kind = idx % 3;
	snprintf(path, sizeof(path), "%s/" TOP "/suite%02u", dir, idx % DIRS);
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		perror(path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/" TOP "/suite%02u/%s-%04u.%s", dir,
	    idx % DIRS, kind == 0 ? "run" : kind == 1 ? "page" : "log", idx,
	    kind == 0 ? "json" : kind == 1 ? "html" : "txt");
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return -1;
	}
	if (kind == 0)
		gen_json(f, size);
	else if (kind == 1)
		gen_html(f, size);
	else
		gen_log(f, size);
	if (fclose(f) == EOF) {
		perror(path);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	char path[4096];
	uint64_t seed;
	unsigned int i, count, idx;
	unsigned char *done;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: gen-data DIR SEED [COUNT]\n");
		return 2;
	}
	seed = strtoull(argv[2], NULL, 10);
	gen_vocabulary();
	if (mkdir(argv[1], 0755) == -1 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/" TOP, argv[1]);
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		perror(path);
		return 1;
	}
	if (argc == 3) {
		for (i = 0; i < FILES; i++)
			if (gen_file(argv[1], seed, i) == -1)
				return 1;
		return 0;
	}
	count = (unsigned int)strtoul(argv[3], NULL, 10);
	if (count > FILES)
		count = FILES;
	if ((done = calloc(FILES, 1)) == NULL)
		return 1;
	for (i = 0; i < count; i++) {
		/* COUNT distinct files, chosen by the seed */
		rng = seed * 7919 + 17 * i;
		do {
			idx = (unsigned int)(gen_next() % FILES);
		} while (done[idx]);
		done[idx] = 1;
		if (gen_file(argv[1], seed, idx) == -1)
			return 1;
	}
	free(done);
	return 0;
}
