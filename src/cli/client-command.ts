/**
 * `bafomet client`: sends requests to a running cluster from the command
 * line, JSON in and out. Requests come from the arguments, else one per
 * line from stdin — a prompt when stdin is a terminal. Each reply is
 * printed as one JSON line (`{"reply": ...}`, or `{"error": name,
 * "message": ...}` when that request failed or was not JSON; the next one
 * is sent anyway, and the exit code is 1 if any failed).
 * The service names the codecs: a built-in one (`kv`, `counter`) or a
 * module path, as `bafomet replica --service` takes it; its requests and
 * replies must be JSON values (the built-in services' are).
 */
import { createInterface } from 'node:readline';
import { resolveServiceModule } from '../cluster/service-module.js';
import { loadClusterConfig } from '../config.js';
import { loadService, serviceModuleUrl } from '../executor/load.js';
import { createLogger, type LogLevel } from '../log.js';
import { Client } from '../runtime/client.js';

export interface ClientCommandOptions {
  readonly config: string;
  readonly service: string;
  /** The client's key file (`bafomet keygen`); default a fresh key, which a cluster without a `clients` list admits. */
  readonly key?: string;
  /** Send each request with `invokeReadOnly` (answered unordered by a quorum, ordered otherwise). */
  readonly readOnly: boolean;
  readonly timeout: number;
  readonly logLevel?: LogLevel;
}

/** Sends `requests` (JSON texts), or stdin's lines when there are none; resolves with the number of requests that failed. */
export async function runClientCommand(options: ClientCommandOptions, requests: readonly string[]): Promise<number> {
  const config = await loadClusterConfig(options.config);
  const service = await loadService(serviceModuleUrl(resolveServiceModule(options.service)), 'default');
  const client = await Client.connect({
    config,
    service,
    timeoutMs: options.timeout,
    logger: createLogger({ level: options.logLevel ?? 'warn', name: 'bafomet-client' }),
    ...(options.key === undefined ? {} : { identity: options.key }),
  });
  let failed = 0;
  const send = async (text: string): Promise<void> => {
    try {
      const request: unknown = JSON.parse(text);
      const reply = options.readOnly ? await client.invokeReadOnly(request) : await client.invoke(request);
      process.stdout.write(JSON.stringify({ reply }) + '\n');
    } catch (error) {
      failed++;
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      process.stdout.write(JSON.stringify({ error: name, message }) + '\n');
    }
  };
  try {
    if (requests.length > 0) {
      for (const text of requests) await send(text);
    } else {
      const interactive = process.stdin.isTTY === true;
      const lines = createInterface({ input: process.stdin, ...(interactive ? { output: process.stderr, prompt: 'bafomet> ' } : {}) });
      if (interactive) lines.prompt();
      for await (const line of lines) {
        if (line.trim() !== '') await send(line);
        if (interactive) lines.prompt();
      }
    }
  } finally {
    await client.close();
  }
  return failed;
}
