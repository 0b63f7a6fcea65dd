/*
 * fuzz_config.c: libFuzzer target for the config parser, yml_parse and
 * config_from_node on the input as a whole file.
 *
 * Besides not crashing, an invalid config must come back as -1 with the
 * first problem in err, each problem one line "FILE:LINE:COL: ...".
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitstrap.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FILE_NAME	"fuzz.yml"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* a literal password is accepted with a warning: keep stderr quiet */
	log_init("fuzz_config", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	unsetenv("GITSTRAP_STATE_DIR");
	return 0;
}

static void
check_line(const char *s)
{
	if (strchr(s, '\n') != NULL ||
	    strncmp(s, FILE_NAME ":", strlen(FILE_NAME ":")) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;
	struct yml_doc		*doc = NULL;
	struct gs_config	*conf = NULL;
	size_t			 i;

	memset(&err, 0, sizeof(err));
	if (yml_parse(&doc, FILE_NAME, (const char *)data, size, &err) == -1) {
		check_line(err.msg);
		return 0;
	}
	if (config_from_node(&conf, FILE_NAME, doc->root, &diag, &err) == 0) {
		if (conf == NULL || diag.n != 0)
			abort();
		config_free(conf);
	} else {
		if (conf != NULL || diag.n == 0 ||
		    strcmp(err.msg, diag.msgs[0]) != 0)
			abort();
		for (i = 0; i < diag.n; i++)
			check_line(diag.msgs[i]);
	}
	diag_free(&diag);
	yml_free(doc);
	return 0;
}
