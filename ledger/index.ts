/**
 * The ledger's public surface: shapes and codecs, the state and its key layout, checks,
 * execution, governance, blocks, genesis and transaction building. The store
 * (ledger/store.ts) and the state tree (ledger/state-tree.ts) are imported from their own files.
 */
export * from './block.js';
export * from './checks.js';
export * from './codec.js';
export * from './errors.js';
export * from './evidence.js';
export * from './execute.js';
export * from './genesis-state.js';
export {
  beginBlock,
  cannotPass,
  executeAction,
  type GovResult,
  type NewProposal,
  openProposal,
  openRemovalOf,
  passes,
  type Tally,
  tally,
  validateAction,
} from './governance.js';
export * from './params.js';
export * from './rotation.js';
export * from './state.js';
export * from './tx-builder.js';
export * from './types.js';
export * from './validator-history.js';
