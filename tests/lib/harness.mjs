// The integration harness: real PostgreSQL, the demo IdP, the Hub fixture and the hubgate
// binary, all on 127.0.0.1, all torn down whatever happens. See README.md beside this file.
// This module is the entry point: tests import everything from here.
import {
  KEEP_TMP, REPO, isAlive, liveResources, makeTempDir, sleep, teardownAll, untilSignal, withTimeout,
} from './registry.mjs';
import { startPostgres, psqlUrl } from './postgres.mjs';
import { startIdp, signWithKeysFile, unsignedToken, decodeJwt, DEFAULT_USERS_FILE } from './idp.mjs';
import {
  startHubgate, runHubgate, hubgateBin, hubgateAvailable, sanitizerReport, GATEWAY_ROLE, gatewayDatabaseUrl,
  adminDatabaseUrl,
} from './hubgate.mjs';
import { freePort, httpRequest } from './net.mjs';
import { HUB_LAUNCHER, hubAvailable, startHub } from './hub.mjs';
import {
  useStack, startStack, gatewayOptions, requestToken, mintToken, waitForRow, auditRequestRow, groups,
} from './stack.mjs';
import { gitEnv, gitClient, gitRemote } from './git.mjs';

export {
  REPO, KEEP_TMP, freePort, httpRequest, startPostgres, startIdp, startHubgate, runHubgate,
  hubgateBin, hubgateAvailable, teardownAll, untilSignal, makeTempDir, isAlive, liveResources,
  sleep, withTimeout, signWithKeysFile, unsignedToken, decodeJwt, DEFAULT_USERS_FILE,
  sanitizerReport, psqlUrl, GATEWAY_ROLE, gatewayDatabaseUrl, adminDatabaseUrl,
  HUB_LAUNCHER, hubAvailable, startHub, useStack, startStack, gatewayOptions, requestToken, mintToken, waitForRow,
  auditRequestRow, groups, gitEnv, gitClient, gitRemote,
};
