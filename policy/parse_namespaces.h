/* The policy's `external` and `personal_namespaces` sections (policy/parse_namespaces.c). */
#ifndef HUBGATE_POLICY_PARSE_NAMESPACES_H
#define HUBGATE_POLICY_PARSE_NAMESPACES_H

#include "policy/parser.h"

/* Reads root["external"] and root["personal_namespaces"] (both optional) into ps->p, recording
 * every problem in ps->diag. Runs after pol_parse_orgs: an external namespace may not be an
 * org. */
void pol_parse_namespaces(pol_parser_t *ps, json_t *root);

#endif
