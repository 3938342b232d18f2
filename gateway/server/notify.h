/* systemd's service notifications (sd_notify(3)) without libsystemd: the documented datagram
 * protocol — newline-separated assignments ("READY=1", "RELOADING=1", "STOPPING=1",
 * "STATUS=…") sent to the AF_UNIX datagram socket that $NOTIFY_SOCKET names (a path, or '@' and
 * an abstract name). A unit with Type=notify (deploy/systemd/hubgate.service) waits for READY=1
 * before it counts hubgate as started. Outside systemd nothing is sent. */
#ifndef HUBGATE_GATEWAY_SERVER_NOTIFY_H
#define HUBGATE_GATEWAY_SERVER_NOTIFY_H

/* Reads $NOTIFY_SOCKET once and removes it from the environment, so that programs hubgate
 * runs (git, for the policy's provenance) cannot speak for it. Call before any thread starts. */
void gw_notify_init(void);

/* Sends `state`. Returns 0 when sent, 1 when not under systemd, -1 when it could not be sent
 * (logged once; the service manager then times out the start, which says more than we could). */
int gw_notify(const char *state);

#endif
