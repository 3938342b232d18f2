/* The policy's `rules` section (policy/parse_rules.c). */
#ifndef HUBGATE_POLICY_PARSE_RULES_H
#define HUBGATE_POLICY_PARSE_RULES_H

#include "policy/parser.h"

/* Reads root["rules"] (optional) into ps->p->rules, deny rules first, each kind in file order;
 * records every problem in ps->diag. */
void pol_parse_rules(pol_parser_t *ps, json_t *root);

#endif
