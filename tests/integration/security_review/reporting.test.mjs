// Issue 9, item 18: SECURITY.md told reporters to write to an address at a domain the project
// does not own (whoever registers it would receive the vulnerability reports). Reports go
// through the repository's private vulnerability reporting; no e-mail address is offered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from '../../lib/harness.mjs';

test('SECURITY.md sends reporters to the repository\'s private vulnerability reporting, not to an e-mail address', () => {
  const text = fs.readFileSync(path.join(REPO, 'SECURITY.md'), 'utf8');
  const section = text.slice(text.indexOf('## Reporting a vulnerability'));
  assert.ok(section.startsWith('## Reporting a vulnerability'), 'the section exists');
  assert.match(section, /private vulnerability reporting/i);
  assert.match(section, /Security → Report a vulnerability/);
  assert.doesNotMatch(text, /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/, 'no e-mail address anywhere in SECURITY.md');
});
