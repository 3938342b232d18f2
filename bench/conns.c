/* Many connections at once, for bench/all.sh's memory part: both ends of a proxy under test.
 *
 *   conns upstream PORT STATUS_FILE
 *     An HTTP/1.1 server on 127.0.0.1:PORT answering every request with the same ~1 KiB JSON
 *     document, keep-alive. A request whose target contains "/hold" is held: it is answered
 *     only after SIGUSR1, and STATUS_FILE always holds how many are held. After SIGUSR1 every
 *     held request is answered and later ones are not held. Requests carry no body (GET).
 *
 *   conns client PORT N BATCH MODE TARGET AUTHORIZATION PIDS [UPSTREAM_PID STATUS_FILE]
 *     N connections to 127.0.0.1:PORT, opened BATCH at a time, each sending one
 *     "GET TARGET" with the given Authorization header value, then:
 *     - MODE idle: each batch's answers are read (waiting up to 10 s for the next) before the
 *       next batch is opened, so at most BATCH requests are ever in flight; then, with the
 *       connections idle (kept alive), prints "idle <answered-200> <rss KiB> <hwm KiB>".
 *     - MODE inflight: every request is sent without reading; once the upstream holds N (its
 *       STATUS_FILE), or holds no more after 15 s without progress, prints
 *       "inflight <held> <rss KiB> <hwm KiB>", releases the upstream (SIGUSR1), reads every
 *       answer (waiting up to 30 s for the next), and prints "after <answered-200> <rss KiB>
 *       <hwm KiB>".
 *     On stderr at the end: the answers by status, and how many failed or never came.
 *     RSS and HWM are VmRSS and VmHWM summed over PIDS (comma-separated: the proxy's
 *     processes), each read one second after the state is reached.
 *
 * One process and one epoll per end, non-blocking sockets, so the tool itself stays small next
 * to 10,000 connections. It is not built by CMake: bench/all.sh compiles it with the system's
 * cc, so it can drive an old hubgate build (HUBGATE_BIN) too. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define IO_BYTES 4096 /* a connection's read buffer: one request or one answer's headers */

typedef struct {
    int fd;
    size_t idx;  /* upstream: its slot in the table of connections */
    int held;    /* upstream: a /hold request waiting for SIGUSR1 */
    int done;    /* client: its answer was read (or it failed) */
    int status;  /* client: the answer's status code */
    size_t len;  /* bytes in buf */
    long body;   /* client: body bytes still to read, -1 while reading headers */
    int chunked; /* client: the body is chunked; body then counts the current chunk */
    char buf[IO_BYTES];
} conn_t;

static volatile sig_atomic_t released;

static void on_usr1(int sig)
{
    (void)sig;
    released = 1;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* Writes all of buf to a non-blocking socket; the answers here are small enough for the socket
 * buffer, so a short write is a failure, not a wait. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- upstream (runs until killed) ---- */

static char answer[2048];
static size_t answer_len;

static void make_answer(void)
{
    char body[1400];
    int n = snprintf(body, sizeof(body), "{\"id\":\"acme/bert\",\"private\":true,\"siblings\":[");
    for (int i = 0; n < 1000; i++)
        n += snprintf(body + n, sizeof(body) - (size_t)n, "%s{\"rfilename\":\"file-%03d.bin\"}",
                      i ? "," : "", i);
    n += snprintf(body + n, sizeof(body) - (size_t)n, "]}");
    answer_len = (size_t)snprintf(answer, sizeof(answer),
                                  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  "Content-Length: %d\r\n\r\n%s",
                                  n, body);
}

static void write_status(int fd, long held)
{
    char s[32];
    int n = snprintf(s, sizeof(s), "%-20ld\n", held);
    if (pwrite(fd, s, (size_t)n, 0) != n)
        die("status file");
}

/* Answers or holds every complete request in c->buf; returns -1 when the connection must go. */
static int upstream_serve(conn_t *c, long *held)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end)
            return c->len == sizeof(c->buf) ? -1 : 0;
        size_t req = (size_t)(end + 4 - c->buf);
        char *eol = memchr(c->buf, '\n', req);
        int hold = !released && memmem(c->buf, (size_t)(eol - c->buf), "/hold", 5) != NULL;
        memmove(c->buf, c->buf + req, c->len - req);
        c->len -= req;
        if (hold) {
            c->held = 1; /* one at a time: a proxy sends nothing more before the answer */
            (*held)++;
            return 0;
        }
        if (send_all(c->fd, answer, answer_len) != 0)
            return -1;
    }
}

