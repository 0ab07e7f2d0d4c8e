/*
 * TEMPORARY (integration only, removed before any issue is closed):
 * weak definitions of the subcommands being written in parallel, so the
 * program links while they land one by one.  A real cmd_X() in its own
 * file overrides the weak one here.
 */
#include "cli.h"

static int cmd_not_built(const char *name)
{
	cli_error("'%s' is not built into this samba-asa yet", name);
	return ASA_EXIT_USAGE;
}

#define PENDING(x) \
	__attribute__((weak)) int cmd_##x(TALLOC_CTX *mem_ctx, int argc, \
					  char **argv) \
	{ (void)mem_ctx; (void)argc; (void)argv; return cmd_not_built(#x); }

PENDING(create)
PENDING(member)
PENDING(keytab)
PENDING(verify)
PENDING(status)
PENDING(roll)

/* the member side of `samba-asa member` (tools/member_side.c) */
PENDING(member_install)
PENDING(member_setup)
