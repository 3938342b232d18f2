#include "gateway/server/notify.h"

#include "common/log.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_un target;
static socklen_t target_len; /* 0: not under systemd */

void gw_notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t n = path ? strlen(path) : 0;
    if (n >= 2 && n < sizeof(target.sun_path) && (path[0] == '/' || path[0] == '@')) {
        memset(&target, 0, sizeof(target));
        target.sun_family = AF_UNIX;
        memcpy(target.sun_path, path, n);
        if (path[0] == '@')
            target.sun_path[0] = '\0'; /* abstract: the name without its terminator */
        target_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                                 (path[0] == '/' ? 1 : 0));
    } else if (path) {
        cmn_log_warn("serve", "NOTIFY_SOCKET is not a socket address systemd gives: ignored");
    }
    unsetenv("NOTIFY_SOCKET");
}

int gw_notify(const char *state)
{
    if (!target_len)
        return 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ssize_t sent = fd >= 0 ? sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                                    (const struct sockaddr *)&target, target_len)
                           : -1;
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (sent == (ssize_t)strlen(state))
        return 0;
    static int warned;
    if (!warned++)
        cmn_log_warn("serve", "cannot notify the service manager: %s", strerror(err));
    return -1;
}
