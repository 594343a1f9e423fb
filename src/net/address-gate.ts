/**
 * What an unauthenticated peer may hold before its TLS handshake completes:
 * a handshake costs the replica memory and CPU before it knows who is
 * calling (measured before this: 2,000 half-open handshakes took a replica
 * from 104 to 248 MiB). So handshakes in progress are capped in total and per
 * remote address, and so are TCP connections per address; a connection over
 * a cap is closed as soon as it is accepted, before TLS reads a byte.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ConnectionRejection } from './connection-rejection.js';
import type { ConnectionLimits } from './limits.js';

interface AddressUse {
  connections: number;
  handshakes: number;
}

/** Counts TCP connections and handshakes in progress, in total and per address, and refuses those over the caps. */
export class AddressGate {
  private handshakes = 0;
  private readonly byAddress = new Map<string, AddressUse>();
  /** Connections still handshaking, by remote endpoint: the TLS socket that completes one is not the raw socket we accepted. */
  private readonly handshaking = new Map<string, () => void>();

  constructor(private readonly limits: Pick<ConnectionLimits, 'handshakesMax' | 'handshakesPerAddressMax' | 'connectionsPerAddressMax'>) {}

  /** Handshakes in progress. */
  get handshakesInProgress(): number {
    return this.handshakes;
  }

  /**
   * Admits a TCP connection just accepted, counting it until it closes and
   * its handshake until {@link handshakeCompleted} or close; or says why not
   * (the caller destroys it; nothing was counted).
   */
  admit(socket: Socket): ConnectionRejection | undefined {
    const address = socket.remoteAddress;
    // node leaves the address undefined once the peer has already reset the connection.
    if (address === undefined) return 'handshake-failed';
    const use = this.byAddress.get(address) ?? { connections: 0, handshakes: 0 };
    if (use.connections >= this.limits.connectionsPerAddressMax) return 'connections-per-address';
    if (this.handshakes >= this.limits.handshakesMax) return 'handshakes-max';
    if (use.handshakes >= this.limits.handshakesPerAddressMax) return 'handshakes-per-address';
    this.byAddress.set(address, use);
    use.connections++;
    use.handshakes++;
    this.handshakes++;
    const endpoint = endpointOf(socket);
    let handshaking = true;
    const endHandshake = (): void => {
      if (!handshaking) return;
      handshaking = false;
      use.handshakes--;
      this.handshakes--;
      this.handshaking.delete(endpoint);
    };
    this.handshaking.set(endpoint, endHandshake);
    socket.once('close', () => {
      endHandshake();
      if (--use.connections === 0) this.byAddress.delete(address);
    });
    return undefined;
  }

  /** The connection that `socket` wraps finished its TLS handshake: it no longer counts as handshaking. */
  handshakeCompleted(socket: TLSSocket): void {
    this.handshaking.get(endpointOf(socket))?.();
  }
}

function endpointOf(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}
