/* gw_scim_*: SCIM bodies and filters as Okta and Entra send them — the requests of Okta's
 * SCIM 2.0 reference and of Entra's SCIM tutorial and known-issues page, verbatim unless a
 * case says otherwise — bad and oversized input, and the shapes of hubgate's answers. Each
 * case prints its name when it fails. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/testutil.h"

#include "common/err.h"
#include "gateway/admin/scim_parse.h"

/* ---- How results are compared: rendered as one line ------------------------------------ */

static void put(char *out, size_t cap, const char *s)
{
    strncat(out, s ? s : "-", cap - strlen(out) - 1);
}

/* "userName|externalId|displayName|email|active", "-" for NULL. */
static void render_user(const gw_scim_user_t *u, char *out, size_t cap)
{
    out[0] = '\0';
    put(out, cap, u->user_name);
    put(out, cap, "|");
    put(out, cap, u->external_id);
    put(out, cap, "|");
    put(out, cap, u->display_name);
    put(out, cap, "|");
    put(out, cap, u->email);
    put(out, cap, u->active ? "|1" : "|0");
}

static void render_ids(const char **ids, size_t n, char *out, size_t cap)
{
    if (n == 0)
        put(out, cap, "-");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(out, cap, ",");
        put(out, cap, ids[i]);
    }
}

/* A reason must be one short line of printable text a directory can show. */
static void check_why(const char *name, int rc, const char *why, const char *want_in_why)
{
    if (rc == 0) {
        if (why)
            fail_msg("case \"%s\": a reason \"%s\" on success", name, why);
        return;
    }
    if (!why || !*why) {
        fail_msg("case \"%s\": error %s without a reason", name, cmn_err_name(rc));
        return;
    }
    for (const char *p = why; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            fail_msg("case \"%s\": the reason holds a control character: %s", name, why);
    }
    if (strlen(why) > 200)
        fail_msg("case \"%s\": the reason is %zu bytes long", name, strlen(why));
    if (want_in_why && !strstr(why, want_in_why))
        fail_msg("case \"%s\": reason \"%s\" does not say \"%s\"", name, why, want_in_why);
}

static void check_rc(const char *name, int rc, int want)
{
    if (rc != want)
        fail_msg("case \"%s\": %s, want %s", name, cmn_err_name(rc), cmn_err_name(want));
}

/* ---- Users: create and replace --------------------------------------------------------- */

/* Okta's POST /Users. */
#define OKTA_CREATE                                                                                \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"],\n"                         \
    "    \"userName\": \"test.user@okta.local\",\n"                                                \
    "    \"name\": {\n"                                                                            \
    "        \"givenName\": \"Test\",\n"                                                           \
    "        \"familyName\": \"User\"\n"                                                           \
    "    },\n"                                                                                     \
    "    \"emails\": [{\n"                                                                         \
    "        \"primary\": true,\n"                                                                 \
    "        \"value\": \"test.user@okta.local\",\n"                                               \
    "        \"type\": \"work\"\n"                                                                 \
    "    }],\n"                                                                                    \
    "    \"displayName\": \"Test User\",\n"                                                        \
    "    \"locale\": \"en-US\",\n"                                                                 \
    "    \"externalId\": \"00ujl29u0le5T6Aj10h7\",\n"                                              \
    "    \"groups\": [],\n"                                                                        \
    "    \"password\": \"1mz050nq\",\n"                                                            \
    "    \"active\": true\n"                                                                       \
    "}"

/* Okta's PUT /Users/{id} (App Integration Wizard apps), with "active": false as Okta sends it
 * to deactivate such an app's user (the reference's PUT example has true). */
#define OKTA_PUT_INACTIVE                                                                          \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"],\n"                         \
    "    \"id\": \"23a35c27-23d3-4c03-b4c5-6443c09e7173\",\n"                                      \
    "    \"userName\": \"test.user@okta.local\",\n"                                                \
    "    \"name\": {\n"                                                                            \
    "        \"givenName\": \"Another\",\n"                                                        \
    "        \"middleName\": \"Excited\",\n"                                                       \
    "        \"familyName\": \"User\"\n"                                                           \
    "    },\n"                                                                                     \
    "    \"emails\": [{\n"                                                                         \
    "        \"primary\": true,\n"                                                                 \
    "        \"value\": \"test.user@okta.local\",\n"                                               \
    "        \"type\": \"work\",\n"                                                                \
    "        \"display\": \"test.user@okta.local\"\n"                                              \
    "    }],\n"                                                                                    \
    "    \"active\": false,\n"                                                                     \
    "    \"groups\": [],\n"                                                                        \
    "    \"meta\": {\n"                                                                            \
    "        \"resourceType\": \"User\"\n"                                                         \
    "    }\n"                                                                                      \
    "}"

/* Entra's POST /Users (tutorial, "Create User"). */
#define ENTRA_CREATE                                                                               \
    "{\n"                                                                                          \
    "    \"schemas\": [\n"                                                                         \
    "        \"urn:ietf:params:scim:schemas:core:2.0:User\",\n"                                    \
    "        \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],\n"                   \
    "    \"externalId\": \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\",\n"                              \
    "    \"userName\": \"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee\",\n"                      \
    "    \"active\": true,\n"                                                                      \
    "    \"emails\": [{\n"                                                                         \
    "        \"primary\": true,\n"                                                                 \
    "        \"type\": \"work\",\n"                                                                \
    "        \"value\": \"Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com\"\n"         \
    "    }],\n"                                                                                    \
    "    \"meta\": {\n"                                                                            \
    "        \"resourceType\": \"User\"\n"                                                         \
    "    },\n"                                                                                     \
    "    \"name\": {\n"                                                                            \
    "        \"formatted\": \"givenName familyName\",\n"                                           \
    "        \"familyName\": \"familyName\",\n"                                                    \
    "        \"givenName\": \"givenName\"\n"                                                       \
    "    },\n"                                                                                     \
    "    \"roles\": []\n"                                                                          \
    "}"

/* Entra's POST /Users (tutorial, "Example 2. Provision a user"): nulls for what it has not. */
#define ENTRA_CREATE_NULLS                                                                         \
    "{\n"                                                                                          \
    "   \"schemas\":\n"                                                                            \
    "   [\n"                                                                                       \
    "     \"urn:ietf:params:scim:schemas:core:2.0:User\",\n"                                       \
    "     \"urn:ietf:params:scim:schemas:extension:enterprise:2.0User\"],\n"                       \
    "   \"externalId\":\"jyoung\",\n"                                                              \
    "   \"userName\":\"jyoung@testuser.com\",\n"                                                   \
    "   \"active\":true,\n"                                                                        \
    "   \"addresses\":null,\n"                                                                     \
    "   \"displayName\":\"Joy Young\",\n"                                                          \
    "   \"emails\": [\n"                                                                           \
    "     {\n"                                                                                     \
    "       \"type\":\"work\",\n"                                                                  \
    "       \"value\":\"jyoung@Contoso.com\",\n"                                                   \
    "       \"primary\":true}],\n"                                                                 \
    "   \"meta\": {\n"                                                                             \
    "     \"resourceType\":\"User\"},\n"                                                           \
    "    \"name\":{\n"                                                                             \
    "     \"familyName\":\"Young\",\n"                                                             \
    "     \"givenName\":\"Joy\"},\n"                                                               \
    "   \"phoneNumbers\":null,\n"                                                                  \
    "   \"preferredLanguage\":null,\n"                                                             \
    "   \"title\":null,\n"                                                                         \
    "   \"department\":null,\n"                                                                    \
    "   \"manager\":null}"

