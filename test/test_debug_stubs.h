/*
 * For unit tests that include the unique_principal_names module's files:
 * the module logs through Samba's DEBUG macros, whose functions live in a
 * private library of the samba processes that load it.  Here they print
 * nothing.
 *
 * Copyright (C) samba-asa authors 2026
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 3 of the License, or
 * (at your option) any later version.
 */

#ifndef ASA_TEST_DEBUG_STUBS_H
#define ASA_TEST_DEBUG_STUBS_H

#include <stdbool.h>
#include <stddef.h>

int debuglevel_get_class(size_t idx)
{
	return -1;
}

bool dbghdrclass(int level, int cls, const char *location,
		 const char *func)
{
	return false;
}

bool dbgtext(const char *fmt, ...)
{
	return false;
}

#endif
