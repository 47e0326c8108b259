/** The genesis module: the file format and its validation, the genesis hash, devnet generation. */
export {
  createDevnet,
  DEVNET_DEFAULTS,
  type Devnet,
  DevnetError,
  type DevnetKey,
  type DevnetOptions,
  type DevnetValidator,
} from './devnet.js';
export {
  ADMIN_ROLE,
  CHAIN_ID_PATTERN,
  GENESIS_LIMITS,
  GenesisError,
  type GenesisErrorCode,
  type GenesisFile,
  genesisHash,
  genesisToFile,
  genesisToJson,
  loadGenesisFile,
  MEMBER_ID_PATTERN,
  parseGenesis,
  UINT256_MAX,
} from './genesis.js';
export type { GenesisAccount, GenesisDoc, GenesisMember, GenesisValidator } from './types.js';