static const struct {
    const char *name;
    const char *body;
    int rc;
    const char *want; /* render_user's line on success; words of the reason on error */
} user_cases[] = {
    {"Okta create", OKTA_CREATE, 0,
     "test.user@okta.local|00ujl29u0le5T6Aj10h7|Test User|test.user@okta.local|1"},
    {"Okta PUT with active false: deactivation, name from givenName and familyName",
     OKTA_PUT_INACTIVE, 0, "test.user@okta.local|-|Another User|test.user@okta.local|0"},
    {"Entra create: display name from name.formatted", ENTRA_CREATE, 0,
     "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee|0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef|"
     "givenName familyName|Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com|1"},
    {"Entra create with nulls for unknown attributes", ENTRA_CREATE_NULLS, 0,
     "jyoung@testuser.com|jyoung|Joy Young|jyoung@Contoso.com|1"},
    {"active as a string in any case", "{\"userName\": \"u\", \"active\": \"FALSE\"}", 0,
     "u|-|-|-|0"},
    {"active absent: active", "{\"userName\": \"u\"}", 0, "u|-|-|-|1"},
    {"the primary email, not the first",
     "{\"userName\": \"u\", \"emails\": [{\"value\": \"home@x\", \"type\": \"home\"},"
     " {\"value\": \"work@x\", \"primary\": true}]}",
     0, "u|-|-|work@x|1"},
    {"no primary email: the first",
     "{\"userName\": \"u\", \"emails\": [{\"type\": \"work\"}, {\"value\": \"a@x\"},"
     " {\"value\": \"b@x\"}]}",
     0, "u|-|-|a@x|1"},
    {"attribute names in any case, qualified by the core URN",
     "{\"urn:ietf:params:scim:schemas:core:2.0:User:userName\": \"q\", \"ACTIVE\": false,"
     " \"DisplayName\": \"Q\"}",
     0, "q|-|Q|-|0"},
    {"only a givenName", "{\"userName\": \"u\", \"name\": {\"givenName\": \"Ann\"}}", 0,
     "u|-|Ann|-|1"},
    {"an extension's userName is not the userName",
     "{\"userName\": \"u\", \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
     " {\"userName\": \"x\"}}",
     0, "u|-|-|-|1"},
    {"empty optional strings are absent",
     "{\"userName\": \"u\", \"externalId\": \"\", \"displayName\": \"\"}", 0, "u|-|-|-|1"},
    {"non-ASCII names are kept", "{\"userName\": \"j\\u00f6rg\", \"displayName\": \"J\\u00f6rg\"}",
     0, "j\xc3\xb6rg|-|J\xc3\xb6rg|-|1"},
    /* bad input */
    {"not JSON", "userName=u", CMN_ERR_PARSE, "not JSON"},
    {"trailing garbage", "{\"userName\": \"u\"} x", CMN_ERR_PARSE, "not JSON"},
    {"an array", "[{\"userName\": \"u\"}]", CMN_ERR_PARSE, "not a JSON object"},
    {"empty body", "", CMN_ERR_PARSE, "empty"},
    {"no userName", "{\"displayName\": \"x\"}", CMN_ERR_PARSE, "userName: required"},
    {"userName null", "{\"userName\": null}", CMN_ERR_PARSE, "userName: required"},
    {"userName empty", "{\"userName\": \"\"}", CMN_ERR_PARSE, "userName: required"},
    {"userName a number", "{\"userName\": 42}", CMN_ERR_PARSE, "userName: expected a string"},
    {"userName with a newline", "{\"userName\": \"a\\nb\"}", CMN_ERR_PARSE, "control character"},
    {"userName with a BEL", "{\"userName\": \"a\\u0007\"}", CMN_ERR_PARSE, "control character"},
    {"userName with a C1 control", "{\"userName\": \"a\\u0085b\"}", CMN_ERR_PARSE,
     "control character"},
    {"userName with DEL", "{\"userName\": \"a\\u007f\"}", CMN_ERR_PARSE, "control character"},
    {"userName with NUL", "{\"userName\": \"a\\u0000b\"}", CMN_ERR_PARSE, "not JSON"},
    {"a duplicate key", "{\"userName\": \"a\", \"userName\": \"b\"}", CMN_ERR_PARSE,
     "names a key twice"},
    {"one attribute in two cases", "{\"userName\": \"a\", \"username\": \"b\"}", CMN_ERR_PARSE,
     "given twice"},
    {"active yes", "{\"userName\": \"u\", \"active\": \"yes\"}", CMN_ERR_PARSE,
     "active: expected true or false, found \"yes\""},
    {"active 0", "{\"userName\": \"u\", \"active\": 0}", CMN_ERR_PARSE,
     "active: expected true or false"},
    {"emails a string", "{\"userName\": \"u\", \"emails\": \"a@x\"}", CMN_ERR_PARSE,
     "emails: expected an array"},
    {"an email a string", "{\"userName\": \"u\", \"emails\": [\"a@x\"]}", CMN_ERR_PARSE,
     "emails[0]: expected an object"},
    {"an email's value with a control",
     "{\"userName\": \"u\", \"emails\": [{\"value\": \"a@x\"}, {\"value\": \"b\\r@x\"}]}",
     CMN_ERR_PARSE, "emails[1].value: holds a control character"},
    {"displayName an object", "{\"userName\": \"u\", \"displayName\": {}}", CMN_ERR_PARSE,
     "displayName: expected a string, found an object"},
    {"name a string", "{\"userName\": \"u\", \"name\": \"Ann\"}", CMN_ERR_PARSE,
     "name: expected an object"},
};

static void parses_users(void **state)
{
    cmn_arena_t *a = *state;
    for (size_t i = 0; i < sizeof(user_cases) / sizeof(user_cases[0]); i++) {
        gw_scim_user_t u;
        const char *why = "unset";
        int rc = gw_scim_user_parse(user_cases[i].body, strlen(user_cases[i].body), a, &u, &why);
        check_rc(user_cases[i].name, rc, user_cases[i].rc);
        check_why(user_cases[i].name, rc, why, rc ? user_cases[i].want : NULL);
        char got[1024];
        render_user(&u, got, sizeof(got));
        if (rc == 0 && strcmp(got, user_cases[i].want) != 0)
            fail_msg("case \"%s\": %s, want %s", user_cases[i].name, got, user_cases[i].want);
        if (rc != 0 && strcmp(got, "-|-|-|-|1") != 0)
            fail_msg("case \"%s\": output %s left on error", user_cases[i].name, got);
    }
}

/* ---- Users: PatchOp --------------------------------------------------------------------- */

#define PATCH(ops)                                                                                 \
    "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], "                          \
    "\"Operations\": [" ops "]}"

/* Okta's deactivation (OIN apps): a replace with no path. */
#define OKTA_DEACTIVATE                                                                            \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\n"                      \
    "    \"Operations\": [{\n"                                                                     \
    "        \"op\": \"replace\",\n"                                                               \
    "        \"value\": {\n"                                                                       \
    "            \"active\": false\n"                                                              \
    "        }\n"                                                                                  \
    "    }]\n"                                                                                     \
    "}"

/* Entra's disable, without and with the aadOptscim062020 flag (known-issues page). */
#define ENTRA_DISABLE                                                                              \
    "{\n"                                                                                          \
    "    \"schemas\": [\n"                                                                         \
    "        \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"\n"                                  \
    "    ],\n"                                                                                     \
    "    \"Operations\": [\n"                                                                      \
    "        {\n"                                                                                  \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": \"active\",\n"                                                          \
    "            \"value\": \"False\"\n"                                                           \
    "        }\n"                                                                                  \
    "    ]\n"                                                                                      \
    "  }"
#define ENTRA_DISABLE_FLAG                                                                         \
    "{\n"                                                                                          \
    "    \"schemas\": [\n"                                                                         \
    "        \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"\n"                                  \
    "    ],\n"                                                                                     \
    "    \"Operations\": [\n"                                                                      \
    "        {\n"                                                                                  \
    "            \"op\": \"replace\",\n"                                                           \
    "            \"path\": \"active\",\n"                                                          \
    "            \"value\": false\n"                                                               \
    "        }\n"                                                                                  \
    "    ]\n"                                                                                      \
    "  }"

/* Entra's tutorial, "Disable User": Operations before schemas, a boolean. */
#define ENTRA_TUTORIAL_DISABLE                                                                     \
    "{\n"                                                                                          \
    "    \"Operations\": [\n"                                                                      \
    "        {\n"                                                                                  \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": \"active\",\n"                                                          \
    "            \"value\": false\n"                                                               \
    "        }\n"                                                                                  \
    "    ],\n"                                                                                     \
    "    \"schemas\": [\n"                                                                         \
    "        \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"\n"                                  \
    "    ]\n"                                                                                      \
    "}"

/* Entra's "replace multiple attributes", without and with the flag (known-issues page). */
#define ENTRA_REPLACE_MANY                                                                         \
    "{\n"                                                                                          \
    "    \"schemas\": [\n"                                                                         \
    "        \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"\n"                                  \
    "    ],\n"                                                                                     \
    "    \"Operations\": [\n"                                                                      \
    "        {\n"                                                                                  \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": \"displayName\",\n"                                                     \
    "            \"value\": \"Pvlo\"\n"                                                            \
    "        },\n"                                                                                 \
    "        {\n"                                                                                  \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": \"emails[type eq \\\"work\\\"].value\",\n"                              \
    "            \"value\": \"TestBcwqnm@test.microsoft.com\"\n"                                   \
    "        },\n"                                                                                 \
    "        {\n"                                                                                  \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": \"name.givenName\",\n"                                                  \
    "            \"value\": \"Gtfd\"\n"                                                            \
    "        },\n"                                                                                 \
    "        {\n"                                                                                  \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": \"name.familyName\",\n"                                                 \
    "            \"value\": \"Pkqf\"\n"                                                            \
    "        },\n"                                                                                 \
    "        {\n"                                                                                  \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": \"externalId\",\n"                                                      \
    "            \"value\": \"Eqpj\"\n"                                                            \
    "        },\n"                                                                                 \
    "        {\n"                                                                                  \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": "                                                                       \
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber\",\n"             \
    "            \"value\": \"Eqpj\"\n"                                                            \
    "        }\n"                                                                                  \
    "    ]\n"                                                                                      \
    "  }"
#define ENTRA_REPLACE_MANY_FLAG                                                                    \
    "{\n"                                                                                          \
    "    \"schemas\": [\n"                                                                         \
    "        \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"\n"                                  \
    "    ],\n"                                                                                     \
    "    \"Operations\": [\n"                                                                      \
    "        {\n"                                                                                  \
    "            \"op\": \"replace\",\n"                                                           \
    "            \"path\": \"emails[type eq \\\"work\\\"].value\",\n"                              \
    "            \"value\": \"TestMhvaes@test.microsoft.com\"\n"                                   \
    "        },\n"                                                                                 \
    "        {\n"                                                                                  \
    "            \"op\": \"replace\",\n"                                                           \
    "            \"value\": {\n"                                                                   \
    "                \"displayName\": \"Bjfe\",\n"                                                 \
    "                \"name.givenName\": \"Kkom\",\n"                                              \
    "                \"name.familyName\": \"Unua\",\n"                                             \
    "                "                                                                             \
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber\""                \
    ": \"Aklq\"\n"                                                                                 \
    "            }\n"                                                                              \
    "        }\n"                                                                                  \
    "    ]\n"                                                                                      \
    "  }"

