/* `policy diff`, last stage: the changes found, as lines for people or as JSON for tools. A
 * mask of contexts reads as "always", "with MFA", "only from 10.0.0.0/8"... */
#include "policy/diff_write.h"
#include "common/err.h"
#include "policy/match.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* The org as the newer policy that has it spells it, or "every org". */
static const char *report_scope(const diff_t *d, long o)
{
    if (o < 0)
        return "every org";
    const org_t *org = pol_find_org(d->b, d->orgs[o]);
    if (!org)
        org = pol_find_org(d->a, d->orgs[o]);
    return org ? org->name : d->orgs[o];
}

static void where(const diff_t *d, uint64_t places, char *out, size_t cap)
{
    size_t all = (1ull << (d->nnets + 1)) - 1;
    if (places == all || (places & 1)) {
        snprintf(out, cap, "from anywhere");
        return;
    }
    snprintf(out, cap, "only from ");
    int first = 1;
    for (size_t i = 0; i < d->nnets; i++) {
        if (!(places & (1ull << (i + 1))))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", first ? "" : ", ", d->nets_text[i]);
        first = 0;
    }
}

static void describe_mask(const diff_t *d, uint64_t mask, char *out, size_t cap)
{
    size_t places = d->nnets + 1;
    uint64_t all = (1ull << places) - 1;
    uint64_t without = mask & all, with = (mask >> places) & all;
    char w1[400], w2[400];
    if (mask == 0) {
        snprintf(out, cap, "never");
    } else if (without == all && with == all) {
        snprintf(out, cap, "always");
    } else if (without == with) {
        where(d, without, out, cap);
    } else if (without == 0) {
        where(d, with, w1, sizeof(w1));
        snprintf(out, cap, "with MFA%s%s", with == all ? "" : ", ", with == all ? "" : w1);
    } else {
        where(d, without, w1, sizeof(w1));
        where(d, with, w2, sizeof(w2));
        snprintf(out, cap, "without MFA %s; with MFA %s", w1, w2);
    }
}

static const char *change_kind(uint64_t o, uint64_t n)
{
    if (!o)
        return "gained";
    if (!n)
        return "lost";
    if ((n & o) == n)
        return "narrowed";
    if ((n & o) == o)
        return "widened";
    return "changed";
}

static void subject_text(const dsubject_t *s, char *out, size_t cap)
{
    if (!s->kind)
        snprintf(out, cap, "any authenticated user");
    else
        snprintf(out, cap, "%s %s", s->kind == WHO_GROUP ? "group" : "email", s->value);
}

static void actions_text(unsigned bits, char *out, size_t cap)
{
    out[0] = '\0';
    for (int a = POL_ACTION_READ; a <= POL_ACTION_ADMIN; a++) {
        if (!(bits & ACT_BIT(a)))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", len ? ", " : "", pol_action_name((pol_action_t)a));
    }
}

/* How a change names its repos: the sample's pattern, or every type at once. */
static void change_repo(const diff_t *d, const change_t *c, char *out, size_t cap)
{
    const char *display = d->samples[c->sample].display;
    const char *slash = strchr(display, '/');
    if ((c->types & POL_TYPE_ALL) != POL_TYPE_ALL || !slash) {
        snprintf(out, cap, "%s", display);
        return;
    }
    const char *end = strchr(slash + 1, '/');
    int nslen = end ? (int)(end - slash - 1) : (int)strlen(slash + 1);
    if (c->types & (1u << POL_REPO_NONE))
        snprintf(out, cap, "*%s and %.*s itself", slash, nslen, slash + 1);
    else
        snprintf(out, cap, "*%s", slash);
}