static _Noreturn void run_upstream(int port, const char *status_path)
{
    make_answer();
    int status = open(status_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (status < 0)
        die(status_path);
    long held = 0;
    write_status(status, held);
    signal(SIGUSR1, on_usr1);
    signal(SIGPIPE, SIG_IGN);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = loopback(port);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 65535) != 0)
        die("listen");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);

    /* Every connection, so that SIGUSR1 can answer the held ones. */
    size_t cap = 1024, n_conns = 0;
    conn_t **conns = calloc(cap, sizeof(*conns));
    int answered_held = 0;
    struct epoll_event evs[256];
    for (;;) {
        if (released && !answered_held) {
            for (size_t i = 0; i < n_conns; i++) {
                conn_t *c = conns[i];
                if (c && c->held) {
                    c->held = 0;
                    held--;
                    if (send_all(c->fd, answer, answer_len) != 0 || upstream_serve(c, &held) != 0) {
                        close(c->fd);
                        free(c);
                        conns[i] = NULL;
                    }
                }
            }
            answered_held = 1;
            write_status(status, held);
        }
        int n = epoll_wait(ep, evs, 256, 100);
        if (n < 0 && errno == EINTR)
            continue;
        long held_before = held;
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (n_conns == cap) {
                        cap *= 2;
                        conns = realloc(conns, cap * sizeof(*conns));
                        if (!conns)
                            die("realloc");
                    }
                    conn_t *c = calloc(1, sizeof(*c));
                    if (!c)
                        die("calloc");
                    c->fd = fd;
                    c->idx = n_conns;
                    conns[n_conns++] = c;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            conn_t *c = evs[i].data.ptr;
            ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
            if (r > 0) {
                c->len += (size_t)r;
                if (c->held || upstream_serve(c, &held) == 0)
                    continue;
            } else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            /* Closed (or failed): its slot stays in conns, emptied. */
            if (c->held)
                held--;
            conns[c->idx] = NULL;
            close(c->fd);
            free(c);
        }
        if (held != held_before)
            write_status(status, held);
    }
}

/* ---- client ---- */

static long read_status(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* VmRSS and VmHWM in KiB, summed over the comma-separated pids. */
static void memory_of(const char *pids, long *rss, long *hwm)
{
    *rss = *hwm = 0;
    char list[1024];
    snprintf(list, sizeof(list), "%s", pids);
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%s/status", p);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        long v;
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "VmRSS: %ld", &v) == 1)
                *rss += v;
            else if (sscanf(line, "VmHWM: %ld", &v) == 1)
                *hwm += v;
        }
        fclose(f);
    }
}

static void report(const char *what, long count, const char *pids)
{
    sleep(1);
    long rss, hwm;
    memory_of(pids, &rss, &hwm);
    printf("%s %ld %ld %ld\n", what, count, rss, hwm);
    fflush(stdout);
}

/* Consumes what c->buf holds of the answer; returns 1 once the whole answer is read, 0 for
 * more, -1 when it cannot be read. Handles Content-Length and chunked bodies. */
static int client_parse(conn_t *c)
{
    for (;;) {
        if (c->body < 0) {
            char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (!end)
                return c->len == sizeof(c->buf) ? -1 : 0;
            *end = '\0';
            if (sscanf(c->buf, "HTTP/1.%*d %d", &c->status) != 1)
                return -1;
            char *cl = strcasestr(c->buf, "\r\ncontent-length:");
            c->chunked = strcasestr(c->buf, "\r\ntransfer-encoding: chunked") != NULL;
            c->body = c->chunked ? 0 : cl ? strtol(cl + 17, NULL, 10) : 0;
            size_t hdr = (size_t)(end + 4 - c->buf);
            memmove(c->buf, c->buf + hdr, c->len - hdr);
            c->len -= hdr;
            if (c->chunked)
                c->body = -2; /* expecting a chunk-size line */
        }
        if (c->body == -2) {
            char *eol = memmem(c->buf, c->len, "\r\n", 2);
            if (!eol)
                return c->len == sizeof(c->buf) ? -1 : 0;
            long size = strtol(c->buf, NULL, 16);
            size_t line = (size_t)(eol + 2 - c->buf);
            memmove(c->buf, c->buf + line, c->len - line);
            c->len -= line;
            if (size == 0) {
                /* The last chunk; no trailers are expected, only the final CRLF. */
                if (c->len < 2)
                    return 0;
                c->len -= 2;
                return 1;
            }
            c->body = size + 2; /* the chunk and its CRLF */
            continue;
        }
        size_t take = c->len < (size_t)c->body ? c->len : (size_t)c->body;
        memmove(c->buf, c->buf + take, c->len - take);
        c->len -= take;
        c->body -= (long)take;
        if (c->body > 0)
            return 0;
        if (!c->chunked)
            return 1;
        c->body = -2;
    }
}

/* What the client saw, printed on stderr at the end: answers by status, connections closed or
 * unreadable before their answer was whole. */
static long answers_by_status[600], answers_failed;

/* Reads from every readable connection until `want` answers are done or none has come for
 * `patience` seconds (a proxy at its connection limit may leave some in its listen backlog). */
