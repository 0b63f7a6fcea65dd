/*
 * fuzz_recipe.c: libFuzzer target for the recipe parser (recipe_parse on
 * the input as a whole file): a failure is -1 with every problem as one
 * line "FILE:LINE:COL: ...".
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitstrap.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FILE_NAME	"fuzz-recipe.yml"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_recipe", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gs_diag	 diag = { NULL, 0 };
	struct gs_error	 err;
	struct recipe	*r = NULL;
	size_t		 i;

	memset(&err, 0, sizeof(err));
	if (recipe_parse(&r, FILE_NAME, (const char *)data, size, &diag,
	    &err) == 0) {
		if (r == NULL || diag.n != 0)
			abort();
		recipe_free(r);
	} else {
		if (r != NULL || diag.n == 0)
			abort();
		for (i = 0; i < diag.n; i++)
			if (strchr(diag.msgs[i], '\n') != NULL ||
			    strncmp(diag.msgs[i], FILE_NAME ":",
			    strlen(FILE_NAME ":")) != 0)
				abort();
	}
	diag_free(&diag);
	return 0;
}
