#!/usr/bin/env node
// Entry point of the `synod` CLI: loads tsx so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

register();
await import('../node/cli/main.ts');
