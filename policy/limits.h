/* Every cap of the policy layer, in one place. Policy files are written by administrators, not
 * fed by the network, but a reload must still be bounded: a file over a cap is refused with
 * the cap named, never truncated. */
#ifndef HUBGATE_POLICY_LIMITS_H
#define HUBGATE_POLICY_LIMITS_H

#define POL_MAX_POLICY_BYTES   (16 * 1024 * 1024) /* a larger policy file is refused */
#define POL_MAX_TARGETS        24  /* (repo, action) pairs in one request (route: 16 + 1) */
#define POL_MAX_SUBJECT_GROUPS 256 /* a subject with more groups is denied everything */
#define POL_REASON_MAX         384 /* decision reasons are truncated to this (NUL included) */

/* The compiled policy's arena: far above what a 16 MiB file compiles to. */
#define POL_MAX_ARENA_BYTES (512u * 1024 * 1024)

/* Values in a policy file. */
#define POL_MAX_RULE_ID_BYTES      64   /* rules[].id */
#define POL_MAX_GROUP_BYTES        256  /* {"group": …} */
#define POL_MAX_EMAIL_BYTES        320  /* {"email": …}: 64 + @ + 255 */
#define POL_MAX_NAME_BYTES         200  /* resource group and test names */
#define POL_MAX_TEST_REQUEST_BYTES 8192 /* tests[].request, "METHOD /target" */

/* policy diff: the named networks it evaluates from, 2 × (1 + nets) contexts in a uint64_t. */
#define POL_MAX_DIFF_NETS 31

#endif