/* Entra's "add a single-value string attribute" without the flag: nickName, not kept. */
#define ENTRA_ADD_NICKNAME                                                                         \
    "{\n"                                                                                          \
    "    \"schemas\": [\n"                                                                         \
    "        \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"\n"                                  \
    "    ],\n"                                                                                     \
    "    \"Operations\": [\n"                                                                      \
    "      {\n"                                                                                    \
    "        \"op\": \"Add\",\n"                                                                   \
    "        \"path\": \"nickName\",\n"                                                            \
    "        \"value\": \"Babs\"\n"                                                                \
    "      }\n"                                                                                    \
    "    ]\n"                                                                                      \
    "  }"

/* Entra's tutorial, "Update User [Multi-valued properties]". */
#define ENTRA_UPDATE_MULTI                                                                         \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\n"                      \
    "    \"Operations\": [\n"                                                                      \
    "            {\n"                                                                              \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": \"emails[type eq \\\"work\\\"].value\",\n"                              \
    "            \"value\": \"updatedEmail@microsoft.com\"\n"                                      \
    "            },\n"                                                                             \
    "            {\n"                                                                              \
    "            \"op\": \"Replace\",\n"                                                           \
    "            \"path\": \"name.familyName\",\n"                                                 \
    "            \"value\": \"updatedFamilyName\"\n"                                               \
    "            }\n"                                                                              \
    "    ]\n"                                                                                      \
    "}"

/* Entra's tutorial, "Update User [Single-valued properties]". */
#define ENTRA_UPDATE_USERNAME                                                                      \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\n"                      \
    "    \"Operations\": [{\n"                                                                     \
    "        \"op\": \"Replace\",\n"                                                               \
    "        \"path\": \"userName\",\n"                                                            \
    "        \"value\": \"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com\"\n"                   \
    "    }]\n"                                                                                     \
    "}"

/* Entra's tutorial, "Example 5": the manager reference, not kept. */
#define ENTRA_ADD_MANAGER                                                                          \
    "{\n"                                                                                          \
    "    \"schemas\": \n"                                                                          \
    "    [\n"                                                                                      \
    "      \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\n"                                  \
    "    \"Operations\":\n"                                                                        \
    "    [\n"                                                                                      \
    "      {\n"                                                                                    \
    "        \"op\":\"Add\",\n"                                                                    \
    "        \"path\":\"manager\",\n"                                                              \
    "        \"value\":\n"                                                                         \
    "          [\n"                                                                                \
    "            {\n"                                                                              \
    "              \"$ref\":\"http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee\",\n"     \
    "              \"value\":\"00aa00aa-bb11-cc22-dd33-44ee44ee44ee\"}]}]}"

#define STORED "test.user@okta.local|00ujl29u0le5T6Aj10h7|Test User|test.user@okta.local"

#define T_NAME  GW_SCIM_USER_NAME
#define T_EXT   GW_SCIM_USER_EXTERNAL_ID
#define T_DISP  GW_SCIM_USER_DISPLAY_NAME
#define T_EMAIL GW_SCIM_USER_EMAIL
#define T_ACT   GW_SCIM_USER_ACTIVE

static const struct {
    const char *name;
    int stored_active;
    const char *body;
    int rc;
    const char *want; /* the user after the patch; or words of the reason */
    unsigned touched;
} patch_cases[] = {
    {"Okta deactivation: replace without a path", 1, OKTA_DEACTIVATE, 0, STORED "|0", T_ACT},
    {"Entra disable: Replace, string \"False\"", 1, ENTRA_DISABLE, 0, STORED "|0", T_ACT},
    {"Entra disable with the flag: lower case, boolean", 1, ENTRA_DISABLE_FLAG, 0, STORED "|0",
     T_ACT},
    {"Entra tutorial disable: Operations before schemas", 1, ENTRA_TUTORIAL_DISABLE, 0, STORED "|0",
     T_ACT},
    {"deactivating twice is idempotent", 0, ENTRA_DISABLE, 0, STORED "|0", T_ACT},
    {"reactivation by the string \"True\"", 0,
     PATCH("{\"op\": \"Replace\", \"path\": \"active\", \"value\": \"True\"}"), 0, STORED "|1",
     T_ACT},
    {"Entra replace many: displayName wins over the name's parts", 1, ENTRA_REPLACE_MANY, 0,
     "test.user@okta.local|Eqpj|Pvlo|TestBcwqnm@test.microsoft.com|1", T_EXT | T_DISP | T_EMAIL},
    {"Entra replace many with the flag: path-less dotted keys", 1, ENTRA_REPLACE_MANY_FLAG, 0,
     "test.user@okta.local|00ujl29u0le5T6Aj10h7|Bjfe|TestMhvaes@test.microsoft.com|1",
     T_DISP | T_EMAIL},
    {"path-less dotted name keys make the display name", 1,
     PATCH("{\"op\": \"replace\", \"value\": {\"name.givenName\": \"Kkom\","
           " \"name.familyName\": \"Unua\"}}"),
     0, "test.user@okta.local|00ujl29u0le5T6Aj10h7|Kkom Unua|test.user@okta.local|1", T_DISP},
    {"Entra multi-valued update: one half of a name keeps the display name", 1, ENTRA_UPDATE_MULTI,
     0, "test.user@okta.local|00ujl29u0le5T6Aj10h7|Test User|updatedEmail@microsoft.com|1",
     T_EMAIL},
    {"Entra userName update", 1, ENTRA_UPDATE_USERNAME, 0,
     "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com|00ujl29u0le5T6Aj10h7|Test User|"
     "test.user@okta.local|1",
     T_NAME},
    {"Entra nickName: not kept, nothing changes", 1, ENTRA_ADD_NICKNAME, 0, STORED "|1", 0},
    {"Entra manager: not kept, nothing changes", 1, ENTRA_ADD_MANAGER, 0, STORED "|1", 0},
    {"Okta password sync: ignored", 1,
     PATCH("{\"op\": \"replace\", \"value\": {\"password\": \"t1meMa$heen\"}}"), 0, STORED "|1", 0},
    {"path-less keys hubgate ignores (id, schemas, title)", 0,
     PATCH("{\"op\": \"replace\", \"value\": {\"id\": \"x\", \"schemas\": [], \"title\": null,"
           " \"active\": true}}"),
     0, STORED "|1", T_ACT},
    {"name.formatted", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"name.formatted\", \"value\": \"Dr T User\"}"), 0,
     "test.user@okta.local|00ujl29u0le5T6Aj10h7|Dr T User|test.user@okta.local|1", T_DISP},
    {"name as an object", 1,
     PATCH("{\"op\": \"add\", \"path\": \"name\", \"value\": {\"givenName\": \"A\","
           " \"familyName\": \"B\"}}"),
     0, "test.user@okta.local|00ujl29u0le5T6Aj10h7|A B|test.user@okta.local|1", T_DISP},
    {"remove displayName", 1, PATCH("{\"op\": \"remove\", \"path\": \"displayName\"}"), 0,
     "test.user@okta.local|00ujl29u0le5T6Aj10h7|-|test.user@okta.local|1", T_DISP},
    {"remove externalId", 1, PATCH("{\"op\": \"Remove\", \"path\": \"externalId\"}"), 0,
     "test.user@okta.local|-|Test User|test.user@okta.local|1", T_EXT},
    {"another type's email: ignored", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"emails[type eq \\\"home\\\"].value\","
           " \"value\": \"h@x\"}"),
     0, STORED "|1", 0},
    {"the primary email", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"emails[primary eq true].value\","
           " \"value\": \"p@x\"}"),
     0, "test.user@okta.local|00ujl29u0le5T6Aj10h7|Test User|p@x|1", T_EMAIL},
    {"replace emails: the primary of the new list", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"emails\", \"value\": [{\"value\": \"a@x\"},"
           " {\"value\": \"b@x\", \"primary\": true}]}"),
     0, "test.user@okta.local|00ujl29u0le5T6Aj10h7|Test User|b@x|1", T_EMAIL},
    {"add a secondary email: the kept one stays", 1,
     PATCH("{\"op\": \"add\", \"path\": \"emails\", \"value\": [{\"value\": \"a@x\","
           " \"type\": \"home\"}]}"),
     0, STORED "|1", T_EMAIL},
    {"remove emails", 1, PATCH("{\"op\": \"remove\", \"path\": \"emails\"}"), 0,
     "test.user@okta.local|00ujl29u0le5T6Aj10h7|Test User|-|1", T_EMAIL},
    {"a path qualified by the core URN", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"urn:ietf:params:scim:schemas:core:2.0:User:active\","
           " \"value\": false}"),
     0, STORED "|0", T_ACT},
    {"operations in order: the last one wins", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"active\", \"value\": false},"
           " {\"op\": \"replace\", \"path\": \"active\", \"value\": true}"),
     0, STORED "|1", T_ACT},
    {"attribute names in paths in any case", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"ACTIVE\", \"value\": false},"
           " {\"op\": \"replace\", \"path\": \"Name.GivenName\", \"value\": \"x\"}"),
     0, STORED "|0", T_ACT},
    {"\"operations\" in lower case", 1,
     "{\"operations\": [{\"op\": \"replace\", \"path\": \"active\", \"value\": false}]}", 0,
     STORED "|0", T_ACT},
    /* refused, and the stored user left as it was */
    {"a later bad operation undoes an earlier deactivation", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"active\", \"value\": false},"
           " {\"op\": \"replace\", \"path\": \"userName\", \"value\": 7}"),
     CMN_ERR_PARSE, "userName: expected a string", 0},
    {"remove active", 1, PATCH("{\"op\": \"remove\", \"path\": \"active\"}"), CMN_ERR_PARSE,
     "active cannot be removed", 0},
    {"active \"no\"", 1, PATCH("{\"op\": \"replace\", \"path\": \"active\", \"value\": \"no\"}"),
     CMN_ERR_PARSE, "expected true or false", 0},
    {"active null", 1, PATCH("{\"op\": \"replace\", \"path\": \"active\", \"value\": null}"),
     CMN_ERR_PARSE, "expected true or false, found null", 0},
    {"active without a value", 1, PATCH("{\"op\": \"replace\", \"path\": \"active\"}"),
     CMN_ERR_PARSE, "expected true or false, found nothing", 0},
    {"active as an object", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"active\", \"value\": {\"active\": false}}"),
     CMN_ERR_PARSE, "expected true or false", 0},
    {"active.x", 1, PATCH("{\"op\": \"replace\", \"path\": \"active.x\", \"value\": false}"),
     CMN_ERR_PARSE, "no sub-attributes", 0},
    {"remove userName", 1, PATCH("{\"op\": \"remove\", \"path\": \"userName\"}"), CMN_ERR_PARSE,
     "cannot be removed", 0},
    {"empty userName", 1, PATCH("{\"op\": \"replace\", \"path\": \"userName\", \"value\": \"\"}"),
     CMN_ERR_PARSE, "userName: required", 0},
    {"a userName with a tab", 1,
     PATCH("{\"op\": \"replace\", \"value\": {\"userName\": \"a\\tb\"}}"), CMN_ERR_PARSE,
     "control character", 0},
    {"remove without a path", 1, PATCH("{\"op\": \"remove\", \"value\": {\"active\": false}}"),
     CMN_ERR_PARSE, "noTarget", 0},
    {"no path and a boolean value", 1, PATCH("{\"op\": \"replace\", \"value\": false}"),
     CMN_ERR_PARSE, "the value must be an object", 0},
    {"unknown op", 1, PATCH("{\"op\": \"move\", \"path\": \"active\", \"value\": false}"),
     CMN_ERR_PARSE, "\"move\" is not add, replace or remove", 0},
    {"no op", 1, PATCH("{\"path\": \"active\", \"value\": false}"), CMN_ERR_PARSE,
     "Operations[0].op", 0},
    {"op in two cases", 1,
     PATCH("{\"op\": \"replace\", \"OP\": \"remove\", \"path\": \"active\", \"value\": false}"),
     CMN_ERR_PARSE, "given twice", 0},
    {"no Operations", 1, "{\"schemas\": []}", CMN_ERR_PARSE, "Operations", 0},
    {"empty Operations", 1, PATCH(""), CMN_ERR_PARSE, "non-empty array", 0},
    {"Operations an object", 1, "{\"Operations\": {\"op\": \"replace\"}}", CMN_ERR_PARSE,
     "non-empty array", 0},
    {"an operation a string", 1, PATCH("\"replace\""), CMN_ERR_PARSE,
     "Operations[0]: expected an object", 0},
    {"an unclosed path filter", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"emails[type eq \\\"work\\\".value\","
           " \"value\": \"a@x\"}"),
     CMN_ERR_PARSE, "not a valid path", 0},
    {"a path with a space", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"active \", \"value\": false}"), CMN_ERR_PARSE,
     "not a valid path", 0},
    {"an empty path", 1, PATCH("{\"op\": \"replace\", \"path\": \"\", \"value\": false}"),
     CMN_ERR_PARSE, "Operations[0].path", 0},
    {"a path a number", 1, PATCH("{\"op\": \"replace\", \"path\": 1, \"value\": false}"),
     CMN_ERR_PARSE, "Operations[0].path", 0},
    {"a path-less value naming active twice", 1,
     PATCH("{\"op\": \"replace\", \"value\": {\"active\": false, \"Active\": true}}"),
     CMN_ERR_PARSE, "twice", 0},
    {"an emails filter with or", 1,
     PATCH("{\"op\": \"replace\", \"path\": \"emails[type eq \\\"work\\\" or primary eq true]"
           ".value\", \"value\": \"a@x\"}"),
     CMN_ERR_PARSE, "only one attr eq value", 0},
    {"not JSON", 1, "{\"Operations\": [", CMN_ERR_PARSE, "not JSON", 0},
};