static long client_read(int ep, long want, long *ok, double patience)
{
    struct epoll_event evs[256];
    long done = 0;
    double last = now_s();
    while (done < want && now_s() - last < patience) {
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n > 0)
            last = now_s();
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->done)
                continue;
            ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
            int state = -1;
            if (r > 0) {
                c->len += (size_t)r;
                state = client_parse(c);
            } else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                state = 0;
            }
            if (state != 0) {
                /* Out of the epoll: a peer closing it later must not wake this loop. */
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                c->done = 1;
                done++;
                if (state == 1 && c->status == 200)
                    (*ok)++;
                if (state == 1 && c->status > 0 && c->status < 600)
                    answers_by_status[c->status]++;
                else
                    answers_failed++;
            }
        }
    }
    return done;
}

/* Opens `count` connections and sends the request on each; waits until each is connected
 * first, so that a full listen backlog delays the batch instead of failing it. Returns how many
 * requests were sent (their connections are then in ep, waiting for the answer). */
static int client_open(int ep, conn_t *conns, int count, int port, const char *req, size_t req_len)
{
    struct sockaddr_in a = loopback(port);
    int wait_ep = epoll_create1(0);
    for (int i = 0; i < count; i++) {
        conn_t *c = &conns[i];
        c->body = -1;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c->fd < 0)
            die("socket (raise ulimit -n)");
        if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
            die("connect");
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        epoll_ctl(wait_ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    int connected = 0, sent = 0;
    struct epoll_event evs[256];
    double deadline = now_s() + 60;
    while (connected < count && now_s() < deadline) {
        int n = epoll_wait(wait_ep, evs, 256, 1000);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            int err = 0;
            socklen_t len = sizeof(err);
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            epoll_ctl(wait_ep, EPOLL_CTL_DEL, c->fd, NULL);
            connected++;
            if (err || send_all(c->fd, req, req_len) != 0) {
                c->done = 1;
                continue;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            sent++;
        }
    }
    close(wait_ep);
    return sent;
}

static void print_answers(long sent)
{
    long done = answers_failed;
    fprintf(stderr, "conns client: %ld requests sent; answers:", sent);
    for (int i = 0; i < 600; i++)
        if (answers_by_status[i]) {
            fprintf(stderr, " %d x%ld", i, answers_by_status[i]);
            done += answers_by_status[i];
        }
    fprintf(stderr, "; failed %ld; unanswered %ld\n", answers_failed, sent - done);
}

static int run_client(int argc, char **argv)
{
    int port = atoi(argv[2]);
    long n = atol(argv[3]);
    int batch = atoi(argv[4]);
    const char *mode = argv[5], *target = argv[6], *authz = argv[7], *pids = argv[8];
    int inflight = strcmp(mode, "inflight") == 0;
    if (n <= 0 || batch <= 0 || (inflight && argc < 11) || (!inflight && strcmp(mode, "idle"))) {
        fprintf(stderr, "conns client: bad arguments\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char req[8192];
    int req_len = snprintf(req, sizeof(req),
                           "GET %s HTTP/1.1\r\nHost: bench\r\nAuthorization: %s\r\n"
                           "Accept: application/json\r\n\r\n",
                           target, authz);
    if (req_len <= 0 || (size_t)req_len >= sizeof(req)) {
        fprintf(stderr, "conns client: request too long\n");
        return 2;
    }
    conn_t *conns = calloc((size_t)n, sizeof(*conns));
    if (!conns)
        die("calloc");
    int ep = epoll_create1(0);
    long ok = 0, sent = 0;
    for (long i = 0; i < n; i += batch) {
        int count = (int)(n - i < batch ? n - i : batch);
        int batch_sent = client_open(ep, conns + i, count, port, req, (size_t)req_len);
        if (batch_sent < count)
            fprintf(stderr, "conns client: %d of connections %ld..%ld failed or timed out\n",
                    count - batch_sent, i, i + count);
        sent += batch_sent;
        if (!inflight)
            client_read(ep, batch_sent, &ok, 10);
    }
    if (!inflight) {
        report("idle", ok, pids);
        print_answers(sent);
        return 0;
    }
    /* Wait until the upstream holds every request, or holds no more for 15 s. */
    pid_t upstream = (pid_t)atol(argv[9]);
    const char *status = argv[10];
    long held = 0, last = -1;
    double progress = now_s();
    while (held < sent && now_s() - progress < 15) {
        usleep(100000);
        held = read_status(status);
        if (held != last) {
            last = held;
            progress = now_s();
        }
    }
    report("inflight", held, pids);
    kill(upstream, SIGUSR1);
    client_read(ep, sent, &ok, 30);
    report("after", ok, pids);
    print_answers(sent);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "upstream") == 0)
        run_upstream(atoi(argv[2]), argv[3]);
    if (argc >= 9 && strcmp(argv[1], "client") == 0)
        return run_client(argc, argv);
    fprintf(stderr, "usage: conns upstream PORT STATUS_FILE | conns client PORT N BATCH "
                    "idle|inflight TARGET AUTHORIZATION PIDS [UPSTREAM_PID STATUS_FILE]\n");
    return 2;
}
