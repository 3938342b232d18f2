/* Route classifier: every route family of the Hub HTTP API, every trap (body-borne
 * targets, GETs that grant write, reserved first segments, %2F revisions), every rejection rule,
 * with the request shapes real clients send (huggingface_hub, @huggingface/hub, git). Table-driven:
 * each case is named and every mismatch prints the case name and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/err.h"
#include "gateway/route/decode.h"
#include "gateway/route/route.h"
#include "gateway/limits.h"

#define F(x)  GW_FAMILY_##x
#define A(x)  GW_ACTION_##x
#define TY(x) GW_REPO_##x
#define R(x)  GW_REJECT_##x

#define SHA   "8b2b98c00a6b4d291155e4890773ca8f769aee53"
#define SHA2  "0123456789abcdef0123456789abcdef01234567"
#define OID   "4355a46b19d348dc2f57c046f8ef63d4538ebb936000f3c9ee954a27460dd865"
#define JSON  "application/json"
#define LFSCT "application/vnd.git-lfs+json"
#define NDJ   "application/x-ndjson"
#define A16   "aaaaaaaaaaaaaaaa"
#define A96   A16 A16 A16 A16 A16 A16 /* the longest repo name segment */

typedef struct {
    const char *name;
    const char *method;
    const char *target;
    const char *body;  /* NULL: no body */
    const char *ctype; /* Content-Type; NULL means none */
    int rc;            /* 0, CMN_ERR_PARSE, CMN_ERR_TOOBIG */
    gw_route_reject_t reject;
    gw_family_t family;
    gw_action_t action;
    gw_repo_type_t type;
    const char *ns, *repo, *rev, *path, *object;
    const char *repos; /* "type:ns/name=action" list; NULL: derived from the headline */
    int pr, git;
    gw_lfs_op_t lfs;
    gw_admin_route_t admin;
} route_case_t;

