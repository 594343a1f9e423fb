/**
 * The user-facing service API: a deterministic state machine plus the codecs
 * that turn its requests, replies and state into bytes.
 */

/**
 * Converts values of type `T` to bytes and back.
 *
 * Both directions must be deterministic: equal values encode to equal bytes on
 * every replica, because replies are compared across replicas and state is
 * compared by digest.
 */
export interface Codec<T> {
  /** Encodes `value`. The result may share memory with `value`; callers copy it before keeping it. */
  encode(value: T): Uint8Array;
  /**
   * Decodes `bytes`, throwing if they are malformed. `bytes` may be a view into
   * a larger buffer: copy them before keeping them beyond this call.
   */
  decode(bytes: Uint8Array): T;
}

/**
 * A service state's encoding in pieces (see {@link Service.stateStream}).
 * Both directions run in the executor's worker thread, synchronously.
 */
export interface StateStream<State> {
  /**
   * Yields the encoding of `state` in pieces of any size, empty ones
   * included, whose concatenation is exactly `Service.state.encode(state)`.
   * The executor reads (hashes, writes) each piece before asking for the
   * next and keeps none, so a piece may share memory with `state` and the
   * generator may refill one buffer for every piece. No request runs until
   * the iteration ends.
   */
  encode(state: State): Iterable<Uint8Array>;
  /**
   * Decodes the concatenation of `pieces`, iterated once, in order: the
   * same state `Service.state.decode` returns for those bytes. Each piece is
   * a buffer of its own, which the decoder may keep. The bytes are a
   * checkpoint's, checked against digests a quorum signed, so they are
   * always an encoding `encode` produced.
   */
  decode(pieces: Iterable<Uint8Array>): State;
}

/**
 * A replicated service: every correct replica starts from `initialState()`
 * and applies the same requests in the same order with `update`, so all of
 * them hold the same state and produce the same replies.
 *
 * `update` runs in a worker thread (see `WorkerExecutor`), fed whole batches;
 * it must be synchronous and deterministic: no clocks, randomness, I/O,
 * environment or iteration order that differs between processes.
 *
 * @typeParam State - the service state. `update` can only change it in place,
 *   so it is a mutable object (wrap a primitive in one).
 * @typeParam Req - a decoded client request.
 * @typeParam Rep - a reply to one request.
 */
