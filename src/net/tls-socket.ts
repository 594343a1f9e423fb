/** TLS socket plumbing shared by the replica and client sides. */
import type { Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { FrameDecoder } from './framing.js';
import { rawEd25519PublicKey, type TlsCredentials } from './identity.js';
import { invokeSafely, type NetLog } from './log.js';

/**
 * Idle time before TCP keepalive probes start, so dead hosts are noticed. A
 * live host whose TLS stream delivers nothing is liveness.ts's to notice.
 */
export const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** Certificate, key and protocol version (TLS 1.3 only) for both ends of every connection. */
export function secureContextOptions(credentials: TlsCredentials): SecureContextOptions {
  return { cert: credentials.certPem, key: credentials.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
}

/**
 * The peer's raw Ed25519 public key, or undefined if it presented no
 * certificate or a non-Ed25519 one. TLS 1.3 has already verified that the peer
 * holds the matching private key (CertificateVerify); the certificate's issuer
 * and validity are deliberately ignored, as identities are the configured keys.
 */
export function peerPublicKey(socket: TLSSocket): Uint8Array | undefined {
  const certificate = socket.getPeerX509Certificate();
  return certificate === undefined ? undefined : rawEd25519PublicKey(certificate.publicKey);
}

/** Keepalive, and no Nagle delay: writes are already coalesced per event-loop turn. */
export function tuneSocket(socket: Socket): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
}

/** Destroys a socket and resolves once it has emitted 'close'. */
export function destroyAndWait(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.destroy();
  return closed;
}

/** Why we closed sockets ourselves, for the disconnection log line; a socket missing here was closed by its peer. */
const closeReasons = new WeakMap<Socket, string>();

/**
 * Destroys `socket` and records why (the first reason given wins), for
 * {@link closeReason}. `reason` is ours: a short phrase, never peer bytes.
 */
export function destroyBecause(socket: Socket, reason: string): void {
  if (!closeReasons.has(socket)) closeReasons.set(socket, reason);
  socket.destroy();
}

/**
 * Records a socket error as the reason it closes (node destroys a socket
 * after its 'error'): its code when it has one, e.g.
 * `ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC` or `ECONNRESET` (OpenSSL's
 * messages carry thread addresses, so no two would count alike), else node's
 * message; never data from the peer.
 */
export function noteSocketError(socket: Socket, error: Error): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (!closeReasons.has(socket)) closeReasons.set(socket, `error: ${typeof code === 'string' ? code : error.message}`);
}

/** Why a closed socket closed: the reason recorded by {@link destroyBecause} or {@link noteSocketError}, else `closed by peer`. */
export function closeReason(socket: Socket): string {
  return closeReasons.get(socket) ?? 'closed by peer';
}

/**
 * Decodes incoming frames and hands them to `onFrame`; heartbeats (empty
 * frames) are consumed here and never reach it. Without `onFrame` the
 * connection is send-only: heartbeats are all the peer may send, and any
 * other frame closes it. An oversized frame closes it too.
 */
export function readFrames(
  socket: Socket,
  maxFrameBytes: number,
  onFrame: ((payload: Uint8Array) => void) | undefined,
  log: NetLog,
  fields: Readonly<Record<string, unknown>>,
): void {
  // A send-only connection admits only frames of length 0, so anything else fails the size check at its header.
  const decoder = new FrameDecoder(onFrame === undefined ? 0 : maxFrameBytes);
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const payload of decoder.feed(chunk)) {
        if (socket.destroyed) return;
        if (payload.length === 0 || onFrame === undefined) continue;
        invokeSafely(log, 'frame handler', () => onFrame(payload));
      }
    } catch (error) {
      const reason = onFrame === undefined ? 'peer sent data on a send-only connection' : 'protocol violation';
      log('warn', `${reason}; closing connection`, {
        ...fields,
        error: error instanceof Error ? error.message : String(error),
      });
      destroyBecause(socket, reason);
    }
  });
}
