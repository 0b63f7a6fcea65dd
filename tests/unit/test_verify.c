/*
 * test_verify.c: verify.c's reading of gpgv's --status-fd lines, which
 * decides between a good signature and the reason for refusing one.
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

#include "gitstrap.h"

#define FPR	"1B302CD8FF502C934B5C0B901262B42A6F162AA8"
#define VALIDSIG \
	"[GNUPG:] VALIDSIG " FPR " 2026-11-23 1795436266 0 4 0 22 8 00 " \
	FPR "\n"

static void
expect_refused(const char *status, const char *want)
{
	struct verify_result	r;
	char			why[256];

	memset(&r, 0, sizeof(r));
	why[0] = '\0';
	assert_int_equal(verify_gpg_status(status, &r, why, sizeof(why)), -1);
	assert_string_equal(why, want);
}

static void
test_gpg_good(void **state)
{
	struct verify_result	r;
	char			why[256] = "";

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(verify_gpg_status(
	    "gpgv: Signature made Mon Nov 23 12:17:46 2026 UTC\n"
	    "[GNUPG:] NEWSIG good@x\n"
	    "[GNUPG:] KEY_CONSIDERED " FPR " 0\n"
	    "[GNUPG:] GOODSIG 1262B42A6F162AA8 Good Signer <good@x>\n"
	    VALIDSIG, &r, why, sizeof(why)), 0);
	assert_string_equal(r.kind, "gpg");
	assert_string_equal(r.signer, "Good Signer <good@x>");
	assert_string_equal(r.key, FPR);
	assert_string_equal(why, "");
}

static void
test_gpg_refused(void **state)
{
	(void)state;
	expect_refused("[GNUPG:] BADSIG 1262B42A6F162AA8 Good <good@x>\n",
	    "bad signature (1262B42A6F162AA8)");
	/* gpgv exits 0 for these two: the status lines decide */
	expect_refused("[GNUPG:] KEYEXPIRED 1609372800\n"
	    "[GNUPG:] EXPKEYSIG 6C961BB3D14FB05E Old <old@x>\n" VALIDSIG,
	    "signature by an expired key (6C961BB3D14FB05E)");
	expect_refused("[GNUPG:] REVKEYSIG 1262B42A6F162AA8 Good <good@x>\n"
	    VALIDSIG, "signature by a revoked key (1262B42A6F162AA8)");
	expect_refused("[GNUPG:] EXPSIG 1262B42A6F162AA8 Good <good@x>\n"
	    VALIDSIG, "expired signature (1262B42A6F162AA8)");
	expect_refused("[GNUPG:] ERRSIG 1262B42A6F162AA8 22 8 00 1795436266 9 "
	    FPR "\n[GNUPG:] NO_PUBKEY 1262B42A6F162AA8\n",
	    "signature by a key not in gpg_keyring (1262B42A6F162AA8)");
	/* a good one beside a bad one is not good enough */
	expect_refused("[GNUPG:] GOODSIG AAAA A <a@x>\n" VALIDSIG
	    "[GNUPG:] BADSIG BBBB B <b@x>\n", "bad signature (BBBB)");
	/* GOODSIG without VALIDSIG, or nothing at all */
	expect_refused("[GNUPG:] GOODSIG AAAA A <a@x>\n", "no valid signature");
	expect_refused("", "no valid signature");
	/* only lines with the status prefix count */
	expect_refused("gpgv: [GNUPG:] GOODSIG AAAA A\n" VALIDSIG,
	    "no valid signature");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpg_good),
		cmocka_unit_test(test_gpg_refused),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	log_init("test", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