static void patches_users(void **state)
{
    cmn_arena_t *a = *state;
    for (size_t i = 0; i < sizeof(patch_cases) / sizeof(patch_cases[0]); i++) {
        gw_scim_user_t u = {"test.user@okta.local", "00ujl29u0le5T6Aj10h7", "Test User",
                            "test.user@okta.local", patch_cases[i].stored_active};
        char before[1024], got[1024];
        render_user(&u, before, sizeof(before));
        unsigned touched = 0xdead;
        const char *why = "unset";
        int rc = gw_scim_user_patch(patch_cases[i].body, strlen(patch_cases[i].body), a, &u,
                                    &touched, &why);
        check_rc(patch_cases[i].name, rc, patch_cases[i].rc);
        check_why(patch_cases[i].name, rc, why, rc ? patch_cases[i].want : NULL);
        render_user(&u, got, sizeof(got));
        if (rc == 0 && strcmp(got, patch_cases[i].want) != 0)
            fail_msg("case \"%s\": %s, want %s", patch_cases[i].name, got, patch_cases[i].want);
        if (rc != 0 && strcmp(got, before) != 0)
            fail_msg("case \"%s\": the user changed on error: %s, was %s", patch_cases[i].name, got,
                     before);
        if (touched != patch_cases[i].touched)
            fail_msg("case \"%s\": touched %#x, want %#x", patch_cases[i].name, touched,
                     patch_cases[i].touched);
    }
    /* touched may be NULL */
    gw_scim_user_t u = {"u", NULL, NULL, NULL, 1};
    const char *why;
    assert_int_equal(
        gw_scim_user_patch(OKTA_DEACTIVATE, strlen(OKTA_DEACTIVATE), a, &u, NULL, &why), 0);
    assert_int_equal(u.active, 0);
}

/* ---- Groups ----------------------------------------------------------------------------- */

/* Okta's POST /Groups. */
#define OKTA_GROUP_CREATE                                                                          \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\n"                        \
    "    \"displayName\": \"Test SCIMv2\",\n"                                                      \
    "    \"members\": []\n"                                                                        \
    "}"

/* Entra's POST /Groups: no members, a second schema that is no URN. */
#define ENTRA_GROUP_CREATE                                                                         \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:Group\", "                          \
    "\"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group\"],\n"             \
    "    \"externalId\": \"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159\",\n"                              \
    "    \"displayName\": \"displayName\",\n"                                                      \
    "    \"meta\": {\n"                                                                            \
    "        \"resourceType\": \"Group\"\n"                                                        \
    "    }\n"                                                                                      \
    "}"

static const struct {
    const char *name;
    const char *body;
    int rc;
    const char *want; /* "displayName|externalId|members" or words of the reason */
} group_cases[] = {
    {"Okta create", OKTA_GROUP_CREATE, 0, "Test SCIMv2|-|-"},
    {"Entra create", ENTRA_GROUP_CREATE, 0, "displayName|8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159|-"},
    {"members with display and $ref",
     "{\"displayName\": \"g\", \"members\": [{\"value\": \"b1c794f24f4c49f4b5d503a4cb2686ea\","
     " \"display\": \"SCIM 2 Group A\"}, {\"$ref\": null, \"value\": \"u2\"}]}",
     0, "g|-|b1c794f24f4c49f4b5d503a4cb2686ea,u2"},
    {"members null", "{\"displayName\": \"g\", \"members\": null}", 0, "g|-|-"},
    {"no displayName", "{\"members\": []}", CMN_ERR_PARSE, "displayName: required"},
    {"displayName with a newline", "{\"displayName\": \"a\\nb\"}", CMN_ERR_PARSE,
     "control character"},
    {"members an object", "{\"displayName\": \"g\", \"members\": {\"value\": \"u\"}}",
     CMN_ERR_PARSE, "members: expected an array"},
    {"a member without a value", "{\"displayName\": \"g\", \"members\": [{\"display\": \"u\"}]}",
     CMN_ERR_PARSE, "members[0].value: required"},
    {"a member id a number", "{\"displayName\": \"g\", \"members\": [{\"value\": 3}]}",
     CMN_ERR_PARSE, "members[0].value: expected a string"},
    {"a member a bare string", "{\"displayName\": \"g\", \"members\": [\"u\"]}", CMN_ERR_PARSE,
     "members[0]: expected an object"},
    {"a duplicate key", "{\"displayName\": \"g\", \"displayName\": \"h\"}", CMN_ERR_PARSE, "twice"},
};

