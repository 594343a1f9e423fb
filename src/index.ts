/**
 * bafomet: Byzantine-fault-tolerant state machine replication for Node.js.
 *
 * Write a {@link Service}, start n = 3f + 1 {@link Replica}s, and talk to them
 * with a {@link Client}: requests are ordered by PBFT's three-phase protocol
 * and a reply is accepted once f + 1 replicas agree on it. Requests the
 * service declares read-only can skip ordering: `Client.invokeReadOnly`
 * accepts a reply a quorum of replicas give alike, and orders the request
 * when they do not.
 *
 * @packageDocumentation
 */
export { type Codec, type Service, type StateStream, type StateOf, type RequestOf, type ReplyOf, defineService } from './service.js';
export { jsonCodec, bytesCodec, utf8Codec } from './codecs.js';
export { type ClusterConfig, type ReplicaAddress, parseClusterConfig, loadClusterConfig } from './config.js';
export { Replica, type ExecutorKind, type ReplicaOptions, type ReplicaCounters, type ReplicaStop } from './runtime/replica.js';
export type { ReadOnlyLimits } from './runtime/read-only.js';
export { ClusterFilesExistError } from './cluster/init.js';
export {
  Client,
  type ClientOptions,
  type ClientCodecs,
  type InvokeOptions,
  type ReadOnlyInvokeOptions,
  type ReadOnlyCounts,
} from './runtime/client.js';
export type { ReadOnlyFallbackReason } from './core/client.js';
export type { ReadReplyStatus } from './core/messages.js';
export type { ReplicaStatus } from './core/replica.js';
export type { ReplicaId, ClientId } from './core/ids.js';
export type { SeqNo, View, RequestNo } from './core/ordering.js';
export { type ProtocolOptions, defaultProtocolOptions } from './core/options.js';
export { generateIdentity, loadIdentity, savePrivateKey, publicKeyBase64, type NodeIdentity } from './net/identity.js';
export { initCluster, replicaKeyFile, type InitOptions } from './cluster/init.js';
export { createLogger, type Logger, type LogLevel, type LogFields } from './log.js';
export {
  AbortError,
  BafometError,
  ClosedError,
  ConfigError,
  OverloadedError,
  RequestRejectedError,
  RequestTooLargeError,
  SessionsFullError,
  TimeoutError,
} from './errors.js';
export { ServiceError, ServiceLoadError } from './executor/errors.js';
export { kvService, type KvRequest, type KvReply, type KvState } from './services/kv.js';
export { counterService, type CounterRequest, type CounterReply, type CounterState } from './services/counter.js';
