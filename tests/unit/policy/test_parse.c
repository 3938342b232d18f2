/* Policy parser: every error form says file:line:col, the JSON path, what was found and what
 * was expected (docs/policy.md); nothing is skipped; a valid file compiles, carries
 * the SHA-256 of its exact bytes and is reference counted. Table-driven: each mismatch prints
 * the case name with the expected and actual text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "policy/policy.h"
#include "common/sha256.h"

static const char *const regions[] = {"us", "eu"};
static const pol_options_t opts = {regions, 2, "us"};

/* clang-format off */
static const struct {
    const char *name;
    const char *policy;
    const char *errors; /* exactly what pol_policy_parse appends, one line per problem */
} cases[] = {
    {"syntax error at end of file",
     "{\"version\": 1,",
     "p.json:1:14: string or '}' expected near end of file\n"},
    {"syntax error mid-file",
     "{\n"
     "  \"version\": 1,\n"
     "  \"orgs\": {,}\n"
     "}",
     "p.json:3:12: string or '}' expected near ','\n"},
    {"root is not an object",
     "[]",
     "p.json:1:1: found an array, expected the policy object {\"version\": 1, ...}\n"},
    {"missing version",
     "{}",
     "p.json:1:1: (top level): missing required key \"version\" (expected \"version\": 1)\n"},
    {"version 2",
     "{\"version\": 2}",
     "p.json:1:13: version: found 2, expected 1 (the only policy format version)\n"},
    {"version as a string",
     "{\"version\": \"1\"}",
     "p.json:1:13: version: found a string, expected 1 (the only policy format version)\n"},
    {"unknown top-level key with suggestion",
     "{\"version\": 1, \"rule\": []}",
     "p.json:1:16: rule: unknown key \"rule\" (expected one of: version, orgs, external, personal_namespaces, rules, auditors, tests; did you mean \"rules\"?)\n"},
    {"duplicate key, every one with its path",
     "{\n"
     "  \"version\": 1,\n"
     "  \"orgs\": {\"a\": {}, \"a\": {}},\n"
     "  \"version\": 1\n"
     "}",
     "p.json:3:21: orgs.a: duplicate key \"a\" (first at line 3, column 12; each key may appear once)\n"
     "p.json:4:3: version: duplicate key \"version\" (first at line 2, column 3; each key may appear once)\n"},
    {"orgs is not an object",
     "{\"version\": 1, \"orgs\": []}",
     "p.json:1:24: orgs: found an array, expected an object mapping org names to their settings\n"},
    {"invalid org name",
     "{\"version\": 1, \"orgs\": {\"-bad\": {}}}",
     "p.json:1:25: orgs.-bad: \"-bad\" is not an org name (expected 1-96 of A-Z a-z 0-9 _ . -, not starting or ending with . or -, no -- or ..)\n"},
    {"org names collide case-insensitively",
     "{\"version\": 1, \"orgs\": {\"acme\": {}, \"ACME\": {}}}",
     "p.json:1:37: orgs.ACME: org \"ACME\" is the same namespace as \"acme\" (namespaces compare case-insensitively)\n"},
    {"org is not an object",
     "{\"version\": 1, \"orgs\": {\"acme\": true}}",
     "p.json:1:33: orgs.acme: found true, expected an object with regions, repo_regions, members, resource_groups, require\n"},
    {"unknown org key",
     "{\"version\": 1, \"orgs\": {\"acme\": {\"memebrs\": []}}}",
     "p.json:1:34: orgs.acme.memebrs: unknown key \"memebrs\" (expected one of: regions, repo_regions, members, resource_groups, require; did you mean \"members\"?)\n"},
    {"unknown role, the issue's example",
     "{\n"
     "  \"version\": 1,\n"
     "  \"orgs\": {\n"
     "    \"acme\": {\n"
     "      \"members\": [\n"
     "        {\"group\": \"a\", \"role\": \"read\"},\n"
     "        {\"group\": \"b\", \"role\": \"read\"},\n"
     "        {\"group\": \"c\", \"role\": \"writer\"}\n"
     "      ]\n"
     "    }\n"
     "  }\n"
     "}",
     "p.json:8:32: orgs.acme.members[2].role: unknown role \"writer\" (expected read, write, admin, auditor; did you mean \"write\"?)\n"},
    {"member without group or email",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [{\"role\": \"read\"}]}}}",
     "p.json:1:43: orgs.a.members[0]: missing \"group\" or \"email\" (expected one of them)\n"},
    {"member with both group and email",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [{\"group\": \"g\", \"email\": \"e@x.y\", \"role\": \"read\"}]}}}",
     "p.json:1:58: orgs.a.members[0].email: found both \"group\" and \"email\", expected one of them per entry\n"},
    {"member without role",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [{\"group\": \"g\"}]}}}",
     "p.json:1:43: orgs.a.members[0]: missing required key \"role\" (expected read, write, admin, auditor)\n"},
    {"member role of the wrong type",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [{\"group\": \"g\", \"role\": 3}]}}}",
     "p.json:1:66: orgs.a.members[0].role: found an integer, expected read, write, admin, auditor\n"},
    {"member is not an object",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [\"g\"]}}}",
     "p.json:1:43: orgs.a.members[0]: found a string, expected an object like {\"group\": \"acme-ml\", \"role\": \"write\"}\n"},
    {"unknown member key",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [{\"group\": \"g\", \"role\": \"read\", \"rol\": \"x\"}]}}}",
     "p.json:1:74: orgs.a.members[0].rol: unknown key \"rol\" (expected one of: group, email, role; did you mean \"role\"?)\n"},
    {"bad email",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [{\"email\": \"not an email\", \"role\": \"read\"}]}}}",
     "p.json:1:53: orgs.a.members[0].email: \"not an email\" is not an email address (expected local@domain, no spaces)\n"},
    {"empty group name",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [{\"group\": \"\", \"role\": \"read\"}]}}}",
     "p.json:1:53: orgs.a.members[0].group: found an empty string, expected a group name (1 to 256 bytes)\n"},
    {"duplicate member group",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [{\"group\": \"g\", \"role\": \"read\"}, {\"group\": \"g\", \"role\": \"admin\"}]}}}",
     "p.json:1:75: orgs.a.members[1]: duplicate member group \"g\" (already orgs.a.members[0], role read; one entry per group)\n"},
    {"duplicate member email, case-insensitively",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": [{\"email\": \"x@y.z\", \"role\": \"read\"}, {\"email\": \"X@Y.Z\", \"role\": \"read\"}]}}}",
     "p.json:1:79: orgs.a.members[1]: duplicate member email \"X@Y.Z\" (already orgs.a.members[0], role read; one entry per email)\n"},
    {"auditors is not an array",
     "{\"version\": 1, \"auditors\": {\"group\": \"audit\"}}",
     "p.json:1:28: auditors: found an object, expected an array of {\"group\": …} or {\"email\": …} entries\n"},
    {"auditor entry with a role",
     "{\"version\": 1, \"auditors\": [{\"group\": \"audit\", \"role\": \"auditor\"}]}",
     "p.json:1:48: auditors[0].role: the policy's auditors carry no role, each may export the reports of every org (expected {\"group\": …} or {\"email\": …}; an auditor of one org is a member of it with role \"auditor\")\n"},
    {"auditor entry with neither group nor email",
     "{\"version\": 1, \"auditors\": [{}, \"audit\"]}",
     "p.json:1:29: auditors[0]: missing \"group\" or \"email\" (expected one of them)\n"
     "p.json:1:33: auditors[1]: found a string, expected an object like {\"group\": \"acme-ml\"}\n"},
    {"auditor email that is no email, and both kinds",
     "{\"version\": 1,\n \"auditors\": [{\"email\": \"not an email\"},\n  {\"group\": \"g\", \"email\": \"a@b.c\"}]}",
     "p.json:2:25: auditors[0].email: \"not an email\" is not an email address (expected local@domain, no spaces)\n"
     "p.json:3:18: auditors[1].email: found both \"group\" and \"email\", expected one of them per entry\n"},
    {"duplicate auditors",
     "{\"version\": 1, \"auditors\": [{\"email\": \"a@b.c\"}, {\"group\": \"a@b.c\"}, {\"email\": \"A@B.C\"}, {\"group\": \"a@b.c\"}]}",
     "p.json:1:69: auditors[2]: duplicate auditor email \"A@B.C\" (already auditors[0]; one entry per email)\n"
     "p.json:1:89: auditors[3]: duplicate auditor group \"a@b.c\" (already auditors[1]; one entry per group)\n"},
    {"members is not an array",
     "{\"version\": 1, \"orgs\": {\"a\": {\"members\": {}}}}",
     "p.json:1:42: orgs.a.members: found an object, expected an array of {\"group\"|\"email\", \"role\"} entries\n"},
    {"resource group auditor",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"models/a/*\"], \"members\": [{\"group\": \"g\", \"role\": \"auditor\"}]}]}}}",
     "p.json:1:125: orgs.a.resource_groups[0].members[0].role: role \"auditor\" is org-wide, it has no meaning in a resource group (expected read, write, admin)\n"},
    {"pattern with two parts",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"models/a\"], \"members\": []}]}}}",
     "p.json:1:75: orgs.a.resource_groups[0].repos[0]: bad repo pattern \"models/a\": expected three parts type/namespace/name, e.g. \"models/acme/*\"\n"},
    {"pattern with an unknown type",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"model/a/x\"], \"members\": []}]}}}",
     "p.json:1:75: orgs.a.resource_groups[0].repos[0]: bad repo pattern \"model/a/x\": the type must be models, datasets, spaces, kernels, buckets or *\n"},
    {"pattern with a bad character",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"models/a/x[0-9]\"], \"members\": []}]}}}",
     "p.json:1:75: orgs.a.resource_groups[0].repos[0]: bad repo pattern \"models/a/x[0-9]\": the name must be 1-96 of A-Z a-z 0-9 _ . - with * and ? wildcards\n"},
    {"pattern with an empty namespace",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"models//x\"], \"members\": []}]}}}",
     "p.json:1:75: orgs.a.resource_groups[0].repos[0]: bad repo pattern \"models//x\": the namespace must be 1-96 of A-Z a-z 0-9 _ . - with * and ? wildcards\n"},
    {"resource group pattern outside its org",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"models/b/*\"], \"members\": []}]}}}",
     "p.json:1:75: orgs.a.resource_groups[0].repos[0]: bad repo pattern \"models/b/*\": it may name repos of its own org only (expected namespace \"a\")\n"},
    {"resource group pattern with a namespace glob",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"models/*/x\"], \"members\": []}]}}}",
     "p.json:1:75: orgs.a.resource_groups[0].repos[0]: bad repo pattern \"models/*/x\": it may name repos of its own org only (expected namespace \"a\")\n"},
    {"duplicate pattern",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"models/a/x\", \"models/a/x\"], \"members\": []}]}}}",
     "p.json:1:89: orgs.a.resource_groups[0].repos[1]: duplicate repo pattern \"models/a/x\" (already repos[0])\n"},
    {"pattern is not a string",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [1], \"members\": []}]}}}",
     "p.json:1:75: orgs.a.resource_groups[0].repos[0]: found an integer, expected a repo pattern string like \"models/acme/*\"\n"},
    {"resource group without repos",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"members\": []}]}}}",
     "p.json:1:51: orgs.a.resource_groups[0]: missing required key \"repos\" (expected an array of repo patterns \"type/namespace/name\")\n"},
    {"resource group with empty repos",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [], \"members\": []}]}}}",
     "p.json:1:74: orgs.a.resource_groups[0].repos: found an empty array, expected at least one repo pattern\n"},
    {"duplicate resource group name",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"models/a/x\"], \"members\": []}, {\"name\": \"r\", \"repos\": [\"models/a/y\"], \"members\": []}]}}}",
     "p.json:1:115: orgs.a.resource_groups[1].name: duplicate resource group name \"r\" (already orgs.a.resource_groups[0])\n"},
    {"resource group without members",
     "{\"version\": 1, \"orgs\": {\"a\": {\"resource_groups\": [{\"name\": \"r\", \"repos\": [\"models/a/x\"]}]}}}",
     "p.json:1:51: orgs.a.resource_groups[0]: missing required key \"members\" (expected an array of {\"group\"|\"email\", \"role\"} entries)\n"},
    {"unknown require key",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"owner\": {\"mfa\": true}}}}}",
     "p.json:1:43: orgs.a.require.owner: unknown key \"owner\" (expected one of: read, write, create, delete, admin, auditor)\n"},
    {"require condition is not an object",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"write\": true}}}}",
     "p.json:1:52: orgs.a.require.write: found true, expected a condition like {\"mfa\": true, \"networks\": [\"10.0.0.0/8\"]}\n"},
    {"empty require condition",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"write\": {}}}}}",
     "p.json:1:52: orgs.a.require.write: found an empty condition, expected \"mfa\" and/or \"networks\"\n"},
    {"condition that requires nothing",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"write\": {\"mfa\": false}}}}}",
     "p.json:1:60: orgs.a.require.write.mfa: found false with no networks: this condition requires nothing (expected \"mfa\": true or \"networks\")\n"},
    {"mfa of the wrong type",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"write\": {\"mfa\": \"yes\"}}}}}",
     "p.json:1:60: orgs.a.require.write.mfa: found a string, expected true or false\n"},
    {"bad CIDR: host bits",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"admin\": {\"networks\": [\"10.0.0.1/8\"]}}}}}",
     "p.json:1:66: orgs.a.require.admin.networks[0]: \"10.0.0.1/8\" is not a network (expected CIDR like \"10.0.0.0/8\" or \"2001:db8::/32\" with zero host bits)\n"},
    {"bad CIDR: not an address",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"admin\": {\"networks\": [\"office\"]}}}}}",
     "p.json:1:66: orgs.a.require.admin.networks[0]: \"office\" is not a network (expected CIDR like \"10.0.0.0/8\" or \"2001:db8::/32\" with zero host bits)\n"},
    {"bad CIDR: not a string",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"admin\": {\"networks\": [10]}}}}}",
     "p.json:1:66: orgs.a.require.admin.networks[0]: found an integer, expected a network in CIDR form like \"10.0.0.0/8\" (a string)\n"},
    {"empty networks",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"admin\": {\"networks\": []}}}}}",
     "p.json:1:65: orgs.a.require.admin.networks: found an empty array, expected at least one network\n"},
    {"duplicate network",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"admin\": {\"networks\": [\"10.0.0.0/8\", \"10.0.0.0/8\"]}}}}}",
     "p.json:1:80: orgs.a.require.admin.networks[1]: duplicate network \"10.0.0.0/8\" (already networks[0])\n"},
    {"unknown condition key",
     "{\"version\": 1, \"orgs\": {\"a\": {\"require\": {\"admin\": {\"mfa\": true, \"network\": []}}}}}",
     "p.json:1:66: orgs.a.require.admin.network: unknown key \"network\" (expected one of: mfa, networks; did you mean \"networks\"?)\n"},
    {"unknown region",
     "{\"version\": 1, \"orgs\": {\"a\": {\"regions\": [\"ap\"]}}}",
     "p.json:1:43: orgs.a.regions[0]: unknown region \"ap\" (expected one of the configuration's regions: us, eu)\n"},
    {"empty regions",
     "{\"version\": 1, \"orgs\": {\"a\": {\"regions\": []}}}",
     "p.json:1:42: orgs.a.regions: found an empty array, expected at least one region (or no \"regions\": the default region)\n"},
    {"duplicate region",
     "{\"version\": 1, \"orgs\": {\"a\": {\"regions\": [\"eu\", \"eu\"]}}}",
     "p.json:1:49: orgs.a.regions[1]: duplicate region \"eu\" (each region once)\n"},
    {"region of the wrong type",
     "{\"version\": 1, \"orgs\": {\"a\": {\"regions\": [1]}}}",
     "p.json:1:43: orgs.a.regions[0]: found an integer, expected a region name\n"},
    {"external names an org",
     "{\"version\": 1, \"orgs\": {\"acme\": {}}, \"external\": {\"read\": true, \"namespaces\": [\"Acme\"]}}",
     "p.json:1:80: external.namespaces[0]: \"Acme\" is an org of this policy (expected namespaces outside its orgs; members of acme are given by orgs.acme)\n"},
    {"external duplicate namespace",
     "{\"version\": 1, \"external\": {\"namespaces\": [\"google\", \"Google\"]}}",
     "p.json:1:54: external.namespaces[1]: duplicate namespace \"Google\" (already namespaces[0])\n"},
    {"external invalid namespace",
     "{\"version\": 1, \"external\": {\"namespaces\": [\"goo gle\"]}}",
     "p.json:1:44: external.namespaces[0]: \"goo gle\" is not a namespace (expected 1-96 of A-Z a-z 0-9 _ . -)\n"},
    {"external unknown key",
     "{\"version\": 1, \"external\": {\"reads\": true}}",
     "p.json:1:29: external.reads: unknown key \"reads\" (expected one of: read, namespaces; did you mean \"read\"?)\n"},
    {"external read of the wrong type",
     "{\"version\": 1, \"external\": {\"read\": 1}}",
     "p.json:1:37: external.read: found an integer, expected true or false\n"},
    {"personal namespaces unknown key",
     "{\"version\": 1, \"personal_namespaces\": {\"create\": true}}",
     "p.json:1:40: personal_namespaces.create: unknown key \"create\" (expected one of: read, write)\n"},
    {"personal namespaces is not an object",
     "{\"version\": 1, \"personal_namespaces\": true}",
     "p.json:1:39: personal_namespaces: found true, expected an object like {\"read\": true, \"write\": false}\n"},
    {"rules is not an array",
     "{\"version\": 1, \"rules\": {}}",
     "p.json:1:25: rules: found an object, expected an array of rule objects\n"},
    {"rule is not an object",
     "{\"version\": 1, \"rules\": [\"deny all\"]}",
     "p.json:1:26: rules[0]: found a string, expected a rule object with id, effect, actions, repos\n"},
    {"rule without id",
     "{\"version\": 1, \"rules\": [{\"effect\": \"deny\", \"actions\": [\"read\"]}]}",
     "p.json:1:26: rules[0]: missing required key \"id\" (expected a rule id like \"no-deletes-from-outside\")\n"},
    {"rule with a bad id",
     "{\"version\": 1, \"rules\": [{\"id\": \"no deletes\", \"effect\": \"deny\", \"actions\": [\"read\"]}]}",
     "p.json:1:33: rules[0].id: \"no deletes\" is not a rule id (expected 1-64 of A-Z a-z 0-9 _ . -)\n"},
    {"duplicate rule id",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"read\"]}, {\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"write\"]}]}",
     "p.json:1:85: rules[1].id: duplicate rule id \"r\" (already rules[0])\n"},
    {"unknown effect",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"dney\", \"actions\": [\"read\"]}]}",
     "p.json:1:48: rules[0].effect: unknown effect \"dney\" (expected deny, allow; did you mean \"deny\"?)\n"},
    {"rule without actions",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\"}]}",
     "p.json:1:26: rules[0]: missing required key \"actions\" (expected an array of read, write, create, delete, admin, unknown)\n"},
    {"rule with empty actions",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": []}]}",
     "p.json:1:67: rules[0].actions: found an empty array, expected at least one action\n"},
    {"unknown action",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"remove\"]}]}",
     "p.json:1:68: rules[0].actions[0]: unknown action \"remove\" (expected read, write, create, delete, admin, unknown)\n"},
    {"duplicate action",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"read\", \"read\"]}]}",
     "p.json:1:76: rules[0].actions[1]: duplicate action \"read\" (each action once)\n"},
    {"unless on an allow rule",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"allow\", \"actions\": [\"read\"], \"unless\": {\"mfa\": true}}]}",
     "p.json:1:78: rules[0].unless: \"unless\" applies to deny rules only (expected no \"unless\" in an allow rule; the org's \"require\" sets conditions on grants)\n"},
    {"rule with empty subjects",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"read\"], \"subjects\": []}]}",
     "p.json:1:89: rules[0].subjects: found an empty array, expected at least one subject (or no \"subjects\": everyone)\n"},
    {"rule subject with a role",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"read\"], \"subjects\": [{\"group\": \"g\", \"role\": \"read\"}]}]}",
     "p.json:1:105: rules[0].subjects[0].role: unknown key \"role\" (expected one of: group, email)\n"},
    {"rule with empty repos",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"read\"], \"repos\": []}]}",
     "p.json:1:86: rules[0].repos: found an empty array, expected at least one repo pattern\n"},
    {"rule with a bad pattern",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"read\"], \"repos\": [\"*/*\"]}]}",
     "p.json:1:87: rules[0].repos[0]: bad repo pattern \"*/*\": expected three parts type/namespace/name, e.g. \"models/acme/*\"\n"},
    {"unknown rule key",
     "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"read\"], \"when\": {}}]}",
     "p.json:1:77: rules[0].when: unknown key \"when\" (expected one of: id, effect, actions, repos, subjects, unless)\n"},
    {"tests is not an array",
     "{\"version\": 1, \"tests\": {}}",
     "p.json:1:25: tests: found an object, expected an array of test objects\n"},
    {"test without name",
     "{\"version\": 1, \"tests\": [{\"subject\": {\"sub\": \"a\"}, \"request\": \"GET /a/b/resolve/main/x\", \"expect\": \"deny\"}]}",
     "p.json:1:26: tests[0]: missing required key \"name\" (expected a test name)\n"},
    {"duplicate test name",
     "{\"version\": 1, \"tests\": [\n"
     " {\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"GET /a/b/resolve/main/x\", \"expect\": \"deny\"},\n"
     " {\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"GET /a/b/resolve/main/x\", \"expect\": \"deny\"}]}",
     "p.json:3:11: tests[1].name: duplicate test name \"t\" (already at line 2; names identify failures)\n"},
    {"test without subject",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"request\": \"GET /x\", \"expect\": \"deny\"}]}",
     "p.json:1:26: tests[0]: missing required key \"subject\" (expected an object like {\"sub\": \"alice\", \"groups\": [\"acme-ml\"]})\n"},
    {"test subject without sub",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"groups\": [\"g\"]}, \"request\": \"GET /x\", \"expect\": \"deny\"}]}",
     "p.json:1:51: tests[0].subject: missing required key \"sub\" (expected the subject's id, or \"anonymous\": true)\n"},
    {"test subject unknown key",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\", \"group\": [\"g\"]}, \"request\": \"GET /x\", \"expect\": \"deny\"}]}",
     "p.json:1:64: tests[0].subject.group: unknown key \"group\" (expected one of: iss, sub, email, preferred_username, groups, mfa, read_only_token, anonymous, email_verified; did you mean \"groups\"?)\n"},
    {"test subject group of the wrong type",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\", \"groups\": [\"g\", 2]}, \"request\": \"GET /x\", \"expect\": \"deny\"}]}",
     "p.json:1:80: tests[0].subject.groups[1]: found an integer, expected a group name\n"},
    {"anonymous subject with an identity",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\", \"anonymous\": true}, \"request\": \"GET /x\", \"expect\": \"deny\"}]}",
     "p.json:1:64: tests[0].subject.anonymous: an anonymous subject has no sub, email or groups (expected either \"anonymous\": true alone, or an identity)\n"},
    {"test request without a method",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"/a/b\", \"expect\": \"deny\"}]}",
     "p.json:1:76: tests[0].request: bad request \"/a/b\": expected \"METHOD /path\", e.g. \"GET /acme/bert/resolve/main/config.json\"\n"},
    {"test request with a lower-case method",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"get /a/b\", \"expect\": \"deny\"}]}",
     "p.json:1:76: tests[0].request: bad request \"get /a/b\": the method must be upper-case letters (GET, HEAD, POST, PUT, PATCH, DELETE)\n"},
    {"test request with a space in the path",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"GET /a b\", \"expect\": \"deny\"}]}",
     "p.json:1:76: tests[0].request: bad request \"GET /a b\": the request-target must be printable ASCII without spaces (percent-encode the rest, as clients do)\n"},
    {"test with a bad ip",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"GET /x\", \"ip\": \"10.0.0.256\", \"expect\": \"deny\"}]}",
     "p.json:1:92: tests[0].ip: \"10.0.0.256\" is not an IP address (expected e.g. \"10.1.2.3\" or \"2001:db8::1\")\n"},
    {"test with an unknown region",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"GET /x\", \"region\": \"mars\", \"expect\": \"deny\"}]}",
     "p.json:1:96: tests[0].region: unknown region \"mars\" (expected one of the configuration's regions: us, eu)\n"},
    {"test with a bad expectation",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"GET /x\", \"expect\": \"denied\"}]}",
     "p.json:1:96: tests[0].expect: found \"denied\", expected \"allow\" or \"deny\"\n"},
    {"test with an answer for an allow",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"GET /x\", \"expect\": \"allow\", \"answer\": \"forbidden\"}]}",
     "p.json:1:105: tests[0].answer: \"answer\" describes a denial (expected no \"answer\" when \"expect\" is \"allow\")\n"},
    {"test with an unknown answer",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"GET /x\", \"expect\": \"deny\", \"answer\": \"404\"}]}",
     "p.json:1:114: tests[0].answer: found \"404\", expected \"not_found\" or \"forbidden\"\n"},
    {"test with content_type but no body",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"POST /x\", \"content_type\": \"application/json\", \"expect\": \"deny\"}]}",
     "p.json:1:87: tests[0].content_type: \"content_type\" without a \"body\" (expected both or neither)\n"},
    {"test with a numeric body",
     "{\"version\": 1, \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"POST /x\", \"body\": 1, \"expect\": \"deny\"}]}",
     "p.json:1:95: tests[0].body: found an integer, expected the request body as a JSON object, array or string\n"},
    {"every error of a file, not just the first",
     "{\n"
     "  \"version\": 1,\n"
     "  \"orgs\": {\"acme\": {\"members\": [{\"group\": \"g\", \"role\": \"owner\"}]}},\n"
     "  \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"rm\"]}]\n"
     "}",
     "p.json:3:56: orgs.acme.members[0].role: unknown role \"owner\" (expected read, write, admin, auditor)\n"
     "p.json:4:55: rules[0].actions[0]: unknown action \"rm\" (expected read, write, create, delete, admin, unknown)\n"},
};
/* clang-format on */

static void every_error_form(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cmn_buf_t errors;
        cmn_buf_init(&errors, 1 << 20);
        pol_policy_t *p =
            pol_policy_parse(cases[i].policy, strlen(cases[i].policy), "p.json", &opts, &errors);
        if (p) {
            print_error("case \"%s\": accepted, expected errors:\n%s", cases[i].name,
                        cases[i].errors);
            failures++;
        } else if (!errors.data || strcmp(errors.data, cases[i].errors) != 0) {
            print_error("case \"%s\":\n  want: %s  got:  %s", cases[i].name, cases[i].errors,
                        errors.data ? errors.data : "(nothing)\n");
            failures++;
        }
        pol_policy_unref(p);
        cmn_buf_free(&errors);
    }
    assert_int_equal(failures, 0);
}

static const char valid[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"orgs\": {\n"
    "    \"acme\": {\n"
    "      \"regions\": [\"eu\"],\n"
    "      \"members\": [{\"group\": \"acme-admins\", \"role\": \"admin\"},\n"
    "                  {\"email\": \"audit@acme.example\", \"role\": \"auditor\"}],\n"
    "      \"resource_groups\": [{\"name\": \"ft\", \"repos\": [\"models/acme/ft-*\"],\n"
    "                            \"members\": [{\"group\": \"c\", \"role\": \"write\"}]}],\n"
    "      \"require\": {\"admin\": {\"mfa\": true, \"networks\": [\"10.0.0.0/8\"]}}\n"
    "    },\n"
    "    \"beta\": {}\n"
    "  },\n"
    "  \"external\": {\"read\": true, \"namespaces\": [\"google\"]},\n"
    "  \"personal_namespaces\": {\"read\": true, \"write\": false},\n"
    "  \"rules\": [{\"id\": \"r\", \"effect\": \"deny\", \"actions\": [\"delete\"]}],\n"
    "  \"auditors\": [{\"group\": \"corp-audit\"}, {\"email\": \"chief@corp.example\"}],\n"
    "  \"tests\": [{\"name\": \"t\", \"subject\": {\"sub\": \"a\"}, \"request\": \"GET /x\",\n"
    "             \"expect\": \"deny\"}]\n"
    "}\n";

/* The region of model ns/name. */
static const char *region_at(const pol_policy_t *p, const char *ns, const char *name)
{
    pol_target_t t = {.type = POL_REPO_MODEL, .namespace = ns, .name = name,
                      .action = POL_ACTION_READ};
    return pol_repo_region(p, &t);
}

static void compiles_a_valid_policy(void **state)
{
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    pol_policy_t *p = pol_policy_parse(valid, strlen(valid), "valid.json", &opts, &errors);
    if (!p)
        fail_msg("unexpected errors:\n%s", errors.data);
    assert_int_equal(errors.len, 0);
    pol_stats_t st;
    pol_policy_stats(p, &st);
    assert_int_equal(st.orgs, 2);
    assert_int_equal(st.members, 3);
    assert_int_equal(st.resource_groups, 1);
    assert_int_equal(st.rules, 1);
    assert_int_equal(st.tests, 1);
    assert_int_equal(st.external_namespaces, 1);
    assert_int_equal(st.auditors, 2);
    assert_string_equal(pol_policy_name(p), "valid.json");
    char hex[CMN_SHA256_HEX];
    cmn_sha256_hex(valid, strlen(valid), hex);
    assert_string_equal(pol_policy_sha256(p), hex);
    assert_string_equal(region_at(p, "acme", "bert"), "eu");
    assert_string_equal(region_at(p, "ACME", "bert"), "eu");
    assert_string_equal(region_at(p, "beta", "x"), "us"); /* no regions: the default */
    assert_string_equal(region_at(p, "someone", "x"), "us");
    /* reference counting: the policy lives until the last reference goes */
    assert_ptr_equal(pol_policy_ref(p), p);
    pol_policy_unref(p);
    assert_string_equal(pol_policy_name(p), "valid.json");
    pol_policy_unref(p);
    pol_policy_unref(NULL);
    cmn_buf_free(&errors);
}

static void one_byte_changes_the_sha256(void **state)
{
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    char *copy = strdup(valid);
    copy[strlen(copy) - 1] = ' '; /* trailing newline → space: same policy, other bytes */
    pol_policy_t *a = pol_policy_parse(valid, strlen(valid), "a", &opts, &errors);
    pol_policy_t *b = pol_policy_parse(copy, strlen(copy), "b", &opts, &errors);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_not_equal(pol_policy_sha256(a), pol_policy_sha256(b));
    pol_policy_unref(a);
    pol_policy_unref(b);
    free(copy);
    cmn_buf_free(&errors);
}

static void regions_unchecked_without_a_list(void **state)
{
    static const char text[] = "{\"version\": 1, \"orgs\": {\"a\": {\"regions\": [\"ap\"]}}}";
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    pol_policy_t *p = pol_policy_parse(text, strlen(text), "p.json", NULL, &errors);
    assert_non_null(p);
    assert_string_equal(region_at(p, "a", "x"), "ap");
    assert_null(region_at(p, "b", "x")); /* no default region given */
    pol_policy_unref(p);
    cmn_buf_free(&errors);
}

/* An org in two regions: repo_regions says which repos live in which; the rest in the first. */
static void repo_regions(void **state)
{
    (void)state;
    static const char text[] =
        "{\"version\": 1, \"orgs\": {\"acme\": {\"regions\": [\"eu\", \"us\"],\n"
        " \"repo_regions\": [{\"repos\": [\"models/acme/us-*\", \"*/acme/shared\"], \"region\": \"us\"},\n"
        "                    {\"repos\": [\"*/acme/*\"], \"region\": \"eu\"}]}}}";
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    pol_policy_t *p = pol_policy_parse(text, strlen(text), "p.json", &opts, &errors);
    if (!p)
        fail_msg("unexpected errors:\n%s", errors.data);
    assert_string_equal(region_at(p, "acme", "us-bert"), "us");
    assert_string_equal(region_at(p, "ACME", "us-bert"), "us");
    assert_string_equal(region_at(p, "acme", "shared"), "us");
    assert_string_equal(region_at(p, "acme", "bert"), "eu");
    pol_target_t ds = {.type = POL_REPO_DATASET, .namespace = "acme", .name = "us-data"};
    assert_string_equal(pol_repo_region(p, &ds), "eu"); /* the pattern names models only */
    pol_policy_unref(p);

    /* a region the org does not list, a pattern outside the org, a missing region */
    static const char bad[] =
        "{\"version\": 1, \"orgs\": {\"acme\": {\"regions\": [\"eu\"],\n"
        " \"repo_regions\": [{\"repos\": [\"models/acme/us-*\"], \"region\": \"us\"},\n"
        "                    {\"repos\": [\"models/globex/*\"], \"region\": \"eu\"},\n"
        "                    {\"repos\": [\"models/acme/x\"]}, 3]}}}";
    errors.len = 0;
    assert_null(pol_policy_parse(bad, strlen(bad), "bad.json", &opts, &errors));
    assert_non_null(strstr(errors.data, "region \"us\" is not one of orgs.acme.regions"));
    assert_non_null(strstr(errors.data, "globex"));
    assert_non_null(strstr(errors.data, "orgs.acme.repo_regions[2]: missing required key \"region\""));
    assert_non_null(strstr(errors.data, "orgs.acme.repo_regions[3]: found an integer"));
    cmn_buf_free(&errors);
}

static void minimal_policy(void **state)
{
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    pol_policy_t *p = pol_policy_parse("{\"version\":1}", 13, "p.json", &opts, &errors);
    assert_non_null(p);
    pol_stats_t st;
    pol_policy_stats(p, &st);
    assert_int_equal(st.orgs + st.rules + st.tests + st.members, 0);
    pol_policy_unref(p);
    cmn_buf_free(&errors);
}

static void load_errors(void **state)
{
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    assert_null(pol_policy_load("/nonexistent/policy.json", &opts, &errors));
    assert_string_equal(errors.data, "/nonexistent/policy.json: cannot read: no such file\n");
    cmn_buf_clear(&errors);

    char dir[] = "/tmp/hubgate-test-policy-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/policy.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\n  \"version\": 1,\n  \"orgs\": {\"acme\": {\"members\": 3}}\n}\n", f);
    fclose(f);
    assert_null(pol_policy_load(path, &opts, &errors));
    char want[512];
    snprintf(want, sizeof(want),
             "%s:3:32: orgs.acme.members: found an integer, expected an array of "
             "{\"group\"|\"email\", \"role\"} entries\n",
             path);
    assert_string_equal(errors.data, want);
    unlink(path);
    rmdir(dir);
    cmn_buf_free(&errors);
}

static void refuses_an_oversized_file(void **state)
{
    size_t n = POL_MAX_POLICY_BYTES + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    assert_null(pol_policy_parse(big, n, "big.json", &opts, &errors));
    assert_string_equal(errors.data, "big.json: 16777217 bytes, larger than the 16 MiB a policy "
                                     "may be\n");
    free(big);
    cmn_buf_free(&errors);
}

static void subject_parse(void **state)
{
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    pol_subject_t s;
    char err[256];
    const char *ok = "{\"sub\":\"u1\",\"email\":\"a@b.c\",\"preferred_username\":\"alice\","
                     "\"groups\":[\"g1\",\"g2\"],\"mfa\":true,\"read_only_token\":true,"
                     "\"iss\":\"https://idp\"}";
    assert_int_equal(pol_subject_parse(ok, strlen(ok), &arena, &s, err, sizeof(err)), 0);
    assert_string_equal(s.sub, "u1");
    assert_string_equal(s.email, "a@b.c");
    assert_string_equal(s.preferred_username, "alice");
    assert_string_equal(s.iss, "https://idp");
    assert_int_equal(s.ngroups, 2);
    assert_string_equal(s.groups[1], "g2");
    assert_true(s.mfa);
    assert_true(s.read_only_token);
    assert_false(s.anonymous);

    static const struct {
        const char *json, *err;
    } bad[] = {
        {"{\"sub\":", "line 1, column 7: unexpected token near end of file"},
        {"[]", "found an array, expected a subject object like {\"sub\": \"alice\", \"groups\": "
               "[\"acme-ml\"]}"},
        {"{\"groups\":[]}", "missing required key \"sub\" (expected the subject's id, or "
                            "\"anonymous\": true)"},
        {"{\"sub\":\"a\",\"groups\":[\"x\",7]}", "groups[1]: found an integer, expected a group "
                                                 "name"},
        {"{\"sub\":\"a\",\"mfa\":1}", "mfa: found an integer, expected true or false"},
        {"{\"sub\":\"a\",\"role\":\"admin\"}",
         "role: unknown key \"role\" (expected one of: iss, sub, email, preferred_username, "
         "groups, mfa, read_only_token, anonymous, email_verified)"},
        {"{\"sub\":\"\"}", "sub: found an empty string, expected a non-empty string"},
        {"{\"sub\":\"a\",\"sub\":\"b\"}", "line 1, column 16: duplicate object key near '\"sub\"'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int rc = pol_subject_parse(bad[i].json, strlen(bad[i].json), &arena, &s, err, sizeof(err));
        if (rc != CMN_ERR_PARSE || strcmp(err, bad[i].err) != 0) {
            print_error("subject %s: rc %d, err \"%s\", want \"%s\"\n", bad[i].json, rc, err,
                        bad[i].err);
            fail();
        }
    }
    const char *anon = "{\"anonymous\":true}";
    assert_int_equal(pol_subject_parse(anon, strlen(anon), &arena, &s, err, sizeof(err)), 0);
    assert_true(s.anonymous);
    cmn_arena_free(&arena);
}

static void sha256_vectors(void **state)
{
    char hex[CMN_SHA256_HEX];
    cmn_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cmn_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    cmn_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a', fed in uneven pieces */
    cmn_sha256_t c;
    uint8_t d[CMN_SHA256_BYTES];
    char chunk[997];
    memset(chunk, 'a', sizeof(chunk));
    cmn_sha256_init(&c);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        cmn_sha256_update(&c, chunk, n);
        left -= n;
    }
    cmn_sha256_final(&c, d);
    static const uint8_t want[] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7,
                                   0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97,
                                   0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    assert_memory_equal(d, want, sizeof(want));
}

static void example_policy_is_valid(void **state)
{
    const char *src = getenv("HUBGATE_SOURCE_DIR");
    if (!src)
        skip();
    char path[1024];
    snprintf(path, sizeof(path), "%s/deploy/policy.example.json", src);
    cmn_buf_t errors;
    cmn_buf_init(&errors, 1 << 20);
    pol_policy_t *p = pol_policy_load(path, &opts, &errors);
    if (!p)
        fail_msg("%s", errors.data);
    pol_policy_unref(p);
    cmn_buf_free(&errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_error_form),
        cmocka_unit_test(compiles_a_valid_policy),
        cmocka_unit_test(one_byte_changes_the_sha256),
        cmocka_unit_test(regions_unchecked_without_a_list),
        cmocka_unit_test(repo_regions),
        cmocka_unit_test(minimal_policy),
        cmocka_unit_test(load_errors),
        cmocka_unit_test(refuses_an_oversized_file),
        cmocka_unit_test(subject_parse),
        cmocka_unit_test(sha256_vectors),
        cmocka_unit_test(example_policy_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
