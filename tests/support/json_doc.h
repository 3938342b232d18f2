/* The JSON document the position index (common/jsonpos) and the diagnostics on top of it
 * (common/jdiag) are both tested on: nested objects and arrays, a non-ASCII key and value, and
 * a key holding '/' and '~' (JSON Pointer's escapes). */
#ifndef HUBGATE_TESTS_SUPPORT_JSON_DOC_H
#define HUBGATE_TESTS_SUPPORT_JSON_DOC_H

static const char doc[] = "{\n"
                          "  \"orgs\": {\n"
                          "    \"acme\": {\"members\": [\n"
                          "      {\"group\": \"ml\", \"role\": \"writer\"},\n"
                          "      {\"email\": \"é@x\", \"rôle\": 1}\n"
                          "    ]},\n"
                          "    \"a/b~c\": true\n"
                          "  }\n"
                          "}\n";

#endif