static void parses_groups(void **state)
{
    cmn_arena_t *a = *state;
    for (size_t i = 0; i < sizeof(group_cases) / sizeof(group_cases[0]); i++) {
        gw_scim_group_t g;
        const char *why = "unset";
        int rc = gw_scim_group_parse(group_cases[i].body, strlen(group_cases[i].body), a, &g, &why);
        check_rc(group_cases[i].name, rc, group_cases[i].rc);
        check_why(group_cases[i].name, rc, why, rc ? group_cases[i].want : NULL);
        char got[1024] = "";
        put(got, sizeof(got), g.display_name);
        put(got, sizeof(got), "|");
        put(got, sizeof(got), g.external_id);
        put(got, sizeof(got), "|");
        render_ids(g.members, g.n_members, got, sizeof(got));
        if (rc == 0 && strcmp(got, group_cases[i].want) != 0)
            fail_msg("case \"%s\": %s, want %s", group_cases[i].name, got, group_cases[i].want);
        if (rc != 0 && strcmp(got, "-|-|-") != 0)
            fail_msg("case \"%s\": output %s left on error", group_cases[i].name, got);
    }
}

/* Okta's membership update: remove by filter, add by value array. */
#define OKTA_MEMBERSHIP                                                                            \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\n"                      \
    "    \"Operations\": [{\n"                                                                     \
    "          \"op\": \"remove\",\n"                                                              \
    "          \"path\": \"members[value eq \\\"89bb1940-b905-4575-9e7f-6f887cfb368e\\\"]\"\n"     \
    "        },\n"                                                                                 \
    "        {\n"                                                                                  \
    "          \"op\": \"add\",\n"                                                                 \
    "          \"path\": \"members\",\n"                                                           \
    "          \"value\": [{\n"                                                                    \
    "              \"value\": \"23a35c27-23d3-4c03-b4c5-6443c09e7173\",\n"                         \
    "              \"display\": \"test.user@okta.local\"\n"                                        \
    "        }]\n"                                                                                 \
    "    }]\n"                                                                                     \
    "}"

/* Okta's full push of the membership. */
#define OKTA_REPLACE_MEMBERS                                                                       \
    "{\n"                                                                                          \
    "  \"schemas\": [\n"                                                                           \
    "    \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"\n"                                      \
    "  ],\n"                                                                                       \
    "  \"Operations\": [\n"                                                                        \
    "    {\n"                                                                                      \
    "      \"op\": \"replace\",\n"                                                                 \
    "      \"path\": \"members\",\n"                                                               \
    "      \"value\": [\n"                                                                         \
    "        {\n"                                                                                  \
    "          \"value\": \"23a35c27-23d3-4c03-b4c5-6443c09e7173\",\n"                             \
    "          \"display\": \"test.user@okta.local\"\n"                                            \
    "        },\n"                                                                                 \
    "        {\n"                                                                                  \
    "          \"value\": \"89bb1940-b905-4575-9e7f-6f887cfb368e\",\n"                             \
    "          \"display\": \"test.user@okta.local\"\n"                                            \
    "        }\n"                                                                                  \
    "      ]\n"                                                                                    \
    "    }\n"                                                                                      \
    "  ]\n"                                                                                        \
    "}"

/* Okta's rename: a path-less replace carrying the id and the name. */
#define OKTA_RENAME                                                                                \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\n"                      \
    "    \"Operations\": [{\n"                                                                     \
    "        \"op\": \"replace\",\n"                                                               \
    "        \"value\": {\n"                                                                       \
    "            \"id\": \"abf4dd94-a4c0-4f67-89c9-76b03340cb9b\",\n"                              \
    "            \"displayName\": \"Test SCIMv2\"\n"                                               \
    "        }\n"                                                                                  \
    "    }]\n"                                                                                     \
    "}"

/* Entra's tutorial: "Update Group [Non-member attributes]", "[Add Members]", "[Remove
 * Members]". */
#define ENTRA_RENAME                                                                               \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\n"                      \
    "    \"Operations\": [{\n"                                                                     \
    "        \"op\": \"Replace\",\n"                                                               \
    "        \"path\": \"displayName\",\n"                                                         \
    "        \"value\": \"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName\"\n"              \
    "    }]\n"                                                                                     \
    "}"
#define ENTRA_ADD_MEMBERS                                                                          \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\n"                      \
    "    \"Operations\": [{\n"                                                                     \
    "        \"op\": \"Add\",\n"                                                                   \
    "        \"path\": \"members\",\n"                                                             \
    "        \"value\": [{\n"                                                                      \
    "            \"$ref\": null,\n"                                                                \
    "            \"value\": \"f648f8d5ea4e4cd38e9c\"\n"                                            \
    "        }]\n"                                                                                 \
    "    }]\n"                                                                                     \
    "}"
#define ENTRA_REMOVE_MEMBERS                                                                       \
    "{\n"                                                                                          \
    "    \"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\n"                      \
    "    \"Operations\": [{\n"                                                                     \
    "        \"op\": \"Remove\",\n"                                                                \
    "        \"path\": \"members\",\n"                                                             \
    "        \"value\": [{\n"                                                                      \
    "            \"$ref\": null,\n"                                                                \
    "            \"value\": \"f648f8d5ea4e4cd38e9c\"\n"                                            \
    "        }]\n"                                                                                 \
    "    }]\n"                                                                                     \
    "}"

/* Entra's member removal without and with the flag (known-issues page). */
#define ENTRA_REMOVE_MEMBER_DEFAULT                                                                \
    "{\n"                                                                                          \
    "    \"schemas\": [\n"                                                                         \
    "        \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"\n"                                  \
    "    ],\n"                                                                                     \
    "    \"Operations\": [\n"                                                                      \
    "        {\n"                                                                                  \
    "            \"op\": \"Remove\",\n"                                                            \
    "            \"path\": \"members\",\n"                                                         \
    "            \"value\": [\n"                                                                   \
    "                {\n"                                                                          \
    "                    \"value\": \"u1091\"\n"                                                   \
    "                }\n"                                                                          \
    "            ]\n"                                                                              \
    "        }\n"                                                                                  \
    "    ]\n"                                                                                      \
    "  }"
#define ENTRA_REMOVE_MEMBER_FLAG                                                                   \
    "{\n"                                                                                          \
    "    \"schemas\": [\n"                                                                         \
    "        \"urn:ietf:params:scim:api:messages:2.0:PatchOp\"\n"                                  \
    "    ],\n"                                                                                     \
    "    \"Operations\": [\n"                                                                      \
    "        {\n"                                                                                  \
    "            \"op\": \"remove\",\n"                                                            \
    "            \"path\": \"members[value eq \\\"7f4bc1a3-285e-48ae-8202-5accb43efb0e\\\"]\"\n"   \
    "        }\n"                                                                                  \
    "    ]\n"                                                                                      \
    "  }"

static const struct {
    const char *name;
    const char *body;
    int rc;
    const char *want; /* "rename|replace|add|remove" or words of the reason */
} group_patch_cases[] = {
    {"Okta membership: remove by filter, add by value", OKTA_MEMBERSHIP, 0,
     "-|0|23a35c27-23d3-4c03-b4c5-6443c09e7173|89bb1940-b905-4575-9e7f-6f887cfb368e"},
    {"Okta full push of members", OKTA_REPLACE_MEMBERS, 0,
     "-|1|23a35c27-23d3-4c03-b4c5-6443c09e7173,89bb1940-b905-4575-9e7f-6f887cfb368e|-"},
    {"Okta rename: path-less {id, displayName}", OKTA_RENAME, 0, "Test SCIMv2|0|-|-"},
    {"Entra rename", ENTRA_RENAME, 0,
     "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName|0|-|-"},
    {"Entra add with $ref null", ENTRA_ADD_MEMBERS, 0, "-|0|f648f8d5ea4e4cd38e9c|-"},
    {"Entra remove by value array (tutorial)", ENTRA_REMOVE_MEMBERS, 0,
     "-|0|-|f648f8d5ea4e4cd38e9c"},
    {"Entra remove by value array (default)", ENTRA_REMOVE_MEMBER_DEFAULT, 0, "-|0|-|u1091"},
    {"Entra remove by filter (flag)", ENTRA_REMOVE_MEMBER_FLAG, 0,
     "-|0|-|7f4bc1a3-285e-48ae-8202-5accb43efb0e"},
    {"remove members without a value: all of them",
     PATCH("{\"op\": \"remove\", \"path\": \"members\"}"), 0, "-|1|-|-"},
    {"replace members with an empty list",
     PATCH("{\"op\": \"replace\", \"path\": \"members\","
           " \"value\": []}"),
     0, "-|1|-|-"},
    {"add then remove the same id: removed",
     PATCH("{\"op\": \"add\", \"path\": \"members\", \"value\": [{\"value\": \"u1\"},"
           " {\"value\": \"u2\"}]}, {\"op\": \"remove\", \"path\": \"members[value eq "
           "\\\"u1\\\"]\"}"),
     0, "-|0|u2|u1"},
    {"remove then add the same id: added",
     PATCH("{\"op\": \"remove\", \"path\": \"members\", \"value\": [{\"value\": \"u1\"}]},"
           " {\"op\": \"add\", \"path\": \"members\", \"value\": [{\"value\": \"u1\"}]}"),
     0, "-|0|u1|-"},
    {"replace after changes starts over",
     PATCH("{\"op\": \"remove\", \"path\": \"members\", \"value\": [{\"value\": \"u1\"}]},"
           " {\"op\": \"replace\", \"path\": \"members\", \"value\": [{\"value\": \"u2\"}]}"),
     0, "-|1|u2|-"},
    {"path-less add of members and a rename",
     PATCH("{\"op\": \"add\", \"value\": {\"members\": [{\"value\": \"u3\"}],"
           " \"displayName\": \"n\"}}"),
     0, "n|0|u3|-"},
    {"externalId: ignored",
     PATCH("{\"op\": \"replace\", \"path\": \"externalId\", \"value\": \"e\"}"), 0, "-|0|-|-"},
    {"add with a filter",
     PATCH("{\"op\": \"add\", \"path\": \"members[value eq \\\"u1\\\"]\","
           " \"value\": [{\"value\": \"u1\"}]}"),
     CMN_ERR_PARSE, "only with remove"},
    {"a filter on display",
     PATCH("{\"op\": \"remove\", \"path\": \"members[display eq \\\"x\\\"]\"}"), CMN_ERR_PARSE,
     "only members[value eq"},
    {"a filter with co", PATCH("{\"op\": \"remove\", \"path\": \"members[value co \\\"u\\\"]\"}"),
     CMN_ERR_PARSE, "operator co"},
    {"members.value", PATCH("{\"op\": \"remove\", \"path\": \"members.value\"}"), CMN_ERR_PARSE,
     "sub-attributes"},
    {"remove displayName", PATCH("{\"op\": \"remove\", \"path\": \"displayName\"}"), CMN_ERR_PARSE,
     "cannot be removed"},
    {"rename to null", PATCH("{\"op\": \"replace\", \"path\": \"displayName\", \"value\": null}"),
     CMN_ERR_PARSE, "displayName: required"},
    {"members a string", PATCH("{\"op\": \"add\", \"path\": \"members\", \"value\": \"u1\"}"),
     CMN_ERR_PARSE, "expected an array of members"},
    {"a member without a value",
     PATCH("{\"op\": \"add\", \"path\": \"members\", \"value\": [{\"$ref\": null}]}"),
     CMN_ERR_PARSE, "Operations[0].value[0].value: required"},
    {"a member id with a control",
     PATCH("{\"op\": \"add\", \"path\": \"members\", \"value\": [{\"value\": \"u\\u001b\"}]}"),
     CMN_ERR_PARSE, "control character"},
    {"add without a value", PATCH("{\"op\": \"add\", \"path\": \"members\"}"), CMN_ERR_PARSE,
     "add needs a value"},
    {"an empty member id in a filter",
     PATCH("{\"op\": \"remove\", \"path\": \"members[value eq \\\"\\\"]\"}"), CMN_ERR_PARSE,
     "empty"},
    {"a path-less remove", PATCH("{\"op\": \"remove\", \"value\": {\"members\": []}}"),
     CMN_ERR_PARSE, "noTarget"},
};

