// A short-lived cache of domains and tenants in front of the store. Every message looks them up several
// times (is the domain local, what are its and its tenant's quotas) and they almost never change. Changes
// made through this process clear it at once; changes made by another node show within `ttlMs`.
import type { Domain, Tenant } from '../core/model.ts';
import type { Store } from '../core/ports.ts';

export function withDirectoryCache<S extends Store>(store: S, ttlMs = 2000): S {
  const domains = new Map<number | string, { at: number; v: Domain | undefined }>();
  const tenants = new Map<number | string, { at: number; v: Tenant | undefined }>();
  const clear = () => {
    domains.clear();
    tenants.clear();
  };
  const cached = <T>(map: Map<number | string, { at: number; v: T }>, load: (k: number | string) => Promise<T>) => {
    return async (k: number | string): Promise<T> => {
      const key = typeof k === 'string' ? k.toLowerCase() : k;
      const hit = map.get(key);
      const now = Date.now();
      if (hit && now - hit.at < ttlMs) return hit.v;
      const v = await load(k);
      if (map.size > 10000) map.clear();
      map.set(key, { at: now, v });
      return v;
    };
  };
  const clearing =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      try {
        return await fn(...a);
      } finally {
        clear();
      }
    };
  return {
    ...store,
    getDomain: cached(domains, (k) => store.getDomain(k)),
    getTenant: cached(tenants, (k) => store.getTenant(k)),
    createDomain: clearing(store.createDomain),
    deleteDomain: clearing(store.deleteDomain),
    updateDomainQuota: clearing(store.updateDomainQuota),
    createTenant: clearing(store.createTenant),
    updateTenantQuota: clearing(store.updateTenantQuota),
  };
}
