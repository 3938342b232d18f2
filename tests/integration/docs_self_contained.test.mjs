// The repository explains itself: no tracked file cites a document outside the checkout (the
// design notes and references that were kept beside it while hubgate was built), and every
// relative link in docs/*.md, README.md and SECURITY.md reaches a file in the repository.
// Skipped: tests/node_modules (a symlink to installed packages) and the numbered SQL
// migrations schema/NNN_*.sql, whose exact text deployed databases record by checksum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Built from pieces so that this file does not cite them itself.
const OUTSIDE = [
  ['..', 'shared'].join('/'),
  ['', 'work', 'shared'].join('/'),
  ...['DESIGN', 'libraries', 'hub-api', 'real-clients', 'anchors', 'xet', 'sign-in', 'STYLE']
    .map((n) => `${n}.md`),
];

function tracked() {
  return execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && !f.split('/').includes('node_modules') && !/^schema\/\d{3}_[^/]*\.sql$/.test(f));
}

function text(f) {
  let buf;
  try {
    const st = fs.lstatSync(path.join(REPO, f));
    if (!st.isFile()) return null;
    buf = fs.readFileSync(path.join(REPO, f));
  } catch {
    return null; // deleted in the work tree, not yet committed
  }
  return buf.includes(0) ? null : buf.toString('utf8');
}

test('no tracked file cites a file outside the repository', () => {
  const hits = [];
  for (const f of tracked()) {
    const s = text(f);
    if (s === null) continue;
    s.split('\n').forEach((line, i) => {
      // the repository's own document of the same name (docs/sign-in.md) is no citation
      const own = (p) => fs.existsSync(path.join(REPO, 'docs', p)) ? line.split(`docs/${p}`).join('') : line;
      for (const p of OUTSIDE) if (own(p).includes(p)) hits.push(`${f}:${i + 1}: ${p}: ${line.trim()}`);
    });
  }
  assert.deepEqual(hits, [], `citations of files outside the repository:\n${hits.join('\n')}`);
});

test('every relative link in docs/*.md, README.md and SECURITY.md resolves to a file in the repository', () => {
  const docs = tracked().filter((f) => /^docs\/[^/]+\.md$/.test(f) || f === 'README.md' || f === 'SECURITY.md');
  assert.ok(docs.includes('README.md'), 'README.md is tracked');
  const bad = [];
  for (const f of docs) {
    const s = text(f);
    if (s === null) continue;
    s.split('\n').forEach((line, i) => {
      // [text](target) and [text](target "title"); images too.
      for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const file = decodeURIComponent(target.split('#')[0]);
        const abs = path.resolve(REPO, path.dirname(f), file);
        const rel = path.relative(REPO, abs);
        if (rel.startsWith('..') || path.isAbsolute(rel)) bad.push(`${f}:${i + 1}: ${target}: outside the repository`);
        else if (!fs.existsSync(abs)) bad.push(`${f}:${i + 1}: ${target}: no such file`);
      }
    });
  }
  assert.deepEqual(bad, [], `broken relative links:\n${bad.join('\n')}`);
});
