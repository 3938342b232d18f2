/* The policy's `orgs` section (policy/parse_orgs.c). */
#ifndef HUBGATE_POLICY_PARSE_ORGS_H
#define HUBGATE_POLICY_PARSE_ORGS_H

#include "policy/parser.h"

/* Reads root["orgs"] (optional) into ps->p->orgs, recording every problem in ps->diag. */
void pol_parse_orgs(pol_parser_t *ps, json_t *root);

#endif