export interface Service<State, Req, Rep> {
  /** Short identifier, used in logs and error messages. */
  readonly name: string;
  /**
   * Codec for client requests. `decode` runs on untrusted client bytes: if it
   * throws, that request fails ("request does not decode: ..."; the client's
   * `invoke` rejects with `ServiceError`), the state is untouched and the
   * replica carries on. A decoded value can still have any shape the codec
   * lets through; `update` must check it.
   */
  readonly request: Codec<Req>;
  /** Codec for replies. If encoding a reply `update` returned throws, that request fails and is rolled back, as if `update` threw. */
  readonly reply: Codec<Rep>;
  /**
   * Codec for checkpoints and state transfer: `encode(state)` is chunked and
   * each chunk hashed (docs/STATE-TRANSFER.md); a replica that falls behind
   * installs `decode` of the bytes a quorum vouched for. Must be
   * deterministic: equal states encode to equal bytes on every replica.
   */
  readonly state: Codec<State>;
  /**
   * Optional streaming form of `state`, for states too large to encode into
   * one buffer. With it, a replica given a `checkpointDir` writes each
   * checkpoint's state to a file and installs a fetched one from its file
   * about a chunk at a time, never holding the whole encoding in one buffer
   * (without a directory, kept images are whole buffers either way).
   * Without it, the executor uses `state.encode` and `state.decode`.
   *
   * It must produce exactly the bytes of `state`: the concatenation of
   * `encode`'s pieces equals `state.encode(state)`, and `decode` returns what
   * `state.decode` returns for the concatenation of its pieces. Chunk and
   * state digests are taken over those bytes, so replicas may mix a service
   * with the hook and the same service without it only because both give the
   * same bytes.
   */
  readonly stateStream?: StateStream<State>;
  /**
   * The state before the first request. MAY BE CALLED AGAIN (to roll back a
   * failed request before the first checkpoint) and must return a fresh
   * object equal to the first each time.
   */
  initialState(): State;
  /**
   * Applies `request` to `state` and returns the reply. MUST BE
   * DETERMINISTIC; may mutate state. If it throws, only that request fails:
   * its changes to the state are rolled back exactly (the executor rebuilds
   * the state from the last checkpoint and replays the requests since, about
   * one state decode plus that replay, so throws must stay exceptional), the
   * client's `invoke` rejects with `ServiceError` carrying "Name: message",
   * and every replica carries on. The message must be deterministic too:
   * f + 1 replicas must send the same bytes. Prefer returning errors as reply
   * values.
   */
  update(state: State, request: Req): Rep;
  /**
   * Declares which requests are read-only: those a client may send with
   * `Client.invokeReadOnly`, answered by {@link Service.query} from each
   * replica's executed state without being ordered (docs/PROTOCOL.md,
   * "Read-only requests"). A replica runs `query` only on a request this
   * returns `true` for; any other request sent read-only is refused, never
   * run unordered [Q5], and the client orders it instead. Give `readOnly`
   * and `query` together or neither ({@link defineService} and replicas
   * loading the service check).
   *
   * MUST BE DETERMINISTIC, like `update`: every correct replica must give
   * the same verdict on the same request. It gets the decoded request,
   * untrusted like `update`'s, and must not throw (a throw is a `failed`
   * answer, and the client orders the request). Without it, no request is
   * read-only and `invokeReadOnly` always orders.
   */
  readOnly?(request: Req): boolean;
  /**
   * Answers a read-only request (one {@link Service.readOnly} accepts) from
   * `state`, the replica's state after every batch it had executed when the
   * request arrived. MUST NOT CHANGE THE STATE: it runs on one replica at a
   * time and unordered, so a change would make that replica's state differ
   * from the others' (noticed at the next checkpoint and repaired by state
   * transfer, docs/STATE-TRANSFER.md S16, but a bug all the same). MUST BE
   * DETERMINISTIC: a client accepts the answer only when a quorum of
   * replicas give the same bytes. For a request `update` also accepts it
   * should answer what `update` would (the client may order the request
   * instead, and gets `update`'s reply then). If it throws, that replica
   * answers `failed` and the client orders the request.
   */
  query?(state: State, request: Req): Rep;
}

/** A service whose types have been erased, as executors hold it. */
export type AnyService = Service<unknown, unknown, unknown>;

/** The state type of service `S`. */
export type StateOf<S> = S extends Service<infer State, unknown, unknown> ? State : never;
/** The request type of service `S`. */
export type RequestOf<S> = S extends Service<unknown, infer Req, unknown> ? Req : never;
/** The reply type of service `S`. */
export type ReplyOf<S> = S extends Service<unknown, unknown, infer Rep> ? Rep : never;

/**
 * What is wrong with `service`'s read-only declaration (docs/PROTOCOL.md
 * Q2), or undefined if nothing is: `readOnly` and `query` are functions
 * given together, or both absent.
 */
export function readOnlyProblem(service: { readonly readOnly?: unknown; readonly query?: unknown }): string | undefined {
  const { readOnly, query } = service;
  if (readOnly !== undefined && typeof readOnly !== 'function') return 'readOnly is not a function';
  if (query !== undefined && typeof query !== 'function') return 'query is not a function';
  if ((readOnly === undefined) !== (query === undefined)) {
    return readOnly === undefined ? 'query is given without readOnly' : 'readOnly is given without query';
  }
  return undefined;
}

/**
 * Returns `service` unchanged; exists so that TypeScript infers and checks
 * the state, request and reply types of an object literal in one place.
 *
 * @throws TypeError if `readOnly` and `query` are not given together.
 */
export function defineService<S, Q, P>(service: Service<S, Q, P>): Service<S, Q, P> {
  const problem = readOnlyProblem(service);
  if (problem !== undefined) throw new TypeError(`service "${service.name}": ${problem} (give both, or neither)`);
  return service;
}
