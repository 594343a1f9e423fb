/**
 * The child's side of the bench channel (protocol.ts): writes the ready
 * line, answers each command line with its handler's result (or its error's
 * message), in the order the commands came, and calls `onClose` once stdin
 * closes: the parent is done or gone.
 */
import { createInterface } from 'node:readline';
import type { BenchCommand, BenchReadyLine } from './protocol.js';

/** One handler per command name; a result is an object of JSON fields. */
export type CommandHandlers<Name extends string> = Readonly<Record<Name, () => Promise<object> | object>>;

const write = (line: object): void => void process.stdout.write(JSON.stringify(line) + '\n');

export function serveCommands<Name extends string>(handlers: CommandHandlers<Name>, onClose: () => void): void {
  const ready: BenchReadyLine = { event: 'ready', pid: process.pid };
  write(ready);
  // Answered one at a time, in order: `report` must see every `measure` before it.
  let queue: Promise<void> = Promise.resolve();
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (text) => {
    queue = queue.then(() => answer(handlers, text));
  });
  lines.on('close', () => void queue.then(onClose));
}

async function answer<Name extends string>(handlers: CommandHandlers<Name>, text: string): Promise<void> {
  let command: BenchCommand<string>;
  try {
    command = JSON.parse(text) as BenchCommand<string>;
  } catch {
    return write({ id: -1, error: 'bad-json' });
  }
  const handler = Object.hasOwn(handlers, command.cmd) ? handlers[command.cmd as Name] : undefined;
  if (handler === undefined) return write({ id: command.id, error: `unknown command ${command.cmd}` });
  try {
    write({ ...(await handler()), id: command.id });
  } catch (error) {
    write({ id: command.id, error: error instanceof Error ? error.message : String(error) });
  }
}
