/* Linux capability names, as Docker spells them. */
#ifndef BERTH_CAPABILITY_H
#define BERTH_CAPABILITY_H

#include <stdint.h>

/* "NET_ADMIN" or "CAP_NET_ADMIN" (any case) into *mask (one bit); "ALL" is every bit. -1 if
 * unknown. */
int berth_cap_from_name(const char *name, uint64_t *mask);

#endif
