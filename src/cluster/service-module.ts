/** Where a service named on the command line is loaded from. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Services that ship with bafomet, by name. */
export const BUILT_IN_SERVICES = {
  kv: new URL('../services/kv.js', import.meta.url),
  counter: new URL('../services/counter.js', import.meta.url),
} as const;

/** A built-in service name (`kv`, `counter`) or the path of a module whose default export is a Service. */
export function serviceModuleUrl(nameOrPath: string): URL {
  if (Object.hasOwn(BUILT_IN_SERVICES, nameOrPath)) return BUILT_IN_SERVICES[nameOrPath as keyof typeof BUILT_IN_SERVICES];
  return pathToFileURL(resolve(nameOrPath));
}
