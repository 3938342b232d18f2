/* The policy's `auditors` section (policy/parse_auditors.c). */
#ifndef HUBGATE_POLICY_PARSE_AUDITORS_H
#define HUBGATE_POLICY_PARSE_AUDITORS_H

#include "policy/parser.h"

/* Reads root["auditors"] (optional) into ps->p->auditors, recording every problem in
 * ps->diag. */
void pol_parse_auditors(pol_parser_t *ps, json_t *root);

#endif
