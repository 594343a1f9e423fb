/**
 * Which connection answers for which client session. A session is bound to
 * the last authenticated connection that sent a request for it (clients
 * reconnect); bindings go when their connection closes. Bounded by the number
 * of sessions a key may own (65,536) times the number of live connections,
 * both of which the network layer limits.
 */
import type { ClientId } from '../core/ids.js';
import type { ClientConnection } from '../net/client-session.js';

export class ClientRegistry {
  private readonly connections = new Map<ClientId, ClientConnection>();
  private readonly sessionsOf = new Map<ClientConnection, Set<ClientId>>();

  bind(clientId: ClientId, connection: ClientConnection): void {
    const previous = this.connections.get(clientId);
    if (previous === connection) return;
    if (previous !== undefined) this.sessionsOf.get(previous)?.delete(clientId);
    this.connections.set(clientId, connection);
    let sessions = this.sessionsOf.get(connection);
    if (sessions === undefined) {
      sessions = new Set();
      this.sessionsOf.set(connection, sessions);
    }
    sessions.add(clientId);
  }

  get(clientId: ClientId): ClientConnection | undefined {
    return this.connections.get(clientId);
  }

  forget(connection: ClientConnection): void {
    for (const clientId of this.sessionsOf.get(connection) ?? []) this.connections.delete(clientId);
    this.sessionsOf.delete(connection);
  }
}
