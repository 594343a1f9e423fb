/** Where a service named on the command line is loaded from. */

/** Services that ship with bafomet, by name. */
export const BUILT_IN_SERVICES = {
  kv: new URL('../services/kv.js', import.meta.url),
  counter: new URL('../services/counter.js', import.meta.url),
} as const;

/**
 * A built-in service name (`kv`, `counter`) as its module URL; anything else
 * is a module path or URL, passed on as given (the executor resolves it).
 */
export function resolveServiceModule(nameOrPath: string): string | URL {
  return Object.hasOwn(BUILT_IN_SERVICES, nameOrPath) ? BUILT_IN_SERVICES[nameOrPath as keyof typeof BUILT_IN_SERVICES] : nameOrPath;
}