static void patches_groups(void **state)
{
    cmn_arena_t *a = *state;
    for (size_t i = 0; i < sizeof(group_patch_cases) / sizeof(group_patch_cases[0]); i++) {
        gw_scim_group_patch_t p;
        const char *why = "unset";
        int rc = gw_scim_group_patch_parse(group_patch_cases[i].body,
                                           strlen(group_patch_cases[i].body), a, &p, &why);
        check_rc(group_patch_cases[i].name, rc, group_patch_cases[i].rc);
        check_why(group_patch_cases[i].name, rc, why, rc ? group_patch_cases[i].want : NULL);
        char got[1024] = "";
        put(got, sizeof(got), p.display_name);
        put(got, sizeof(got), p.replace_members ? "|1|" : "|0|");
        render_ids(p.add, p.n_add, got, sizeof(got));
        put(got, sizeof(got), "|");
        render_ids(p.remove, p.n_remove, got, sizeof(got));
        if (rc == 0 && strcmp(got, group_patch_cases[i].want) != 0)
            fail_msg("case \"%s\": %s, want %s", group_patch_cases[i].name, got,
                     group_patch_cases[i].want);
        if (rc != 0 && strcmp(got, "-|0|-|-") != 0)
            fail_msg("case \"%s\": output %s left on error", group_patch_cases[i].name, got);
    }
}

/* ---- Filters ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *filter;
    int rc;
    const char *want; /* "attr=value;attr=value" or words of the reason */
} filter_cases[] = {
    {"Okta lookup", "userName eq \"test.user@okta.local\"", 0, "userName=test.user@okta.local"},
    {"Okta's upper-cased test: the value kept as sent", "userName eq \"TEST.USER@OKTA.LOCAL\"", 0,
     "userName=TEST.USER@OKTA.LOCAL"},
    {"Entra lookup", "userName eq \"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee\"", 0,
     "userName=Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"},
    {"Entra's unquoted example", "externalId eq jyoung", 0, "externalId=jyoung"},
    {"Entra group lookup", "displayName eq \"displayName\"", 0, "displayName=displayName"},
    {"Entra by work email", "emails[type eq \"work\"].value eq \"user@contoso.com\"", 0,
     "emails.value=user@contoso.com"},
    {"a primary email", "emails[primary eq true].value eq \"a@x\"", 0, "emails.value=a@x"},
    {"emails alone", "emails eq \"a@x\"", 0, "emails.value=a@x"},
    {"operators and names in any case, joined by and",
     "USERNAME EQ \"a\" AND externalid Eq \"b\" aNd ID eq \"c\"", 0,
     "userName=a;externalId=b;id=c"},
    {"qualified by the core URN", "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"q\"", 0,
     "userName=q"},
    {"group members", "id eq \"g1\" and members.value eq \"u1\"", 0, "id=g1;members.value=u1"},
    {"escapes in a quoted value", "userName eq \"a\\\"b\\\\c\\u00e9\"", 0,
     "userName=a\"b\\c\xc3\xa9"},
    {"extra spaces", "  userName   eq   \"x\"  ", 0, "userName=x"},
    {"an empty value", "userName eq \"\"", 0, "userName="},
    /* refused */
    {"or", "userName eq \"a\" or userName eq \"b\"", CMN_ERR_UNSUPPORTED, "or is not supported"},
    {"co", "userName co \"a\"", CMN_ERR_UNSUPPORTED, "operator co"},
    {"sw", "userName sw \"a\"", CMN_ERR_UNSUPPORTED, "operator sw"},
    {"pr", "title pr", CMN_ERR_UNSUPPORTED, "operator pr"},
    {"gt", "meta.lastModified gt \"2011-05-13T04:42:34Z\"", CMN_ERR_UNSUPPORTED, "operator gt"},
    {"parentheses", "(userName eq \"a\")", CMN_ERR_UNSUPPORTED, "parentheses"},
    {"not", "not (userName eq \"a\")", CMN_ERR_UNSUPPORTED, "not is not supported"},
    {"another attribute", "title eq \"x\"", CMN_ERR_UNSUPPORTED, "attribute \"title\""},
    {"another schema's attribute",
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"1\"",
     CMN_ERR_UNSUPPORTED, "is not supported"},
    {"a home email", "emails[type eq \"home\"].value eq \"x\"", CMN_ERR_UNSUPPORTED,
     "is not supported"},
    {"empty", "", CMN_ERR_UNSUPPORTED, "empty"},
    {"spaces only", "   ", CMN_ERR_UNSUPPORTED, "empty"},
    {"no value", "userName eq", CMN_ERR_UNSUPPORTED, "expected a value"},
    {"no operator", "userName", CMN_ERR_UNSUPPORTED, "expected a space and an operator"},
    {"an unknown operator", "userName is \"a\"", CMN_ERR_UNSUPPORTED, "expected eq"},
    {"an unclosed quote", "userName eq \"abc", CMN_ERR_UNSUPPORTED, "not closed"},
    {"a trailing and", "userName eq \"a\" and", CMN_ERR_UNSUPPORTED, "nothing follows and"},
    {"two terms without and", "userName eq \"a\" userName eq \"b\"", CMN_ERR_UNSUPPORTED,
     "expected and"},
    {"text glued to a value", "userName eq \"a\"x", CMN_ERR_UNSUPPORTED, "after a value"},
    {"a tab", "userName\teq \"a\"", CMN_ERR_UNSUPPORTED, "control character"},
    {"a NUL escape", "userName eq \"a\\u0000\"", CMN_ERR_UNSUPPORTED, "not a valid JSON string"},
    {"a control escape", "userName eq \"a\\u0001\"", CMN_ERR_UNSUPPORTED, "control character"},
    {"a bad escape", "userName eq \"a\\q\"", CMN_ERR_UNSUPPORTED, "not a valid JSON string"},
    {"more terms than room", "id eq \"1\" and id eq \"2\" and id eq \"3\" and id eq \"4\"",
     CMN_ERR_UNSUPPORTED, "more than 3 terms"},
};

static void parses_filters(void **state)
{
    cmn_arena_t *a = *state;
    for (size_t i = 0; i < sizeof(filter_cases) / sizeof(filter_cases[0]); i++) {
        gw_scim_term_t terms[3];
        size_t n = 99;
        const char *why = "unset";
        int rc = gw_scim_filter_parse(filter_cases[i].filter, a, terms, 3, &n, &why);
        check_rc(filter_cases[i].name, rc, filter_cases[i].rc);
        check_why(filter_cases[i].name, rc, why, rc ? filter_cases[i].want : NULL);
        if (rc != 0) {
            if (n != 0)
                fail_msg("case \"%s\": %zu terms on error", filter_cases[i].name, n);
            continue;
        }
        char got[1024] = "";
        for (size_t k = 0; k < n; k++) {
            if (k)
                put(got, sizeof(got), ";");
            put(got, sizeof(got), terms[k].attr);
            put(got, sizeof(got), "=");
            put(got, sizeof(got), terms[k].value);
        }
        if (strcmp(got, filter_cases[i].want) != 0)
            fail_msg("case \"%s\": %s, want %s", filter_cases[i].name, got, filter_cases[i].want);
    }
    gw_scim_term_t t[1];
    size_t n;
    const char *why;
    assert_int_equal(gw_scim_filter_parse(NULL, a, t, 1, &n, &why), CMN_ERR_UNSUPPORTED);
}

