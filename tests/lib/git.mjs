// A git (and git-lfs) client for tests, isolated from this machine's configuration.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The environment of a git client that sees nothing of this machine: HOME is `home` (created),
 * no system config, never a prompt, no proxy, LFS files left as pointers at checkout (`git lfs
 * pull` fetches them), author and committer "T". `extra` overrides any of it.
 */
export function gitEnv(home, extra = {}) {
  fs.mkdirSync(home, { recursive: true });
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_LFS_SKIP_SMUDGE: '1',
    NO_PROXY: '*',
    no_proxy: '*',
    GIT_AUTHOR_NAME: 'T',
    GIT_AUTHOR_EMAIL: 't@example.invalid',
    GIT_COMMITTER_NAME: 'T',
    GIT_COMMITTER_EMAIL: 't@example.invalid',
    ...extra,
  };
}

/**
 * git with gitEnv(home, env): git(args, cwd, extraEnv) resolves { stdout, stderr } and rejects
 * on a non-zero exit. timeoutMs bounds each command (against a server that breaks LFS, git-lfs
 * retries with backoff for minutes).
 */
export function gitClient(home, { env = {}, timeoutMs } = {}) {
  const base = gitEnv(home, env);
  return (args, cwd, extraEnv = {}) =>
    run('git', args, { cwd, env: { ...base, ...extraEnv }, maxBuffer: 16 * 1024 * 1024, ...(timeoutMs ? { timeout: timeoutMs } : {}) });
}

/** `baseUrl`/`repo` with Basic credentials hf_user:`password`, as the Hub's git users write it. */
export function gitRemote(baseUrl, repo, password) {
  const remote = new URL(baseUrl);
  remote.username = 'hf_user';
  remote.password = password;
  remote.pathname = `/${repo}`;
  return remote.href;
}
