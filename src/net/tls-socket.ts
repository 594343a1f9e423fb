/** TLS socket plumbing shared by the replica and client sides. */
import type { Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { rawEd25519PublicKey, type TlsCredentials } from './identity.js';

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
