/**
 * The closed set of reasons a replica refuses an incoming connection, before
 * or right after its TLS handshake: stable strings, usable as metric labels.
 */

/** Every {@link ConnectionRejection}, in the order stats list them. */
export const CONNECTION_REJECTIONS = [
  /** `handshakesMax` handshakes were in progress. */
  'handshakes-max',
  /** `handshakesPerAddressMax` handshakes from the same address were in progress. */
  'handshakes-per-address',
  /** `connectionsPerAddressMax` connections from the same address were open. */
  'connections-per-address',
  /** The TLS handshake did not finish within `inboundHandshakeTimeoutMs`. */
  'handshake-timeout',
  /** The TLS handshake failed (not TLS 1.3, no client certificate, bad signature, ...). */
  'handshake-failed',
  /** The peer's certificate holds no Ed25519 key. */
  'no-certificate',
  /** The cluster config lists admitted client keys and this key is not one. */
  'not-admitted',
  /** `clientConnectionsPerKeyMax` connections with the same key were open. */
  'connections-per-key',
  /** `clientConnectionsMax` client connections were open. */
  'client-connections-max',
] as const;

/** Why a replica refused an incoming connection. */
export type ConnectionRejection = (typeof CONNECTION_REJECTIONS)[number];

/** A count per {@link ConnectionRejection}, all present. */
export type ConnectionRejectionCounts = Record<ConnectionRejection, number>;

/** Zero for every reason. */
export function noConnectionRejections(): ConnectionRejectionCounts {
  return Object.fromEntries(CONNECTION_REJECTIONS.map((reason) => [reason, 0])) as ConnectionRejectionCounts;
}
