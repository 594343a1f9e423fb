/** Finding a service by module URL and export name, as a worker does. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readOnlyProblem, type AnyService } from '../service.js';
import { describeError, ServiceLoadError } from './errors.js';

// A scheme of two or more characters, so `C:\x` stays a Windows path.
const hasScheme = /^[a-z][a-z0-9+.-]+:/i;

/**
 * The URL of a service module given as a URL (`file:`, `data:`), a URL
 * string, or a filesystem path (relative paths resolve against the current
 * directory). Bare package names are not accepted, since they would resolve
 * from bafomet's own location: pass `import.meta.resolve('pkg')` instead.
 */
export function serviceModuleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return hasScheme.test(module) ? module : pathToFileURL(resolve(module)).href;
}

/** Names of the members `value` lacks to be a {@link Service}. */
function missingMembers(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['everything (not an object)'];
  const service = value as Record<string, unknown>;
  const isCodec = (codec: unknown): boolean =>
    typeof codec === 'object' &&
    codec !== null &&
    typeof (codec as Record<string, unknown>)['encode'] === 'function' &&
    typeof (codec as Record<string, unknown>)['decode'] === 'function';
  const missing: string[] = [];
  if (typeof service['name'] !== 'string') missing.push('name');
  for (const codec of ['request', 'reply', 'state']) if (!isCodec(service[codec])) missing.push(codec);
  for (const method of ['initialState', 'update']) if (typeof service[method] !== 'function') missing.push(method);
  // Optional, but a malformed one would fail at the first checkpoint rather than here.
  if (service['stateStream'] !== undefined && !isCodec(service['stateStream'])) missing.push('stateStream (encode and decode)');
  // [Q2] Half a read-only declaration would refuse every read-only request, or answer them with nothing.
  const readOnly = readOnlyProblem(service);
  if (readOnly !== undefined) missing.push(`a sound read-only declaration (${readOnly}; give readOnly and query together)`);
  return missing;
}

/**
 * Imports `moduleUrl` and returns its export `exportName`, checked to have
 * the shape of a service. Rejects with {@link ServiceLoadError}.
 */
export async function loadService(moduleUrl: string, exportName: string): Promise<AnyService> {
  const where = `export "${exportName}" of ${moduleUrl}`;
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (error) {
    throw new ServiceLoadError(`cannot import service module ${moduleUrl}: ${describeError(error)}`, { cause: error });
  }
  if (!(exportName in namespace)) throw new ServiceLoadError(`${where} does not exist`);
  const missing = missingMembers(namespace[exportName]);
  if (missing.length > 0) throw new ServiceLoadError(`${where} is not a service: missing ${missing.join(', ')}`);
  return namespace[exportName] as AnyService;
}
