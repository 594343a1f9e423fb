/** Where a service named on the command line is loaded from. */

/** Services that ship with bafomet, by name. */
export const BUILT_IN_SERVICES = {
  kv: new URL('../services/kv.js', import.meta.url),
  counter: new URL('../services/counter.js', import.meta.url),
  slots: new URL('../services/slots.js', import.meta.url),
  bench: new URL('../services/bench.js', import.meta.url),
} as const;

/**
 * A built-in service name (`kv`, `counter`, `slots`, `bench`) as its module
 * URL; a built-in name may carry parameters for its module, `slots?bytes=N`
 * or `bench?replyBytes=N`, which become the URL's query (the module reads
 * them from `import.meta.url`).
 * Anything else is a module path or URL, passed on as given (the executor
 * resolves it).
 */
export function resolveServiceModule(nameOrPath: string): string | URL {
  const at = nameOrPath.indexOf('?');
  const name = at < 0 ? nameOrPath : nameOrPath.slice(0, at);
  if (!Object.hasOwn(BUILT_IN_SERVICES, name)) return nameOrPath;
  const url = new URL(BUILT_IN_SERVICES[name as keyof typeof BUILT_IN_SERVICES]);
  if (at >= 0) url.search = nameOrPath.slice(at);
  return url;
}