/* ---- Caps ------------------------------------------------------------------------------- */

/* A string of n copies of c, in a static buffer. */
static const char *repeat(char c, size_t n)
{
    static char buf[GW_SCIM_MAX_FILTER_BYTES + 512];
    assert_true(n < sizeof(buf));
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* A group body or PatchOp with n members "u0", "u1" …, malloc'd. */
static char *many_members(size_t n, int patch)
{
    size_t cap = n * 24 + 256;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t k =
        (size_t)snprintf(s, cap, "%s",
                         patch ? "{\"Operations\": [{\"op\": \"add\", \"path\": \"members\", "
                                 "\"value\": ["
                               : "{\"displayName\": \"big\", \"members\": [");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s{\"value\": \"u%zu\"}", i ? "," : "", i);
    snprintf(s + k, cap - k, "%s", patch ? "]}]}" : "]}");
    return s;
}

static void holds_to_its_caps(void **state)
{
    cmn_arena_t *a = *state;
    const char *why;
    char body[4096];

    /* a body past GW_SCIM_MAX_BODY_BYTES is refused before it is read */
    size_t big = GW_SCIM_MAX_BODY_BYTES + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    gw_scim_user_t u;
    assert_int_equal(gw_scim_user_parse(huge, big, a, &u, &why), CMN_ERR_TOOBIG);
    check_why("oversized user", CMN_ERR_TOOBIG, why, "larger than");
    gw_scim_group_patch_t gp;
    assert_int_equal(gw_scim_group_patch_parse(huge, big, a, &gp, &why), CMN_ERR_TOOBIG);
    assert_int_equal(gw_scim_user_parse(huge, big - 1, a, &u, &why), CMN_ERR_PARSE);
    free(huge);

    /* strings: 256 bytes kept, 257 refused */
    snprintf(body, sizeof(body), "{\"userName\": \"%s\"}", repeat('n', GW_SCIM_MAX_STRING_BYTES));
    assert_int_equal(gw_scim_user_parse(body, strlen(body), a, &u, &why), 0);
    assert_int_equal(strlen(u.user_name), GW_SCIM_MAX_STRING_BYTES);
    snprintf(body, sizeof(body), "{\"userName\": \"%s\"}",
             repeat('n', GW_SCIM_MAX_STRING_BYTES + 1));
    assert_int_equal(gw_scim_user_parse(body, strlen(body), a, &u, &why), CMN_ERR_PARSE);
    check_why("long userName", CMN_ERR_PARSE, why, "userName: longer than 256 bytes");
    /* a display name joined from two long halves */
    snprintf(body, sizeof(body), "{\"userName\": \"u\", \"name\": {\"givenName\": \"%s\",",
             repeat('g', 200));
    snprintf(body + strlen(body), sizeof(body) - strlen(body), " \"familyName\": \"%s\"}}",
             repeat('f', 60));
    assert_int_equal(gw_scim_user_parse(body, strlen(body), a, &u, &why), CMN_ERR_PARSE);
    check_why("long name", CMN_ERR_PARSE, why, "together longer than");

    /* members: GW_SCIM_MAX_MEMBERS kept, one more refused, in a body and in a PatchOp */
    char *s = many_members(GW_SCIM_MAX_MEMBERS, 0);
    gw_scim_group_t g;
    assert_int_equal(gw_scim_group_parse(s, strlen(s), a, &g, &why), 0);
    assert_int_equal(g.n_members, GW_SCIM_MAX_MEMBERS);
    assert_string_equal(g.members[GW_SCIM_MAX_MEMBERS - 1], "u9999");
    free(s);
    s = many_members(GW_SCIM_MAX_MEMBERS + 1, 0);
    assert_int_equal(gw_scim_group_parse(s, strlen(s), a, &g, &why), CMN_ERR_TOOBIG);
    check_why("too many members", CMN_ERR_TOOBIG, why, "more than 10000 members");
    free(s);
    s = many_members(GW_SCIM_MAX_MEMBERS, 1);
    assert_int_equal(gw_scim_group_patch_parse(s, strlen(s), a, &gp, &why), 0);
    assert_int_equal(gp.n_add, GW_SCIM_MAX_MEMBERS);
    free(s);
    s = many_members(GW_SCIM_MAX_MEMBERS + 1, 1);
    assert_int_equal(gw_scim_group_patch_parse(s, strlen(s), a, &gp, &why), CMN_ERR_TOOBIG);
    free(s);
    /* … also when spread over operations */
    char *half = many_members(GW_SCIM_MAX_MEMBERS / 2 + 1, 0); /* reuse the members array */
    const char *arr = strchr(half, '[');
    size_t op_cap = strlen(arr) + 64;
    char *op = malloc(op_cap);
    assert_non_null(op);
    snprintf(op, op_cap, "{\"op\": \"add\", \"path\": \"members\", \"value\": %.*s}",
             (int)(strlen(arr) - 1), arr);
    size_t two_cap = 2 * strlen(op) + 64;
    char *two = malloc(two_cap);
    assert_non_null(two);
    snprintf(two, two_cap, "{\"Operations\": [%s, %s]}", op, op);
    assert_int_equal(gw_scim_group_patch_parse(two, strlen(two), a, &gp, &why), CMN_ERR_TOOBIG);
    free(two);
    free(op);
    free(half);

    /* Operations: GW_SCIM_MAX_OPERATIONS + 1 refused */
    size_t ops_cap = (GW_SCIM_MAX_OPERATIONS + 1) * 64 + 64;
    char *ops = malloc(ops_cap);
    assert_non_null(ops);
    size_t k = (size_t)snprintf(ops, ops_cap, "{\"Operations\": [");
    for (size_t i = 0; i <= GW_SCIM_MAX_OPERATIONS; i++)
        k += (size_t)snprintf(ops + k, ops_cap - k,
                              "%s{\"op\": \"add\", \"path\": \"title\", \"value\": \"t\"}",
                              i ? "," : "");
    snprintf(ops + k, ops_cap - k, "]}");
    gw_scim_user_t stored = {"u", NULL, NULL, NULL, 1};
    assert_int_equal(gw_scim_user_patch(ops, strlen(ops), a, &stored, NULL, &why), CMN_ERR_TOOBIG);
    check_why("too many operations", CMN_ERR_TOOBIG, why, "more than 10000 operations");
    free(ops);

    /* a path past GW_SCIM_MAX_PATH_BYTES */
    snprintf(body, sizeof(body), PATCH("{\"op\": \"add\", \"path\": \"%s\", \"value\": 1}"),
             repeat('p', GW_SCIM_MAX_PATH_BYTES + 1));
    assert_int_equal(gw_scim_user_patch(body, strlen(body), a, &stored, NULL, &why), CMN_ERR_PARSE);
    check_why("long path", CMN_ERR_PARSE, why, "Operations[0].path");

    /* filters: GW_SCIM_MAX_FILTER_BYTES, and a value past the string cap */
    char filter[4096];
    gw_scim_term_t t[4];
    size_t n;
    snprintf(filter, sizeof(filter), "userName eq \"%s\"", repeat('v', 256));
    assert_int_equal(gw_scim_filter_parse(filter, a, t, 4, &n, &why), 0);
    snprintf(filter, sizeof(filter), "userName eq \"%s\"", repeat('v', 257));
    assert_int_equal(gw_scim_filter_parse(filter, a, t, 4, &n, &why), CMN_ERR_UNSUPPORTED);
    check_why("long filter value", CMN_ERR_UNSUPPORTED, why, "longer than 256 bytes");
    snprintf(filter, sizeof(filter), "%s eq \"x\"", repeat('a', GW_SCIM_MAX_FILTER_BYTES));
    assert_int_equal(gw_scim_filter_parse(filter, a, t, 4, &n, &why), CMN_ERR_UNSUPPORTED);
    check_why("long filter", CMN_ERR_UNSUPPORTED, why, "longer than 1024 bytes");
}

/* ---- Answers ---------------------------------------------------------------------------- */

static json_t *dumped_and_loaded(json_t *v)
{
    assert_non_null(v);
    char *text = json_dumps(v, JSON_COMPACT);
    assert_non_null(text);
    json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    json_decref(v);
    assert_non_null(back);
    return back;
}

static const char *str_at(json_t *v, const char *key)
{
    return json_string_value(json_object_get(v, key));
}

static void answers_users_and_groups(void **state)
{
    cmn_arena_t *a = *state;
    gw_scim_user_t u = {"test.user@okta.local", "00ujl29u0le5T6Aj10h7", "Test User",
                        "test.user@okta.local", 0};
    gw_scim_meta_t m = {"23a35c27-23d3-4c03-b4c5-6443c09e7173", 1522180766, 1522180800};
    json_t *j = dumped_and_loaded(gw_scim_user_json(&u, &m, "https://gw.example/scim/v2/"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "schemas"), 0)),
                        "urn:ietf:params:scim:schemas:core:2.0:User");
    assert_string_equal(str_at(j, "id"), m.id);
    assert_string_equal(str_at(j, "userName"), "test.user@okta.local");
    assert_string_equal(str_at(j, "externalId"), "00ujl29u0le5T6Aj10h7");
    assert_string_equal(str_at(j, "displayName"), "Test User");
    assert_true(json_is_false(json_object_get(j, "active")));
    json_t *email = json_array_get(json_object_get(j, "emails"), 0);
    assert_string_equal(str_at(email, "value"), "test.user@okta.local");
    assert_true(json_is_true(json_object_get(email, "primary")));
    json_t *meta = json_object_get(j, "meta");
    assert_string_equal(str_at(meta, "resourceType"), "User");
    assert_string_equal(str_at(meta, "created"), "2018-03-27T19:59:26Z");
    assert_string_equal(str_at(meta, "lastModified"), "2018-03-27T20:00:00Z");
    assert_string_equal(str_at(meta, "location"),
                        "https://gw.example/scim/v2/Users/23a35c27-23d3-4c03-b4c5-6443c09e7173");
    /* what hubgate answers, a directory may PUT back: it reads as the same user */
    char *text = json_dumps(j, 0);
    gw_scim_user_t back;
    const char *why;
    assert_int_equal(gw_scim_user_parse(text, strlen(text), a, &back, &why), 0);
    char want[512], got[512];
    render_user(&u, want, sizeof(want));
    render_user(&back, got, sizeof(got));
    assert_string_equal(got, want);
    free(text);
    json_decref(j);

    /* absent values are left out, not null */
    gw_scim_user_t bare = {"u", NULL, NULL, NULL, 1};
    j = dumped_and_loaded(gw_scim_user_json(&bare, &m, "https://gw.example/scim/v2"));
    assert_null(json_object_get(j, "externalId"));
    assert_null(json_object_get(j, "displayName"));
    assert_null(json_object_get(j, "emails"));
    assert_true(json_is_true(json_object_get(j, "active")));
    json_decref(j);
    /* a stored string that is not UTF-8 gives no answer rather than a broken one */
    gw_scim_user_t broken = {"\xff", NULL, NULL, NULL, 1};
    assert_null(gw_scim_user_json(&broken, &m, "https://gw.example/scim/v2"));

    const char *members[] = {"u1", "u2"};
    gw_scim_group_t g = {"Test SCIMv2", NULL, members, 2};
    gw_scim_meta_t gm = {"abf4dd94-a4c0-4f67-89c9-76b03340cb9b", 0, 0};
    j = dumped_and_loaded(gw_scim_group_json(&g, &gm, "https://gw.example/scim/v2", 1));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "schemas"), 0)),
                        "urn:ietf:params:scim:schemas:core:2.0:Group");
    assert_string_equal(str_at(j, "displayName"), "Test SCIMv2");
    assert_null(json_object_get(j, "externalId"));
    assert_int_equal(json_array_size(json_object_get(j, "members")), 2);
    json_t *m2 = json_array_get(json_object_get(j, "members"), 1);
    assert_string_equal(str_at(m2, "value"), "u2");
    assert_string_equal(str_at(m2, "$ref"), "https://gw.example/scim/v2/Users/u2");
    assert_string_equal(str_at(json_object_get(j, "meta"), "created"), "1970-01-01T00:00:00Z");
    assert_string_equal(str_at(json_object_get(j, "meta"), "location"),
                        "https://gw.example/scim/v2/Groups/abf4dd94-a4c0-4f67-89c9-76b03340cb9b");
    json_decref(j);
    /* excludedAttributes=members; and no members is an empty list, not null */
    j = dumped_and_loaded(gw_scim_group_json(&g, &gm, "https://gw.example/scim/v2", 0));
    assert_null(json_object_get(j, "members"));
    json_decref(j);
    gw_scim_group_t empty = {"e", "x", NULL, 0};
    j = dumped_and_loaded(gw_scim_group_json(&empty, &gm, "https://gw.example/scim/v2", 1));
    assert_true(json_is_array(json_object_get(j, "members")));
    assert_int_equal(json_array_size(json_object_get(j, "members")), 0);
    assert_string_equal(str_at(j, "externalId"), "x");
    json_decref(j);
}

