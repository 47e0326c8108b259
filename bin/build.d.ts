/** Types of bin/build.js (plain JavaScript, so bin/synod.js can use it before tsx). */
/**
 * Transpiles the node's sources unless an identical build exists; returns the path of the
 * entry point (`<build>/node/cli/main.js`) to run with plain `node`.
 */
export function ensureNodeBuild(root?: string): string;