/* clang-format off */
static const route_case_t cases[] = {
    /* ---------------------------------------------------------------- content: resolve */
    {.name = "resolve model file (python hf_hub_download GET)", .method = "GET",
     .target = "/acme/bert/resolve/main/config.json", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main", .path = "config.json"},
    {.name = "resolve HEAD metadata probe", .method = "HEAD",
     .target = "/acme/bert/resolve/main/config.json", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main", .path = "config.json"},
    {.name = "resolve nested path keeps its slashes", .method = "GET",
     .target = "/acme/bert/resolve/main/onnx/decoder/model.onnx", .family = F(RESOLVE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main",
     .path = "onnx/decoder/model.onnx"},
    {.name = "resolve with noContentDisposition query (JS)", .method = "GET",
     .target = "/acme/tiny/resolve/main/config.json?noContentDisposition=1", .family = F(RESOLVE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "tiny", .rev = "main",
     .path = "config.json"},
    {.name = "resolve PR revision encoded in one segment", .method = "GET",
     .target = "/acme/bert/resolve/refs%2Fpr%2F1/config.json", .family = F(RESOLVE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "refs/pr/1",
     .path = "config.json"},
    {.name = "resolve lowercase-encoded PR revision", .method = "GET",
     .target = "/acme/bert/resolve/refs%2fpr%2f12/a.bin", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "refs/pr/12", .path = "a.bin"},
    {.name = "resolve unencoded refs/pr/1 revision", .method = "GET",
     .target = "/acme/bert/resolve/refs/pr/1/config.json", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "refs/pr/1", .path = "config.json"},
    {.name = "resolve by commit id", .method = "GET", .target = "/acme/bert/resolve/" SHA "/x.txt",
     .family = F(RESOLVE), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .rev = SHA, .path = "x.txt"},
    {.name = "resolve path with an encoded space", .method = "GET",
     .target = "/acme/bert/resolve/main/my%20file.txt", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main", .path = "my file.txt"},
    {.name = "resolve path with UTF-8 (python quote)", .method = "GET",
     .target = "/acme/bert/resolve/main/caf%C3%A9/%E6%97%A5.txt", .family = F(RESOLVE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main",
     .path = "caf\xC3\xA9/\xE6\x97\xA5.txt"},
    {.name = "resolve path with an encoded slash is decoded", .method = "GET",
     .target = "/acme/bert/resolve/main/sub%2Fa.txt", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main", .path = "sub/a.txt"},
    {.name = "resolve path with sub-delims kept", .method = "GET",
     .target = "/acme/bert/resolve/main/a(1)!*'+,;=@:$&.txt", .family = F(RESOLVE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main",
     .path = "a(1)!*'+,;=@:$&.txt"},
    {.name = "resolve legacy one-segment model", .method = "GET",
     .target = "/gpt2/resolve/main/config.json", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "", .repo = "gpt2", .rev = "main", .path = "config.json"},
    {.name = "resolve legacy model with dashes", .method = "HEAD",
     .target = "/bert-base-uncased/resolve/main/vocab.txt", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "", .repo = "bert-base-uncased", .rev = "main", .path = "vocab.txt"},
    {.name = "resolve dataset", .method = "GET",
     .target = "/datasets/acme/ds/resolve/main/data/train.csv", .family = F(RESOLVE),
     .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds", .rev = "main",
     .path = "data/train.csv"},
    {.name = "resolve legacy one-segment dataset", .method = "GET",
     .target = "/datasets/squad/resolve/main/README.md", .family = F(RESOLVE), .action = A(READ),
     .type = TY(DATASET), .ns = "", .repo = "squad", .rev = "main", .path = "README.md"},
    {.name = "resolve space", .method = "GET", .target = "/spaces/acme/app/resolve/main/app.py",
     .family = F(RESOLVE), .action = A(READ), .type = TY(SPACE), .ns = "acme", .repo = "app",
     .rev = "main", .path = "app.py"},
    {.name = "spaces have no one-segment ids", .method = "GET",
     .target = "/spaces/app/resolve/main/app.py", .family = F(UNKNOWN)},
    {.name = "resolve kernel", .method = "GET",
     .target = "/kernels/acme/attn/resolve/v1/build.toml", .family = F(RESOLVE), .action = A(READ),
     .type = TY(KERNEL), .ns = "acme", .repo = "attn", .rev = "v1", .path = "build.toml"},
    {.name = "resolve bucket file (no revision)", .method = "GET",
     .target = "/buckets/acme/store/resolve/data/x.bin", .family = F(RESOLVE), .action = A(READ),
     .type = TY(BUCKET), .ns = "acme", .repo = "store", .path = "data/x.bin"},
    {.name = "bucket resolve without a path is unknown", .method = "GET",
     .target = "/buckets/acme/store/resolve", .family = F(UNKNOWN)},
    {.name = "transformers.js tokenizer probe", .method = "GET",
     .target = "/acme/tiny-tok/resolve/main/tokenizer_config.json", .family = F(RESOLVE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "tiny-tok", .rev = "main",
     .path = "tokenizer_config.json"},
    {.name = "transformers.js revision v1.0", .method = "GET",
     .target = "/acme/tiny-tok/resolve/v1.0/tokenizer.json", .family = F(RESOLVE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "tiny-tok", .rev = "v1.0",
     .path = "tokenizer.json"},
    {.name = "resolve with download query", .method = "GET",
     .target = "/acme/bert/resolve/main/model.safetensors?download=true", .family = F(RESOLVE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main",
     .path = "model.safetensors"},
    {.name = "resolve repo names with underscore and dots", .method = "GET",
     .target = "/Org_1/my.model-v2/resolve/main/x", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "Org_1", .repo = "my.model-v2", .rev = "main", .path = "x"},
    {.name = "resolve .git suffix stripped (same repo)", .method = "GET",
     .target = "/acme/secret.git/resolve/main/x", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "secret", .rev = "main", .path = "x", .git = 1},
    {.name = "resolve without path is unknown", .method = "GET",
     .target = "/acme/bert/resolve/main", .family = F(UNKNOWN)},
    {.name = "resolve without revision is unknown", .method = "GET", .target = "/acme/bert/resolve",
     .family = F(UNKNOWN)},
    {.name = "resolve refs rule that eats the path is unknown", .method = "GET",
     .target = "/acme/bert/resolve/refs/pr/1", .family = F(UNKNOWN)},
    {.name = "DELETE on resolve is unknown", .method = "DELETE",
     .target = "/acme/bert/resolve/main/x", .family = F(UNKNOWN)},
    {.name = "POST on resolve is unknown", .method = "POST", .target = "/acme/bert/resolve/main/x",
     .family = F(UNKNOWN)},
    {.name = "lowercase method is not GET", .method = "get", .target = "/acme/bert/resolve/main/x",
     .family = F(UNKNOWN)},
    {.name = "OPTIONS is unknown", .method = "OPTIONS", .target = "/acme/bert/resolve/main/x",
     .family = F(UNKNOWN)},

    /* ---------------------------------------------------------------- content: raw, blob */
    {.name = "raw HEAD (JS fileExists)", .method = "HEAD",
     .target = "/acme/tiny/raw/main/config.json", .family = F(RAW), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "tiny", .rev = "main", .path = "config.json"},
    {.name = "raw GET dataset", .method = "GET", .target = "/datasets/acme/ds/raw/main/a/b.txt",
     .family = F(RAW), .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds",
     .rev = "main", .path = "a/b.txt"},
    {.name = "raw legacy model", .method = "GET", .target = "/gpt2/raw/main/config.json",
     .family = F(RAW), .action = A(READ), .type = TY(MODEL), .ns = "", .repo = "gpt2",
     .rev = "main", .path = "config.json"},
    {.name = "raw on a bucket is unknown", .method = "GET", .target = "/buckets/acme/b/raw/main/x",
     .family = F(UNKNOWN)},
    {.name = "blob page shows file content", .method = "GET",
     .target = "/acme/bert/blob/main/README.md", .family = F(BLOB), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main", .path = "README.md"},
    {.name = "blob space", .method = "GET", .target = "/spaces/acme/app/blob/main/app.py",
     .family = F(BLOB), .action = A(READ), .type = TY(SPACE), .ns = "acme", .repo = "app",
     .rev = "main", .path = "app.py"},

    /* ---------------------------------------------------------------- content: resolve-cache */
    {.name = "resolve-cache (observed same-host 307 target)", .method = "HEAD",
     .target = "/api/resolve-cache/models/mlx-community/Qwen3.5-9B-4bit/" SHA
               "/config.json?%2Fmlx-community%2FQwen3.5-9B-4bit%2Fresolve%2Fmain%2Fconfig.json="
               "&etag=%220435ae3f%22",
     .family = F(RESOLVE_CACHE), .action = A(READ), .type = TY(MODEL), .ns = "mlx-community",
     .repo = "Qwen3.5-9B-4bit", .rev = SHA, .path = "config.json"},
    {.name = "resolve-cache legacy model", .method = "GET",
     .target = "/api/resolve-cache/models/gpt2/" SHA "/config.json", .family = F(RESOLVE_CACHE),
     .action = A(READ), .type = TY(MODEL), .ns = "", .repo = "gpt2", .rev = SHA,
     .path = "config.json"},
    {.name = "resolve-cache dataset nested path", .method = "GET",
     .target = "/api/resolve-cache/datasets/acme/ds/" SHA "/data/train.csv",
     .family = F(RESOLVE_CACHE), .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds",
     .rev = SHA, .path = "data/train.csv"},
    {.name = "resolve-cache space", .method = "GET",
     .target = "/api/resolve-cache/spaces/acme/app/" SHA "/app.py", .family = F(RESOLVE_CACHE),
     .action = A(READ), .type = TY(SPACE), .ns = "acme", .repo = "app", .rev = SHA,
     .path = "app.py"},
    {.name = "resolve-cache ambiguous hex name and hex commit", .method = "GET",
     .target = "/api/resolve-cache/models/acme/" SHA "/" SHA2 "/x", .rc = CMN_ERR_PARSE,
     .reject = R(AMBIGUOUS)},
    {.name = "resolve-cache POST is unknown", .method = "POST",
     .target = "/api/resolve-cache/models/acme/bert/" SHA "/x", .family = F(UNKNOWN)},
    {.name = "resolve-cache without a path is unknown", .method = "GET",
     .target = "/api/resolve-cache/models/acme/bert/" SHA, .family = F(UNKNOWN)},
    {.name = "resolve-cache of buckets is unknown", .method = "GET",
     .target = "/api/resolve-cache/buckets/acme/b/" SHA "/x", .family = F(UNKNOWN)},

    /* ---------------------------------------------------------------- content: xet tokens */
    {.name = "xet-read-token", .method = "GET",
     .target = "/api/models/acme/bert/xet-read-token/main", .family = F(XET_READ_TOKEN),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main"},
    {.name = "xet-read-token by commit (refresh route)", .method = "GET",
     .target = "/api/datasets/acme/ds/xet-read-token/" SHA, .family = F(XET_READ_TOKEN),
     .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds", .rev = SHA},
    {.name = "xet-read-token bucket (no revision)", .method = "GET",
     .target = "/api/buckets/acme/store/xet-read-token", .family = F(XET_READ_TOKEN),
     .action = A(READ), .type = TY(BUCKET), .ns = "acme", .repo = "store"},
    {.name = "TRAP: GET xet-write-token is a write", .method = "GET",
     .target = "/api/models/acme/bert/xet-write-token/main", .family = F(XET_WRITE_TOKEN),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main"},
    {.name = "xet-write-token with create_pr=1", .method = "GET",
     .target = "/api/models/acme/bert/xet-write-token/main?create_pr=1",
     .family = F(XET_WRITE_TOKEN), .action = A(WRITE), .type = TY(MODEL), .ns = "acme",
     .repo = "bert", .rev = "main", .pr = 1},
    {.name = "xet-write-token bucket (JS, no revision)", .method = "GET",
     .target = "/api/buckets/acme/store/xet-write-token", .family = F(XET_WRITE_TOKEN),
     .action = A(WRITE), .type = TY(BUCKET), .ns = "acme", .repo = "store"},
    {.name = "POST xet-write-token is unknown", .method = "POST",
     .target = "/api/models/acme/bert/xet-write-token/main", .family = F(UNKNOWN)},
    {.name = "xet-read-token without revision is unknown", .method = "GET",
     .target = "/api/models/acme/bert/xet-read-token", .family = F(UNKNOWN)},

    /* ---------------------------------------------------------------- git smart HTTP */
    {.name = "git clone ref advertisement with .git", .method = "GET",
     .target = "/acme/bert.git/info/refs?service=git-upload-pack", .family = F(GIT_INFO_REFS),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .git = 1},
    {.name = "git clone ref advertisement without .git", .method = "GET",
     .target = "/acme/bert/info/refs?service=git-upload-pack", .family = F(GIT_INFO_REFS),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "git dumb protocol info/refs reads", .method = "GET", .target = "/acme/bert/info/refs",
     .family = F(GIT_INFO_REFS), .action = A(READ), .type = TY(MODEL), .ns = "acme",
     .repo = "bert"},
    {.name = "git upload-pack POST is a read", .method = "POST",
     .target = "/acme/bert.git/git-upload-pack", .family = F(GIT_UPLOAD_PACK), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .git = 1},
    {.name = "git upload-pack dataset", .method = "POST",
     .target = "/datasets/acme/ds.git/git-upload-pack", .family = F(GIT_UPLOAD_PACK),
     .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds", .git = 1},
    {.name = "git upload-pack space without .git", .method = "POST",
     .target = "/spaces/acme/app/git-upload-pack", .family = F(GIT_UPLOAD_PACK), .action = A(READ),
     .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "git legacy one-segment clone", .method = "GET",
     .target = "/gpt2.git/info/refs?service=git-upload-pack", .family = F(GIT_INFO_REFS),
     .action = A(READ), .type = TY(MODEL), .ns = "", .repo = "gpt2", .git = 1},
    {.name = "git legacy one-segment without .git", .method = "GET",
     .target = "/gpt2/info/refs?service=git-upload-pack", .family = F(GIT_INFO_REFS),
     .action = A(READ), .type = TY(MODEL), .ns = "", .repo = "gpt2"},
    {.name = "TRAP: info/refs?service=git-receive-pack is a write", .method = "GET",
     .target = "/acme/bert.git/info/refs?service=git-receive-pack", .family = F(GIT_INFO_REFS),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert", .git = 1},
    {.name = "git-receive-pack is a write", .method = "POST",
     .target = "/acme/bert.git/git-receive-pack", .family = F(GIT_RECEIVE_PACK), .action = A(WRITE),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .git = 1},
    {.name = "git-receive-pack dataset", .method = "POST",
     .target = "/datasets/acme/ds/git-receive-pack", .family = F(GIT_RECEIVE_PACK),
     .action = A(WRITE), .type = TY(DATASET), .ns = "acme", .repo = "ds"},
    {.name = "service name percent-encoded in the query is decoded", .method = "GET",
     .target = "/acme/bert/info/refs?service=git%2Dreceive%2Dpack", .family = F(GIT_INFO_REFS),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "service key percent-encoded in the query is decoded", .method = "GET",
     .target = "/acme/bert/info/refs?%73ervice=git-receive-pack", .family = F(GIT_INFO_REFS),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "service among other parameters", .method = "GET",
     .target = "/acme/bert/info/refs?x=1&&service=git-receive-pack&y", .family = F(GIT_INFO_REFS),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "repeated service parameter is refused", .method = "GET",
     .target = "/acme/bert/info/refs?service=git-upload-pack&service=git-receive-pack",
     .rc = CMN_ERR_PARSE, .reject = R(DUPLICATE_QUERY)},
    {.name = "repeated service via encoding is refused", .method = "GET",
     .target = "/acme/bert/info/refs?service=git-upload-pack&servic%65=git-receive-pack",
     .rc = CMN_ERR_PARSE, .reject = R(DUPLICATE_QUERY)},
    {.name = "unknown git service is unknown", .method = "GET",
     .target = "/acme/bert/info/refs?service=git-upload-archive", .family = F(UNKNOWN)},
    {.name = "GET git-receive-pack is unknown", .method = "GET",
     .target = "/acme/bert.git/git-receive-pack", .family = F(UNKNOWN)},
    {.name = "git-upload-pack with extra segment is unknown", .method = "POST",
     .target = "/acme/bert.git/git-upload-pack/x", .family = F(UNKNOWN)},
    {.name = "git dumb object fetch is unknown", .method = "GET",
     .target = "/acme/bert.git/objects/info/packs", .family = F(UNKNOWN)},
    {.name = "kernel git push", .method = "POST", .target = "/kernels/acme/k.git/git-receive-pack",
     .family = F(GIT_RECEIVE_PACK), .action = A(WRITE), .type = TY(KERNEL), .ns = "acme",
     .repo = "k", .git = 1},

    /* ---------------------------------------------------------------- git-lfs */
    {.name = "TRAP: LFS batch download is a read", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch",
     .body = "{\"operation\":\"download\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"" OID
             "\",\"size\":4096}]}",
     .ctype = LFSCT, .family = F(LFS_BATCH), .action = A(READ), .type = TY(MODEL), .ns = "acme",
     .repo = "bert", .git = 1, .lfs = GW_LFS_OP_DOWNLOAD},
    {.name = "LFS batch upload (JS shape) is a write", .method = "POST",
     .target = "/acme/new-model.git/info/lfs/objects/batch",
     .body = "{\"operation\":\"upload\",\"transfers\":[\"basic\",\"multipart\",\"xet\"],"
             "\"hash_algo\":\"sha_256\",\"ref\":{\"name\":\"main\"},\"objects\":[{\"oid\":\"" OID
             "\",\"size\":4096}]}",
     .ctype = LFSCT, .family = F(LFS_BATCH), .action = A(WRITE), .type = TY(MODEL), .ns = "acme",
     .repo = "new-model", .rev = "main", .git = 1, .lfs = GW_LFS_OP_UPLOAD},
    {.name = "LFS batch upload (python shape, dataset)", .method = "POST",
     .target = "/datasets/acme/ds.git/info/lfs/objects/batch",
     .body = "{\"operation\": \"upload\", \"transfers\": [\"basic\", \"multipart\"], "
             "\"objects\": [{\"oid\": \"" OID "\", \"size\": 1}], \"hash_algo\": \"sha256\", "
             "\"ref\": {\"name\": \"refs/pr/3\"}}",
     .ctype = LFSCT, .family = F(LFS_BATCH), .action = A(WRITE), .type = TY(DATASET), .ns = "acme",
     .repo = "ds", .rev = "refs/pr/3", .git = 1, .lfs = GW_LFS_OP_UPLOAD},
    {.name = "LFS batch with charset parameter (git-lfs)", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "{\"operation\":\"download\"}",
     .ctype = "application/vnd.git-lfs+json; charset=utf-8", .family = F(LFS_BATCH),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .git = 1,
     .lfs = GW_LFS_OP_DOWNLOAD},
    {.name = "LFS batch without .git", .method = "POST",
     .target = "/acme/bert/info/lfs/objects/batch", .body = "{\"operation\":\"download\"}",
     .ctype = JSON, .family = F(LFS_BATCH), .action = A(READ), .type = TY(MODEL), .ns = "acme",
     .repo = "bert", .lfs = GW_LFS_OP_DOWNLOAD},
    {.name = "LFS batch legacy repo", .method = "POST",
     .target = "/gpt2.git/info/lfs/objects/batch", .body = "{\"operation\":\"download\"}",
     .ctype = LFSCT, .family = F(LFS_BATCH), .action = A(READ), .type = TY(MODEL), .ns = "",
     .repo = "gpt2", .git = 1, .lfs = GW_LFS_OP_DOWNLOAD},
    {.name = "LFS batch with no Content-Type", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "{\"operation\":\"upload\"}",
     .family = F(LFS_BATCH), .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .git = 1, .lfs = GW_LFS_OP_UPLOAD},
    {.name = "LFS batch body without operation", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "{\"objects\":[]}", .ctype = LFSCT,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_MISSING_TARGET)},
    {.name = "LFS batch unknown operation", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "{\"operation\":\"delete\"}",
     .ctype = LFSCT, .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "LFS batch operation of wrong type", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "{\"operation\":1}", .ctype = LFSCT,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "LFS batch duplicate operation key", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch",
     .body = "{\"operation\":\"download\",\"operation\":\"upload\"}", .ctype = LFSCT,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "LFS batch unparsable body", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "{\"operation\":\"download\"",
     .ctype = LFSCT, .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "LFS batch body is an array", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "[{\"operation\":\"download\"}]",
     .ctype = LFSCT, .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "LFS batch empty body", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "", .ctype = LFSCT,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "LFS batch with trailing garbage", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "{\"operation\":\"download\"} {}",
     .ctype = LFSCT, .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "LFS batch ref name with a leading slash (fuzz)", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch",
     .body = "{\"operation\":\"upload\",\"ref\":{\"name\":\"/ain\"}}", .ctype = LFSCT,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "LFS batch ref name with dot-dot", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch",
     .body = "{\"operation\":\"upload\",\"ref\":{\"name\":\"refs/heads/../x\"}}", .ctype = LFSCT,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "LFS batch full ref name kept for audit", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch",
     .body = "{\"operation\":\"upload\",\"ref\":{\"name\":\"refs/heads/main\"}}", .ctype = LFSCT,
     .family = F(LFS_BATCH), .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .rev = "refs/heads/main", .git = 1, .lfs = GW_LFS_OP_UPLOAD},
    {.name = "LFS batch form content type refused", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/batch", .body = "{\"operation\":\"download\"}",
     .ctype = "application/x-www-form-urlencoded", .rc = CMN_ERR_PARSE,
     .reject = R(BODY_CONTENT_TYPE)},
    {.name = "GET LFS batch is unknown", .method = "GET",
     .target = "/acme/bert.git/info/lfs/objects/batch", .family = F(UNKNOWN)},
    {.name = "LFS verify (hub fixture href) is a write", .method = "POST",
     .target = "/acme/bert.git/info/lfs/objects/verify", .family = F(LFS_VERIFY),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert", .git = 1},
    {.name = "LFS verify short form", .method = "POST", .target = "/acme/bert.git/info/lfs/verify",
     .family = F(LFS_VERIFY), .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .git = 1},
    {.name = "LFS locks list is a read", .method = "GET", .target = "/acme/bert.git/info/lfs/locks",
     .family = F(LFS_LOCKS), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .git = 1},
    {.name = "LFS locks verify before push is a write", .method = "POST",
     .target = "/acme/bert.git/info/lfs/locks/verify", .family = F(LFS_LOCKS), .action = A(WRITE),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .git = 1},
    {.name = "LFS unlock", .method = "POST", .target = "/acme/bert.git/info/lfs/locks/42/unlock",
     .family = F(LFS_LOCKS), .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .object = "42", .git = 1},
    {.name = "LFS object GET by oid is unknown", .method = "GET",
     .target = "/acme/bert.git/info/lfs/objects/" OID, .family = F(UNKNOWN)},

    /* ---------------------------------------------------------------- listings and info */
    {.name = "list models", .method = "GET", .target = "/api/models", .family = F(LIST_REPOS),
     .action = A(READ), .type = TY(MODEL), .repos = ""},
    {.name = "list models (JS listModels query)", .method = "GET",
     .target = "/api/models?limit=5&author=acme&search=tiny&expand=pipeline_tag&expand=private"
               "&expand=gated&expand=downloads&expand=likes&expand=lastModified",
     .family = F(LIST_REPOS), .action = A(READ), .type = TY(MODEL), .repos = ""},
    {.name = "list datasets", .method = "GET", .target = "/api/datasets?author=acme&full=true",
     .family = F(LIST_REPOS), .action = A(READ), .type = TY(DATASET), .repos = ""},
    {.name = "list spaces", .method = "GET", .target = "/api/spaces?search=x",
     .family = F(LIST_REPOS), .action = A(READ), .type = TY(SPACE), .repos = ""},
    {.name = "list kernels", .method = "GET", .target = "/api/kernels", .family = F(LIST_REPOS),
     .action = A(READ), .type = TY(KERNEL), .repos = ""},
    {.name = "spaces semantic search", .method = "GET",
     .target = "/api/spaces/semantic-search?q=chat", .family = F(LIST_REPOS), .action = A(READ),
     .type = TY(SPACE), .repos = ""},
    {.name = "list buckets of a namespace", .method = "GET", .target = "/api/buckets/acme",
     .family = F(LIST_REPOS), .action = A(READ), .type = TY(BUCKET), .ns = "acme", .repos = ""},
    {.name = "POST /api/models is unknown", .method = "POST", .target = "/api/models",
     .family = F(UNKNOWN)},
    {.name = "list with trailing slash refused", .method = "GET", .target = "/api/models/",
     .rc = CMN_ERR_PARSE, .reject = R(EMPTY_SEGMENT)},
    {.name = "repo info", .method = "GET", .target = "/api/models/acme/tiny",
     .family = F(REPO_INFO), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "tiny"},
    {.name = "repo info (hfjs CLI expand[]=likes)", .method = "GET",
     .target = "/api/models/acme/tiny?expand[]=likes", .family = F(REPO_INFO), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "tiny"},
    {.name = "repo info legacy model", .method = "GET", .target = "/api/models/gpt2",
     .family = F(REPO_INFO), .action = A(READ), .type = TY(MODEL), .ns = "", .repo = "gpt2"},
    {.name = "repo info dataset", .method = "GET", .target = "/api/datasets/acme/ds?full=true",
     .family = F(REPO_INFO), .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds"},
    {.name = "repo info space", .method = "GET", .target = "/api/spaces/acme/app",
     .family = F(REPO_INFO), .action = A(READ), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "repo info bucket", .method = "GET", .target = "/api/buckets/acme/store",
     .family = F(REPO_INFO), .action = A(READ), .type = TY(BUCKET), .ns = "acme", .repo = "store"},
    {.name = "repo info kernel", .method = "GET", .target = "/api/kernels/acme/attn",
     .family = F(REPO_INFO), .action = A(READ), .type = TY(KERNEL), .ns = "acme", .repo = "attn"},
    {.name = "revision info (JS modelInfo HEAD)", .method = "GET",
     .target = "/api/models/acme/tiny/revision/HEAD?expand=pipeline_tag&expand=private",
     .family = F(REVISION_INFO), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "tiny",
     .rev = "HEAD"},
    {.name = "revision info encoded PR", .method = "GET",
     .target = "/api/models/acme/bert/revision/refs%2Fpr%2F7", .family = F(REVISION_INFO),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "refs/pr/7"},
    {.name = "revision info unencoded refs/convert/parquet", .method = "GET",
     .target = "/api/datasets/acme/ds/revision/refs/convert/parquet", .family = F(REVISION_INFO),
     .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds",
     .rev = "refs/convert/parquet"},
    {.name = "revision info legacy dataset", .method = "GET",
     .target = "/api/datasets/squad/revision/main", .family = F(REVISION_INFO), .action = A(READ),
     .type = TY(DATASET), .ns = "", .repo = "squad", .rev = "main"},
    {.name = "snapshot_download revision by commit", .method = "GET",
     .target = "/api/spaces/acme/app/revision/" SHA, .family = F(REVISION_INFO), .action = A(READ),
     .type = TY(SPACE), .ns = "acme", .repo = "app", .rev = SHA},
    {.name = "revision info with trailing segment is unknown", .method = "GET",
     .target = "/api/models/acme/bert/revision/main/extra", .family = F(UNKNOWN)},
    {.name = "refs with PRs", .method = "GET", .target = "/api/models/acme/bert/refs?include_prs=1",
     .family = F(REFS), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "commits (JS countCommits)", .method = "GET",
     .target = "/api/models/acme/bert/commits/main?limit=1", .family = F(COMMITS),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main"},
    {.name = "commits python expand formatted", .method = "GET",
     .target = "/api/datasets/acme/ds/commits/refs%2Fpr%2F2?expand[]=formatted",
     .family = F(COMMITS), .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds",
     .rev = "refs/pr/2"},
    {.name = "commits without revision", .method = "GET", .target = "/api/models/acme/bert/commits",
     .family = F(COMMITS), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "tree (JS listFiles)", .method = "GET",
     .target = "/api/models/acme/tiny/tree/main?recursive=false&expand=false", .family = F(TREE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "tiny", .rev = "main"},
    {.name = "tree JS path unencoded", .method = "GET",
     .target = "/api/models/acme/tiny/tree/main/sub/dir?recursive=true", .family = F(TREE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "tiny", .rev = "main",
     .path = "sub/dir"},
    {.name = "TRAP: JS tree with unencoded refs/convert/parquet and path", .method = "GET",
     .target = "/api/datasets/acme/ds/tree/refs/convert/parquet/default/train", .family = F(TREE),
     .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds",
     .rev = "refs/convert/parquet", .path = "default/train"},
    {.name = "TRAP: JS tree with unencoded refs/pr/1 and path", .method = "GET",
     .target = "/api/models/acme/bert/tree/refs/pr/1/src", .family = F(TREE), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "refs/pr/1", .path = "src"},
    {.name = "JS tree with unencoded refs/pr/1, no path", .method = "GET",
     .target = "/api/models/acme/bert/tree/refs/pr/1?recursive=true", .family = F(TREE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "refs/pr/1"},
    {.name = "TRAP: python tree with %2F in revision and path", .method = "GET",
     .target = "/api/models/acme/bert/tree/refs%2Fpr%2F1/sub%2Fdir%2Ff.txt?recursive=True",
     .family = F(TREE), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .rev = "refs/pr/1", .path = "sub/dir/f.txt"},
    {.name = "python tree by commit, recursive", .method = "GET",
     .target = "/api/models/acme/bert/tree/" SHA "?recursive=True&expand=False", .family = F(TREE),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = SHA},
    {.name = "tree bucket without revision", .method = "GET",
     .target = "/api/buckets/acme/store/tree/sub/dir?recursive=true", .family = F(TREE),
     .action = A(READ), .type = TY(BUCKET), .ns = "acme", .repo = "store", .path = "sub/dir"},
    {.name = "tree bucket root", .method = "GET", .target = "/api/buckets/acme/store/tree",
     .family = F(TREE), .action = A(READ), .type = TY(BUCKET), .ns = "acme", .repo = "store"},
    {.name = "model tree without revision is repo info of acme/tree? no: unknown", .method = "GET",
     .target = "/api/models/acme/bert/tree", .family = F(UNKNOWN)},
    {.name = "treesize", .method = "GET", .target = "/api/models/acme/bert/treesize/main/onnx",
     .family = F(TREESIZE), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .rev = "main", .path = "onnx"},
    {.name = "TRAP: POST paths-info is a read (python form body)", .method = "POST",
     .target = "/api/models/acme/bert/paths-info/main", .family = F(PATHS_INFO), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main"},
    {.name = "paths-info encoded PR revision (JS)", .method = "POST",
     .target = "/api/datasets/acme/ds/paths-info/refs%2Fpr%2F1", .family = F(PATHS_INFO),
     .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds", .rev = "refs/pr/1"},
    {.name = "paths-info bucket without revision", .method = "POST",
     .target = "/api/buckets/acme/store/paths-info", .family = F(PATHS_INFO), .action = A(READ),
     .type = TY(BUCKET), .ns = "acme", .repo = "store"},
    {.name = "GET paths-info is unknown", .method = "GET",
     .target = "/api/models/acme/bert/paths-info/main", .family = F(UNKNOWN)},
    {.name = "compare", .method = "GET", .target = "/api/models/acme/bert/compare/main..dev",
     .family = F(COMPARE), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .rev = "main..dev"},
    {.name = "security scan", .method = "GET", .target = "/api/models/acme/bert/scan",
     .family = F(SCAN), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "list LFS files", .method = "GET",
     .target = "/api/models/acme/bert/lfs-files?limit=10", .family = F(LFS_FILES),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "likers", .method = "GET", .target = "/api/models/acme/bert/likers",
     .family = F(LIKERS), .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "unlike", .method = "DELETE", .target = "/api/spaces/acme/app/like", .family = F(LIKE),
     .action = A(READ), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "auth-check is a read probe", .method = "GET",
     .target = "/api/models/acme/bert/auth-check", .family = F(AUTH_CHECK), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "auth-check/write is a write probe", .method = "GET",
     .target = "/api/datasets/acme/ds/auth-check/write", .family = F(AUTH_CHECK),
     .action = A(WRITE), .type = TY(DATASET), .ns = "acme", .repo = "ds"},
    {.name = "auth-check/other is unknown", .method = "GET",
     .target = "/api/models/acme/bert/auth-check/admin", .family = F(UNKNOWN)},
    {.name = "dataset parquet listing", .method = "GET", .target = "/api/datasets/acme/ds/parquet",
     .family = F(DATASET_DERIVED), .action = A(READ), .type = TY(DATASET), .ns = "acme",
     .repo = "ds"},
    {.name = "dataset parquet file", .method = "GET",
     .target = "/api/datasets/acme/ds/parquet/default/train/0.parquet",
     .family = F(DATASET_DERIVED), .action = A(READ), .type = TY(DATASET), .ns = "acme",
     .repo = "ds", .path = "default/train/0.parquet"},
    {.name = "dataset croissant", .method = "GET", .target = "/api/datasets/acme/ds/croissant",
     .family = F(DATASET_DERIVED), .action = A(READ), .type = TY(DATASET), .ns = "acme",
     .repo = "ds"},
    {.name = "parquet on a model is unknown", .method = "GET",
     .target = "/api/models/acme/bert/parquet", .family = F(UNKNOWN)},
    {.name = "dataset SQL query is a read", .method = "POST", .target = "/api/datasets/acme/ds/sql",
     .family = F(DATASET_SQL), .action = A(READ), .type = TY(DATASET), .ns = "acme", .repo = "ds"},
    {.name = "dataset SQL delete is a write", .method = "DELETE",
     .target = "/api/datasets/acme/ds/sql", .family = F(DATASET_SQL), .action = A(WRITE),
     .type = TY(DATASET), .ns = "acme", .repo = "ds"},
    {.name = "unknown verb after a repo", .method = "GET",
     .target = "/api/models/acme/bert/frobnicate", .family = F(UNKNOWN)},

    /* ---------------------------------------------------------------- write path */
    {.name = "preupload (JS uploadFile)", .method = "POST",
     .target = "/api/models/acme/new-model/preupload/main", .family = F(PREUPLOAD),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "new-model", .rev = "main"},
    {.name = "preupload create_pr=1", .method = "POST",
     .target = "/api/datasets/acme/ds/preupload/main?create_pr=1", .family = F(PREUPLOAD),
     .action = A(WRITE), .type = TY(DATASET), .ns = "acme", .repo = "ds", .rev = "main", .pr = 1},
    {.name = "commit (JS ndjson)", .method = "POST",
     .target = "/api/models/acme/new-model/commit/main", .family = F(COMMIT), .action = A(WRITE),
     .type = TY(MODEL), .ns = "acme", .repo = "new-model", .rev = "main"},
    {.name = "commit into a PR ref is a PR write", .method = "POST",
     .target = "/api/models/acme/bert/commit/refs%2Fpr%2F4", .family = F(COMMIT),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "refs/pr/4",
     .pr = 1},
    {.name = "commit create_pr=1 and hot_reload=1", .method = "POST",
     .target = "/api/spaces/acme/app/commit/main?create_pr=1&hot_reload=1", .family = F(COMMIT),
     .action = A(WRITE), .type = TY(SPACE), .ns = "acme", .repo = "app", .rev = "main", .pr = 1},
    {.name = "commit create_pr=True is not trusted as a PR", .method = "POST",
     .target = "/api/models/acme/bert/commit/main?create_pr=True", .family = F(COMMIT),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main"},
    {.name = "commit create_pr encoded key counts", .method = "POST",
     .target = "/api/models/acme/bert/commit/main?create%5Fpr=1", .family = F(COMMIT),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main", .pr = 1},
    {.name = "commit to a non-numeric refs/pr is not a PR", .method = "POST",
     .target = "/api/models/acme/bert/commit/refs%2Fpr%2Fmain", .family = F(COMMIT),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .rev = "refs/pr/main"},
    {.name = "commit create_pr=0 is a branch write", .method = "POST",
     .target = "/api/models/acme/bert/commit/main?create_pr=0", .family = F(COMMIT),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main"},
    {.name = "commit repeated create_pr is refused", .method = "POST",
     .target = "/api/models/acme/bert/commit/main?create_pr=1&create_pr=0", .rc = CMN_ERR_PARSE,
     .reject = R(DUPLICATE_QUERY)},
    {.name = "commit legacy model", .method = "POST", .target = "/api/models/gpt2/commit/main",
     .family = F(COMMIT), .action = A(WRITE), .type = TY(MODEL), .ns = "", .repo = "gpt2",
     .rev = "main"},
    {.name = "GET commit is unknown", .method = "GET",
     .target = "/api/models/acme/bert/commit/main", .family = F(UNKNOWN)},
    {.name = "commit without revision is unknown", .method = "POST",
     .target = "/api/models/acme/bert/commit", .family = F(UNKNOWN)},
    {.name = "super-squash is a delete", .method = "POST",
     .target = "/api/models/acme/bert/super-squash/main", .family = F(SUPER_SQUASH),
     .action = A(DELETE), .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main"},
    {.name = "LFS files batch deletion", .method = "POST",
     .target = "/api/models/acme/bert/lfs-files/batch", .family = F(LFS_FILES_DELETE),
     .action = A(DELETE), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "LFS file single deletion", .method = "DELETE",
     .target = "/api/models/acme/bert/lfs-files/" OID "?rewriteHistory=true",
     .family = F(LFS_FILES_DELETE), .action = A(DELETE), .type = TY(MODEL), .ns = "acme",
     .repo = "bert", .object = OID},
    {.name = "create branch", .method = "POST", .target = "/api/models/acme/bert/branch/dev",
     .family = F(BRANCH), .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .rev = "dev"},
    {.name = "create branch with encoded slash", .method = "POST",
     .target = "/api/models/acme/bert/branch/feat%2Fx", .family = F(BRANCH), .action = A(WRITE),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "feat/x"},
    {.name = "delete branch", .method = "DELETE", .target = "/api/datasets/acme/ds/branch/dev",
     .family = F(BRANCH), .action = A(DELETE), .type = TY(DATASET), .ns = "acme", .repo = "ds",
     .rev = "dev"},
    {.name = "create tag on a revision", .method = "POST",
     .target = "/api/models/acme/bert/tag/main", .family = F(TAG), .action = A(WRITE),
     .type = TY(MODEL), .ns = "acme", .repo = "bert", .rev = "main"},
    {.name = "delete tag", .method = "DELETE", .target = "/api/models/acme/bert/tag/v1.0",
     .family = F(TAG), .action = A(DELETE), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .rev = "v1.0"},
    {.name = "GET branch is unknown", .method = "GET", .target = "/api/models/acme/bert/branch/dev",
     .family = F(UNKNOWN)},
    {.name = "bucket batch addFile (JS)", .method = "POST",
     .target = "/api/buckets/acme/store/batch",
     .body = "{\"type\":\"addFile\",\"path\":\"a.bin\",\"xetHash\":\"" OID "\"}\n"
             "{\"type\":\"addFile\",\"path\":\"b.bin\",\"xetHash\":\"" OID "\"}",
     .ctype = NDJ, .family = F(BUCKET_BATCH), .action = A(WRITE), .type = TY(BUCKET), .ns = "acme",
     .repo = "store", .repos = "bucket:acme/store=write"},
    {.name = "bucket batch deleteFile is a delete", .method = "POST",
     .target = "/api/buckets/acme/store/batch",
     .body = "{\"type\":\"deleteFile\",\"path\":\"a.bin\"}\r\n", .ctype = NDJ,
     .family = F(BUCKET_BATCH), .action = A(DELETE), .type = TY(BUCKET), .ns = "acme",
     .repo = "store", .repos = "bucket:acme/store=delete"},
    {.name = "TRAP: bucket copyFile reads its source repo", .method = "POST",
     .target = "/api/buckets/acme/store/batch",
     .body = "{\"type\":\"copyFile\",\"path\":\"w.bin\",\"xetHash\":\"" OID
             "\",\"sourceRepoType\":\"model\",\"sourceRepoId\":\"secret/weights\"}\n",
     .ctype = NDJ, .family = F(BUCKET_BATCH), .action = A(WRITE), .type = TY(BUCKET), .ns = "acme",
     .repo = "store", .repos = "bucket:acme/store=write model:secret/weights=read*"},
    {.name = "bucket copyFile within the bucket", .method = "POST",
     .target = "/api/buckets/acme/store/batch",
     .body = "{\"type\":\"copyFile\",\"path\":\"w2.bin\",\"xetHash\":\"" OID "\"}", .ctype = NDJ,
     .family = F(BUCKET_BATCH), .action = A(WRITE), .type = TY(BUCKET), .ns = "acme",
     .repo = "store", .repos = "bucket:acme/store=write bucket:acme/store=read"},
    {.name = "bucket copy source id not a string", .method = "POST",
     .target = "/api/buckets/acme/store/batch",
     .body = "{\"type\":\"copyFile\",\"path\":\"a\",\"sourceRepoId\":[]}", .ctype = NDJ,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "empty bucket batch still addresses the bucket", .method = "POST",
     .target = "/api/buckets/acme/store/batch", .body = "\n\n", .ctype = NDJ,
     .family = F(BUCKET_BATCH), .action = A(WRITE), .type = TY(BUCKET), .ns = "acme",
     .repo = "store", .repos = "bucket:acme/store=write"},
    {.name = "bucket batch unknown operation", .method = "POST",
     .target = "/api/buckets/acme/store/batch", .body = "{\"type\":\"chmod\",\"path\":\"a\"}",
     .ctype = NDJ, .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "bucket batch copy source without type", .method = "POST",
     .target = "/api/buckets/acme/store/batch",
     .body = "{\"type\":\"copyFile\",\"path\":\"a\",\"sourceRepoId\":\"x/y\"}", .ctype = NDJ,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_BAD_TARGET)},
    {.name = "bucket batch bad line", .method = "POST", .target = "/api/buckets/acme/store/batch",
     .body = "{\"type\":\"addFile\"}\nnot json\n", .ctype = NDJ, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_INVALID)},
    {.name = "bucket batch text/plain refused", .method = "POST",
     .target = "/api/buckets/acme/store/batch", .body = "{\"type\":\"addFile\"}",
     .ctype = "text/plain", .rc = CMN_ERR_PARSE, .reject = R(BODY_CONTENT_TYPE)},

    /* ---------------------------------------------------------------- repo lifecycle (body) */
    {.name = "create repo (JS createRepo)", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"new-model\",\"organization\":\"acme\",\"type\":\"model\"}", .ctype = JSON,
     .family = F(REPO_CREATE), .action = A(CREATE), .type = TY(MODEL), .ns = "acme",
     .repo = "new-model", .repos = "model:acme/new-model=create*"},
    {.name = "create repo python (no type, organization null)", .method = "POST",
     .target = "/api/repos/create",
     .body = "{\"name\": \"mine\", \"organization\": null, \"private\": true}", .ctype = JSON,
     .family = F(REPO_CREATE), .action = A(CREATE), .type = TY(MODEL), .ns = "", .repo = "mine",
     .repos = "model:@caller/mine=create*"},
    {.name = "create repo with ns/name in name", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"acme/x\",\"type\":\"dataset\"}", .ctype = JSON, .family = F(REPO_CREATE),
     .action = A(CREATE), .type = TY(DATASET), .ns = "acme", .repo = "x",
     .repos = "dataset:acme/x=create*"},
    {.name = "create repo: name ns equal to organization", .method = "POST",
     .target = "/api/repos/create", .body = "{\"name\":\"acme/x\",\"organization\":\"acme\"}",
     .ctype = JSON, .family = F(REPO_CREATE), .action = A(CREATE), .type = TY(MODEL), .ns = "acme",
     .repo = "x", .repos = "model:acme/x=create*"},
    {.name = "create repo: name ns conflicts with organization", .method = "POST",
     .target = "/api/repos/create", .body = "{\"name\":\"evil/x\",\"organization\":\"acme\"}",
     .ctype = JSON, .rc = CMN_ERR_PARSE, .reject = R(BODY_CONFLICT)},
    {.name = "create space with sdk and region", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"app\",\"organization\":\"acme\",\"type\":\"space\",\"sdk\":\"static\","
             "\"region\":\"eu\",\"visibility\":\"private\"}",
     .ctype = JSON, .family = F(REPO_CREATE), .action = A(CREATE), .type = TY(SPACE), .ns = "acme",
     .repo = "app", .repos = "space:acme/app=create*"},
    {.name = "create repo with initial files is also a write", .method = "POST",
     .target = "/api/repos/create",
     .body = "{\"name\":\"m\",\"organization\":\"acme\",\"type\":\"model\",\"files\":[{\"path\":"
             "\"README.md\",\"content\":\"aGk=\",\"encoding\":\"base64\"}]}",
     .ctype = JSON, .family = F(REPO_CREATE), .action = A(CREATE), .type = TY(MODEL), .ns = "acme",
     .repo = "m", .repos = "model:acme/m=create* model:acme/m=write*"},
    {.name = "create repo empty files array", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"m\",\"organization\":\"acme\",\"files\":[]}", .ctype = JSON,
     .family = F(REPO_CREATE), .action = A(CREATE), .type = TY(MODEL), .ns = "acme", .repo = "m",
     .repos = "model:acme/m=create*"},
    {.name = "create repo empty organization means caller", .method = "POST",
     .target = "/api/repos/create", .body = "{\"name\":\"m\",\"organization\":\"\"}", .ctype = JSON,
     .family = F(REPO_CREATE), .action = A(CREATE), .type = TY(MODEL), .ns = "", .repo = "m",
     .repos = "model:@caller/m=create*"},
    {.name = "create repo organization not a string", .method = "POST",
     .target = "/api/repos/create", .body = "{\"name\":\"x\",\"organization\":7}", .ctype = JSON,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "create repo Content-Type with spaces", .method = "POST",
     .target = "/api/repos/create", .body = "{\"name\":\"x\",\"organization\":\"acme\"}",
     .ctype = "  application/json  ; charset=utf-8", .family = F(REPO_CREATE), .action = A(CREATE),
     .type = TY(MODEL), .ns = "acme", .repo = "x", .repos = "model:acme/x=create*"},
    {.name = "create repo empty Content-Type", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"x\",\"organization\":\"acme\"}", .ctype = "", .family = F(REPO_CREATE),
     .action = A(CREATE), .type = TY(MODEL), .ns = "acme", .repo = "x",
     .repos = "model:acme/x=create*"},
    {.name = "create repo ndjson Content-Type refused", .method = "POST",
     .target = "/api/repos/create", .body = "{\"name\":\"x\"}", .ctype = NDJ, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_CONTENT_TYPE)},
    {.name = "create repo missing name", .method = "POST", .target = "/api/repos/create",
     .body = "{\"organization\":\"acme\"}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_MISSING_TARGET)},
    {.name = "create repo name not a string", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":42}", .ctype = JSON, .rc = CMN_ERR_PARSE, .reject = R(BODY_MISSING_TARGET)},
    {.name = "create repo unknown type", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"x\",\"organization\":\"acme\",\"type\":\"widget\"}", .ctype = JSON,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_BAD_TARGET)},
    {.name = "create repo type not a string", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"x\",\"organization\":\"acme\",\"type\":[]}", .ctype = JSON,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "create repo invalid name", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"a..b\",\"organization\":\"acme\"}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_BAD_TARGET)},
    {.name = "create repo name ending in .git", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"x.git\",\"organization\":\"acme\"}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_BAD_TARGET)},
    {.name = "create repo in a reserved namespace", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"x\",\"organization\":\"api\"}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_BAD_TARGET)},
    {.name = "create repo organization with slash", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"x\",\"organization\":\"a/b\"}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_BAD_TARGET)},
    {.name = "create repo name with three segments", .method = "POST",
     .target = "/api/repos/create", .body = "{\"name\":\"a/b/c\"}", .ctype = JSON,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_BAD_TARGET)},
    {.name = "create repo duplicate keys", .method = "POST", .target = "/api/repos/create",
     .body = "{\"name\":\"x\",\"organization\":\"acme\",\"organization\":\"evil\"}", .ctype = JSON,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "create repo NUL escape in JSON string", .method = "POST",
     .target = "/api/repos/create", .body = "{\"name\":\"x\\u0000y\",\"organization\":\"acme\"}",
     .ctype = JSON, .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "create repo form-encoded refused", .method = "POST", .target = "/api/repos/create",
     .body = "name=x&organization=acme", .ctype = "application/x-www-form-urlencoded",
     .rc = CMN_ERR_PARSE, .reject = R(BODY_CONTENT_TYPE)},
    {.name = "create repo text body with JSON type", .method = "POST",
     .target = "/api/repos/create", .body = "name=x", .ctype = "Application/JSON; charset=utf-8",
     .rc = CMN_ERR_PARSE, .reject = R(BODY_INVALID)},
    {.name = "GET /api/repos/create is unknown", .method = "GET", .target = "/api/repos/create",
     .family = F(UNKNOWN)},
    {.name = "delete repo (JS DELETE with JSON body)", .method = "DELETE",
     .target = "/api/repos/delete",
     .body = "{\"name\":\"new-model\",\"organization\":\"acme\",\"type\":\"model\"}", .ctype = JSON,
     .family = F(REPO_DELETE), .action = A(DELETE), .type = TY(MODEL), .ns = "acme",
     .repo = "new-model", .repos = "model:acme/new-model=delete*"},
    {.name = "delete dataset without organization", .method = "DELETE",
     .target = "/api/repos/delete", .body = "{\"name\":\"ds\",\"type\":\"dataset\"}", .ctype = JSON,
     .family = F(REPO_DELETE), .action = A(DELETE), .type = TY(DATASET), .ns = "", .repo = "ds",
     .repos = "dataset:@caller/ds=delete*"},
    {.name = "POST /api/repos/delete is unknown", .method = "POST", .target = "/api/repos/delete",
     .family = F(UNKNOWN)},
    {.name = "delete repo missing body", .method = "DELETE", .target = "/api/repos/delete",
     .body = "{}", .ctype = JSON, .rc = CMN_ERR_PARSE, .reject = R(BODY_MISSING_TARGET)},
    {.name = "move repo deletes source and creates destination", .method = "POST",
     .target = "/api/repos/move",
     .body = "{\"fromRepo\":\"acme/a\",\"toRepo\":\"other/b\",\"type\":\"model\"}", .ctype = JSON,
     .family = F(REPO_MOVE), .action = A(ADMIN), .type = TY(MODEL), .ns = "acme", .repo = "a",
     .repos = "model:acme/a=delete* model:other/b=create*"},
    {.name = "move dataset", .method = "POST", .target = "/api/repos/move",
     .body = "{\"fromRepo\":\"acme/a\",\"toRepo\":\"acme/b\",\"type\":\"dataset\"}", .ctype = JSON,
     .family = F(REPO_MOVE), .action = A(ADMIN), .type = TY(DATASET), .ns = "acme", .repo = "a",
     .repos = "dataset:acme/a=delete* dataset:acme/b=create*"},
    {.name = "move bucket", .method = "POST", .target = "/api/repos/move",
     .body = "{\"fromRepo\":\"acme/a\",\"toRepo\":\"acme/b\",\"type\":\"bucket\"}", .ctype = JSON,
     .family = F(REPO_MOVE), .action = A(ADMIN), .type = TY(BUCKET), .ns = "acme", .repo = "a",
     .repos = "bucket:acme/a=delete* bucket:acme/b=create*"},
    {.name = "move missing toRepo", .method = "POST", .target = "/api/repos/move",
     .body = "{\"fromRepo\":\"acme/a\"}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_MISSING_TARGET)},
    {.name = "move needs namespaced ids", .method = "POST", .target = "/api/repos/move",
     .body = "{\"fromRepo\":\"gpt2\",\"toRepo\":\"acme/gpt2\"}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_BAD_TARGET)},
    {.name = "move to an invalid id", .method = "POST", .target = "/api/repos/move",
     .body = "{\"fromRepo\":\"acme/a\",\"toRepo\":\"acme/-b\"}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_BAD_TARGET)},
    {.name = "duplicate space reads source, creates copy", .method = "POST",
     .target = "/api/spaces/acme/app/duplicate",
     .body = "{\"repository\":\"me/app-copy\",\"private\":true,\"hardware\":\"cpu-basic\"}",
     .ctype = JSON, .family = F(REPO_DUPLICATE), .action = A(CREATE), .type = TY(SPACE),
     .ns = "acme", .repo = "app", .repos = "space:acme/app=read space:me/app-copy=create*"},
    {.name = "duplicate model", .method = "POST", .target = "/api/models/acme/bert/duplicate",
     .body = "{\"repository\":\"me/bert\"}", .ctype = JSON, .family = F(REPO_DUPLICATE),
     .action = A(CREATE), .type = TY(MODEL), .ns = "acme", .repo = "bert",
     .repos = "model:acme/bert=read model:me/bert=create*"},
    {.name = "duplicate missing repository", .method = "POST",
     .target = "/api/spaces/acme/app/duplicate", .body = "{\"private\":true}", .ctype = JSON,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_MISSING_TARGET)},
    {.name = "duplicate kernel is unknown", .method = "POST",
     .target = "/api/kernels/acme/k/duplicate", .family = F(UNKNOWN)},
    {.name = "TRAP: lfs-files/duplicate writes the body repo", .method = "POST",
     .target = "/api/models/acme/src/lfs-files/duplicate",
     .body = "{\"target\":{\"type\":\"dataset\",\"name\":\"other/ds\"},\"files\":[{\"xetHash\":\""
             OID "\",\"sha256\":\"" OID "\",\"filename\":\"w.bin\"}]}",
     .ctype = JSON, .family = F(LFS_FILES_DUPLICATE), .action = A(WRITE), .type = TY(MODEL),
     .ns = "acme", .repo = "src", .repos = "model:acme/src=read dataset:other/ds=write*"},
    {.name = "lfs-files/duplicate legacy target model", .method = "POST",
     .target = "/api/models/acme/src/lfs-files/duplicate",
     .body = "{\"target\":{\"type\":\"model\",\"name\":\"gpt2\"},\"files\":[]}", .ctype = JSON,
     .family = F(LFS_FILES_DUPLICATE), .action = A(WRITE), .type = TY(MODEL), .ns = "acme",
     .repo = "src", .repos = "model:acme/src=read model:gpt2=write*"},
    {.name = "lfs-files/duplicate missing target", .method = "POST",
     .target = "/api/models/acme/src/lfs-files/duplicate", .body = "{\"files\":[]}", .ctype = JSON,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_MISSING_TARGET)},
    {.name = "lfs-files/duplicate target without type", .method = "POST",
     .target = "/api/models/acme/src/lfs-files/duplicate",
     .body = "{\"target\":{\"name\":\"acme/x\"}}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_MISSING_TARGET)},
    {.name = "lfs-files/duplicate target space without namespace", .method = "POST",
     .target = "/api/models/acme/src/lfs-files/duplicate",
     .body = "{\"target\":{\"type\":\"space\",\"name\":\"app\"}}", .ctype = JSON,
     .rc = CMN_ERR_PARSE, .reject = R(BODY_BAD_TARGET)},
    {.name = "create bucket", .method = "POST", .target = "/api/buckets/acme/store",
     .family = F(REPO_CREATE), .action = A(CREATE), .type = TY(BUCKET), .ns = "acme",
     .repo = "store"},
    {.name = "delete bucket", .method = "DELETE", .target = "/api/buckets/acme/store",
     .family = F(REPO_DELETE), .action = A(DELETE), .type = TY(BUCKET), .ns = "acme",
     .repo = "store"},
    {.name = "DELETE /api/models/{repo} deletes", .method = "DELETE",
     .target = "/api/models/acme/bert", .family = F(REPO_DELETE), .action = A(DELETE),
     .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "settings PUT is admin", .method = "PUT", .target = "/api/models/acme/bert/settings",
     .family = F(SETTINGS), .action = A(ADMIN), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "bucket settings PUT", .method = "PUT", .target = "/api/buckets/acme/store/settings",
     .family = F(SETTINGS), .action = A(ADMIN), .type = TY(BUCKET), .ns = "acme", .repo = "store"},
    {.name = "settings GET is unknown", .method = "GET", .target = "/api/models/acme/bert/settings",
     .family = F(UNKNOWN)},
    {.name = "resource-group POST is admin", .method = "POST",
     .target = "/api/datasets/acme/ds/resource-group", .family = F(RESOURCE_GROUP),
     .action = A(ADMIN), .type = TY(DATASET), .ns = "acme", .repo = "ds"},
    {.name = "resource-group GET is a read", .method = "GET",
     .target = "/api/models/acme/bert/resource-group", .family = F(RESOURCE_GROUP),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "access requests list", .method = "GET",
     .target = "/api/models/acme/bert/user-access-request/pending", .family = F(ACCESS_REQUESTS),
     .action = A(ADMIN), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "access request handle", .method = "POST",
     .target = "/api/datasets/acme/ds/user-access-request/handle", .family = F(ACCESS_REQUESTS),
     .action = A(ADMIN), .type = TY(DATASET), .ns = "acme", .repo = "ds"},
    {.name = "access request grant", .method = "POST",
     .target = "/api/models/acme/bert/user-access-request/grant", .family = F(ACCESS_REQUESTS),
     .action = A(ADMIN), .type = TY(MODEL), .ns = "acme", .repo = "bert"},
    {.name = "access request unknown status", .method = "GET",
     .target = "/api/models/acme/bert/user-access-request/maybe", .family = F(UNKNOWN)},

    /* ---------------------------------------------------------------- discussions */
    {.name = "discussions list", .method = "GET",
     .target = "/api/models/acme/bert/discussions?p=0&type=pull_request",
     .family = F(DISCUSSION_LIST), .action = A(READ), .type = TY(MODEL), .ns = "acme",
     .repo = "bert"},
    {.name = "discussion details with diff", .method = "GET",
     .target = "/api/models/acme/bert/discussions/12?diff=1", .family = F(DISCUSSION_READ),
     .action = A(READ), .type = TY(MODEL), .ns = "acme", .repo = "bert", .object = "12"},
    {.name = "open discussion or PR", .method = "POST",
     .target = "/api/datasets/acme/ds/discussions", .family = F(DISCUSSION_CREATE),
     .action = A(WRITE), .type = TY(DATASET), .ns = "acme", .repo = "ds"},
    {.name = "comment", .method = "POST", .target = "/api/models/acme/bert/discussions/3/comment",
     .family = F(DISCUSSION_COMMENT), .action = A(WRITE), .type = TY(MODEL), .ns = "acme",
     .repo = "bert", .object = "3"},
    {.name = "rename discussion", .method = "POST",
     .target = "/api/models/acme/bert/discussions/3/title", .family = F(DISCUSSION_EDIT),
     .action = A(WRITE), .type = TY(MODEL), .ns = "acme", .repo = "bert", .object = "3"},
    {.name = "change discussion status is moderation", .method = "POST",
     .target = "/api/models/acme/bert/discussions/3/status", .family = F(DISCUSSION_STATUS),
     .action = A(ADMIN), .type = TY(MODEL), .ns = "acme", .repo = "bert", .object = "3"},
    {.name = "merge PR writes the target branch", .method = "POST",
     .target = "/api/spaces/acme/app/discussions/9/merge", .family = F(DISCUSSION_MERGE),
     .action = A(WRITE), .type = TY(SPACE), .ns = "acme", .repo = "app", .object = "9"},
    {.name = "edit comment", .method = "POST",
     .target = "/api/models/acme/bert/discussions/3/comment/abc123/edit",
     .family = F(DISCUSSION_EDIT), .action = A(WRITE), .type = TY(MODEL), .ns = "acme",
     .repo = "bert", .object = "3"},
    {.name = "reply to comment", .method = "POST",
     .target = "/api/models/acme/bert/discussions/3/comment/abc123/reply",
     .family = F(DISCUSSION_COMMENT), .action = A(WRITE), .type = TY(MODEL), .ns = "acme",
     .repo = "bert", .object = "3"},
    {.name = "delete comment is moderation", .method = "DELETE",
     .target = "/api/models/acme/bert/discussions/3/comment/abc123",
     .family = F(DISCUSSION_HIDE), .action = A(ADMIN), .type = TY(MODEL), .ns = "acme",
     .repo = "bert", .object = "3"},
    {.name = "hide comment", .method = "POST",
     .target = "/api/models/acme/bert/discussions/3/comment/abc123/hide",
     .family = F(DISCUSSION_HIDE), .action = A(ADMIN), .type = TY(MODEL), .ns = "acme",
     .repo = "bert", .object = "3"},
    {.name = "discussion number must be numeric", .method = "GET",
     .target = "/api/models/acme/bert/discussions/abc", .family = F(UNKNOWN)},

    /* ---------------------------------------------------------------- spaces administration */
    {.name = "space runtime", .method = "GET", .target = "/api/spaces/acme/app/runtime",
     .family = F(SPACE_RUNTIME), .action = A(READ), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "space build logs", .method = "GET", .target = "/api/spaces/acme/app/logs/build",
     .family = F(SPACE_LOGS), .action = A(READ), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "space metrics", .method = "GET", .target = "/api/spaces/acme/app/metrics",
     .family = F(SPACE_LOGS), .action = A(READ), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "space secrets add", .method = "POST", .target = "/api/spaces/acme/app/secrets",
     .family = F(SPACE_ADMIN), .action = A(ADMIN), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "space variables delete", .method = "DELETE",
     .target = "/api/spaces/acme/app/variables", .family = F(SPACE_ADMIN), .action = A(ADMIN),
     .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "space hardware", .method = "POST", .target = "/api/spaces/acme/app/hardware",
     .family = F(SPACE_ADMIN), .action = A(ADMIN), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "space restart factory", .method = "POST",
     .target = "/api/spaces/acme/app/restart?factory=true", .family = F(SPACE_ADMIN),
     .action = A(ADMIN), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "space storage delete", .method = "DELETE", .target = "/api/spaces/acme/app/storage",
     .family = F(SPACE_ADMIN), .action = A(ADMIN), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "space volumes put", .method = "PUT", .target = "/api/spaces/acme/app/volumes",
     .family = F(SPACE_ADMIN), .action = A(ADMIN), .type = TY(SPACE), .ns = "acme", .repo = "app"},
    {.name = "secrets on a model is unknown", .method = "POST",
     .target = "/api/models/acme/bert/secrets", .family = F(UNKNOWN)},

    /* ---------------------------------------------------------------- identity, oauth, misc */
    {.name = "whoami-v2", .method = "GET", .target = "/api/whoami-v2", .family = F(WHOAMI),
     .action = A(NONE), .repos = ""},
    {.name = "POST whoami-v2 is unknown", .method = "POST", .target = "/api/whoami-v2",
     .family = F(UNKNOWN)},
    {.name = "oauth token exchange", .method = "POST", .target = "/oauth/token", .family = F(OAUTH),
     .action = A(NONE), .repos = ""},
    {.name = "oauth device start", .method = "POST", .target = "/oauth/device", .family = F(OAUTH),
     .action = A(NONE), .repos = ""},
    {.name = "oauth authorize", .method = "GET", .target = "/oauth/authorize?client_id=x",
     .family = F(OAUTH), .action = A(NONE), .repos = ""},
    {.name = "openid configuration", .method = "GET", .target = "/.well-known/openid-configuration",
     .family = F(OAUTH), .action = A(NONE), .repos = ""},
    /* everything under /oauth/ and /scim/ is hubgate's, whatever the method or depth */
    {.name = "oauth any path", .method = "GET", .target = "/oauth/userinfo/extra?x=1",
     .family = F(OAUTH), .action = A(NONE), .repos = ""},
    {.name = "oauth any method", .method = "DELETE", .target = "/oauth/token", .family = F(OAUTH),
     .action = A(NONE), .repos = ""},
    {.name = "oauth root", .method = "GET", .target = "/oauth", .family = F(OAUTH),
     .action = A(NONE), .repos = ""},
    {.name = "scim users", .method = "GET", .target = "/scim/v2/Users?filter=userName", .family = F(SCIM),
     .action = A(NONE), .repos = ""},
    {.name = "scim patch", .method = "PATCH", .target = "/scim/v2/Users/2819c223", .family = F(SCIM),
     .action = A(NONE), .repos = ""},
    {.name = "scim is no namespace", .method = "GET", .target = "/api/models/scim/v2",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "openapi spec", .method = "GET", .target = "/.well-known/openapi.json",
     .family = F(CATALOG), .action = A(READ), .repos = ""},
    {.name = "other .well-known is unknown", .method = "GET", .target = "/.well-known/security.txt",
     .family = F(UNKNOWN)},
    {.name = "revoke leaked credentials", .method = "POST", .target = "/api/credentials/revoke",
     .family = F(CREDENTIALS_REVOKE), .action = A(NONE), .repos = ""},
    {.name = "model tags catalog", .method = "GET", .target = "/api/models-tags-by-type",
     .family = F(CATALOG), .action = A(READ), .repos = ""},
    {.name = "spaces hardware catalog", .method = "GET", .target = "/api/spaces/hardware",
     .family = F(CATALOG), .action = A(READ), .repos = ""},
    {.name = "jobs hardware catalog", .method = "GET", .target = "/api/jobs/hardware",
     .family = F(CATALOG), .action = A(READ), .repos = ""},
    {.name = "papers", .method = "GET", .target = "/api/papers/2401.00001", .family = F(PAPERS),
     .action = A(READ), .repos = ""},
    {.name = "daily papers", .method = "GET", .target = "/api/daily_papers", .family = F(PAPERS),
     .action = A(READ), .repos = ""},
    {.name = "telemetry", .method = "HEAD", .target = "/api/telemetry/hf_hub/download",
     .family = F(TELEMETRY), .action = A(NONE), .repos = ""},
    {.name = "validate-yaml", .method = "POST", .target = "/api/validate-yaml", .family = F(MISC),
     .action = A(NONE), .repos = ""},

    /* ---------------------------------------------------------------- orgs, users, collections */
    {.name = "org overview", .method = "GET", .target = "/api/organizations/acme/overview",
     .family = F(ORG_INFO), .action = A(READ), .ns = "acme", .repos = ""},
    {.name = "org members", .method = "GET",
     .target = "/api/organizations/acme/members?email=a%40acme.example&limit=10",
     .family = F(ORG_INFO), .action = A(READ), .ns = "acme", .repos = ""},
    {.name = "org repo storage settings", .method = "GET",
     .target = "/api/organizations/acme/settings/repositories", .family = F(ORG_ADMIN),
     .action = A(ADMIN), .ns = "acme", .repos = ""},
    {.name = "org member role change", .method = "PUT",
     .target = "/api/organizations/acme/members/bob/role", .family = F(ORG_ADMIN),
     .action = A(ADMIN), .ns = "acme", .object = "bob", .repos = ""},
    {.name = "org resource group create", .method = "POST",
     .target = "/api/organizations/acme/resource-groups", .family = F(ORG_ADMIN),
     .action = A(ADMIN), .ns = "acme", .repos = ""},
    {.name = "org resource group users", .method = "POST",
     .target = "/api/organizations/acme/resource-groups/66ab/users", .family = F(ORG_ADMIN),
     .action = A(ADMIN), .ns = "acme", .object = "66ab", .repos = ""},
    {.name = "org resource group read", .method = "GET",
     .target = "/api/organizations/acme/resource-groups/66ab", .family = F(ORG_ADMIN),
     .action = A(ADMIN), .ns = "acme", .object = "66ab", .repos = ""},
    {.name = "org resource groups list", .method = "GET",
     .target = "/api/organizations/acme/resource-groups", .family = F(ORG_ADMIN),
     .action = A(ADMIN), .ns = "acme", .repos = ""},
    {.name = "org followers", .method = "GET", .target = "/api/organizations/acme/followers",
     .family = F(ORG_INFO), .action = A(READ), .ns = "acme", .repos = ""},
    {.name = "org token revoke", .method = "POST",
     .target = "/api/organizations/acme/settings/tokens/revoke", .family = F(ORG_ADMIN),
     .action = A(ADMIN), .ns = "acme", .repos = ""},
    {.name = "org network security", .method = "PATCH",
     .target = "/api/organizations/acme/settings/network-security", .family = F(ORG_ADMIN),
     .action = A(ADMIN), .ns = "acme", .repos = ""},
    {.name = "org billing by resource group", .method = "GET",
     .target = "/api/organizations/acme/billing/usage-by-resource-group", .family = F(ORG_ADMIN),
     .action = A(ADMIN), .ns = "acme", .repos = ""},
    {.name = "org invalid name", .method = "GET", .target = "/api/organizations/a--b/overview",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "org unknown sub-route", .method = "GET", .target = "/api/organizations/acme/secrets",
     .family = F(UNKNOWN)},
    {.name = "user overview", .method = "GET", .target = "/api/users/alice/overview",
     .family = F(USER_INFO), .action = A(READ), .ns = "alice", .repos = ""},
    {.name = "user likes", .method = "GET", .target = "/api/users/alice/likes",
     .family = F(USER_INFO), .action = A(READ), .ns = "alice", .repos = ""},
    {.name = "account repositories", .method = "GET", .target = "/api/settings/repositories",
     .family = F(ACCOUNT_REPOS), .action = A(READ), .repos = ""},
    {.name = "webhooks list", .method = "GET", .target = "/api/settings/webhooks",
     .family = F(WEBHOOKS), .action = A(ADMIN), .repos = ""},
    {.name = "webhook enable", .method = "POST", .target = "/api/settings/webhooks/65f/enable",
     .family = F(WEBHOOKS), .action = A(ADMIN), .object = "65f", .repos = ""},
    {.name = "collections list", .method = "GET", .target = "/api/collections?owner=acme&limit=5",
     .family = F(COLLECTION), .action = A(READ), .repos = ""},
    {.name = "collection read", .method = "GET",
     .target = "/api/collections/acme/favs-64f9a55bb3115b4f513ec026", .family = F(COLLECTION),
     .action = A(READ), .ns = "acme", .object = "acme/favs-64f9a55bb3115b4f513ec026", .repos = ""},
    {.name = "collection delete", .method = "DELETE", .target = "/api/collections/acme/favs-1",
     .family = F(COLLECTION), .action = A(DELETE), .ns = "acme", .object = "acme/favs-1",
     .repos = ""},
    {.name = "collection create names namespace and item in body", .method = "POST",
     .target = "/api/collections",
     .body = "{\"title\":\"Favs\",\"namespace\":\"acme\",\"item\":{\"type\":\"model\","
             "\"id\":\"secret/weights\"},\"private\":true}",
     .ctype = JSON, .family = F(COLLECTION), .action = A(WRITE), .ns = "acme",
     .repos = "model:secret/weights=read*"},
    {.name = "collection create without item", .method = "POST", .target = "/api/collections",
     .body = "{\"title\":\"Favs\",\"namespace\":\"acme\"}", .ctype = JSON, .family = F(COLLECTION),
     .action = A(WRITE), .ns = "acme", .repos = ""},
    {.name = "collection create without namespace", .method = "POST", .target = "/api/collections",
     .body = "{\"title\":\"Favs\"}", .ctype = JSON, .rc = CMN_ERR_PARSE,
     .reject = R(BODY_MISSING_TARGET)},
    {.name = "collection add item reads the item repo", .method = "POST",
     .target = "/api/collections/acme/favs-1/items",
     .body = "{\"item\":{\"type\":\"dataset\",\"id\":\"acme/ds\"},\"note\":\"n\"}", .ctype = JSON,
     .family = F(COLLECTION), .action = A(WRITE), .ns = "acme", .object = "acme/favs-1",
     .repos = "dataset:acme/ds=read*"},
    {.name = "collection add paper item", .method = "POST",
     .target = "/api/collections/acme/favs-1/items",
     .body = "{\"item\":{\"type\":\"paper\",\"id\":\"2401.00001\"}}", .ctype = JSON,
     .family = F(COLLECTION), .action = A(WRITE), .ns = "acme", .object = "acme/favs-1",
     .repos = ""},
    {.name = "collection resource group", .method = "POST",
     .target = "/api/collections/acme/favs-1/resource-group", .family = F(COLLECTION),
     .action = A(ADMIN), .ns = "acme", .object = "acme/favs-1", .repos = ""},
    {.name = "collection update", .method = "PATCH", .target = "/api/collections/acme/favs-1",
     .family = F(COLLECTION), .action = A(WRITE), .ns = "acme", .object = "acme/favs-1",
     .repos = ""},
    {.name = "collection item delete", .method = "DELETE",
     .target = "/api/collections/acme/favs-1/items/abc", .family = F(COLLECTION),
     .action = A(DELETE), .ns = "acme", .object = "acme/favs-1", .repos = ""},
    {.name = "jobs list", .method = "GET", .target = "/api/jobs/acme", .family = F(JOBS),
     .action = A(READ), .ns = "acme", .repos = ""},
    {.name = "job cancel", .method = "POST", .target = "/api/jobs/acme/68ab/cancel",
     .family = F(JOBS), .action = A(WRITE), .ns = "acme", .object = "68ab", .repos = ""},
    {.name = "scheduled job suspend", .method = "POST",
     .target = "/api/scheduled-jobs/acme/68ab/suspend", .family = F(JOBS), .action = A(WRITE),
     .ns = "acme", .object = "68ab", .repos = ""},

    /* ---------------------------------------------------------------- hubgate admin /-/ */
    {.name = "admin health", .method = "GET", .target = "/-/health", .family = F(ADMIN),
     .action = A(NONE), .admin = GW_ADMIN_HEALTH, .repos = ""},
    {.name = "admin ready", .method = "GET", .target = "/-/ready", .family = F(ADMIN),
     .action = A(NONE), .admin = GW_ADMIN_READY, .repos = ""},
    {.name = "admin metrics", .method = "GET", .target = "/-/metrics", .family = F(ADMIN),
     .action = A(NONE), .admin = GW_ADMIN_METRICS, .repos = ""},
    {.name = "admin whoami", .method = "GET", .target = "/-/whoami", .family = F(ADMIN),
     .action = A(NONE), .admin = GW_ADMIN_WHOAMI, .repos = ""},
    {.name = "admin mint token", .method = "POST", .target = "/-/tokens", .family = F(ADMIN),
     .action = A(NONE), .admin = GW_ADMIN_TOKENS, .repos = ""},
    {.name = "admin revoke token", .method = "DELETE", .target = "/-/tokens/tok_123",
     .family = F(ADMIN), .action = A(NONE), .admin = GW_ADMIN_TOKEN, .object = "tok_123",
     .repos = ""},
    {.name = "admin jwks", .method = "GET", .target = "/-/jwks.json", .family = F(ADMIN),
     .action = A(NONE), .admin = GW_ADMIN_JWKS, .repos = ""},
    {.name = "admin soc2 report", .method = "GET",
     .target = "/-/reports/soc2?from=2026-01-01&to=2026-02-01&org=acme&format=html",
     .family = F(ADMIN), .action = A(NONE), .admin = GW_ADMIN_REPORT_SOC2, .repos = ""},
    {.name = "admin egress sealed url", .method = "PUT", .target = "/-/egress/AbC-_0123456789xyz",
     .family = F(ADMIN), .action = A(NONE), .admin = GW_ADMIN_EGRESS,
     .object = "AbC-_0123456789xyz", .repos = ""},
    {.name = "admin unknown route stays hubgate's", .method = "GET", .target = "/-/nope",
     .family = F(ADMIN), .action = A(NONE), .admin = GW_ADMIN_OTHER, .repos = ""},
    {.name = "admin root", .method = "GET", .target = "/-", .family = F(ADMIN), .action = A(NONE),
     .admin = GW_ADMIN_OTHER, .repos = ""},
    {.name = "admin path traversal refused", .method = "GET", .target = "/-/../acme/bert",
     .rc = CMN_ERR_PARSE, .reject = R(DOT_SEGMENT)},

    /* ---------------------------------------------------------------- unknown and reserved */
    {.name = "root", .method = "GET", .target = "/", .family = F(UNKNOWN)},
    {.name = "root with query", .method = "GET", .target = "/?x=1", .family = F(UNKNOWN)},
    {.name = "favicon", .method = "GET", .target = "/favicon.ico", .family = F(UNKNOWN)},
    {.name = "user page", .method = "GET", .target = "/acme", .family = F(UNKNOWN)},
    {.name = "repo web page", .method = "GET", .target = "/acme/bert", .family = F(UNKNOWN)},
    {.name = "repo web tree page", .method = "GET", .target = "/acme/bert/tree/main",
     .family = F(UNKNOWN)},
    {.name = "reserved: docs is not a namespace", .method = "GET", .target = "/docs/resolve/main/x",
     .family = F(UNKNOWN)},
    {.name = "reserved: docs/transformers", .method = "GET",
     .target = "/docs/transformers/resolve/main/index.html", .family = F(UNKNOWN)},
    {.name = "reserved: organizations", .method = "GET",
     .target = "/organizations/acme/resolve/main/x", .family = F(UNKNOWN)},
    {.name = "reserved: settings", .method = "GET", .target = "/settings/tokens",
     .family = F(UNKNOWN)},
    {.name = "reserved: models prefix is not a file URL", .method = "GET",
     .target = "/models/acme/bert/resolve/main/x", .family = F(UNKNOWN)},
    {.name = "reserved: api as a legacy id", .method = "GET", .target = "/api/resolve/main/x",
     .family = F(UNKNOWN)},
    {.name = "reserved dataset namespace", .method = "GET",
     .target = "/datasets/docs/x/resolve/main/y", .family = F(UNKNOWN)},
    {.name = "reserved namespace in an API repo id", .method = "GET",
     .target = "/api/models/datasets/bert", .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "/api alone", .method = "GET", .target = "/api", .family = F(UNKNOWN)},
    {.name = "/api unknown", .method = "GET", .target = "/api/frobnicate", .family = F(UNKNOWN)},
    {.name = "/api/repos/rename is unknown", .method = "POST", .target = "/api/repos/rename",
     .family = F(UNKNOWN)},
    {.name = "old settings path is unknown", .method = "PUT",
     .target = "/api/repos/model/acme/bert/settings", .family = F(UNKNOWN)},

    /* ---------------------------------------------------------------- ambiguity */
    {.name = "ambiguous: legacy id vs namespace/resolve", .method = "GET",
     .target = "/gpt2/resolve/resolve/main/x", .rc = CMN_ERR_PARSE, .reject = R(AMBIGUOUS)},
    {.name = "ambiguous: repo named refs vs legacy refs", .method = "GET",
     .target = "/api/models/acme/refs", .rc = CMN_ERR_PARSE, .reject = R(AMBIGUOUS)},
    {.name = "ambiguous: repo named discussions", .method = "GET",
     .target = "/api/datasets/acme/discussions", .rc = CMN_ERR_PARSE, .reject = R(AMBIGUOUS)},
    {.name = "not ambiguous: repo named tree (needs a revision)", .method = "GET",
     .target = "/api/models/acme/tree", .family = F(REPO_INFO), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = "tree"},
    {.name = "not ambiguous for spaces (no legacy ids)", .method = "GET",
     .target = "/api/spaces/acme/discussions", .family = F(REPO_INFO), .action = A(READ),
     .type = TY(SPACE), .ns = "acme", .repo = "discussions"},
    {.name = "legacy git info/refs is not ambiguous", .method = "GET", .target = "/acme/info/refs",
     .family = F(GIT_INFO_REFS), .action = A(READ), .type = TY(MODEL), .ns = "", .repo = "acme"},

    /* ---------------------------------------------------------------- target validation */
    {.name = "empty target", .method = "GET", .target = "", .rc = CMN_ERR_PARSE,
     .reject = R(TARGET_FORM)},
    {.name = "relative target", .method = "GET", .target = "acme/bert/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(TARGET_FORM)},
    {.name = "absolute-form target", .method = "GET",
     .target = "http://evil.example/acme/bert/resolve/main/x", .rc = CMN_ERR_PARSE,
     .reject = R(TARGET_FORM)},
    {.name = "asterisk-form target", .method = "OPTIONS", .target = "*", .rc = CMN_ERR_PARSE,
     .reject = R(TARGET_FORM)},
    {.name = "raw space", .method = "GET", .target = "/acme/bert/resolve/main/a b",
     .rc = CMN_ERR_PARSE, .reject = R(TARGET_BYTE)},
    {.name = "raw tab", .method = "GET", .target = "/acme/bert/resolve/main/a\tb",
     .rc = CMN_ERR_PARSE, .reject = R(TARGET_BYTE)},
    {.name = "raw CRLF header injection", .method = "GET",
     .target = "/a HTTP/1.1\r\nX-Injected: 1\r\nX: /b", .rc = CMN_ERR_PARSE,
     .reject = R(TARGET_BYTE)},
    {.name = "raw UTF-8 byte", .method = "GET", .target = "/acme/bert/resolve/main/\xC3\xA9",
     .rc = CMN_ERR_PARSE, .reject = R(TARGET_BYTE)},
    {.name = "raw DEL", .method = "GET", .target = "/acme/bert/resolve/main/\x7F",
     .rc = CMN_ERR_PARSE, .reject = R(TARGET_BYTE)},
    {.name = "fragment", .method = "GET", .target = "/acme/bert/resolve/main/x#frag",
     .rc = CMN_ERR_PARSE, .reject = R(TARGET_BYTE)},
    {.name = "raw space in query", .method = "GET", .target = "/api/models?search=a b",
     .rc = CMN_ERR_PARSE, .reject = R(TARGET_BYTE)},
    {.name = "malformed escape %zz", .method = "GET", .target = "/acme/bert/resolve/main/%zz",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_ESCAPE)},
    {.name = "truncated escape %4", .method = "GET", .target = "/acme/bert/resolve/main/a%4",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_ESCAPE)},
    {.name = "lone percent", .method = "GET", .target = "/acme/bert/resolve/main/100%",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_ESCAPE)},
    {.name = "half-hex escape %G1", .method = "GET", .target = "/acme/bert/resolve/main/%G1",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_ESCAPE)},
    {.name = "malformed escape in query", .method = "GET",
     .target = "/acme/bert/resolve/main/x?a=%zz", .rc = CMN_ERR_PARSE, .reject = R(BAD_ESCAPE)},
    {.name = "%00 in path", .method = "GET", .target = "/acme/bert/resolve/main/a%00.txt",
     .rc = CMN_ERR_PARSE, .reject = R(NUL)},
    {.name = "%00 in repo name", .method = "GET", .target = "/acme/bert%00x/resolve/main/a",
     .rc = CMN_ERR_PARSE, .reject = R(NUL)},
    {.name = "%00 in query", .method = "GET",
     .target = "/acme/bert/info/refs?service=git-upload-pack%00", .rc = CMN_ERR_PARSE,
     .reject = R(NUL)},
    {.name = "double encoding %252F", .method = "GET", .target = "/acme/bert/resolve/main/a%252Fb",
     .rc = CMN_ERR_PARSE, .reject = R(DOUBLE_ENCODING)},
    {.name = "double encoding %252e%252e", .method = "GET",
     .target = "/acme/bert/resolve/main/%252e%252e/x", .rc = CMN_ERR_PARSE,
     .reject = R(DOUBLE_ENCODING)},
    {.name = "encoded letter in verb", .method = "GET", .target = "/acme/bert/%72esolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(ENCODED_UNRESERVED)},
    {.name = "encoded letter in repo name", .method = "GET",
     .target = "/acme/b%65rt/resolve/main/x", .rc = CMN_ERR_PARSE, .reject = R(ENCODED_UNRESERVED)},
    {.name = "encoded dash in api verb", .method = "GET",
     .target = "/api/models/acme/bert/xet%2Dwrite-token/main", .rc = CMN_ERR_PARSE,
     .reject = R(ENCODED_UNRESERVED)},
    {.name = "encoded tilde", .method = "GET", .target = "/acme/bert/resolve/main/%7Ex",
     .rc = CMN_ERR_PARSE, .reject = R(ENCODED_UNRESERVED)},
    {.name = "encoded newline", .method = "GET", .target = "/acme/bert/resolve/main/a%0Ab",
     .rc = CMN_ERR_PARSE, .reject = R(CONTROL)},
    {.name = "encoded DEL", .method = "GET", .target = "/acme/bert/resolve/main/a%7Fb",
     .rc = CMN_ERR_PARSE, .reject = R(CONTROL)},
    {.name = "encoded escape char", .method = "GET", .target = "/acme/bert/resolve/main/%1B[0m",
     .rc = CMN_ERR_PARSE, .reject = R(CONTROL)},
    {.name = "truncated UTF-8", .method = "GET", .target = "/acme/bert/resolve/main/%C3",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_UTF8)},
    {.name = "overlong UTF-8 slash", .method = "GET", .target = "/acme/bert/resolve/main/%C0%AF",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_UTF8)},
    {.name = "overlong 3-byte", .method = "GET", .target = "/acme/bert/resolve/main/%E0%80%AF",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_UTF8)},
    {.name = "UTF-16 surrogate", .method = "GET", .target = "/acme/bert/resolve/main/%ED%A0%80",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_UTF8)},
    {.name = "past U+10FFFF", .method = "GET", .target = "/acme/bert/resolve/main/%F4%90%80%80",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_UTF8)},
    {.name = "0xFF byte", .method = "GET", .target = "/acme/bert/resolve/main/%FF",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_UTF8)},
    {.name = "lone continuation byte", .method = "GET", .target = "/acme/bert/resolve/main/%80",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_UTF8)},
    {.name = "dot-dot segment", .method = "GET", .target = "/acme/bert/resolve/main/../../x",
     .rc = CMN_ERR_PARSE, .reject = R(DOT_SEGMENT)},
    {.name = "dot segment", .method = "GET", .target = "/acme/./bert/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(DOT_SEGMENT)},
    {.name = "encoded dot-dot %2e%2e", .method = "GET",
     .target = "/acme/bert/resolve/main/%2e%2e/x", .rc = CMN_ERR_PARSE, .reject = R(DOT_SEGMENT)},
    {.name = "encoded dot-dot %2E%2E", .method = "GET", .target = "/api/models/acme/%2E%2E/bert",
     .rc = CMN_ERR_PARSE, .reject = R(DOT_SEGMENT)},
    {.name = "mixed .%2e", .method = "GET", .target = "/acme/bert/resolve/main/.%2e/x",
     .rc = CMN_ERR_PARSE, .reject = R(DOT_SEGMENT)},
    {.name = "dot-dot hidden in an encoded-slash path", .method = "GET",
     .target = "/acme/bert/resolve/main/a%2F..%2Fb", .rc = CMN_ERR_PARSE, .reject = R(DOT_SEGMENT)},
    {.name = "dot-dot hidden in an encoded revision", .method = "GET",
     .target = "/acme/bert/resolve/refs%2F..%2Fmain/x", .rc = CMN_ERR_PARSE,
     .reject = R(DOT_SEGMENT)},
    {.name = "trailing dot-dot", .method = "GET", .target = "/acme/bert/resolve/main/x/..",
     .rc = CMN_ERR_PARSE, .reject = R(DOT_SEGMENT)},
    {.name = "dot-dot in query is only a value", .method = "GET",
     .target = "/api/models?search=../x", .family = F(LIST_REPOS), .action = A(READ),
     .type = TY(MODEL), .repos = ""},
    {.name = "double slash", .method = "GET", .target = "/acme//bert/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(EMPTY_SEGMENT)},
    {.name = "leading double slash", .method = "GET", .target = "//acme/bert/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(EMPTY_SEGMENT)},
    {.name = "trailing slash", .method = "GET", .target = "/acme/bert/resolve/main/dir/",
     .rc = CMN_ERR_PARSE, .reject = R(EMPTY_SEGMENT)},
    {.name = "encoded double slash inside a segment", .method = "GET",
     .target = "/acme/bert/resolve/main/a%2F%2Fb", .rc = CMN_ERR_PARSE, .reject = R(EMPTY_SEGMENT)},
    {.name = "encoded leading slash in a path segment", .method = "GET",
     .target = "/acme/bert/resolve/main/%2Fetc%2Fpasswd", .rc = CMN_ERR_PARSE,
     .reject = R(EMPTY_SEGMENT)},
    {.name = "raw backslash", .method = "GET", .target = "/acme\\bert/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(BACKSLASH)},
    {.name = "encoded backslash in path", .method = "GET",
     .target = "/acme/bert/resolve/main/..%5C..%5Cx", .rc = CMN_ERR_PARSE, .reject = R(BACKSLASH)},
    {.name = "encoded backslash lowercase", .method = "GET",
     .target = "/acme/bert/resolve/main/a%5cb", .rc = CMN_ERR_PARSE, .reject = R(BACKSLASH)},
    {.name = "TRAP: encoded slash inside a namespace", .method = "GET",
     .target = "/acme%2Fbert/resolve/main/x", .rc = CMN_ERR_PARSE, .reject = R(ENCODED_SLASH)},
    {.name = "TRAP: encoded slash inside a name", .method = "GET",
     .target = "/acme/be%2Frt/resolve/main/x", .rc = CMN_ERR_PARSE, .reject = R(ENCODED_SLASH)},
    {.name = "encoded slash inside an API repo id", .method = "GET",
     .target = "/api/models/acme%2Fbert", .rc = CMN_ERR_PARSE, .reject = R(ENCODED_SLASH)},
    {.name = "encoded slash inside an API repo id with verb", .method = "GET",
     .target = "/api/models/acme%2Fbert/revision/main", .rc = CMN_ERR_PARSE,
     .reject = R(ENCODED_SLASH)},
    {.name = "encoded slash in an org", .method = "GET",
     .target = "/api/organizations/a%2Fb/overview", .rc = CMN_ERR_PARSE,
     .reject = R(ENCODED_SLASH)},
    {.name = "repo id with --", .method = "GET", .target = "/acme/a--b/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo id with ..", .method = "GET", .target = "/acme/a..b/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo id starting with -", .method = "GET", .target = "/-acme/bert/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo id ending with .", .method = "GET", .target = "/acme/bert./resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo id starting with .", .method = "GET", .target = "/acme/.bert/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo id with non-ASCII", .method = "GET", .target = "/acme/b%C3%A9rt/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo id with semicolon", .method = "GET", .target = "/acme/bert;v=1/resolve/main/x",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo id with encoded space", .method = "GET",
     .target = "/acme/be%20rt/resolve/main/x", .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo name .git only", .method = "POST", .target = "/acme/.git/git-upload-pack",
     .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo name with double .git", .method = "POST",
     .target = "/acme/bert.git.git/git-upload-pack", .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "repo name 96 chars is fine", .method = "GET",
     .target = "/acme/" A96 "/resolve/main/x", .family = F(RESOLVE), .action = A(READ),
     .type = TY(MODEL), .ns = "acme", .repo = A96, .rev = "main", .path = "x"},
    {.name = "repo name 97 chars refused", .method = "GET",
     .target = "/acme/" A96 "a/resolve/main/x", .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
    {.name = "legacy dataset id with bad grammar", .method = "GET",
     .target = "/api/datasets/-x/revision/main", .rc = CMN_ERR_PARSE, .reject = R(BAD_REPO_ID)},
};
/* clang-format on */
/* ------------------------------------------------------------------------------------------ */

/* "model:acme/bert=read" per repo, space-separated; "*" marks a repo from the body,
 * "@caller" a caller's own namespace, a bare name a legacy id. */
static void repos_summary(const gw_route_t *r, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < r->nrepos; i++) {
        const gw_route_repo_t *p = &r->repos[i];
        char one[512];
        const char *ns = p->caller_namespace ? "@caller" : p->namespace;
        snprintf(one, sizeof(one), "%s%s:%s%s%s=%s%s", i ? " " : "",
                 gw_route_repo_type_name(p->type), ns, ns[0] ? "/" : "", p->name,
                 gw_route_action_name(p->action), p->from_body ? "*" : "");
        strncat(out, one, cap - strlen(out) - 1);
    }
}

static int str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error("case \"%s\": ", c->name);                                                 \
            print_error(__VA_ARGS__);                                                              \
            print_error("\n");                                                                     \
            failed = 1;                                                                            \
        }                                                                                          \
    } while (0)

#define S(x) ((x) ? (x) : "(null)")

static int run_case(const route_case_t *c)
{
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    gw_route_t r;
    int failed = 0;
    int rc = gw_route_classify(c->method, c->target, strlen(c->target), c->body,
                               c->body ? strlen(c->body) : 0, c->ctype, &arena, &r);
    CHECK(rc == c->rc, "rc %d (%s), want %d; reject %s", rc, cmn_err_name(rc), c->rc,
          gw_route_reject_name(r.reject));
    if (rc != 0) {
        CHECK(r.reject == c->reject, "reject %s, want %s", gw_route_reject_name(r.reject),
              gw_route_reject_name(c->reject));
        CHECK(r.nrepos == 0, "a refused route lists %zu repos", r.nrepos);
        CHECK(gw_route_reject_status(r.reject) >= 400, "status %u",
              gw_route_reject_status(r.reject));
        goto out;
    }
    CHECK(r.reject == GW_REJECT_NONE, "reject %s on success", gw_route_reject_name(r.reject));
    CHECK(r.family == c->family, "family %s, want %s", gw_route_family_name(r.family),
          gw_route_family_name(c->family));
    CHECK(r.action == c->action, "action %s, want %s", gw_route_action_name(r.action),
          gw_route_action_name(c->action));
    CHECK(r.repo_type == c->type, "type %s, want %s", gw_route_repo_type_name(r.repo_type),
          gw_route_repo_type_name(c->type));
    CHECK(str_eq(r.namespace, c->ns), "namespace %s, want %s", S(r.namespace), S(c->ns));
    CHECK(str_eq(r.name, c->repo), "name %s, want %s", S(r.name), S(c->repo));
    CHECK(str_eq(r.revision, c->rev), "revision %s, want %s", S(r.revision), S(c->rev));
    CHECK(str_eq(r.path_in_repo, c->path), "path %s, want %s", S(r.path_in_repo), S(c->path));
    CHECK(str_eq(r.object, c->object), "object %s, want %s", S(r.object), S(c->object));
    CHECK(r.pr == (unsigned)c->pr, "pr %u, want %d", r.pr, c->pr);
    CHECK(r.git_suffix == (unsigned)c->git, "git_suffix %u, want %d", r.git_suffix, c->git);
    CHECK(r.lfs_operation == c->lfs, "lfs operation %d, want %d", r.lfs_operation, c->lfs);
    CHECK(r.admin == c->admin, "admin route %d, want %d", r.admin, c->admin);
    CHECK(!r.needs_body, "still needs its body");
    char got[2048], want[2048];
    repos_summary(&r, got, sizeof(got));
    if (c->repos) {
        snprintf(want, sizeof(want), "%s", c->repos);
    } else if (c->family == GW_FAMILY_UNKNOWN) {
        want[0] = '\0';
    } else {
        snprintf(want, sizeof(want), "%s:%s%s%s=%s", gw_route_repo_type_name(c->type), S(c->ns),
                 c->ns && c->ns[0] ? "/" : "", S(c->repo), gw_route_action_name(c->action));
    }
    CHECK(strcmp(got, want) == 0, "repos \"%s\", want \"%s\"", got, want);
    /* A route that names no repo is answered for whoever the credential names: it is never
     * forwarded with the service credential on the policy's word alone (issue 9, finding 4). */
    gw_treatment_t t = gw_route_treatment(&r, NULL);
    CHECK(r.nrepos > 0 || r.family == GW_FAMILY_UNKNOWN || t != GW_TREAT_POLICY,
          "names no repo, yet served as %s", gw_route_treatment_name(t));
out:
    cmn_arena_free(&arena);
    return failed;
}

static void test_route_table(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        failures += (size_t)run_case(&cases[i]);
    print_message("%zu route cases, %zu failed\n", sizeof(cases) / sizeof(cases[0]), failures);
    assert_int_equal(failures, 0);
}

/* Case names are unique, so a failure points at one case. */
static void test_case_names_unique(void **state)
{
    (void)state;
    size_t n = sizeof(cases) / sizeof(cases[0]);
    assert_true(n >= 200);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(cases[i].name, cases[j].name) == 0)
                fail_msg("duplicate case name \"%s\"", cases[i].name);
}

/* ------------------------------------------------------------------------------------------ */
/* Cases built at run time: sizes and the two-step API. */

static void test_target_length_cap(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    gw_route_t r;
    char *t = malloc(GW_MAX_TARGET_BYTES + 2);
    assert_non_null(t);
    const char *prefix = "/acme/bert/resolve/main/";
    size_t plen = strlen(prefix);
    memcpy(t, prefix, plen);
    /* exactly at the cap: a long file name, accepted */
    memset(t + plen, 'a', GW_MAX_TARGET_BYTES - plen);
    assert_int_equal(gw_route_classify_target("GET", t, GW_MAX_TARGET_BYTES, &arena, &r), 0);
    assert_int_equal(r.family, GW_FAMILY_RESOLVE);
    assert_int_equal(strlen(r.path_in_repo), GW_MAX_TARGET_BYTES - plen);
    /* one byte more: 414 */
    t[GW_MAX_TARGET_BYTES] = 'a';
    assert_int_equal(gw_route_classify_target("GET", t, GW_MAX_TARGET_BYTES + 1, &arena, &r),
                     CMN_ERR_TOOBIG);
    assert_int_equal(r.reject, GW_REJECT_TARGET_TOO_LONG);
    assert_int_equal(gw_route_reject_status(r.reject), 414);
    free(t);
    cmn_arena_free(&arena);
}

static void test_segment_cap(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    gw_route_t r;
    char t[4096] = "/acme/bert/resolve/main";
    size_t nsegs = 4;
    while (nsegs < GW_ROUTE_MAX_SEGMENTS) {
        strcat(t, "/d");
        nsegs++;
    }
    assert_int_equal(gw_route_classify_target("GET", t, strlen(t), &arena, &r), 0);
    assert_int_equal(r.family, GW_FAMILY_RESOLVE);
    strcat(t, "/d");
    assert_int_equal(gw_route_classify_target("GET", t, strlen(t), &arena, &r), CMN_ERR_PARSE);
    assert_int_equal(r.reject, GW_REJECT_PATH_TOO_DEEP);
    cmn_arena_free(&arena);
}

/* The target need not be NUL-terminated: only target_len bytes are read. */
static void test_target_not_terminated(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    gw_route_t r;
    const char buf[] = "/acme/bert/resolve/main/config.jsonGARBAGE";
    assert_int_equal(gw_route_classify_target(
                         "GET", buf, strlen("/acme/bert/resolve/main/config.json"), &arena, &r),
                     0);
    assert_string_equal(r.path_in_repo, "config.json");
    cmn_arena_free(&arena);
}

static void test_two_steps_and_body_cap(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 4 << 20);
    gw_route_t r;
    const char *t = "/acme/bert.git/info/lfs/objects/batch";
    assert_int_equal(gw_route_classify_target("POST", t, strlen(t), &arena, &r), 0);
    assert_true(r.needs_body);
    assert_int_equal(r.family, GW_FAMILY_LFS_BATCH);
    assert_int_equal(r.nrepos, 0); /* nothing to authorize until the body is read */
    assert_int_equal(gw_route_body_cap(&r), GW_MAX_ROUTE_BODY_BYTES);
    const char *body = "{\"operation\":\"upload\"}";
    assert_int_equal(gw_route_classify_body(&r, LFSCT, body, strlen(body), &arena), 0);
    assert_false(r.needs_body);
    assert_int_equal(r.action, GW_ACTION_WRITE);
    assert_int_equal(gw_route_body_cap(&r), 0);
    /* a second call is a no-op */
    assert_int_equal(gw_route_classify_body(&r, LFSCT, "junk", 4, &arena), 0);

    /* over the cap: 413, whatever the content */
    size_t big = GW_MAX_ROUTE_BODY_BYTES + 1;
    char *b = malloc(big);
    assert_non_null(b);
    memset(b, ' ', big);
    memcpy(b, "{\"operation\":\"download\"}", 24);
    assert_int_equal(gw_route_classify_target("POST", t, strlen(t), &arena, &r), 0);
    assert_int_equal(gw_route_classify_body(&r, LFSCT, b, big, &arena), CMN_ERR_TOOBIG);
    assert_int_equal(r.reject, GW_REJECT_BODY_TOO_LARGE);
    assert_int_equal(gw_route_reject_status(r.reject), 413);
    assert_int_equal(r.nrepos, 0);
    assert_int_equal(r.action, GW_ACTION_NONE);
    /* at the cap, with JSON whitespace padding: fine */
    assert_int_equal(gw_route_classify_target("POST", t, strlen(t), &arena, &r), 0);
    assert_int_equal(gw_route_classify_body(&r, LFSCT, b, big - 1, &arena), 0);
    assert_int_equal(r.action, GW_ACTION_READ);
    free(b);

    /* bucket batches (one ndjson line per file) get the larger cap */
    const char *bt = "/api/buckets/acme/store/batch";
    assert_int_equal(gw_route_classify_target("POST", bt, strlen(bt), &arena, &r), 0);
    assert_int_equal(gw_route_body_cap(&r), GW_MAX_ROUTE_NDJSON_BYTES);
    size_t line_len =
        strlen("{\"type\":\"addFile\",\"path\":\"f00000.bin\",\"xetHash\":\"" OID "\"}\n");
    size_t lines = GW_MAX_ROUTE_NDJSON_BYTES / line_len;
    char *nd = malloc(lines * line_len + 1);
    assert_non_null(nd);
    for (size_t i = 0; i < lines; i++) {
        char line[256];
        snprintf(line, sizeof(line),
                 "{\"type\":\"addFile\",\"path\":\"f%05zu.bin\",\"xetHash\":\"" OID "\"}\n",
                 i % 100000);
        memcpy(nd + i * line_len, line, line_len);
    }
    assert_int_equal(gw_route_classify_body(&r, NDJ, nd, lines * line_len, &arena), 0);
    assert_int_equal(r.nrepos, 1);
    assert_int_equal(r.action, GW_ACTION_WRITE);
    free(nd);

    /* a body-borne route without its body is refused */
    const char *ct = "/api/repos/create";
    assert_int_equal(gw_route_classify("POST", ct, strlen(ct), NULL, 0, JSON, &arena, &r),
                     CMN_ERR_PARSE);
    assert_int_equal(r.reject, GW_REJECT_BODY_MISSING_TARGET);
    cmn_arena_free(&arena);
}

static void test_too_many_repos(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    gw_route_t r;
    char body[8192] = "";
    for (int i = 0; i <= GW_ROUTE_MAX_REPOS; i++) {
        char line[256];
        snprintf(line, sizeof(line),
                 "{\"type\":\"copyFile\",\"path\":\"x\",\"sourceRepoType\":\"model\","
                 "\"sourceRepoId\":\"acme/m%d\"}\n",
                 i);
        strcat(body, line);
    }
    const char *t = "/api/buckets/acme/store/batch";
    assert_int_equal(gw_route_classify("POST", t, strlen(t), body, strlen(body), NDJ, &arena, &r),
                     CMN_ERR_PARSE);
    assert_int_equal(r.reject, GW_REJECT_TOO_MANY_REPOS);
    assert_int_equal(r.nrepos, 0);
    cmn_arena_free(&arena);
}

/* An exhausted arena is CMN_ERR_NOMEM, never a crash or a half-filled route. */
static void test_arena_exhausted(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 256, 300);
    gw_route_t r;
    char t[2048] = "/acme/bert/resolve/main/";
    memset(t + strlen(t), 'a', 1500);
    int rc = gw_route_classify_target("GET", t, strlen(t), &arena, &r);
    assert_int_equal(rc, CMN_ERR_NOMEM);
    assert_int_equal(r.family, GW_FAMILY_UNKNOWN);
    assert_int_equal(r.nrepos, 0);
    cmn_arena_free(&arena);
}

static void test_null_arguments(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    gw_route_t r;
    assert_int_equal(gw_route_classify_target(NULL, "/", 1, &arena, &r), CMN_ERR_INVAL);
    assert_int_equal(gw_route_classify_target("GET", NULL, 0, &arena, &r), CMN_ERR_INVAL);
    assert_int_equal(gw_route_classify_target("GET", "/", 1, NULL, &r), CMN_ERR_INVAL);
    assert_int_equal(gw_route_classify_target("GET", "/", 1, &arena, NULL), CMN_ERR_INVAL);
    assert_int_equal(gw_route_classify_body(NULL, NULL, "", 0, &arena), CMN_ERR_INVAL);
    assert_int_equal(gw_route_body_cap(NULL), 0);
    cmn_arena_free(&arena);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(gw_route_family_name(GW_FAMILY_RESOLVE_CACHE), "resolve_cache");
    assert_string_equal(gw_route_family_name(GW_FAMILY_XET_WRITE_TOKEN), "xet_write_token");
    assert_string_equal(gw_route_family_name(GW_FAMILY_UNKNOWN), "unknown");
    assert_string_equal(gw_route_family_name((gw_family_t)9999), "?");
    for (int f = 0; f < GW_FAMILY_COUNT_; f++)
        assert_string_not_equal(gw_route_family_name((gw_family_t)f), "?");
    assert_string_equal(gw_route_action_name(GW_ACTION_READ), "read");
    assert_string_equal(gw_route_action_name(GW_ACTION_ADMIN), "admin");
    assert_string_equal(gw_route_action_name((gw_action_t)42), "?");
    assert_string_equal(gw_route_repo_type_name(GW_REPO_KERNEL), "kernel");
    assert_string_equal(gw_route_reject_name(GW_REJECT_DOT_SEGMENT), "DOT_SEGMENT");
    assert_int_equal(gw_route_reject_status(GW_REJECT_BODY_TOO_LARGE), 413);
    assert_int_equal(gw_route_reject_status(GW_REJECT_AMBIGUOUS), 400);
    assert_string_equal(gw_route_reject_message(GW_REJECT_NUL), "NUL byte (%00) in request-target");
    assert_int_equal(gw_route_repo_type_parse("dataset"), GW_REPO_DATASET);
    assert_int_equal(gw_route_repo_type_parse("datasets"), GW_REPO_NONE);
    assert_int_equal(gw_route_repo_type_parse(NULL), GW_REPO_NONE);
    assert_true(gw_route_repo_segment_valid("a"));
    assert_true(gw_route_repo_segment_valid("A_b.c-9"));
    assert_false(gw_route_repo_segment_valid(""));
    assert_false(gw_route_repo_segment_valid("a--b"));
    assert_false(gw_route_repo_segment_valid("a/b"));
}

/* How each route that names no repo is served (docs/routes.md). */
static void test_treatments(void **state)
{
    (void)state;
    static const struct {
        const char *method, *target;
        gw_treatment_t want;
    } t[] = {
        {"GET", "/-/tokens", GW_TREAT_LOCAL},
        {"GET", "/api/whoami-v2", GW_TREAT_LOCAL},
        {"HEAD", "/api/telemetry/hf_hub/download", GW_TREAT_LOCAL},
        {"POST", "/api/telemetry/examples/x", GW_TREAT_LOCAL},
        {"GET", "/api/models?author=acme", GW_TREAT_FILTER},
        {"GET", "/api/spaces/semantic-search?q=x", GW_TREAT_FILTER},
        {"GET", "/api/buckets/acme", GW_TREAT_FILTER},
        {"GET", "/api/collections?owner=acme", GW_TREAT_FILTER},
        {"GET", "/api/collections/acme/favs-1", GW_TREAT_FILTER},
        {"PATCH", "/api/collections/acme/favs-1", GW_TREAT_FILTER},
        {"GET", "/api/models-tags-by-type", GW_TREAT_PUBLIC},
        {"GET", "/api/spaces/hardware", GW_TREAT_PUBLIC},
        {"GET", "/api/jobs/hardware", GW_TREAT_PUBLIC},
        {"GET", "/.well-known/openapi.json", GW_TREAT_PUBLIC},
        {"GET", "/api/daily_papers", GW_TREAT_PUBLIC},
        {"POST", "/api/validate-yaml", GW_TREAT_PUBLIC},
        {"GET", "/api/organizations/acme/overview", GW_TREAT_PUBLIC},
        {"GET", "/api/organizations/acme/members", GW_TREAT_PUBLIC},
        {"GET", "/api/users/alice/likes", GW_TREAT_PUBLIC},
        {"POST", "/oauth/token", GW_TREAT_DENY},
        {"GET", "/oauth/anything/at/all", GW_TREAT_DENY},
        {"GET", "/.well-known/openid-configuration", GW_TREAT_DENY},
        {"PUT", "/scim/v2/Users/1", GW_TREAT_DENY},
        {"POST", "/api/credentials/revoke", GW_TREAT_DENY},
        {"GET", "/api/settings/repositories", GW_TREAT_DENY},
        {"GET", "/api/settings/webhooks", GW_TREAT_DENY},
        {"GET", "/api/organizations/acme/resource-groups", GW_TREAT_DENY},
        {"GET", "/api/organizations/acme/settings/repositories", GW_TREAT_DENY},
        {"PUT", "/api/organizations/acme/members/bob/role", GW_TREAT_DENY},
        {"GET", "/api/jobs/acme", GW_TREAT_DENY},
        {"POST", "/api/scheduled-jobs/acme/68ab/suspend", GW_TREAT_DENY},
        {"GET", "/acme/bert/resolve/main/config.json", GW_TREAT_POLICY},
        {"GET", "/api/models/acme/bert", GW_TREAT_POLICY},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cmn_arena_t arena;
        cmn_arena_init(&arena, 4096, 1 << 20);
        gw_route_t r;
        int rc = gw_route_classify_target(t[i].method, t[i].target, strlen(t[i].target), &arena,
                                          &r);
        const char *why = NULL;
        gw_treatment_t got = gw_route_treatment(&r, &why);
        if (rc != 0 || got != t[i].want || !why || !*why)
            fail_msg("%s %s: rc %d, family %s, treatment %s, want %s", t[i].method, t[i].target,
                     rc, gw_route_family_name(r.family), gw_route_treatment_name(got),
                     gw_route_treatment_name(t[i].want));
        cmn_arena_free(&arena);
    }
    assert_string_equal(gw_route_treatment_name(GW_TREAT_PUBLIC), "public");
    assert_string_equal(gw_route_treatment_name((gw_treatment_t)9), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_table),           cmocka_unit_test(test_case_names_unique),
        cmocka_unit_test(test_target_length_cap),     cmocka_unit_test(test_segment_cap),
        cmocka_unit_test(test_target_not_terminated), cmocka_unit_test(test_two_steps_and_body_cap),
        cmocka_unit_test(test_too_many_repos),        cmocka_unit_test(test_arena_exhausted),
        cmocka_unit_test(test_null_arguments),        cmocka_unit_test(test_names),
        cmocka_unit_test(test_treatments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
