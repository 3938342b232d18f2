/* The classifier's /api/… routes. */
#ifndef HUBGATE_GATEWAY_ROUTE_API_H
#define HUBGATE_GATEWAY_ROUTE_API_H

#include "gateway/route/match.h"

/* Classifies /api/… . Returns like gw_route_repo_route. */
int gw_route_api(gw_route_ctx_t *c, gw_route_t *out);

#endif
