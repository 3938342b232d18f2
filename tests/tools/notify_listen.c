/* A service manager's end of sd_notify(3), for tests: binds an AF_UNIX datagram socket at the
 * path given, prints "listening", then each datagram on a line of its own (its newlines as
 * tabs), until killed. tests/integration/systemd.test.mjs points hubgate's NOTIFY_SOCKET here. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (argc != 2 || strlen(argv[1]) >= sizeof(a.sun_path)) {
        fprintf(stderr, "usage: notify_listen SOCKET_PATH\n");
        return 2;
    }
    memcpy(a.sun_path, argv[1], strlen(argv[1]));
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("notify_listen");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            return 1;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\n')
                buf[i] = '\t';
        buf[n] = '\0';
        printf("%s\n", buf);
        fflush(stdout);
    }
}
