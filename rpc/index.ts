/** Public surface of the RPC layer, for the node (composition root) and the tests. */
export type {
  AddressHex,
  BlockHeaderJson,
  Hash32Hex,
  Json,
  JsonObject,
  ProposalStatus,
  RpcBackend,
  Topic,
  TopicPayloads,
  TxRecordJson,
} from './backend.js';
export { PROPOSAL_STATUSES, TOPICS } from './backend.js';
export {
  type ErrorData,
  RPC_ERROR_MESSAGES,
  RpcError,
  RpcErrorCode,
  type RpcErrorName,
  type RpcErrorObject,
} from './errors.js';
export { type HealthReport, type Limits, RpcOptionsError, type RpcServerOptions } from './options.js';
export { type HandlerContext, METHOD_NAMES, type MethodName, routes } from './routes.js';
export { createRpcServer, type ListeningAddress, RpcServer, type RpcServerStats } from './server.js';