static void answers_lists_errors_and_discovery(void **state)
{
    (void)state;
    /* a ListResponse's numbers are integers (Okta requires it), itemsPerPage the page's size */
    json_t *page = json_pack("[{s:s}, {s:s}]", "id", "a", "id", "b");
    json_t *j = dumped_and_loaded(gw_scim_list_json(page, 250, 101));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "schemas"), 0)),
                        "urn:ietf:params:scim:api:messages:2.0:ListResponse");
    assert_true(json_is_integer(json_object_get(j, "totalResults")));
    assert_int_equal(json_integer_value(json_object_get(j, "totalResults")), 250);
    assert_int_equal(json_integer_value(json_object_get(j, "startIndex")), 101);
    assert_int_equal(json_integer_value(json_object_get(j, "itemsPerPage")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "Resources")), 2);
    json_decref(j);
    /* zero hits: 200 with totalResults 0 and an empty Resources */
    j = dumped_and_loaded(gw_scim_list_json(json_array(), 0, 1));
    assert_int_equal(json_integer_value(json_object_get(j, "totalResults")), 0);
    assert_true(json_is_array(json_object_get(j, "Resources")));
    json_decref(j);
    assert_null(gw_scim_list_json(json_object(), 0, 1)); /* not an array: taken and freed */

    j = dumped_and_loaded(gw_scim_error_json(409, "uniqueness", "userName already exists"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "schemas"), 0)),
                        "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_string_equal(str_at(j, "status"), "409");
    assert_string_equal(str_at(j, "scimType"), "uniqueness");
    assert_string_equal(str_at(j, "detail"), "userName already exists");
    json_decref(j);
    j = dumped_and_loaded(gw_scim_error_json(404, NULL, NULL));
    assert_string_equal(str_at(j, "status"), "404");
    assert_null(json_object_get(j, "scimType"));
    assert_null(json_object_get(j, "detail"));
    json_decref(j);

    j = dumped_and_loaded(gw_scim_service_provider_config_json("https://gw.example/scim/v2", 100));
    assert_true(json_is_true(json_object_get(json_object_get(j, "patch"), "supported")));
    assert_true(json_is_true(json_object_get(json_object_get(j, "filter"), "supported")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "filter"), "maxResults")), 100);
    static const char *const unsupported[] = {"bulk", "sort", "etag", "changePassword"};
    for (size_t i = 0; i < 4; i++) {
        if (!json_is_false(json_object_get(json_object_get(j, unsupported[i]), "supported")))
            fail_msg("%s.supported is not false", unsupported[i]);
    }
    json_t *scheme = json_array_get(json_object_get(j, "authenticationSchemes"), 0);
    assert_string_equal(str_at(scheme, "type"), "oauthbearertoken");
    assert_string_equal(str_at(json_object_get(j, "meta"), "location"),
                        "https://gw.example/scim/v2/ServiceProviderConfig");
    json_decref(j);

    j = dumped_and_loaded(gw_scim_resource_types_json("https://gw.example/scim/v2"));
    assert_int_equal(json_integer_value(json_object_get(j, "totalResults")), 2);
    json_t *types = json_object_get(j, "Resources");
    assert_string_equal(str_at(json_array_get(types, 0), "endpoint"), "/Users");
    assert_string_equal(str_at(json_array_get(types, 0), "schema"),
                        "urn:ietf:params:scim:schemas:core:2.0:User");
    assert_string_equal(str_at(json_array_get(types, 1), "endpoint"), "/Groups");
    assert_string_equal(str_at(json_object_get(json_array_get(types, 1), "meta"), "location"),
                        "https://gw.example/scim/v2/ResourceTypes/Group");
    json_decref(j);

    j = dumped_and_loaded(gw_scim_schemas_json("https://gw.example/scim/v2"));
    json_t *schemas = json_object_get(j, "Resources");
    assert_int_equal(json_array_size(schemas), 2);
    json_t *user = json_array_get(schemas, 0);
    assert_string_equal(str_at(user, "id"), "urn:ietf:params:scim:schemas:core:2.0:User");
    char names[256] = "";
    size_t i;
    json_t *attr;
    json_array_foreach(json_object_get(user, "attributes"), i, attr)
    {
        if (i)
            put(names, sizeof(names), ",");
        put(names, sizeof(names), str_at(attr, "name"));
        /* Entra reads these: camel-cased values, no nulls */
        assert_non_null(str_at(attr, "type"));
        assert_non_null(str_at(attr, "mutability"));
        assert_true(json_is_boolean(json_object_get(attr, "multiValued")));
    }
    assert_string_equal(names, "userName,displayName,emails,active");
    json_t *user_name = json_array_get(json_object_get(user, "attributes"), 0);
    assert_true(json_is_true(json_object_get(user_name, "required")));
    assert_true(json_is_false(json_object_get(user_name, "caseExact")));
    assert_string_equal(str_at(user_name, "uniqueness"), "server");
    json_t *group = json_array_get(schemas, 1);
    json_t *members = json_array_get(json_object_get(group, "attributes"), 1);
    assert_string_equal(str_at(members, "name"), "members");
    json_t *ref = json_array_get(json_object_get(members, "subAttributes"), 1);
    assert_string_equal(str_at(ref, "name"), "$ref");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(ref, "referenceTypes"), 0)), "User");
    assert_string_equal(
        str_at(json_object_get(group, "meta"), "location"),
        "https://gw.example/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        testutil_arena_test(parses_users),
        testutil_arena_test(patches_users),
        testutil_arena_test(parses_groups),
        testutil_arena_test(patches_groups),
        testutil_arena_test(parses_filters),
        testutil_arena_test(holds_to_its_caps),
        testutil_arena_test(answers_users_and_groups),
        testutil_arena_test(answers_lists_errors_and_discovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
