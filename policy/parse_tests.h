/* The policy's embedded `tests` section (policy/parse_tests.c); policy/suite.c runs them. */
#ifndef HUBGATE_POLICY_PARSE_TESTS_H
#define HUBGATE_POLICY_PARSE_TESTS_H

#include "policy/parser.h"

/* Reads root["tests"] (optional) into ps->p->tests, recording every problem in ps->diag. Each
 * test keeps its line and column (from ps->diag.pos) for the runner's report. */
void pol_parse_tests(pol_parser_t *ps, json_t *root);

#endif
