/** The crypto package in one import: hashes, Ed25519, canonical encoding, Merkle trees, key files. */
export * from './ed25519.js';
export * from './encoding.js';
export * from './hash.js';
export * from './keyfile.js';
export * from './merkle.js';
