/** Backend conformance of WebDavBackend against the real Apache mod_dav server from scripts/test-servers. */
import { randomBytes } from 'node:crypto';
import { WebDavBackend } from '../../src/backend/webdav.js';
import { backendConformance, testServerEnv } from './conformance.js';

const env = testServerEnv('webdav', ['STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS'] as const);
if (env !== undefined) {
  // A folder that does not exist yet, two levels deep: the backend must create it.
  const url = new URL(`strata-test-${randomBytes(4).toString('hex')}/backups/`, env.STRATA_TEST_WEBDAV_URL).toString();
  const open = (password: string): WebDavBackend => new WebDavBackend({ url, username: env.STRATA_TEST_WEBDAV_USER, password });
  backendConformance('webdav', async () => open(env.STRATA_TEST_WEBDAV_PASS), {
    statSha256: true,
    secrets: [env.STRATA_TEST_WEBDAV_PASS],
    makeBadCredentials: async () => open('wrong-password'),
  });
}
