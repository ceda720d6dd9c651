/**
 * Who is calling the Manager API. A key is sent as `Authorization: Bearer <key>`; the API keeps
 * only sha256 hashes (MANAGER_API_KEYS, and MANAGER_API_KEY hashed at start) and compares them
 * in constant time. The name of the key's owner is the Director every recorded action names:
 * a request never says who it is.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyEntry, ApiRole } from '../config/config.js';

export interface Principal {
  name: string;
  role: ApiRole;
}

export interface Keyring {
  /** The owner of the key, or null for no key or an unknown one. */
  authenticate(authorization: string | undefined): Principal | null;
  readonly size: number;
}

export function createKeyring(entries: ApiKeyEntry[]): Keyring {
  const hashed = entries.map((e) => ({ principal: { name: e.name, role: e.role }, digest: Buffer.from(e.sha256, 'hex') }));
  return {
    size: hashed.length,
    authenticate(authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!m) return null;
      const digest = createHash('sha256').update(m[1]!, 'utf8').digest();
      // Every entry is compared, found or not: the time taken says nothing about which matched.
      let found: Principal | null = null;
      for (const e of hashed) {
        if (timingSafeEqual(digest, e.digest) && !found) found = e.principal;
      }
      return found;
    },
  };
}
