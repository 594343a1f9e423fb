/** TLS socket plumbing shared by the replica and client sides. */
import type { Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { FrameDecoder } from './framing.js';
import { rawEd25519PublicKey, type TlsCredentials } from './identity.js';
import { invokeSafely, type NetLog } from './log.js';

/** Idle time before TCP keepalive probes start, so dead peers are noticed. */
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

/**
 * Decodes incoming frames and hands them to `onFrame`. Without `onFrame` the
 * connection is send-only and any incoming byte closes it. An oversized frame
 * closes it too.
 */
export function readFrames(
  socket: Socket,
  maxFrameBytes: number,
  onFrame: ((payload: Uint8Array) => void) | undefined,
  log: NetLog,
  fields: Readonly<Record<string, unknown>>,
): void {
  const decoder = new FrameDecoder(maxFrameBytes);
  socket.on('data', (chunk: Buffer) => {
    if (onFrame === undefined) {
      log('warn', 'peer sent data on a send-only connection; closing it', fields);
      socket.destroy();
      return;
    }
    try {
      for (const payload of decoder.feed(chunk)) {
        if (socket.destroyed) return;
        invokeSafely(log, 'frame handler', () => onFrame(payload));
      }
    } catch (error) {
      log('warn', 'protocol violation; closing connection', {
        ...fields,
        error: error instanceof Error ? error.message : String(error),
      });
      socket.destroy();
    }
  });
}
