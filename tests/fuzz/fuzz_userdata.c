/*
 * fuzz_userdata.c: libFuzzer target for userdata_config, every layer of
 * user-data parsing (gzip, MIME, base64, #gitstrap, #cloud-config, YAML,
 * config validation). Whatever the input, it must fail cleanly or give a
 * config, and leave nothing behind.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined against every .c
 * file of src and data-sync except src/gitstrap.c (main), with the
 * pkg-config flags of the libraries configure checks for.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "gitstrap.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* the environment must not change what a config means */
	unsetenv("GITSTRAP_STATE_DIR");
	log_init("fuzz_userdata", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	return userdata_lib_init();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gs_config	*conf = NULL;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;

	if (userdata_config(&conf, "fuzz", data, size, &diag, &err) == 0)
		config_free(conf);
	diag_free(&diag);
	return 0;
}
