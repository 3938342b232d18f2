/* The bench programs' sample event: contract in sample_event.h. */
#include "sample_event.h"

#include <stdio.h>

static const char *groups[] = {"acme-ml", "acme-staff", "everyone"};

void bench_sample_event(aud_event_t *ev, long i, const char *org, bench_sample_text_t *text)
{
    aud_event_init(ev, i % 2 ? AUD_KIND_COMPLETION : AUD_KIND_REQUEST);
    snprintf(text->repo, sizeof(text->repo), "%s/bert-%ld", org, i % 97);
    snprintf(text->path, sizeof(text->path), "/%s/bert-%ld/resolve/main/config.json", org, i % 97);
    ev->request_id = text->rid;
    ev->actor.iss = "https://login.corp.example";
    ev->actor.sub = "00u1a2b3c4d5e6f7g8h9";
    ev->actor.email = "alice@acme.example";
    ev->actor.groups = groups;
    ev->actor.n_groups = 3;
    ev->actor.mfa = 1;
    ev->client.ip = "10.1.2.3";
    ev->client.user_agent = "huggingface_hub/0.24.0; python/3.11.2; torch/2.3.1";
    ev->request.method = "GET";
    ev->request.path = text->path;
    ev->request.repo_type = "model";
    ev->request.repo = text->repo;
    ev->request.revision = "main";
    ev->request.file = "config.json";
    ev->request.action = "read";
    ev->decision.effect = i % 10 == 0 ? "deny" : "allow";
    ev->decision.rule = "orgs.acme.members[1]";
    ev->decision.reason = "member of acme-ml (write)";
    ev->decision.org = org;
    ev->decision.role = "write";
    ev->decision.region = "eu";
    ev->decision.policy_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    if (i % 2) {
        ev->response.status = 200;
        ev->response.upstream_status = 200;
        ev->response.bytes_in = 0;
        ev->response.bytes_out = 1024 + i % 4096;
        ev->response.duration_ms = 3;
    }
}