int pol_diff_write_text(const diff_t *d, cmn_buf_t *out)
{
    size_t counts[5] = {0};
    static const char *const kinds[] = {"gained", "lost", "narrowed", "widened", "changed"};
    cmn_buf_printf(out, "policy diff: %s (sha256 %.12s) -> %s (sha256 %.12s)\n", d->a->name,
                   d->a->sha256, d->b->name, d->b->sha256);
    size_t last = (size_t)-1, lines = 0;
    for (size_t i = 0; i < d->nchanges; i++) {
        const change_t *c = &d->changes[i];
        char subj[512], acts[128], o[1024], n[1024], display[600];
        if (c->merged)
            continue;
        lines++;
        change_repo(d, c, display, sizeof(display));
        if (c->subject != last) {
            subject_text(&d->subjects[c->subject], subj, sizeof(subj));
            cmn_buf_printf(out, "%s:\n", subj);
            last = c->subject;
        }
        actions_text(c->actions, acts, sizeof(acts));
        describe_mask(d, c->old_mask, o, sizeof(o));
        describe_mask(d, c->new_mask, n, sizeof(n));
        const char *kind = change_kind(c->old_mask, c->new_mask);
        for (int k = 0; k < 5; k++)
            counts[k] += strcmp(kind, kinds[k]) == 0;
        if (!c->old_mask)
            cmn_buf_printf(out, "  + gains %s on %s (%s)\n", acts, display, n);
        else if (!c->new_mask)
            cmn_buf_printf(out, "  - loses %s on %s (was %s)\n", acts, display, o);
        else
            cmn_buf_printf(out, "  ~ %s %s on %s: %s -> %s\n", kind, acts, display, o, n);
    }
    last = (size_t)-1;
    for (size_t i = 0; i < d->nrchanges; i++) {
        const rchange_t *c = &d->rchanges[i];
        char subj[512], o[1024], n[1024];
        lines++;
        if (c->subject != last) {
            subject_text(&d->subjects[c->subject], subj, sizeof(subj));
            cmn_buf_printf(out, "%s (report exports):\n", subj);
            last = c->subject;
        }
        describe_mask(d, c->old_mask, o, sizeof(o));
        describe_mask(d, c->new_mask, n, sizeof(n));
        const char *kind = change_kind(c->old_mask, c->new_mask);
        for (int k = 0; k < 5; k++)
            counts[k] += strcmp(kind, kinds[k]) == 0;
        const char *scope = report_scope(d, c->org);
        if (!c->old_mask)
            cmn_buf_printf(out, "  + gains the reports of %s (%s)\n", scope, n);
        else if (!c->new_mask)
            cmn_buf_printf(out, "  - loses the reports of %s (was %s)\n", scope, o);
        else
            cmn_buf_printf(out, "  ~ %s the reports of %s: %s -> %s\n", kind, scope, o, n);
    }
    if (d->nregchanges)
        cmn_buf_printf(out, "repo regions (where requests go, where data may come from):\n");
    for (size_t i = 0; i < d->nregchanges; i++) {
        const regchange_t *c = &d->regchanges[i];
        cmn_buf_printf(out, "  ~ %s: %s -> %s\n", d->samples[c->sample].display,
                       c->old_region ? c->old_region : "(none)",
                       c->new_region ? c->new_region : "(none)");
    }
    if (d->nregchanges)
        cmn_buf_printf(out, "%zu region change%s\n", d->nregchanges,
                       d->nregchanges == 1 ? "" : "s");
    if (!lines)
        return cmn_buf_printf(out, "no access changes over %zu subjects and %zu repo patterns\n",
                              d->nsubjects, d->nsamples);
    cmn_buf_printf(out, "%zu change%s (", lines, lines == 1 ? "" : "s");
    int first = 1;
    for (int k = 0; k < 5; k++) {
        if (!counts[k])
            continue;
        cmn_buf_printf(out, "%s%zu %s", first ? "" : ", ", counts[k], kinds[k]);
        first = 0;
    }
    return cmn_buf_printf(out, ") over %zu subjects and %zu repo patterns\n", d->nsubjects,
                          d->nsamples);
}

int pol_diff_write_json(const diff_t *d, cmn_buf_t *out)
{
    json_t *root = json_object(), *changes = json_array();
    if (!root || !changes) {
        json_decref(root);
        json_decref(changes);
        return CMN_ERR_NOMEM;
    }
    json_object_set_new(root, "old",
                        json_pack("{s:s, s:s}", "file", d->a->name, "sha256", d->a->sha256));
    json_object_set_new(root, "new",
                        json_pack("{s:s, s:s}", "file", d->b->name, "sha256", d->b->sha256));
    json_object_set_new(root, "subjects", json_integer((json_int_t)d->nsubjects));
    json_object_set_new(root, "repo_patterns", json_integer((json_int_t)d->nsamples));
    for (size_t i = 0; i < d->nchanges; i++) {
        const change_t *c = &d->changes[i];
        const dsubject_t *s = &d->subjects[c->subject];
        char o[1024], n[1024], display[600];
        if (c->merged)
            continue;
        change_repo(d, c, display, sizeof(display));
        describe_mask(d, c->old_mask, o, sizeof(o));
        describe_mask(d, c->new_mask, n, sizeof(n));
        json_t *acts = json_array();
        for (int a = POL_ACTION_READ; a <= POL_ACTION_ADMIN; a++)
            if (c->actions & ACT_BIT(a))
                json_array_append_new(acts, json_string(pol_action_name((pol_action_t)a)));
        json_t *subj = s->kind
                           ? json_pack("{s:s, s:s}", "kind",
                                       s->kind == WHO_GROUP ? "group" : "email", "value", s->value)
                           : json_pack("{s:s}", "kind", "any");
        json_array_append_new(changes,
                              json_pack("{s:o, s:s, s:o, s:s, s:s, s:s}", "subject", subj, "repo",
                                        display, "actions", acts, "change",
                                        change_kind(c->old_mask, c->new_mask), "old", o, "new", n));
    }
    json_object_set_new(root, "changes", changes);
    json_t *reports = json_array();
    for (size_t i = 0; reports && i < d->nrchanges; i++) {
        const rchange_t *c = &d->rchanges[i];
        const dsubject_t *s = &d->subjects[c->subject];
        char o[1024], n[1024];
        describe_mask(d, c->old_mask, o, sizeof(o));
        describe_mask(d, c->new_mask, n, sizeof(n));
        json_array_append_new(
            reports,
            json_pack("{s:{s:s, s:s}, s:o, s:s, s:s, s:s}", "subject", "kind",
                      s->kind == WHO_GROUP ? "group" : "email", "value", s->value, "org",
                      c->org < 0 ? json_null() : json_string(report_scope(d, c->org)), "change",
                      change_kind(c->old_mask, c->new_mask), "old", o, "new", n));
    }
    json_object_set_new(root, "report_exports", reports ? reports : json_array());
    json_t *regions = json_array();
    for (size_t i = 0; regions && i < d->nregchanges; i++) {
        const regchange_t *c = &d->regchanges[i];
        json_array_append_new(
            regions, json_pack("{s:s, s:o, s:o}", "repo", d->samples[c->sample].display, "old",
                               c->old_region ? json_string(c->old_region) : json_null(), "new",
                               c->new_region ? json_string(c->new_region) : json_null()));
    }
    json_object_set_new(root, "region_changes", regions ? regions : json_array());
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return CMN_ERR_NOMEM;
    int rc = cmn_buf_printf(out, "%s\n", text);
    free(text);
    return rc;
}
